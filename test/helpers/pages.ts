import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { openPage } from './browser.js';

/**
 * Opens a page with the `/ephemeralcdn.js` bundle loaded from the server, as
 * an embedding site would, and no ICE server (peers connect on loopback).
 * `storage` is the engine's (see EngineConfig.storage); by default its own.
 */
export async function openEcdnPage(
  browser: Browser | BrowserContext,
  serverUrl: string,
  options: { storage?: 'auto' | 'disk' | 'memory' } = {},
): Promise<Page> {
  const page = await openPage(browser, `${serverUrl}/healthz`);
  await page.addScriptTag({ url: `${serverUrl}/ephemeralcdn.js` });
  await page.evaluate((storage) => window.EphemeralCDN.configure({ iceServers: [], ...(storage ? { storage } : {}) }), options.storage);
  return page;
}

/** A tab of its own user (its own browser context), with the console errors it logged. */
export interface Tab {
  page: Page;
  /** Console errors and uncaught page errors, in order. */
  errors: string[];
  close(): Promise<void>;
}

/** Opens `url` in a tab of its own user, as a visitor of the site would. */
export async function openTab(browser: Browser, url: string, options: BrowserContextOptions = {}): Promise<Tab> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  // tsx compiles with keepNames: functions sent to the page call __name().
  await page.addInitScript('globalThis.__name = (fn) => fn;');
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
  await page.goto(url);
  return { page, errors, close: () => context.close() };
}

/** What the page helpers need of a page: Playwright's, or a Firefox tab made to look like one. */
export type ScriptPage = Pick<Page, 'evaluate'>;

let nextSeed = 1;

/**
 * Seeds `size` pseudo-random bytes in the page and resolves with their hash.
 * The same `seed` gives the same bytes, so several pages can seed one file
 * without shipping it through the test; by default every call makes new bytes.
 */
export function seedRandom(page: ScriptPage, size: number, seed = nextSeed++): Promise<string> {
  return page.evaluate(
    async ({ size, seed }) => {
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

/**
 * Seeds `size` random bytes in the page, built from 1 MiB Blob parts so that no
 * buffer of the file's size ever exists there (for heap measurements), and
 * resolves with their hash.
 */
export function seedRandomBlob(page: ScriptPage, size: number): Promise<string> {
  return page.evaluate(async (size) => {
    const parts: Blob[] = [];
    const chunk = new Uint8Array(1024 * 1024);
    for (let offset = 0; offset < size; offset += chunk.length) {
      for (let i = 0; i < chunk.length; i += 65_536) crypto.getRandomValues(chunk.subarray(i, i + 65_536));
      parts.push(new Blob([chunk]));
    }
    return window.EphemeralCDN.seed(new Blob(parts));
  }, size);
}

/** Fetches `hash` in the page; resolves with the SHA-256 of what arrived, computed independently. */
export function fetchDigest(page: ScriptPage, hash: string, options: { maxPeers?: number; reseed?: boolean } = {}): Promise<string> {
  return page.evaluate(
    async ({ hash, options }) => {
      const buffer = await window.EphemeralCDN.fetch(hash, options);
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer));
      return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
    },
    { hash, options },
  );
}

/** This page's peer ID, once it has one. */
export function peerId(page: ScriptPage): Promise<string> {
  return page.evaluate(() => window.EphemeralCDN.stats().peerId!);
}

/** Peer IDs this page received file bytes from. */
export function sources(page: ScriptPage): Promise<string[]> {
  return page.evaluate(() =>
    window.EphemeralCDN.stats()
      .connections.filter((c) => c.bytesDown > 0)
      .map((c) => c.peerId),
  );
}

/** Starts recording the watch events of `hash` in `window.watched`. */
export function recordWatch(page: ScriptPage, hash: string): Promise<void> {
  return page.evaluate((hash) => {
    const w = window as unknown as { watched: Array<{ alive: boolean; seeders: number }> };
    w.watched = [];
    window.EphemeralCDN.watch(hash, (status) => w.watched.push(status));
  }, hash);
}

/**
 * Picks the file at `path` (on this machine's disk) as a user would: through an
 * `<input type=file>` added to the page, so that the page gets a disk-backed File.
 * Resolves with the input's selector.
 */
export async function pickFile(page: Page, path: string): Promise<string> {
  await page.evaluate(() => {
    const input = document.createElement('input');
    input.type = 'file';
    input.id = 'ecdn-test-pick';
    document.body.append(input);
  });
  await page.setInputFiles('#ecdn-test-pick', path);
  return '#ecdn-test-pick';
}

/** Seeds the file at `path` (on this machine's disk) as a user picking it would (see {@link pickFile}). */
export async function seedFileFromDisk(page: Page, path: string): Promise<string> {
  const input = await pickFile(page, path);
  return page.evaluate((input) => window.EphemeralCDN.seed((document.querySelector(input) as HTMLInputElement).files![0]!), input);
}

/**
 * Streams `hash` in the page into a SHA-256 computed there with hash-wasm (loaded from
 * node_modules), so that the bytes are checked independently of the engine, and
 * never held whole. Resolves with the digest as hex.
 */
export async function streamDigest(page: Page, hash: string, options: { reseed?: boolean } = {}): Promise<string> {
  await page.addScriptTag({ path: new URL('../../node_modules/hash-wasm/dist/sha256.umd.min.js', import.meta.url).pathname });
  return page.evaluate(
    async ({ hash, options }) => {
      const hasher = await (
        window as unknown as { hashwasm: { createSHA256(): Promise<{ update(b: Uint8Array): void; digest(): string }> } }
      ).hashwasm.createSHA256();
      const reader = window.EphemeralCDN.stream(hash, options).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        hasher.update(value);
      }
      return hasher.digest();
    },
    { hash, options },
  );
}

/**
 * Waits until `predicate(arg)`, run in the page, resolves to something truthy.
 * Playwright's `waitForFunction` does not await a promise: it takes one for a truthy
 * value at once, so an async predicate must be polled from here.
 */
export async function waitInPage(
  page: ScriptPage,
  predicate: (arg: string) => unknown,
  arg: string,
  { timeout = 30_000, polling = 100 }: { timeout?: number; polling?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await page.evaluate(predicate, arg))) {
    if (Date.now() > deadline) throw new Error(`waitInPage: not true within ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, polling));
  }
}
