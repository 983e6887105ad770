import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import { closePage, launchChromiumWithProfile } from '../helpers/browser.js';
import { openEcdnPage, seedFileFromDisk, seedRandomBlob, streamDigest } from '../helpers/pages.js';
import { writeRandomFile } from '../helpers/random.js';
import { useSession } from '../helpers/session.js';

// Large files: a 256 MiB Blob whose seeder serves slices of it; a file larger than
// memory should matter picked from disk, streamed through the consumer's disk store;
// and a download reloaded half-way, which resumes from what it left on disk.

const MiB = 1024 * 1024;
const SIZE = Number(process.env.ECDN_LARGE_FILE_MIB ?? 256) * MiB;
/** The file picked from disk and streamed. */
const BIG = Number(process.env.ECDN_BIG_FILE_MIB ?? 2048) * MiB;
/** The download reloaded half-way. */
const RELOADED = Number(process.env.ECDN_RELOAD_FILE_MIB ?? 1024) * MiB;
/** Most a page's JS heap plus array buffers may grow while a big file moves. */
const MEMORY_BUDGET = 150 * 1e6;
const session = useSession();
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecdn-large-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The page's JS heap plus the backing stores of its array buffers. */
async function memoryUsed(cdp: CDPSession): Promise<number> {
  const usage = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number; backingStorageSize?: number };
  return usage.usedSize + (usage.backingStorageSize ?? 0);
}

/** Samples a page's memory every 200 ms from now until `stop()`, which resolves with the growth over the start. */
async function watchMemory(page: Page): Promise<{ stop(): Promise<number> }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const baseline = await memoryUsed(cdp);
  let peak = baseline;
  let stopped = false;
  const sampling = (async () => {
    while (!stopped) {
      peak = Math.max(peak, await memoryUsed(cdp).catch(() => 0));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await sampling;
      return peak - baseline;
    },
  };
}

/** Records the page's longest main-thread task from now on, in `window.longestTask` (ms). */
function recordLongTasks(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as { longestTask: number };
    w.longestTask = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) w.longestTask = Math.max(w.longestTask, entry.duration);
    }).observe({ type: 'longtask' });
  });
}

const longestTask = (page: Page) => page.evaluate(() => (window as unknown as { longestTask: number }).longestTask);
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

async function heapUsed(cdp: CDPSession): Promise<number> {
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  return usedSize;
}

/** Samples the page's heap every 100 ms until `until` settles; resolves with the peak. */
async function peakHeap(page: Page, until: Promise<unknown>): Promise<{ baseline: number; peak: number }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const baseline = await heapUsed(cdp);
  let peak = baseline;
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    peak = Math.max(peak, await heapUsed(cdp).catch(() => 0));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { baseline, peak };
}

test(`a ${SIZE / MiB} MiB file seeds and fetches without the seeder's heap growing by its size`, { timeout: 240_000 }, async () => {
  const seeder = await openEcdnPage(session.browser, session.server.url);
  const hash = await seedRandomBlob(seeder, SIZE);

  const consumer = await openEcdnPage(session.browser, session.server.url);
  const fetched = consumer.evaluate(async (hash) => {
    const started = performance.now();
    const buffer = await window.EphemeralCDN.fetch(hash, { reseed: false });
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer));
    return {
      ms: performance.now() - started,
      size: buffer.byteLength,
      digest: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''),
    };
  }, hash);
  const heap = await peakHeap(seeder, fetched);
  const result = await fetched;

  assert.equal(result.size, SIZE);
  assert.equal(result.digest, hash);
  const growth = heap.peak - heap.baseline;
  console.log(
    `${SIZE / MiB} MiB in ${Math.round(result.ms)} ms (${(SIZE / 1e6 / (result.ms / 1000)).toFixed(1)} MB/s); ` +
      `seeder heap grew by at most ${(growth / MiB).toFixed(1)} MiB`,
  );
  assert.ok(growth < SIZE / 8, `seeder heap grew by ${(growth / MiB).toFixed(1)} MiB`);
  for (const page of [seeder, consumer]) await closePage(page);
});

test(`a ${BIG / MiB} MiB file picked from disk seeds, and a page streams it into a hash check, neither page's memory growing by ${mb(MEMORY_BUDGET)}`, {
  timeout: 900_000,
}, async () => {
  const path = join(dir, 'big.bin');
  const digest = await writeRandomFile(path, BIG);
  // Both tabs in one Chromium with a profile on disk, as one user's: a second browser
  // would halve the transfer rate on two cores, and a fresh context's storage is in memory.
  const profile = await launchChromiumWithProfile(join(dir, 'profile-big'));
  const seeder = await openEcdnPage(profile, session.server.url);
  const consumer = await openEcdnPage(profile, session.server.url);
  const memory = [await watchMemory(seeder), await watchMemory(consumer)];
  for (const page of [seeder, consumer]) await recordLongTasks(page);

  const started = performance.now();
  const hash = await seedFileFromDisk(seeder, path);
  assert.equal(hash, digest);
  const seeded = performance.now();
  assert.equal(await streamDigest(consumer, hash, { reseed: false }), digest);
  const streamed = performance.now();
  const [seederGrowth, consumerGrowth] = [await memory[0]!.stop(), await memory[1]!.stop()];
  console.log(
    `${BIG / MiB} MiB: seeded (hashed) in ${Math.round(seeded - started)} ms, streamed in ${Math.round(streamed - seeded)} ms ` +
      `(${(BIG / 1e6 / ((streamed - seeded) / 1000)).toFixed(1)} MB/s); memory grew by ${mb(seederGrowth)} (seeder), ${mb(consumerGrowth)} (consumer); ` +
      `longest main-thread task ${Math.round(await longestTask(seeder))} ms (seeder), ${Math.round(await longestTask(consumer))} ms (consumer)`,
  );
  assert.ok(seederGrowth < MEMORY_BUDGET, `the seeder's memory grew by ${mb(seederGrowth)}`);
  assert.ok(consumerGrowth < MEMORY_BUDGET, `the consumer's memory grew by ${mb(consumerGrowth)}`);
  await profile.close();
  await rm(path);
});

test(`a ${RELOADED / MiB} MiB download reloaded half-way resumes from disk: it completes, downloading about the file's size in all`, {
  timeout: 900_000,
}, async () => {
  const path = join(dir, 'reloaded.bin');
  const digest = await writeRandomFile(path, RELOADED);
  const profile = await launchChromiumWithProfile(join(dir, 'profile-reloaded'));
  const seeder = await openEcdnPage(profile, session.server.url);
  const hash = await seedFileFromDisk(seeder, path);
  const consumer = await openEcdnPage(profile, session.server.url);
  await consumer.evaluate((hash) => {
    // Read and dropped: what counts is what reaches the disk before the reload.
    void window.EphemeralCDN.stream(hash).pipeTo(new WritableStream());
  }, hash);
  await consumer.waitForFunction((size) => (window.EphemeralCDN.stats().downloading[0]?.received ?? 0) >= size / 2, RELOADED, {
    polling: 100,
    timeout: 600_000,
  });
  const before = await consumer.evaluate(() => window.EphemeralCDN.stats().bytesDown);

  await consumer.reload();
  await consumer.addScriptTag({ url: `${session.server.url}/ephemeralcdn.js` });
  await consumer.evaluate(() => window.EphemeralCDN.configure({ iceServers: [] }));
  assert.equal(await streamDigest(consumer, hash), digest);
  const afterReload = await consumer.evaluate(() => window.EphemeralCDN.stats().bytesDown);
  console.log(`${RELOADED / MiB} MiB reloaded at ${mb(before)}: ${mb(afterReload)} more downloaded, ${mb(before + afterReload)} in all`);
  assert.ok(afterReload < RELOADED * 0.6, `downloaded ${mb(afterReload)} again after the reload: it did not resume`);
  // The in-flight window: about a second of transfer, plus pieces not yet flushed when the page went.
  assert.ok(before + afterReload <= RELOADED + 64 * MiB, `${mb(before + afterReload)} downloaded in all for ${mb(RELOADED)}`);
  await profile.close();
  await rm(path);
});
