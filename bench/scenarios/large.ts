// A file larger than memory should matter, on the disk path end to end: picked from
// disk through <input type=file> and seeded (hashed in a worker), streamed by a page
// whose downloads go to its private file system on disk, against the bare data
// channel moving the same bytes in the same run.
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { writeRandomFile } from '../../test/helpers/random.js';
import { seedFileFromDisk } from '../../test/helpers/pages.js';
import { PAGE_HELPERS, peakHeap } from '../lib/browser.js';
import { launchProfileBrowser } from '../lib/profile-browser.js';
import { log, MiB, mbps, median, round } from '../lib/stats.js';
import { bareRun } from './transfer.js';

export interface LargeOptions {
  size: number;
  runs: number;
}

export interface LargeResult {
  results: Record<string, number>;
  raw: Record<string, unknown>;
}

/** Starts recording the page's longest main-thread task (ms) in `window.__longestTask` (again from 0 when called again). */
function recordLongTasks(page: Page): Promise<void> {
  return page.evaluate(() => {
    const w = window as unknown as { __longestTask: number; __observing?: boolean };
    w.__longestTask = 0;
    if (w.__observing) return;
    w.__observing = true;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) w.__longestTask = Math.max(w.__longestTask, entry.duration);
    }).observe({ type: 'longtask' });
  });
}

const longestTask = (page: Page) => page.evaluate(() => (window as unknown as { __longestTask: number }).__longestTask);

/** A plain page in the profile's browser, for the bare channel. */
async function openProfilePlainPage(profile: BrowserContext, url: string): Promise<Page> {
  const page = await profile.newPage();
  await page.addInitScript(PAGE_HELPERS);
  await page.goto(url);
  return page;
}

export async function runLarge(serverUrl: string, options: LargeOptions): Promise<LargeResult> {
  const { size, runs } = options;
  const profile = await launchProfileBrowser('large');
  const { dir } = profile;
  try {
    const path = join(dir, 'large.bin');
    await writeRandomFile(path, size);
    // Every tab in the one Chromium with a profile on disk, as one user's tabs: a second
    // browser on two cores halves any transfer between them, and a fresh context's
    // private file system lives in memory.
    const seeder = await profile.openPage(serverUrl, 'disk');
    await recordLongTasks(seeder);
    // Connected first, so that the timing below is the hashing alone.
    await seeder.evaluate(() => window.EphemeralCDN.seed(new Uint8Array([1, 2, 3])));
    const t0 = performance.now();
    const hash = await seedFileFromDisk(seeder, path);
    const seedMs = performance.now() - t0;
    const seedLongest = await longestTask(seeder);
    log(
      `large: ${size / MiB} MiB seeded from disk in ${Math.round(seedMs)} ms (${mbps(size, seedMs).toFixed(0)} MB/s), longest task ${Math.round(seedLongest)} ms`,
    );

    const barePages = {
      a: await openProfilePlainPage(profile.context, `${serverUrl}/healthz`),
      b: await openProfilePlainPage(profile.context, `${serverUrl}/healthz`),
    };
    const large: number[] = [];
    const memory: number[] = [];
    const bare: number[] = [];
    const heap: number[] = [];
    const fetchLongest: number[] = [];
    // The same measure on the bare channel's tabs: what two cores busy with the traffic
    // itself do to a page that does nothing else.
    const bareLongest: number[] = [];
    for (let r = 0; r < runs; r++) {
      for (const page of [barePages.a, barePages.b]) await recordLongTasks(page);
      bare.push((await bareRun(barePages, size)).mbps);
      bareLongest.push(Math.max(await longestTask(barePages.a), await longestTask(barePages.b)));
      const consumer = await profile.openPage(serverUrl, 'disk');
      await recordLongTasks(consumer);
      await seeder.evaluate(() => {
        (window as unknown as { __longestTask: number }).__longestTask = 0;
      });
      const started = performance.now();
      const streamed = consumer.evaluate(async (hash) => {
        await window.EphemeralCDN.stream(hash, { reseed: false }).pipeTo(new WritableStream());
      }, hash);
      const [consumerHeap, seederHeap] = await Promise.all([peakHeap(consumer, streamed), peakHeap(seeder, streamed)]);
      await streamed;
      const ms = performance.now() - started;
      large.push(mbps(size, ms));
      heap.push(
        Math.max(consumerHeap.peakBuffers - consumerHeap.baselineBuffers, seederHeap.peakBuffers - seederHeap.baselineBuffers) / 1e6,
      );
      fetchLongest.push(Math.max(await longestTask(consumer), await longestTask(seeder)));
      log(
        `large run ${r + 1}: bare ${bare.at(-1)!.toFixed(1)} MB/s (longest task ${Math.round(bareLongest.at(-1)!)} ms), disk path ${large.at(-1)!.toFixed(1)} MB/s, ` +
          `memory growth ${heap.at(-1)!.toFixed(1)} MB, longest task ${Math.round(fetchLongest.at(-1)!)} ms`,
      );
      await consumer.close();
      // The same transfer into memory, in the same browser: what the disk path itself costs.
      const inMemory = await profile.openPage(serverUrl, 'memory');
      const t1 = performance.now();
      await inMemory.evaluate(async (hash) => {
        await window.EphemeralCDN.stream(hash, { reseed: false }).pipeTo(new WritableStream());
      }, hash);
      memory.push(mbps(size, performance.now() - t1));
      await inMemory.close();
      log(`large run ${r + 1}: memory path ${memory.at(-1)!.toFixed(1)} MB/s`);
    }
    for (const page of [barePages.a, barePages.b, seeder]) await page.close();
    return {
      results: {
        large_mbps: round(median(large), 1),
        large_bare_mbps: round(median(bare), 1),
        large_vs_bare: round(median(large) / median(bare), 2),
        large_memory_mbps: round(median(memory), 1),
        large_disk_vs_memory: round(median(large) / median(memory), 2),
        large_heap_mb: round(Math.max(...heap), 1),
        large_seed_mbps: round(mbps(size, seedMs), 0),
        main_thread_longest_task_ms: Math.round(Math.max(seedLongest, ...fetchLongest)),
        large_bare_longest_task_ms: Math.round(Math.max(...bareLongest)),
      },
      raw: { size, runs: { large, memory, bare, heap, fetchLongest, bareLongest }, seedMs, seedLongest },
    };
  } finally {
    await profile.close();
  }
}
