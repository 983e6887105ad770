import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { closePage, launchChromium, openPage } from '../helpers/browser.js';
import { startServer } from '../helpers/server.js';
import { openEcdnPage, seedRandom } from '../helpers/pages.js';

// The tracker as real pages meet it: announce, watch, death on close, and
// eviction of a page that stops heartbeating.

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

type Status = { alive: boolean; seeders: number };

function startWatching(page: Page, hash: string): Promise<void> {
  return page.evaluate((hash) => {
    const w = window as unknown as { watched: Status[] };
    w.watched = [];
    window.EphemeralCDN.watch(hash, (status) => w.watched.push(status));
  }, hash);
}

async function waitForStatus(page: Page, alive: boolean, seeders: number): Promise<void> {
  await page.waitForFunction(
    ({ alive, seeders }) => {
      const last = (window as unknown as { watched: Status[] }).watched.at(-1);
      return last?.alive === alive && last.seeders === seeders;
    },
    { alive, seeders },
    { timeout: 15_000 },
  );
}

test('a watcher sees a seeder arrive and the file die when its page closes', { timeout: 60_000 }, async () => {
  const server = await startServer();
  try {
    const seeder = await openEcdnPage(browser, server.url);
    const hash = await seedRandom(seeder, 64 * 1024);
    const watcher = await openEcdnPage(browser, server.url);
    await startWatching(watcher, hash);
    await waitForStatus(watcher, true, 1);

    const api = await watcher.evaluate(async (url) => (await fetch(url)).json(), `${server.url}/api/files/${hash}`);
    assert.deepEqual(api, { hash, alive: true, seeders: 1, leechers: 0 });

    await closePage(seeder);
    await waitForStatus(watcher, false, 0);
    const seen = await watcher.evaluate(() => (window as unknown as { watched: Status[] }).watched);
    assert.deepEqual(seen.at(-1), { hash, alive: false, seeders: 0, leechers: 0 });
  } finally {
    await server.close();
  }
});

test('a page that stops heartbeating is evicted; one that heartbeats is not', { timeout: 60_000 }, async () => {
  const server = await startServer({ heartbeatTimeoutMs: 1_500 });
  try {
    const live = await openEcdnPage(browser, server.url);
    const liveHash = await seedRandom(live, 1024);

    // A page that announces over a bare WebSocket and then falls silent, as a
    // frozen or crashed tab would while its socket stays open.
    const silent = await openPage(browser, `${server.url}/healthz`);
    const silentHash = '5'.repeat(64);
    await silent.evaluate(
      ({ hash }) =>
        new Promise<void>((resolve) => {
          const ws = new WebSocket(`ws://${location.host}/tracker`);
          (window as unknown as { ws: WebSocket }).ws = ws;
          ws.onopen = () => ws.send(JSON.stringify({ type: 'hello' }));
          ws.onmessage = (event) => {
            const message = JSON.parse(event.data as string);
            if (message.type === 'welcome') ws.send(JSON.stringify({ type: 'announce', hash, rid: 1 }));
            if (message.type === 'ok') resolve();
          };
        }),
      { hash: silentHash },
    );

    const watcher = await openEcdnPage(browser, server.url);
    await startWatching(watcher, silentHash);
    await waitForStatus(watcher, true, 1);
    const started = Date.now();
    await waitForStatus(watcher, false, 0);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 1_500 + 1_000, `evicted after ${elapsed} ms`);

    // Several timeouts later, the heartbeating page still holds its file.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const status = await watcher.evaluate(async (url) => (await fetch(url)).json(), `${server.url}/api/files/${liveHash}`);
    assert.equal(status.alive, true);
    assert.equal(status.seeders, 1);
  } finally {
    await server.close();
  }
});

test('watches survive configure() pointing the page at a server again', { timeout: 60_000 }, async () => {
  const server = await startServer();
  try {
    const seeder = await openEcdnPage(browser, server.url);
    const hash = await seedRandom(seeder, 1024);
    const watcher = await openEcdnPage(browser, server.url);
    await startWatching(watcher, hash);
    await waitForStatus(watcher, true, 1);
    // A different spelling of the same server: the engine reconnects from scratch.
    await watcher.evaluate((url) => window.EphemeralCDN.configure({ server: `${url}/` }), server.url);
    await closePage(seeder);
    await waitForStatus(watcher, false, 0);
  } finally {
    await server.close();
  }
});
