import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Browser as ChromiumBrowser, Page as ChromiumPage } from 'playwright-core';
import puppeteer, { type Browser as FirefoxBrowser } from 'puppeteer-core';
import { launchChromium, openPage } from '../helpers/browser.js';
import { fetchDigest, seedRandom } from '../helpers/pages.js';
import { createServer } from '../../server/create-server.js';
import { firefoxLaunchOptions, firefoxPath, NO_FIREFOX, openFirefoxPage } from '../helpers/firefox.js';
import { makePng } from '../helpers/png.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { plainPage, startSite, type Site } from '../helpers/site.js';

// Swarms across browser engines: Chromium (through Playwright) and Firefox
// (through Puppeteer over WebDriver BiDi, the only way to drive Debian's
// Firefox here) share files through the real server. Cross-engine WebRTC is
// where data-channel message sizes, candidate handling and Blob reads differ.

const MiB = 1024 * 1024;
const firefox = firefoxPath();
// CI requires Firefox (.ci/run installs it); a developer machine without one skips.
const skip = firefox ? false : process.env.ECDN_REQUIRE_FIREFOX ? false : NO_FIREFOX;

let server: RunningServer;
let site: Site;
let chromium: ChromiumBrowser;
let gecko: FirefoxBrowser;

before(async () => {
  if (skip) return;
  if (!firefox) throw new Error(NO_FIREFOX);
  server = await startServer();
  site = await startSite();
  chromium = await launchChromium();
  gecko = await puppeteer.launch(firefoxLaunchOptions(firefox));
});
after(async () => {
  await gecko?.close();
  await chromium?.close();
  await site?.close();
  await server?.close();
});

/** A tab of either engine with the server's bundle loaded, reduced to what these tests do with it. */
interface Tab {
  readonly engine: 'chromium' | 'firefox';
  /** Runs a function in the page, as Playwright's `page.evaluate` does. */
  evaluate: ChromiumPage['evaluate'];
  close(): Promise<void>;
}

async function open(engine: Tab['engine'], serverUrl = server.url): Promise<Tab> {
  const url = `${serverUrl}/healthz`;
  const bundle = `${serverUrl}/ephemeralcdn.js`;
  const tab = await openAt(engine, url);
  await tab.evaluate(loadScript, bundle);
  await tab.evaluate(() => window.EphemeralCDN.configure({ iceServers: [] }));
  return tab;
}

/** A tab of `engine` at `url`, in a context of its own, as a separate user's tab would be. */
async function openAt(engine: Tab['engine'], url: string): Promise<Tab> {
  if (engine === 'chromium') {
    const page = await openPage(chromium, url);
    return { engine, evaluate: page.evaluate.bind(page), close: () => page.context().close() };
  }
  const { page, close } = await openFirefoxPage(gecko, url);
  // Puppeteer's evaluate takes the same function and argument; only its types differ.
  const evaluate = ((fn: never, arg: never) => page.evaluate(fn, arg)) as unknown as ChromiumPage['evaluate'];
  return { engine, evaluate, close };
}

/** In a page: loads a classic script and waits for it to run. */
function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}

/** In a page: resolves once `selector`'s `state` attribute is `expected`. */
function waitForState({ selector, expected }: { selector: string; expected: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${selector} stayed ${document.querySelector(selector)?.getAttribute('state')}`)),
      30_000,
    );
    const poll = setInterval(() => {
      if (document.querySelector(selector)?.getAttribute('state') !== expected) return;
      clearInterval(poll);
      clearTimeout(timer);
      resolve();
    }, 50);
  });
}

const peerId = (tab: Tab) => tab.evaluate(() => window.EphemeralCDN.stats().peerId!);

for (const [from, to] of [
  ['chromium', 'firefox'],
  ['firefox', 'chromium'],
  ['firefox', 'firefox'],
] as const) {
  test(`${from} seeds, ${to} fetches: 8 MiB, verified`, { skip, timeout: 90_000 }, async () => {
    const seeder = await open(from);
    const consumer = await open(to);
    const hash = await seedRandom(seeder, 8 * MiB, from.length * 10 + to.length);
    assert.equal(await fetchDigest(consumer, hash), hash);
    for (const tab of [seeder, consumer]) await tab.close();
  });
}

test('a mixed swarm: a Firefox consumer receives pieces from Chromium and Firefox seeders', { skip, timeout: 120_000 }, async () => {
  const seeders = [await open('chromium'), await open('firefox'), await open('chromium')];
  const consumer = await open('firefox');
  let hash = '';
  for (const tab of seeders) {
    hash = await seedRandom(tab, 6 * MiB, 4001);
    // Capped, so that no seeder finishes the file before the others' links open.
    await tab.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 750_000 }));
  }
  assert.equal(await fetchDigest(consumer, hash, { maxPeers: 5 }), hash);
  const ids = await Promise.all(seeders.map(peerId));
  const sources = await consumer.evaluate(
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

test('Firefox: one <script src> on another origin is enough to seed and fetch', { skip, timeout: 60_000 }, async () => {
  const url = plainPage(site, `${server.url.replace('127.0.0.1', 'localhost')}/ephemeralcdn.js`, '');
  const [a, b] = [await openAt('firefox', url), await openAt('firefox', url)];
  const hash = await a.evaluate(() => window.EphemeralCDN.seed(new TextEncoder().encode('hello from another origin')));
  assert.equal(await b.evaluate((hash) => window.EphemeralCDN.fetchText(hash), hash), 'hello from another origin');
  assert.notEqual(await b.evaluate(() => location.origin), new URL(server.url).origin);
  for (const tab of [a, b]) await tab.close();
});

test("Firefox: a PNG dropped on <ecdn-seed-drop> renders in another page's <ecdn-img>, which turns dead when the seeder leaves", {
  skip,
  timeout: 90_000,
}, async () => {
  const bundle = `${server.url}/ephemeralcdn.js`;
  const seeder = await openAt('firefox', plainPage(site, bundle, '<ecdn-seed-drop></ecdn-seed-drop>'));
  const png = makePng(96, 64).toString('base64');
  // What choosing a file does: the input's files change, and it says so.
  const hash = await seeder.evaluate(async (png) => {
    const el = document.querySelector('ecdn-seed-drop')!;
    await customElements.whenDefined('ecdn-seed-drop');
    await el.updateComplete;
    const input = el.shadowRoot!.querySelector('input[type=file]') as HTMLInputElement;
    const transfer = new DataTransfer();
    const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], 'gradient.png', { type: 'image/png' }));
    input.files = transfer.files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
    await new Promise<void>((resolve) => el.addEventListener('ecdn-load', () => resolve(), { once: true }));
    return el.hash!;
  }, png);
  assert.match(hash, /^[0-9a-f]{64}$/);

  const viewer = await openAt(
    'firefox',
    plainPage(
      site,
      bundle,
      `<ecdn-img hash="${hash}" alt="a gradient"></ecdn-img>`,
      '<script>EphemeralCDN.configure({ reseed: false });</script>',
    ),
  );
  await viewer.evaluate(waitForState, { selector: 'ecdn-img', expected: 'ready' });
  const width = await viewer.evaluate(() => document.querySelector('ecdn-img')!.shadowRoot!.querySelector('img')!.naturalWidth);
  assert.equal(width, 96);
  await seeder.close();
  await viewer.evaluate(waitForState, { selector: 'ecdn-img', expected: 'dead' });
  await viewer.close();
});

test('Firefox: a seeder comes back after a server restart, and a Chromium consumer fetches from it', {
  skip,
  timeout: 90_000,
}, async () => {
  // The same secret, so that the seeder keeps its peer ID across the restart.
  const secret = randomBytes(32);
  const first = createServer({ secret, heartbeatTimeoutMs: 5_000 });
  const url = await first.listen(0, '127.0.0.1');
  const seeder = await open('firefox', url);
  const hash = await seedRandom(seeder, 1 * MiB, 4002);
  await first.close();
  // While the server is away, Firefox reports the refused WebSocket as a page error: expected.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const second = createServer({ secret, heartbeatTimeoutMs: 5_000 });
  await second.listen(Number(new URL(url).port), '127.0.0.1');
  try {
    const consumer = await open('chromium', url);
    const alive = async () => ((await (await fetch(`${url}/api/files/${hash}`)).json()) as { alive: boolean }).alive;
    for (const started = Date.now(); !(await alive()); ) {
      assert.ok(Date.now() - started < 30_000, 'the seeder announced itself again within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(await fetchDigest(consumer, hash), hash);
    for (const tab of [seeder, consumer]) await tab.close();
  } finally {
    await second.close();
  }
});
