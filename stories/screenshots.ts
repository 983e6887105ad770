/**
 * Screenshots of every element in every state, light and dark, taken in
 * headless Chromium from the built Storybook, for the README:
 *
 *   npm run build-storybook && node --import tsx stories/screenshots.ts
 *
 * Writes docs/screenshots/<element>-<state>[-dark].png.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../test/helpers/chromium.js';

const root = new URL('..', import.meta.url).pathname;
const staticDir = join(root, 'storybook-static');
const outDir = join(root, 'docs/screenshots');

const shots: Array<{ id: string; file: string; state: string; selector: string }> = [
  ...['idle', 'loading', 'ready', 'dead', 'error-state']
    .map((story) => ({
      id: `elements-ecdn-seed-drop--${story}`,
      file: `ecdn-seed-drop-${story.replace('-state', '')}`,
      state: story.replace('-state', ''),
      selector: 'ecdn-seed-drop',
    }))
    .filter((s) => s.state !== 'dead'),
  {
    id: 'elements-ecdn-seed-drop--ready-last-seeder',
    file: 'ecdn-seed-drop-ready-last-seeder',
    state: 'ready',
    selector: 'ecdn-seed-drop',
  },
  {
    id: 'elements-ecdn-seed-drop--several-files',
    file: 'ecdn-seed-drop-several-files',
    state: 'ready',
    selector: 'ecdn-seed-drop',
  },
  ...['idle', 'loading', 'ready-image', 'ready-csv', 'ready-text', 'dead', 'error-state'].map((story) => ({
    id: `elements-ecdn-file--${story}`,
    file: `ecdn-file-${story.replace('-state', '')}`,
    state: story.replace('-state', '').replace(/^ready-.*/, 'ready'),
    selector: 'ecdn-file',
  })),
  ...['loading', 'ready', 'dead', 'dead-after-shown', 'error-state'].map((story) => ({
    id: `elements-ecdn-img--${story}`,
    file: `ecdn-img-${story.replace('-state', '')}`,
    state: story === 'dead-after-shown' ? 'dead' : story.replace('-state', ''),
    selector: 'ecdn-img',
  })),
  ...['idle', 'loading', 'ready', 'dead', 'error-state'].map((story) => ({
    id: `elements-ecdn-download--${story}`,
    file: `ecdn-download-${story.replace('-state', '')}`,
    state: story.replace('-state', ''),
    selector: 'ecdn-download',
  })),
];

const types: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
};

if (!existsSync(join(staticDir, 'iframe.html'))) throw new Error('Build Storybook first: npm run build-storybook');
const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url!, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  const file = join(staticDir, path);
  if (!file.startsWith(staticDir) || !existsSync(file) || statSync(file).isDirectory()) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

await mkdir(outDir, { recursive: true });
const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
try {
  for (const scheme of ['light', 'dark'] as const) {
    const context = await browser.newContext({ viewport: { width: 760, height: 900 }, deviceScaleFactor: 2, colorScheme: scheme });
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
    for (const shot of shots) {
      await page.goto(`${base}/iframe.html?id=${shot.id}&viewMode=story`);
      await page.addStyleTag({
        content: `body { background: ${scheme === 'dark' ? '#0d1117' : '#ffffff'} !important; }
          #storybook-root { display: inline-block; padding: 8px; width: ${shot.selector === 'ecdn-seed-drop' ? 'calc(40rem + 16px)' : shot.selector === 'ecdn-file' ? 'calc(36rem + 16px)' : 'auto'}; }`,
      });
      await page.waitForFunction(
        ({ selector, state }) => document.querySelector(selector)?.getAttribute('state') === state,
        { selector: shot.selector, state: shot.state },
        { timeout: 10_000 },
      );
      // Let the watch report, the stats poll tick and the image decode.
      await page.waitForTimeout(shot.state === 'ready' ? 1_300 : 300);
      const target = page.locator('#storybook-root');
      const file = join(outDir, `${shot.file}${scheme === 'dark' ? '-dark' : ''}.png`);
      await target.screenshot({ path: file });
      console.log(`wrote ${file}`);
    }
    await context.close();
  }
} finally {
  await browser.close();
  server.close();
}
