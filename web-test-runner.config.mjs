// Browser tests: *.test.ts next to the code, run in real Chromium with
// @open-wc/testing. A real EphemeralCDN server runs for the whole session, and
// each test page learns its URL from window.ECDN_SERVER.
import { playwrightLauncher } from '@web/test-runner-playwright';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { register } from 'tsx/esm/api';

// The server is TypeScript; let this config import it.
register();
const { chromiumPath, CHROMIUM_ARGS } = await import('./test/helpers/chromium.ts');
const { createServer } = await import('./server/create-server.ts');

const server = createServer({ heartbeatTimeoutMs: 5_000 });
const serverUrl = await server.listen(0, '127.0.0.1');

export default {
  files: ['src/**/*.test.ts', '!src/**/*.node.test.ts'],
  nodeResolve: { exportConditions: ['browser', 'development'] },
  concurrency: 1,
  testsFinishTimeout: 180_000,
  testFramework: { config: { timeout: 60_000 } },
  browsers: [
    playwrightLauncher({
      product: 'chromium',
      launchOptions: { executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true },
    }),
  ],
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
