import http from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../../test/helpers/chromium.js';
import { log } from './stats.js';

const require = createRequire(import.meta.url);

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
}

/**
 * Code injected into every bench page before its own scripts: deterministic
 * pseudo-random bytes (xorshift32, the same generator as test/helpers/pages.ts),
 * so that several pages can hold the same file without shipping it through Node.
 */
export const PAGE_HELPERS = `
globalThis.__name = (fn) => fn;
globalThis.__benchBytes = (size, seed) => {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    words[i] = x >>> 0;
  }
  return new Uint8Array(words.buffer, 0, size);
};
globalThis.__benchHex = async (buffer) => {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
};
`;

/** Uncaught page errors, kept so that a run can report them instead of dying. */
export const pageErrors: string[] = [];

/** A page in a context of its own (a separate renderer, as another user's tab). */
export async function openPage(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(PAGE_HELPERS);
  page.on('pageerror', (err) => {
    pageErrors.push(`${url}: ${err.message}`);
    if (process.env.BENCH_VERBOSE) log(`page error ${url}: ${err.message}`);
  });
  page.on('console', (msg) => {
    if (process.env.BENCH_CONSOLE) log(`[page] ${msg.type()}: ${msg.text()}`);
  });
  await page.goto(url);
  return page;
}

export async function closePage(page: Page): Promise<void> {
  await page
    .context()
    .close()
    .catch(() => {});
}

/** A page with the `/ephemeralcdn.js` bundle loaded from the server, no ICE server, engine not yet connected. */
export async function openEcdnPage(browser: Browser, serverUrl: string, config: Record<string, unknown> = {}): Promise<Page> {
  const page = await openPage(browser, `${serverUrl}/healthz`);
  await page.addScriptTag({ url: `${serverUrl}/ephemeralcdn.js` });
  await page.evaluate((config) => window.EphemeralCDN.configure({ iceServers: [], ...config }), config);
  return page;
}

/**
 * A static server for the WebTorrent pages (a blank page and WebTorrent's
 * browser build) plus a bittorrent-tracker WebSocket server, both on `host`
 * (loopback unless told).
 */
export interface WebTorrentSite {
  url: string;
  trackerUrl: string;
  /** Peers the tracker knows for an info hash. */
  peersOf(infoHash: string): number;
  close(): Promise<void>;
}

export async function startWebTorrentSite(host = '127.0.0.1'): Promise<WebTorrentSite> {
  const bundle = await readFile(require.resolve('webtorrent/dist/webtorrent.min.js'));
  const server = http.createServer((req, res) => {
    if (req.url === '/webtorrent.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(bundle);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>bench</title>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;

  // The package root pulls in an old node-datachannel; the server alone does not.
  const { default: TrackerServer } = (await import('bittorrent-tracker/server')) as { default: new (opts: object) => any };
  const tracker = new TrackerServer({ udp: false, http: false, ws: true, stats: false, trustProxy: false });
  tracker.on('error', (err: Error) => log(`bittorrent-tracker error: ${err.message}`));
  tracker.on('warning', () => {});
  await new Promise<void>((resolve) => tracker.listen(0, host, resolve));
  const trackerPort = (tracker.ws.address() as AddressInfo).port;
  return {
    url,
    trackerUrl: `ws://${host}:${trackerPort}`,
    peersOf(infoHash) {
      const swarm = tracker.torrents[infoHash];
      return swarm ? swarm.complete + swarm.incomplete : 0;
    },
    close: async () => {
      await new Promise<void>((resolve) => tracker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A page with WebTorrent's browser build loaded as `window.WebTorrent`, and
 * a client factory that never uses a public STUN server.
 */
export async function openWebTorrentPage(browser: Browser, site: WebTorrentSite): Promise<Page> {
  const page = await openPage(browser, `${site.url}/blank.html`);
  await page.addScriptTag({
    type: 'module',
    content: `import WebTorrent from '/webtorrent.min.js'; window.WebTorrent = WebTorrent; window.__wtReady = true;`,
  });
  await page.waitForFunction(() => (window as any).__wtReady === true);
  return page;
}

/** Peak JS heap growth of a page while `until` runs, sampled every 100 ms over CDP. */
export async function peakHeap(
  page: Page,
  until: Promise<unknown>,
): Promise<{ baseline: number; peak: number; baselineBuffers: number; peakBuffers: number }> {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const usage = async () =>
    (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; totalSize: number; backingStorageSize?: number };
  const first = await usage();
  let peak = first.usedSize;
  let peakBuffers = first.usedSize + (first.backingStorageSize ?? 0);
  let done = false;
  void until.finally(() => (done = true)).catch(() => {});
  while (!done) {
    const u = await usage().catch(() => undefined);
    if (u) {
      peak = Math.max(peak, u.usedSize);
      peakBuffers = Math.max(peakBuffers, u.usedSize + (u.backingStorageSize ?? 0));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await cdp.detach().catch(() => {});
  return { baseline: first.usedSize, peak, baselineBuffers: first.usedSize + (first.backingStorageSize ?? 0), peakBuffers };
}

declare global {
  interface Window {
    __benchBytes(size: number, seed: number): Uint8Array<ArrayBuffer>;
    __benchHex(buffer: ArrayBuffer | Uint8Array): Promise<string>;
  }
}
