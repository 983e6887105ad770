import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { formatBytes } from '../../src/internal/format.js';
import { axeViolations, describeViolations } from '../helpers/axe.js';
import { makePng } from '../helpers/png.js';
import { openTab } from '../helpers/pages.js';
import { useSession } from '../helpers/session.js';

// Share by link, as people use it: one tab drops files on the demo page and
// sends their links; others open the links on the share page. Real Chromium
// tabs, the real server, WebRTC between them.

// Heartbeats every 2 s: a dead file must show as dead within one of them.
const HEARTBEAT_TIMEOUT_MS = 6_000;
const HEARTBEAT_INTERVAL_MS = HEARTBEAT_TIMEOUT_MS / 3;
const session = useSession({ heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS });

/** Drops files on the demo page's `<ecdn-seed-drop>` through its file input, and waits until all are seeded. */
async function shareFiles(page: Page, files: Array<{ name: string; mimeType: string; buffer: Buffer }>): Promise<string[]> {
  await page.setInputFiles('#drop input[type=file]', files);
  await page.waitForFunction(
    (count) => {
      const drop = document.querySelector('ecdn-seed-drop')!;
      return drop.files.length === count && drop.files.every((f) => f.state === 'ready' && f.seeders === 1);
    },
    files.length,
    { timeout: 15_000 },
  );
  return page.$$eval('#drop [part~=link]', (links) => links.map((a) => (a as HTMLAnchorElement).href));
}

function fileState(page: Page): Promise<string | null> {
  return page.locator('ecdn-file').getAttribute('state');
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function assertAccessible(page: Page, where: string): Promise<void> {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, `axe-core on ${where}:\n${describeViolations(violations)}`);
}

/** The element that has the keyboard focus, looking through shadow roots: its part, or its id, and its text. */
function focused(page: Page): Promise<{ part: string; id: string; text: string }> {
  return page.evaluate(() => {
    let el = document.activeElement;
    while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
    return { part: el?.getAttribute('part') ?? '', id: el?.id ?? '', text: (el?.textContent ?? '').replace(/\s+/g, ' ').trim() };
  });
}

/** Presses Tab until the focus is on what `wanted` accepts, as a keyboard user would; fails after `max` presses. */
async function tabTo(page: Page, wanted: (f: { part: string; id: string; text: string }) => boolean, max = 30): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (wanted(await focused(page))) return;
  }
  assert.fail(`not reached with ${max} presses of Tab; the focus is on ${JSON.stringify(await focused(page))}`);
}

test('a file shared on the demo page downloads from its link in a fresh tab, whose page names and sizes it first', {
  timeout: 60_000,
}, async () => {
  const png = makePng(320, 200);
  const publisher = await openTab(session.browser, `${session.server.url}/`);
  assert.deepEqual(publisher.errors, [], 'no console error on load');
  await assertAccessible(publisher.page, 'the demo page, nothing shared');
  const [link] = await shareFiles(publisher.page, [{ name: 'build graph.png', mimeType: 'image/png', buffer: png }]);
  const hash = sha256(png);
  assert.equal(link, `${session.server.url}/f/${hash}#name=build+graph.png&type=image%2Fpng`);
  await assertAccessible(publisher.page, 'the demo page sharing a file (link, QR code, counts)');

  const viewer = await openTab(session.browser, link!);
  assert.equal(await viewer.page.title(), 'build graph.png · EphemeralCDN');
  await viewer.page.waitForFunction(() => document.querySelector('ecdn-file')!.size !== undefined, null, { timeout: 15_000 });
  assert.equal(await fileState(viewer.page), 'idle');
  assert.equal(await viewer.page.locator('ecdn-file [part~=name]').textContent(), 'build graph.png');
  assert.equal(await viewer.page.locator('ecdn-file [part~=size]').textContent(), formatBytes(png.length));
  assert.equal(await viewer.page.evaluate(() => window.EphemeralCDN.stats().bytesDown), 0, 'nothing downloaded before the click');
  await viewer.page.waitForFunction(() => document.querySelector('ecdn-file')!.seeders === 1);
  await assertAccessible(viewer.page, 'the share page before the download');

  const [download] = await Promise.all([
    viewer.page.waitForEvent('download'),
    viewer.page.locator('ecdn-file [part~=download-button]').click(),
  ]);
  assert.equal(download.suggestedFilename(), 'build graph.png');
  assert.ok((await readFile((await download.path())!)).equals(png), 'the saved file has the shared bytes');
  await viewer.page.waitForFunction(() => document.querySelector('ecdn-file')!.state === 'ready');
  const shown = await viewer.page.locator('ecdn-file [part~=preview] img').evaluate((img: HTMLImageElement) => img.naturalWidth);
  assert.equal(shown, 320, 'the image is previewed');
  assert.match((await viewer.page.locator('ecdn-file [part~=notice]').textContent()) ?? '', /This tab now shares the file too/);
  // The viewer seeds it on: the publisher sees two seeders.
  await publisher.page.waitForFunction(() => document.querySelector('ecdn-seed-drop')!.seeders === 2, null, { timeout: 10_000 });
  await assertAccessible(viewer.page, 'the share page after the download, with its preview');
  assert.deepEqual(viewer.errors, [], 'no console error on the share page');
  await viewer.close();
  await publisher.close();
});

test('the share link of a dead file shows the dead state within one heartbeat interval', { timeout: 30_000 }, async () => {
  const publisher = await openTab(session.browser, `${session.server.url}/`);
  const text = Buffer.from('dies soon\n'.repeat(1000));
  const [link] = await shareFiles(publisher.page, [{ name: 'soon.txt', mimeType: 'text/plain', buffer: text }]);
  const viewer = await openTab(session.browser, link!);
  await viewer.page.waitForFunction(() => document.querySelector('ecdn-file')!.seeders === 1, null, { timeout: 10_000 });

  await publisher.close();
  const closed = Date.now();
  await viewer.page.waitForFunction(() => document.querySelector('ecdn-file')!.state === 'dead', null, { timeout: HEARTBEAT_INTERVAL_MS });
  const took = Date.now() - closed;
  assert.ok(took <= HEARTBEAT_INTERVAL_MS, `dead after ${took} ms`);
  assert.match((await viewer.page.locator('ecdn-file [part~=dead]').textContent()) ?? '', /File is dead/);
  await assertAccessible(viewer.page, 'the share page of a dead file');

  // Opened afterwards, the link shows it dead at once.
  const late = await openTab(session.browser, link!);
  const opened = Date.now();
  await late.page.waitForFunction(() => document.querySelector('ecdn-file')!.state === 'dead', null, { timeout: HEARTBEAT_INTERVAL_MS });
  assert.ok(Date.now() - opened <= HEARTBEAT_INTERVAL_MS);
  assert.deepEqual(late.errors, []);
  await late.close();
  await viewer.close();
});

test('a malformed link shows a readable "not a valid link" page', { timeout: 20_000 }, async () => {
  const tab = await openTab(session.browser, `${session.server.url}/f/${'ab'.repeat(20)}`);
  assert.equal(await tab.page.title(), 'Not a valid link · EphemeralCDN');
  assert.equal(await tab.page.locator('h1').textContent(), 'This is not a valid link');
  assert.match((await tab.page.locator('.lead').textContent()) ?? '', /40 hexadecimal characters/);
  // The one console error is the 404 itself.
  assert.equal(tab.errors.length, 1);
  assert.match(tab.errors[0]!, /404/);
  await assertAccessible(tab.page, 'the invalid-link page');
  await tab.close();
});

test("the demo page's form opens a pasted link's page, and says when the text is neither a link nor a hash", {
  timeout: 20_000,
}, async () => {
  const tab = await openTab(session.browser, `${session.server.url}/`);
  await tab.page.fill('#fetch-hash', 'not a link');
  await tab.page.press('#fetch-hash', 'Enter');
  assert.match((await tab.page.textContent('#fetch-status')) ?? '', /neither a share link nor a 64-character SHA-256/);
  assert.equal(await tab.page.getAttribute('#fetch-hash', 'aria-invalid'), 'true');
  const hash = 'f00d'.padEnd(64, '1');
  await tab.page.fill('#fetch-hash', ` https://elsewhere.example/f/${hash.toUpperCase()}#name=notes+2026.txt&type=text%2Fplain `);
  await Promise.all([
    tab.page.waitForURL(`${session.server.url}/f/${hash}#name=notes+2026.txt&type=text%2Fplain`),
    tab.page.press('#fetch-hash', 'Enter'),
  ]);
  assert.equal(await tab.page.title(), 'notes 2026.txt · EphemeralCDN');
  // Nobody seeds it: the page says so.
  await tab.page.waitForFunction(() => document.querySelector('ecdn-file')!.state === 'dead', null, { timeout: 5_000 });
  await tab.close();
});

test('several files dropped at once are all seeded; stopping one leaves the others seeding', { timeout: 30_000 }, async () => {
  const publisher = await openTab(session.browser, `${session.server.url}/`);
  const files = ['a', 'b', 'c'].map((n) => ({ name: `${n}.csv`, mimeType: 'text/csv', buffer: Buffer.from(`file,${n}\n`.repeat(2000)) }));
  const links = await shareFiles(publisher.page, files);
  const hashes = files.map((f) => sha256(f.buffer));
  assert.deepEqual(
    links.map((l) => new URL(l).pathname),
    hashes.map((h) => `/f/${h}`),
  );
  const seeders = async (hash: string) =>
    ((await (await fetch(`${session.server.url}/api/files/${hash}`)).json()) as { seeders: number }).seeders;
  assert.deepEqual(await Promise.all(hashes.map(seeders)), [1, 1, 1]);
  await assertAccessible(publisher.page, 'the demo page sharing three files');

  await publisher.page.locator('#drop [part~=stop-button]').nth(1).click();
  await publisher.page.waitForFunction(() => document.querySelector('ecdn-seed-drop')!.files.length === 2);
  for (let i = 0; i < 50 && (await seeders(hashes[1]!)) !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await Promise.all(hashes.map(seeders)), [1, 0, 1]);
  const held = await publisher.page.evaluate(() => window.EphemeralCDN.stats().seeding.map((s) => s.hash));
  assert.deepEqual(held.sort(), [hashes[0], hashes[2]].sort());

  // The others still come down from their links.
  const viewer = await openTab(session.browser, links[2]!);
  const [download] = await Promise.all([
    viewer.page.waitForEvent('download'),
    viewer.page.locator('ecdn-file [part~=download-button]').click(),
  ]);
  assert.ok((await readFile((await download.path())!)).equals(files[2]!.buffer));
  const table = await viewer.page.locator('ecdn-file [part~=preview] table').count();
  assert.equal(table, 1, 'a CSV file is previewed as a table');
  await assertAccessible(viewer.page, 'the share page with a CSV preview');
  await viewer.close();
  await publisher.close();
});

test('keyboard only: pick a file, copy its link, then open it and download', { timeout: 40_000 }, async () => {
  const content = Buffer.from('typed,not,clicked\n'.repeat(500));
  const publisher = await openTab(session.browser, `${session.server.url}/`, { permissions: ['clipboard-read', 'clipboard-write'] });
  // Listening before the key presses: Playwright starts intercepting file choosers
  // asynchronously, and a chooser opened before that never reaches the test.
  const chooserOpened = publisher.page.waitForEvent('filechooser');
  await tabTo(publisher.page, (f) => f.part === 'dropzone');
  await publisher.page.keyboard.press('Enter');
  const chooser = await chooserOpened;
  assert.equal(chooser.isMultiple(), true);
  await chooser.setFiles({ name: 'keys.csv', mimeType: 'text/csv', buffer: content });
  await publisher.page.waitForFunction(() => document.querySelector('ecdn-seed-drop')!.files[0]?.state === 'ready', null, {
    timeout: 15_000,
  });
  await tabTo(publisher.page, (f) => f.part === 'copy-button' && f.text.startsWith('Copy link'));
  await publisher.page.keyboard.press('Enter');
  await publisher.page.waitForFunction(() => document.querySelector('ecdn-seed-drop')!.shadowRoot!.textContent!.includes('Copied'));
  const link = await publisher.page.evaluate(() => navigator.clipboard.readText());
  assert.equal(link, `${session.server.url}/f/${sha256(content)}#name=keys.csv&type=text%2Fcsv`);

  const viewer = await openTab(session.browser, link);
  await viewer.page.waitForFunction(() => document.querySelector('ecdn-file')!.size !== undefined, null, { timeout: 15_000 });
  await tabTo(viewer.page, (f) => f.part === 'download-button');
  const [download] = await Promise.all([viewer.page.waitForEvent('download'), viewer.page.keyboard.press('Enter')]);
  assert.ok((await readFile((await download.path())!)).equals(content));
  // The preview is reachable too: a scrollable table takes the focus.
  await tabTo(viewer.page, (f) => f.text.startsWith('typed'), 10);

  // Back on the demo page: Stop sharing, by keyboard.
  await tabTo(publisher.page, (f) => f.part === 'stop-button');
  await publisher.page.keyboard.press('Enter');
  await publisher.page.waitForFunction(() => document.querySelector('ecdn-seed-drop')!.state === 'idle');
  await viewer.close();
  await publisher.close();
});
