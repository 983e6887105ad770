import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, deflateSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { closePage, launchChromium, openPage } from '../helpers/browser.js';
import { startServer, type RunningServer } from '../helpers/server.js';

// The custom elements as an embedding site uses them: plain HTML pages, on an
// origin of their own, whose only script is the server's /ephemeralcdn.js,
// against the real server, with no ICE server (the engine's default).

let server: RunningServer;
let site: { url: string; pages: Map<string, string>; close: () => Promise<void> };
let browser: Browser;

before(async () => {
  server = await startServer();
  site = await startSite();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await site?.close();
  await server?.close();
});

/**
 * An embedding site: another origin on loopback that serves the test's plain
 * HTML pages. (Pages fulfilled by request interception would have no address,
 * and Chromium's local network access checks then block their WebSocket to
 * the loopback tracker.)
 */
async function startSite(): Promise<typeof site> {
  const pages = new Map<string, string>();
  const http = createHttpServer((req, res) => {
    const body = pages.get(req.url ?? '');
    res.writeHead(body ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body ?? 'not found');
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    pages,
    close: () => new Promise((resolve) => http.close(() => resolve())),
  };
}

/** Opens a plain HTML page of the embedding site whose one script is the server's `/ephemeralcdn.js`. */
async function openPlainPage(body: string, head = '', scriptAtEnd = false): Promise<Page> {
  const path = `/plain-${Math.random().toString(36).slice(2)}.html`;
  const script = `<script src="${server.url}/ephemeralcdn.js"></script>`;
  site.pages.set(
    path,
    `<!doctype html><html><head><meta charset="utf-8"><title>plain</title>
      ${scriptAtEnd ? '' : script}${head}</head><body>${body}${scriptAtEnd ? script : ''}</body></html>`,
  );
  return openPage(browser, `${site.url}${path}`);
}

/** A real `width`×`height` PNG (an RGB gradient), made without any image library. */
function makePng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) rows.set([(x * 255) / width, (y * 255) / height, 200], row + 1 + x * 3);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function state(page: Page, selector: string): Promise<string | null> {
  return page.locator(selector).first().getAttribute('state');
}

function waitForState(page: Page, selector: string, expected: string, timeout = 20_000): Promise<unknown> {
  return page.waitForFunction(
    ({ selector, expected }) => document.querySelector(selector)?.getAttribute('state') === expected,
    { selector, expected },
    { timeout },
  );
}

test('one script tag defines the three elements, and nothing reaches the network before a file is chosen', {
  timeout: 30_000,
}, async () => {
  const page = await openPlainPage('<ecdn-seed-drop></ecdn-seed-drop><ecdn-img></ecdn-img><ecdn-download></ecdn-download>');
  const seen = await page.evaluate(async () => {
    const tags = ['ecdn-seed-drop', 'ecdn-img', 'ecdn-download'];
    await Promise.all(tags.map((tag) => customElements.whenDefined(tag)));
    await new Promise((r) => setTimeout(r, 200));
    return {
      defined: tags.map((tag) => Boolean(customElements.get(tag))),
      rendered: tags.map((tag) => Boolean(document.querySelector(tag)?.shadowRoot?.childElementCount)),
      states: tags.map((tag) => document.querySelector(tag)?.getAttribute('state')),
      api: typeof window.EphemeralCDN.fetch,
      peerId: window.EphemeralCDN.stats().peerId,
    };
  });
  assert.deepEqual(seen.defined, [true, true, true]);
  assert.deepEqual(seen.rendered, [true, true, true]);
  assert.deepEqual(seen.states, ['idle', 'idle', 'idle']);
  assert.equal(seen.api, 'function');
  assert.equal(seen.peerId, undefined, 'no tracker connection before a file is dropped or a hash is given');
  await closePage(page);
});

test("a PNG seeded with <ecdn-seed-drop> renders in another page's <ecdn-img>, which turns dead when the seeder leaves", {
  timeout: 90_000,
}, async () => {
  const png = makePng(96, 64);
  const seeder = await openPlainPage('<ecdn-seed-drop></ecdn-seed-drop>');
  await seeder.locator('ecdn-seed-drop input[type=file]').setInputFiles({ name: 'gradient.png', mimeType: 'image/png', buffer: png });
  await waitForState(seeder, 'ecdn-seed-drop', 'ready');
  const hash = await seeder.evaluate(() => document.querySelector('ecdn-seed-drop')!.hash!);
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.equal(await seeder.locator('ecdn-seed-drop [part~=hash]').textContent(), hash);
  const snippet = await seeder.locator('ecdn-seed-drop [part~=snippet] code').first().textContent();
  assert.equal(snippet, `<ecdn-img hash="${hash}" alt="gradient.png"></ecdn-img>`);
  await seeder.waitForFunction(() => document.querySelector('ecdn-seed-drop')!.seeders === 1, null, { timeout: 15_000 });

  // The viewer does not re-seed, so that the seeder's page is the only copy.
  const viewer = await openPlainPage(
    `<ecdn-img hash="${hash}" alt="a gradient"></ecdn-img>
     <ecdn-download hash="${hash}" filename="gradient.png"></ecdn-download>`,
    '<script>EphemeralCDN.configure({ reseed: false });</script>',
  );
  await waitForState(viewer, 'ecdn-img', 'ready', 30_000);
  const shown = await viewer.evaluate(() => {
    const el = document.querySelector('ecdn-img')!;
    return { naturalWidth: el.shadowRoot!.querySelector('img')!.naturalWidth, seeders: el.seeders };
  });
  assert.equal(shown.naturalWidth, 96);
  await viewer.waitForFunction(() => (document.querySelector('ecdn-img')!.seeders ?? 0) >= 1, null, { timeout: 15_000 });
  await viewer.waitForFunction(() => (document.querySelector('ecdn-download')!.seeders ?? 0) >= 1, null, { timeout: 15_000 });
  assert.equal(await state(viewer, 'ecdn-download'), 'idle');

  // The seeder page served the viewer: its live count saw someone download.
  const served = await seeder.evaluate(() => window.EphemeralCDN.stats().bytesUp);
  assert.ok(served >= png.length, `the seeder served ${served} bytes`);

  await closePage(seeder);
  await waitForState(viewer, 'ecdn-img', 'dead');
  await waitForState(viewer, 'ecdn-download', 'dead');
  assert.equal(await viewer.evaluate(() => document.querySelector('ecdn-img')!.seeders), 0);
  const text = await viewer.locator('ecdn-img [part~=dead]').textContent();
  assert.match(text ?? '', /File is dead/);
  await closePage(viewer);
});

test('<ecdn-download> in a plain page downloads a seeded file and saves it', { timeout: 60_000 }, async () => {
  const bytes = Buffer.from('a,b\n1,2\n'.repeat(5000));
  const seeder = await openPlainPage('<ecdn-seed-drop></ecdn-seed-drop>');
  await seeder.locator('ecdn-seed-drop input[type=file]').setInputFiles({ name: 'table.csv', mimeType: 'text/csv', buffer: bytes });
  await waitForState(seeder, 'ecdn-seed-drop', 'ready');
  const hash = await seeder.evaluate(() => document.querySelector('ecdn-seed-drop')!.hash!);

  const page = await openPlainPage(`<ecdn-download hash="${hash}" filename="table.csv"></ecdn-download>`);
  const download = page.waitForEvent('download');
  await page.locator('ecdn-download [part~=button]').click();
  const saved = await download;
  assert.equal(saved.suggestedFilename(), 'table.csv');
  const stream = await saved.createReadStream();
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  assert.ok(Buffer.concat(chunks).equals(bytes), 'the saved file has the seeded bytes');
  await waitForState(page, 'ecdn-download', 'ready');
  await closePage(page);
  await closePage(seeder);
});

test('an invalid hash shows an error without touching the network', { timeout: 30_000 }, async () => {
  const page = await openPlainPage('<ecdn-img hash="not-a-hash"></ecdn-img><ecdn-download hash="zz"></ecdn-download>');
  await waitForState(page, 'ecdn-img', 'error');
  await waitForState(page, 'ecdn-download', 'error');
  await closePage(page);
});

test('elements placed before the script tag wait for it to configure the server', { timeout: 30_000 }, async () => {
  // The bundle upgrades these while it defines the elements, a moment before
  // it points the engine at the server it was loaded from.
  const hash = 'f'.repeat(64);
  const page = await openPlainPage(`<ecdn-img hash="${hash}"></ecdn-img><ecdn-download hash="${hash}"></ecdn-download>`, '', true);
  await waitForState(page, 'ecdn-img', 'dead');
  await waitForState(page, 'ecdn-download', 'dead');
  await closePage(page);
});
