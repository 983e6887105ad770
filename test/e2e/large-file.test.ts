import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CDPSession, Page } from 'playwright-core';
import { closePage } from '../helpers/browser.js';
import { openEcdnPage, seedRandomBlob } from '../helpers/pages.js';
import { useSession } from '../helpers/session.js';

// A 256 MiB file: the seeder serves slices of its Blob, so its JavaScript heap
// must not grow by anything like the file's size.

const MiB = 1024 * 1024;
const SIZE = Number(process.env.ECDN_LARGE_FILE_MIB ?? 256) * MiB;
const session = useSession();

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
