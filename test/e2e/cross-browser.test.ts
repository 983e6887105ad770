import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser as ChromiumBrowser } from 'playwright-core';
import puppeteer, { type Browser as FirefoxBrowser } from 'puppeteer-core';
import { launchChromium, openPage } from '../helpers/browser.js';
import { firefoxLaunchOptions, firefoxPath, NO_FIREFOX } from '../helpers/firefox.js';
import { startServer, type RunningServer } from '../helpers/server.js';

// Swarms across browser engines: Chromium (through Playwright) and Firefox
// (through Puppeteer over WebDriver BiDi, the only way to drive Debian's
// Firefox here) share files through the real server. Cross-engine WebRTC is
// where data-channel message sizes, candidate handling and Blob reads differ.

const MiB = 1024 * 1024;
const firefox = firefoxPath();
// CI requires Firefox (.ci/run installs it); a developer machine without one skips.
const skip = firefox ? false : process.env.ECDN_REQUIRE_FIREFOX ? false : NO_FIREFOX;

let server: RunningServer;
let chromium: ChromiumBrowser;
let gecko: FirefoxBrowser;

before(async () => {
  if (skip) return;
  if (!firefox) throw new Error(NO_FIREFOX);
  server = await startServer();
  chromium = await launchChromium();
  gecko = await puppeteer.launch(firefoxLaunchOptions(firefox));
});
after(async () => {
  await gecko?.close();
  await chromium?.close();
  await server?.close();
});

/** A tab of either engine with the server's bundle loaded, reduced to what these tests do with it. */
interface Tab {
  readonly engine: 'chromium' | 'firefox';
  run<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  close(): Promise<void>;
}

async function open(engine: Tab['engine']): Promise<Tab> {
  const url = `${server.url}/healthz`;
  const bundle = `${server.url}/ephemeralcdn.js`;
  if (engine === 'chromium') {
    const page = await openPage(chromium, url);
    await page.addScriptTag({ url: bundle });
    const tab: Tab = {
      engine,
      run: (fn, arg) => page.evaluate(fn as never, arg) as never,
      close: () => page.context().close(),
    };
    await tab.run(() => window.EphemeralCDN.configure({ iceServers: [] }), undefined);
    return tab;
  }
  // A separate context, as a separate user's tab would be.
  const context = await gecko.createBrowserContext();
  const page = await context.newPage();
  await page.goto(url);
  await page.addScriptTag({ url: bundle });
  const tab: Tab = {
    engine,
    run: (fn, arg) => page.evaluate(fn as never, arg) as never,
    close: () => context.close(),
  };
  await tab.run(() => window.EphemeralCDN.configure({ iceServers: [] }), undefined);
  return tab;
}

/** Seeds `size` bytes from `seed` (the same bytes in any engine) and resolves with their hash. */
function seed(tab: Tab, size: number, seed: number): Promise<string> {
  return tab.run(
    ({ size, seed }) => {
      const words = new Uint32Array(Math.ceil(size / 4));
      let x = (seed * 2654435761) >>> 0 || 1;
      for (let i = 0; i < words.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        words[i] = x >>> 0;
      }
      return window.EphemeralCDN.seed(new Uint8Array(words.buffer, 0, size));
    },
    { size, seed },
  );
}

/** Fetches `hash`; resolves with the SHA-256 of what arrived, computed by the browser itself. */
function fetchDigest(tab: Tab, hash: string, options: { maxPeers?: number } = {}): Promise<string> {
  return tab.run(
    async ({ hash, options }) => {
      const buffer = await window.EphemeralCDN.fetch(hash, options);
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer));
      return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
    },
    { hash, options },
  );
}

const peerId = (tab: Tab) => tab.run(() => window.EphemeralCDN.stats().peerId!, undefined);

for (const [from, to] of [
  ['chromium', 'firefox'],
  ['firefox', 'chromium'],
  ['firefox', 'firefox'],
] as const) {
  test(`${from} seeds, ${to} fetches: 8 MiB, verified`, { skip, timeout: 90_000 }, async () => {
    const seeder = await open(from);
    const consumer = await open(to);
    const hash = await seed(seeder, 8 * MiB, from.length * 10 + to.length);
    assert.equal(await fetchDigest(consumer, hash), hash);
    for (const tab of [seeder, consumer]) await tab.close();
  });
}

test('a mixed swarm: a Firefox consumer receives pieces from Chromium and Firefox seeders', { skip, timeout: 120_000 }, async () => {
  const seeders = [await open('chromium'), await open('firefox'), await open('chromium')];
  const consumer = await open('firefox');
  let hash = '';
  for (const tab of seeders) {
    hash = await seed(tab, 6 * MiB, 4001);
    // Capped, so that no seeder finishes the file before the others' links open.
    await tab.run(() => window.EphemeralCDN.configure({ uploadLimit: 1_500_000 }), undefined);
  }
  assert.equal(await fetchDigest(consumer, hash, { maxPeers: 5 }), hash);
  const ids = await Promise.all(seeders.map(peerId));
  const sources = await consumer.run(
    () =>
      window.EphemeralCDN.stats()
        .connections.filter((c) => c.bytesDown > 0)
        .map((c) => c.peerId),
    undefined,
  );
  const engines = new Set(sources.map((id) => seeders[ids.indexOf(id)]?.engine));
  assert.deepEqual([...engines].sort(), ['chromium', 'firefox'], `pieces came from ${sources.length} seeders`);
  for (const tab of [...seeders, consumer]) await tab.close();
});
