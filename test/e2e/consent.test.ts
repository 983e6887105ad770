import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { closePage } from '../helpers/browser.js';
import { fetchDigest, openEcdnPage, seedRandom, waitInPage } from '../helpers/pages.js';
import { useSession } from '../helpers/session.js';

// Uploads only with a reason: a page serves bytes only when it seeds a file or
// fetched one with re-seeding on.

const MiB = 1024 * 1024;
const session = useSession();

const bytesUp = (page: Page) => page.evaluate(() => window.EphemeralCDN.stats().bytesUp);
const status = (page: Page, hash: string) =>
  page.evaluate(async (hash) => (await fetch(`/api/files/${hash}`)).json() as Promise<{ seeders: number; leechers: number }>, hash);

test('a page that only watches, or fetches with reseed: false, uploads nothing', { timeout: 90_000 }, async () => {
  const seeder = await openEcdnPage(session.browser, session.server.url);
  const hash = await seedRandom(seeder, 4 * MiB);
  const watcher = await openEcdnPage(session.browser, session.server.url);
  await watcher.evaluate((hash) => void window.EphemeralCDN.watch(hash, () => {}), hash);
  const leech = await openEcdnPage(session.browser, session.server.url);
  assert.equal(await fetchDigest(leech, hash, { reseed: false }), hash);
  const pageWide = await openEcdnPage(session.browser, session.server.url);
  await pageWide.evaluate(() => window.EphemeralCDN.configure({ reseed: false }));
  assert.equal(await fetchDigest(pageWide, hash), hash);

  // Later consumers find only the seeder, and the others never send a byte.
  for (let i = 0; i < 2; i++) {
    const consumer = await openEcdnPage(session.browser, session.server.url);
    assert.equal(await fetchDigest(consumer, hash, { maxPeers: 10 }), hash);
    await closePage(consumer);
  }
  // The consumers just closed re-seeded while open; once they are gone only the seeder is left.
  await waitInPage(watcher, async (hash) => (await (await fetch(`/api/files/${hash}`)).json()).seeders === 1, hash, { timeout: 10_000 });
  assert.deepEqual(await status(watcher, hash), { hash, alive: true, seeders: 1, leechers: 0 });
  for (const page of [watcher, leech, pageWide]) assert.equal(await bytesUp(page), 0);
  for (const page of [seeder, watcher, leech, pageWide]) await closePage(page);
});

test('on a Save-Data or cellular connection a consumer does not re-seed unless asked', { timeout: 60_000 }, async () => {
  const seeder = await openEcdnPage(session.browser, session.server.url);
  const hash = await seedRandom(seeder, 2 * MiB);
  for (const connection of [{ saveData: true }, { saveData: false, type: 'cellular' }]) {
    const context = await session.browser.newContext();
    await context.addInitScript(`Object.defineProperty(navigator, 'connection', { value: ${JSON.stringify(connection)} });`);
    const page = await context.newPage();
    await page.addInitScript('globalThis.__name = (fn) => fn;');
    await page.goto(`${session.server.url}/healthz`);
    await page.addScriptTag({ url: `${session.server.url}/ephemeralcdn.js` });
    assert.equal(await fetchDigest(page, hash), hash);
    assert.equal((await status(page, hash)).seeders, 1, `no re-seeding with ${JSON.stringify(connection)}`);
    // The page may still opt in explicitly.
    await page.evaluate(() => window.EphemeralCDN.configure({ reseed: true }));
    await page.evaluate((hash) => window.EphemeralCDN.fetch(hash), hash);
    await waitInPage(page, async (hash) => (await (await fetch(`/api/files/${hash}`)).json()).seeders === 2, hash);
    await context.close();
  }
  await closePage(seeder);
});
