/**
 * Screenshots of the share-by-link flow, for the README: the demo page with a
 * shared file (its link and QR code), the share page a link opens (before the
 * download, then with the preview), a dead file's page and the invalid-link
 * page, on a phone (390×844) and a desktop (1280×800), light and dark. It runs
 * the real server and real Chromium tabs, so WebRTC must work between them:
 *
 *   npm run build && ../shared/tools/with-isolated-net node --import tsx scripts/screenshots.ts
 *
 * Writes docs/screenshots/link-<step>-<phone|desktop>[-dark].png, steps 0-home to 5-invalid.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createServer } from '../server/create-server.js';
import { CHROMIUM_ARGS, chromiumPath } from '../test/helpers/chromium.js';

const outDir = new URL('../docs/screenshots/', import.meta.url).pathname;
const VIEWPORTS = {
  phone: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
  desktop: { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 },
} as const;
/** A hash no one seeds, for the dead file's page. */
const GONE = 'd34d'.padEnd(64, 'b');

const server = createServer({ heartbeatTimeoutMs: 5_000 });
const base = await server.listen(0, '127.0.0.1');
await mkdir(outDir, { recursive: true });
const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });

try {
  for (const [device, options] of Object.entries(VIEWPORTS)) {
    for (const scheme of ['light', 'dark'] as const) {
      const shot = (page: Page, step: string) => {
        const path = join(outDir, `link-${step}-${device}${scheme === 'dark' ? '-dark' : ''}.png`);
        console.log(`wrote ${path}`);
        return page.screenshot({ path });
      };
      const open = async (url: string) => {
        const context = await browser.newContext({ ...options, colorScheme: scheme });
        const page = await context.newPage();
        // tsx's keepNames wraps functions sent to the page in a __name() helper.
        await page.addInitScript('globalThis.__name = (fn) => fn;');
        page.on('pageerror', (err) => console.error(`page error in ${url}: ${err.message}`));
        page.on('console', (msg) => msg.type() === 'error' && console.error(`console error in ${url}: ${msg.text()}`));
        await page.goto(url);
        return page;
      };

      // 0. The demo page as it opens.
      const publisher = await open(`${base}/`);
      await shot(publisher, '0-home');

      // 1. The publisher drops a screenshot: its link, QR code and counts.
      await shareChart(publisher);
      await publisher.waitForFunction(() => document.querySelector('ecdn-seed-drop')?.seeders === 1);
      await publisher.locator('#publish').evaluate((el) => el.scrollIntoView({ block: 'start' }));
      await publisher.waitForTimeout(200);
      await shot(publisher, '1-share');
      const link = await publisher.evaluate(() => document.querySelector('ecdn-seed-drop')!.files[0]!.link!);

      // 2. Someone opens the link: name, size and seeders before any download.
      const viewer = await open(link);
      await viewer.waitForFunction(() => document.querySelector('ecdn-file')?.size !== undefined);
      await viewer.waitForTimeout(200);
      await shot(viewer, '2-open');

      // 3. They download it: the preview, and the page shares it on.
      await viewer.locator('ecdn-file [part~=download-button]').click();
      await viewer.waitForFunction(() => document.querySelector('ecdn-file')?.state === 'ready');
      await viewer.waitForFunction(() => (document.querySelector('ecdn-file')?.seeders ?? 0) >= 2);
      await viewer.waitForTimeout(300);
      await shot(viewer, '3-downloaded');

      // 4. A link whose file nobody holds any more.
      const dead = await open(`${base}/f/${GONE}#name=holiday-video.mp4&type=video%2Fmp4`);
      await dead.waitForFunction(() => document.querySelector('ecdn-file')?.state === 'dead');
      await shot(dead, '4-dead');

      // 5. A link cut short on the way.
      const invalid = await open(`${base}/f/${GONE.slice(0, 41)}`);
      await shot(invalid, '5-invalid');

      for (const page of [publisher, viewer, dead, invalid]) await closeContext(page.context());
    }
  }
} finally {
  await browser.close();
  await server.close();
}
// The PeerServer's timers keep Node alive after close().
process.exit(0);

/** Draws a small bar chart, as a screenshot someone would share, and drops it on the demo page's `<ecdn-seed-drop>`. */
async function shareChart(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const width = 960;
    const height = 600;
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = '#1f2328';
    ctx.font = '600 34px system-ui, sans-serif';
    ctx.fillText('Build time per commit', 48, 70);
    ctx.fillStyle = '#59636e';
    ctx.font = '22px system-ui, sans-serif';
    ctx.fillText('seconds, last 12 commits', 48, 104);
    const values = [212, 198, 205, 187, 176, 181, 164, 158, 149, 153, 141, 128];
    const barWidth = 56;
    for (const [i, value] of values.entries()) {
      const x = 48 + i * (barWidth + 18);
      const h = value * 2;
      const gradient = ctx.createLinearGradient(0, height - 60 - h, 0, height - 60);
      gradient.addColorStop(0, '#4493f8');
      gradient.addColorStop(1, '#0969da');
      ctx.fillStyle = gradient;
      ctx.beginPath();
      ctx.roundRect(x, height - 60 - h, barWidth, h, 8);
      ctx.fill();
    }
    ctx.strokeStyle = '#d1d9e0';
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(40, height - 58);
    ctx.lineTo(width - 40, height - 58);
    ctx.stroke();
    const blob = await canvas.convertToBlob({ type: 'image/png' });
    const file = new File([blob], 'build-times.png', { type: 'image/png' });
    await document.querySelector('ecdn-seed-drop')!.seedFile(file);
  });
}

async function closeContext(context: BrowserContext): Promise<void> {
  await context.close().catch(() => {});
}
