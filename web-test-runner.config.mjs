// Browser tests: *.test.ts next to the code, run in real Chromium and real
// Firefox with @open-wc/testing. A real EphemeralCDN server runs for the whole
// session, and each test page learns its URL from window.ECDN_SERVER.
//
// ECDN_BROWSERS=chromium (or firefox) runs one engine only. Without Firefox the
// Firefox run is skipped with one line, unless ECDN_REQUIRE_FIREFOX=1 (set by
// .ci/run), which makes a missing Firefox fail the run. See docs/browsers.md.
import { chromeLauncher } from '@web/test-runner-chrome';
import { playwrightLauncher } from '@web/test-runner-playwright';
import puppeteer from 'puppeteer-core';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { register } from 'tsx/esm/api';

// The server is TypeScript; let this config import it.
register();
const { chromiumPath, CHROMIUM_ARGS } = await import('./test/helpers/chromium.ts');
const { firefoxPath, firefoxLaunchOptions, NO_FIREFOX } = await import('./test/helpers/firefox.ts');
const { createServer } = await import('./server/create-server.ts');

const ENGINES = ['chromium', 'firefox'];
const wanted = (process.env.ECDN_BROWSERS ?? ENGINES.join(','))
  .split(',')
  .map((name) => name.trim().toLowerCase())
  .filter(Boolean);
const unknown = wanted.filter((name) => !ENGINES.includes(name));
if (unknown.length > 0 || wanted.length === 0) {
  throw new Error(`ECDN_BROWSERS=${process.env.ECDN_BROWSERS}: expected a comma-separated list of ${ENGINES.join(', ')}.`);
}

const browsers = [];
if (wanted.includes('chromium')) {
  browsers.push(
    playwrightLauncher({
      product: 'chromium',
      launchOptions: { executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true },
    }),
  );
}
if (wanted.includes('firefox')) {
  const executablePath = firefoxPath();
  if (executablePath) {
    // Playwright cannot drive a stock Firefox; puppeteer does, over WebDriver
    // BiDi. The launcher starts it once for the whole run (about 2.7 s).
    browsers.push(chromeLauncher({ puppeteer, launchOptions: firefoxLaunchOptions(executablePath) }));
  } else if (process.env.ECDN_REQUIRE_FIREFOX === '1' || process.env.ECDN_BROWSERS) {
    const why = process.env.ECDN_BROWSERS ? 'ECDN_BROWSERS asks for it' : 'ECDN_REQUIRE_FIREFOX=1 (CI) requires it';
    throw new Error(`${NO_FIREFOX} ${why}.`);
  } else {
    console.warn(`Skipping the Firefox run: ${NO_FIREFOX}`);
  }
}

const server = createServer({ heartbeatTimeoutMs: 5_000 });
const serverUrl = await server.listen(0, '127.0.0.1');

export default {
  files: ['src/**/*.test.ts', '!src/**/*.node.test.ts'],
  nodeResolve: { exportConditions: ['browser', 'development'] },
  // One page at a time, and one engine after the other: on two shared cores a
  // second browser's load makes Firefox drop UDP and stretches timeouts. Both
  // at once saves about 4 s of 19 here.
  concurrency: 1,
  concurrentBrowsers: 1,
  testsFinishTimeout: 180_000,
  testFramework: { config: { timeout: 60_000 } },
  browsers,
  plugins: [
    esbuildPlugin({ ts: true, target: 'es2022', tsconfig: './tsconfig.json' }),
    {
      // PeerJS reaches `sdp` through webrtc-adapter's ES sources, but sdp's
      // "module" file is CommonJS (module.exports), which bundlers convert and
      // the dev server does not: give it the default export it lacks.
      name: 'sdp-esm',
      transform(context) {
        if (context.path.endsWith('/node_modules/sdp/sdp.js')) return { body: `${context.body}\nexport default SDPUtils;\n` };
      },
    },
    {
      name: 'ecdn-server',
      serverStop: () => server.close(),
    },
  ],
  testRunnerHtml: (testFramework) => `<!doctype html>
    <html><body>
      <script>window.ECDN_SERVER = ${JSON.stringify(serverUrl)};</script>
      <script type="module" src="${testFramework}"></script>
    </body></html>`,
};
