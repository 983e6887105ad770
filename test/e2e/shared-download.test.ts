import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { closePage } from '../helpers/browser.js';
import { openEcdnPage, seedRandom } from '../helpers/pages.js';
import { useSession } from '../helpers/session.js';

// Several callers of one hash in one page share one download: each caller's
// abort, timeout or cancel ends only its own wait. Real pages, real server.

const MiB = 1024 * 1024;
const session = useSession();

/** A page seeding `size` bytes at 4 MB/s, so that a download has a middle to act in. */
async function slowSeeder(size: number, seed: number): Promise<{ page: Page; hash: string }> {
  const page = await openEcdnPage(session.browser, session.server.url);
  await page.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 4_000_000 }));
  return { page, hash: await seedRandom(page, size, seed) };
}

/** Records unhandled promise rejections of the page in `window.unhandled`. */
async function recordUnhandled(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { unhandled: string[] };
    w.unhandled = [];
    window.addEventListener('unhandledrejection', (event) => w.unhandled.push(String(event.reason)));
  });
}

const unhandled = (page: Page) => page.evaluate(() => (window as unknown as { unhandled: string[] }).unhandled);

test('a fetch aborted mid-way leaves a stream of the same hash to complete, and a timeout likewise', { timeout: 90_000 }, async () => {
  const { page: seeder, hash } = await slowSeeder(8 * MiB, 2001);
  const consumer = await openEcdnPage(session.browser, session.server.url);
  await recordUnhandled(consumer);
  const result = await consumer.evaluate(async (hash) => {
    const controller = new AbortController();
    const aborted = window.EphemeralCDN.fetch(hash, {
      signal: controller.signal,
      onProgress: ({ received }) => received > 0 && controller.abort(),
    }).then(
      () => 'resolved',
      (err: { code?: string }) => err.code,
    );
    const timedOut = window.EphemeralCDN.fetch(hash, { timeout: 300 }).then(
      () => 'resolved',
      (err: { code?: string }) => err.code,
    );
    const chunks: Uint8Array[] = [];
    const reader = window.EphemeralCDN.stream(hash).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await new Blob(chunks as BlobPart[]).arrayBuffer()));
    return {
      aborted: await aborted,
      timedOut: await timedOut,
      digest: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''),
    };
  }, hash);
  assert.deepEqual(result, { aborted: 'ABORTED', timedOut: 'TIMEOUT', digest: hash });
  assert.deepEqual(await unhandled(consumer), []);
  for (const page of [seeder, consumer]) await closePage(page);
});

test('a cancelled stream leaves a fetch of the same hash to complete; the last caller leaving stops the download', {
  timeout: 90_000,
}, async () => {
  const { page: seeder, hash } = await slowSeeder(8 * MiB, 2002);
  const consumer = await openEcdnPage(session.browser, session.server.url);
  const result = await consumer.evaluate(async (hash) => {
    const stream = window.EphemeralCDN.stream(hash);
    const fetched = window.EphemeralCDN.fetch(hash, {
      onProgress: ({ received }) => {
        if (received > 0) void stream.cancel();
      },
    });
    const buffer = await fetched;
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  }, hash);
  assert.equal(result, hash);
  // Now every caller of a second download leaves: it stops, and nothing is downloading.
  const other = await seedRandom(seeder, 8 * MiB, 2003);
  const stopped = await consumer.evaluate(async (hash) => {
    const controller = new AbortController();
    const stream = window.EphemeralCDN.stream(hash);
    const fetched = window.EphemeralCDN.fetch(hash, { signal: controller.signal }).catch((err: { code?: string }) => err.code);
    await new Promise((resolve) => setTimeout(resolve, 300));
    controller.abort();
    const stillDownloading = window.EphemeralCDN.stats().downloading.length;
    await stream.cancel();
    return { fetched: await fetched, stillDownloading, afterAll: window.EphemeralCDN.stats().downloading.length };
  }, other);
  assert.deepEqual(stopped, { fetched: 'ABORTED', stillDownloading: 1, afterAll: 0 });
  for (const page of [seeder, consumer]) await closePage(page);
});

test('removing an <ecdn-img> mid-download leaves an <ecdn-download> of the same hash to finish', { timeout: 90_000 }, async () => {
  const { page: seeder, hash } = await slowSeeder(8 * MiB, 2004);
  const consumer = await openEcdnPage(session.browser, session.server.url);
  const state = await consumer.evaluate(async (hash) => {
    const img = document.createElement('ecdn-img');
    img.setAttribute('hash', hash);
    const download = document.createElement('ecdn-download') as HTMLElement & { download(): Promise<void>; state: string };
    download.setAttribute('hash', hash);
    document.body.append(img, download);
    const started = download.download();
    // Both wait on the one download; the image goes away once bytes flow.
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if ((window.EphemeralCDN.stats().downloading[0]?.received ?? 0) > 0) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    img.remove();
    await started;
    return download.state;
  }, hash);
  assert.equal(state, 'ready');
  // The copy the page kept from that download is the file.
  const digest = await consumer.evaluate(async (hash) => {
    const buffer = await window.EphemeralCDN.fetch(hash);
    const bytes = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }, hash);
  assert.equal(digest, hash);
  for (const page of [seeder, consumer]) await closePage(page);
});

test('configure() while a seed and a fetch are under way: both carry on, no unhandled rejection', { timeout: 90_000 }, async () => {
  const { page: seeder, hash } = await slowSeeder(4 * MiB, 2005);
  const page = await openEcdnPage(session.browser, session.server.url);
  await recordUnhandled(page);
  const result = await page.evaluate(async (hash) => {
    const fetched = window.EphemeralCDN.fetch(hash).then((buffer) => buffer.byteLength);
    const bytes = crypto.getRandomValues(new Uint8Array(65_536));
    const seeded = window.EphemeralCDN.seed(bytes);
    // A new ICE server list reconnects the tracker and the peer network.
    window.EphemeralCDN.configure({ iceServers: [] });
    const [size, seededHash] = await Promise.all([fetched, seeded]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    return { size, seeded: seededHash.length, seeding: window.EphemeralCDN.stats().seeding.length };
  }, hash);
  assert.deepEqual(result, { size: 4 * MiB, seeded: 64, seeding: 2 });
  assert.deepEqual(await unhandled(page), []);
  for (const p of [seeder, page]) await closePage(p);
});
