import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { closePage, launchChromium, openPage } from '../helpers/browser.js';
import { makePng } from '../helpers/png.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { plainPage, startSite, type Site } from '../helpers/site.js';

// The custom elements as an embedding site uses them: plain HTML pages, on an
// origin of their own, whose only script is the server's /ephemeralcdn.js,
// against the real server, with no ICE server (the engine's default).

let server: RunningServer;
let site: Site;
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

/** Opens a plain HTML page of the embedding site whose one script is the server's `/ephemeralcdn.js`. */
function openPlainPage(body: string, head = '', scriptAtEnd = false): Promise<Page> {
  return openPage(browser, plainPage(site, `${server.url}/ephemeralcdn.js`, body, head, scriptAtEnd));
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
