/**
 * The fault suite's scenarios: liars, crashes and restarts against real
 * Chromium pages and the real server. Each returns the figures it measured;
 * `faults.test.ts` runs a fast subset in `npm test`, `run.ts` the full suite.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { createServer } from '../../server/create-server.js';
import { closePage } from '../helpers/browser.js';
import { fetchDigest, openEcdnPage, seedRandom } from '../helpers/pages.js';
import { lieAbout, openFaultyPage } from '../faulty/pages.js';
import { startServer } from '../helpers/server.js';
import type { FetchReport } from '../../src/index.js';

const MiB = 1024 * 1024;
/** Most bytes a download keeps in flight at one peer (32 blocks); re-downloads after a loss stay under it. */
const IN_FLIGHT_WINDOW = 32 * 262_080;
/** Upload cap of the honest seeders among corrupters, in bytes per second. */
const HONEST_LIMIT = 6_000_000;

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

type Ban = { peerId: string; reason: string; strikes: number };

/** Opens a consumer page that records bans and its fetch report. */
async function openConsumer(browser: Browser, url: string): Promise<Page> {
  const page = await openEcdnPage(browser, url);
  await page.evaluate(() => {
    const w = window as unknown as { bans: Ban[]; reports: FetchReport[] };
    w.bans = [];
    w.reports = [];
    const engine = window.EphemeralCDN.getEngine();
    engine.on('ban', (ban) => w.bans.push(ban));
    engine.on('fetched', (report) => w.reports.push(report));
  });
  return page;
}

async function consumerResult(page: Page): Promise<{ bans: Ban[]; report: FetchReport; bytesDown: number }> {
  return page.evaluate(() => {
    const w = window as unknown as { bans: Ban[]; reports: FetchReport[] };
    return { bans: w.bans, report: w.reports.at(-1)!, bytesDown: window.EphemeralCDN.stats().bytesDown };
  });
}

const peerId = (page: Page) => page.evaluate(() => window.EphemeralCDN.stats().peerId!);

/** `count` pages seeding the same bytes; the first `corrupters` of them corrupt every block they serve. */
async function seeders(browser: Browser, url: string, count: number, size: number, seed: number, corrupters = 0) {
  const pages: Page[] = [];
  let hash = '';
  for (let i = 0; i < count; i++) {
    const page = i < corrupters ? await openFaultyPage(browser, url, { corrupt: true }) : await openEcdnPage(browser, url);
    hash = await seedRandom(page, size, seed);
    pages.push(page);
  }
  return { pages, hash };
}

export interface CorruptFigures {
  corrupters: number;
  seeders: number;
  runs: number;
  sizeMiB: number;
  completedCorrect: number;
  /** Bans of corrupters, over all runs; at most corrupters × runs. */
  corruptersBanned: number;
  maxBadPiecesBeforeBan: number;
  honestBanned: number;
  wastedBytesMedian: number;
  wastedBytesMax: number;
}

/** 1. Corrupting seeders among honest ones. */
export async function corruptingSeeders(
  browser: Browser,
  opts: { corrupters: number; runs: number; size: number },
): Promise<CorruptFigures> {
  const server = await startServer();
  const { pages, hash } = await seeders(browser, server.url, 4, opts.size, 7000 + opts.corrupters, opts.corrupters);
  const bad = pages.slice(0, opts.corrupters);
  // Honest seeders at full speed can finish the file before a corrupter's link
  // opens on a busy machine, or while its only piece is still in flight: then it
  // is never judged. A cap leaves every corrupter time to send a whole piece.
  for (const page of pages.slice(opts.corrupters)) {
    await page.evaluate((limit) => window.EphemeralCDN.configure({ uploadLimit: limit }), HONEST_LIMIT);
  }
  const badIds = new Set(await Promise.all(bad.map(peerId)));
  const figures: CorruptFigures = {
    corrupters: opts.corrupters,
    seeders: 4,
    runs: opts.runs,
    sizeMiB: opts.size / MiB,
    completedCorrect: 0,
    corruptersBanned: 0,
    maxBadPiecesBeforeBan: 0,
    honestBanned: 0,
    wastedBytesMedian: 0,
    wastedBytesMax: 0,
  };
  const wasted: number[] = [];
  for (let run = 0; run < opts.runs; run++) {
    const consumer = await openConsumer(browser, server.url);
    const digest = await fetchDigest(consumer, hash, { maxPeers: 4, reseed: false }).catch(() => 'failed');
    if (digest === hash) figures.completedCorrect++;
    const { bans, report } = await consumerResult(consumer);
    for (const ban of bans) {
      if (badIds.has(ban.peerId)) {
        figures.corruptersBanned++;
        figures.maxBadPiecesBeforeBan = Math.max(figures.maxBadPiecesBeforeBan, ban.strikes);
      } else figures.honestBanned++;
    }
    if (report) wasted.push(report.wastedBytes);
    await closePage(consumer);
  }
  figures.wastedBytesMedian = median(wasted);
  figures.wastedBytesMax = Math.max(0, ...wasted);
  for (const page of pages) await closePage(page);
  await server.close();
  return figures;
}

/** 2. A peer serving a self-consistent but false manifest. */
export async function manifestLiar(browser: Browser, opts: { runs: number; size: number }) {
  const server = await startServer();
  let detected = 0;
  let completed = 0;
  let honestBanned = 0;
  for (let run = 0; run < opts.runs; run++) {
    const honest = await openEcdnPage(browser, server.url);
    const liar = await openFaultyPage(browser, server.url);
    const hash = await seedRandom(honest, opts.size, 8000 + run);
    await honest.evaluate((hash) => window.EphemeralCDN.unseed(hash), hash);
    await liar.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 8_000_000 }));
    await lieAbout(liar, hash, opts.size);
    const liarId = await peerId(liar);
    const consumer = await openConsumer(browser, server.url);
    const digest = fetchDigest(consumer, hash, { maxPeers: 4, reseed: false });
    // The consumer has the liar's manifest (it met the liar first); now the honest seeder comes back.
    await consumer.waitForFunction(() => (window.EphemeralCDN.stats().downloading[0]?.total ?? 0) > 0);
    await seedRandom(honest, opts.size, 8000 + run);
    if ((await digest.catch(() => '')) === hash) completed++;
    const { bans } = await consumerResult(consumer);
    if (bans.some((b) => b.peerId === liarId)) detected++;
    honestBanned += bans.filter((b) => b.peerId !== liarId).length;
    for (const page of [honest, liar, consumer]) await closePage(page);
  }
  await server.close();
  return { runs: opts.runs, sizeMiB: opts.size / MiB, detectedAndBanned: detected, completed, honestBanned };
}

/** 3. A silent peer and a 1 KB/s peer among honest seeders, against honest seeders alone. */
export async function silentAndSlow(browser: Browser, opts: { runs: number; size: number; honestLimit: number }) {
  const server = await startServer();
  const { pages: honest, hash } = await seeders(browser, server.url, 2, opts.size, 9001);
  for (const page of honest) await page.evaluate((limit) => window.EphemeralCDN.configure({ uploadLimit: limit }), opts.honestLimit);
  const timeOne = async () => {
    const consumer = await openConsumer(browser, server.url);
    const started = Date.now();
    const digest = await fetchDigest(consumer, hash, { maxPeers: 5, reseed: false });
    const ms = Date.now() - started;
    await closePage(consumer);
    if (digest !== hash) throw new Error('wrong bytes');
    return ms;
  };
  const honestMs: number[] = [];
  const faultyMs: number[] = [];
  const faulty: Page[] = [];
  // Alternate the two set-ups so that drift on this shared machine hits both alike.
  for (let run = 0; run < opts.runs; run++) {
    honestMs.push(await timeOne());
    const silent = await openFaultyPage(browser, server.url, { silent: true });
    const slow = await openEcdnPage(browser, server.url);
    await seedRandom(silent, opts.size, 9001);
    await seedRandom(slow, opts.size, 9001);
    await slow.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 1000 }));
    faulty.push(silent, slow);
    faultyMs.push(await timeOne());
    for (const page of faulty.splice(0)) await closePage(page);
  }
  for (const page of honest) await closePage(page);
  await server.close();
  const ratio = median(faultyMs) / median(honestMs);
  return {
    runs: opts.runs,
    sizeMiB: opts.size / MiB,
    honestMsMedian: median(honestMs),
    faultyMsMedian: median(faultyMs),
    ratio: Number(ratio.toFixed(3)),
  };
}

/** 4. One of three seeders lost at a given fraction of the transfer. */
export async function seederLost(browser: Browser, opts: { at: number; size: number; limit: number }) {
  const server = await startServer();
  const { pages, hash } = await seeders(browser, server.url, 3, opts.size, 9100);
  for (const page of pages) await page.evaluate((limit) => window.EphemeralCDN.configure({ uploadLimit: limit }), opts.limit);
  const consumer = await openConsumer(browser, server.url);
  const digest = fetchDigest(consumer, hash, { maxPeers: 5, reseed: false });
  await consumer.waitForFunction((at) => {
    const d = window.EphemeralCDN.stats().downloading[0];
    return d !== undefined && d.total > 0 && d.received >= d.total * at;
  }, opts.at);
  await closePage(pages[0]!);
  const completed = (await digest.catch(() => '')) === hash;
  const { bytesDown } = await consumerResult(consumer);
  const redownloaded = Math.max(0, bytesDown - opts.size);
  for (const page of [...pages.slice(1), consumer]) await closePage(page);
  await server.close();
  return {
    at: opts.at,
    sizeMiB: opts.size / MiB,
    completed,
    redownloadedBytes: redownloaded,
    inFlightWindowBytes: IN_FLIGHT_WINDOW,
    withinWindow: redownloaded <= IN_FLIGHT_WINDOW,
  };
}

/**
 * 5. The server (tracker and PeerServer share its process) restarts on the same
 * port and secret in the middle of a swarm and of a fetch.
 */
export async function serverRestart(browser: Browser, opts: { size: number; downMs: number }) {
  const secret = randomBytes(32);
  const heartbeatTimeoutMs = 6_000;
  const heartbeatIntervalMs = heartbeatTimeoutMs / 3;
  let server = createServer({ secret, heartbeatTimeoutMs });
  const url = await server.listen(0, '127.0.0.1');
  const port = Number(new URL(url).port);
  const { pages, hash } = await seeders(browser, url, 2, opts.size, 9200);
  for (const page of pages) await page.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 3_000_000 }));
  const watcher = await openEcdnPage(browser, url);
  await watcher.evaluate((hash) => {
    const w = window as unknown as { statuses: Array<{ alive: boolean; seeders: number }> };
    w.statuses = [];
    window.EphemeralCDN.watch(hash, (s) => w.statuses.push(s));
  }, hash);
  const consumer = await openConsumer(browser, url);
  const digest = fetchDigest(consumer, hash, { maxPeers: 5, reseed: false });
  await consumer.waitForFunction(() => {
    const d = window.EphemeralCDN.stats().downloading[0];
    return d !== undefined && d.received > d.total * 0.2;
  });

  await server.close();
  await new Promise((resolve) => setTimeout(resolve, opts.downMs));
  server = createServer({ secret, heartbeatTimeoutMs });
  await server.listen(port, '127.0.0.1');
  const restarted = Date.now();
  let wholeAfterMs = -1;
  while (Date.now() - restarted < 4 * heartbeatIntervalMs) {
    const status = await server.tracker.fileStatus(hash);
    if (status.seeders >= 2) {
      wholeAfterMs = Date.now() - restarted;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const completed = (await digest.catch(() => '')) === hash;
  // A new fetch right after the restart must not be told DEAD either.
  const late = await openEcdnPage(browser, url);
  const lateOk = (await fetchDigest(late, hash, { reseed: false }).catch(() => '')) === hash;
  const statuses = await watcher.evaluate(() => (window as unknown as { statuses: Array<{ alive: boolean }> }).statuses);
  for (const page of [...pages, watcher, consumer, late]) await closePage(page);
  await server.close();
  return {
    downMs: opts.downMs,
    heartbeatIntervalMs,
    swarmWholeAfterMs: wholeAfterMs,
    wholeWithinOneInterval: wholeAfterMs >= 0 && wholeAfterMs <= heartbeatIntervalMs,
    fetchUnderWayCompleted: completed,
    fetchAfterRestartCompleted: lateOk,
    falseDeadReported: statuses.filter((s) => !s.alive).length,
  };
}

/**
 * 6. A Node peer frozen with SIGSTOP (sockets open, no heartbeats) is evicted;
 * pages whose main thread is 75% busy are not.
 */
export async function frozenPeer(browser: Browser, opts: { timeoutMs: number; busyPages: number }) {
  const server = await startServer({ heartbeatTimeoutMs: opts.timeoutMs });
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('./node-seeder.ts', import.meta.url).pathname, server.url], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const frozenHash = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (data: Buffer) => {
      const match = /hash ([0-9a-f]{64})/.exec(String(data));
      if (match) resolve(match[1]!);
    });
    child.once('exit', () => reject(new Error('node seeder exited')));
  });
  const busy: Page[] = [];
  const busyHashes: string[] = [];
  for (let i = 0; i < opts.busyPages; i++) {
    const page = await openEcdnPage(browser, server.url);
    busyHashes.push(await seedRandom(page, 64 * 1024));
    await page.evaluate(() => {
      setInterval(() => {
        const end = performance.now() + 150;
        while (performance.now() < end);
      }, 200);
    });
    busy.push(page);
  }
  child.kill('SIGSTOP');
  const frozenAt = Date.now();
  let evictedAfterMs = -1;
  while (Date.now() - frozenAt < opts.timeoutMs * 3) {
    if ((await server.server.tracker.fileStatus(frozenHash)).seeders === 0) {
      evictedAfterMs = Date.now() - frozenAt;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Keep watching the busy pages for three timeouts in all.
  const until = frozenAt + opts.timeoutMs * 3;
  let falseEvictions = 0;
  while (Date.now() < until) {
    for (const hash of busyHashes) if ((await server.server.tracker.fileStatus(hash)).seeders !== 1) falseEvictions++;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  child.kill('SIGKILL');
  for (const page of busy) await closePage(page);
  await server.close();
  const sweepMs = opts.timeoutMs / 4;
  return {
    timeoutMs: opts.timeoutMs,
    sweepIntervalMs: sweepMs,
    evictedAfterMs,
    withinTimeoutPlusInterval: evictedAfterMs >= 0 && evictedAfterMs <= opts.timeoutMs + sweepMs + 250,
    busyPages: opts.busyPages,
    falseEvictions,
  };
}

/** Consent: the upload limit, measured as the rate one consumer receives from one capped seeder. */
export async function uploadLimit(browser: Browser, opts: { limits: number[]; size: number }) {
  const server = await startServer();
  const seeder = await openEcdnPage(browser, server.url);
  const hash = await seedRandom(seeder, opts.size);
  const measured = [];
  for (const limit of opts.limits) {
    await seeder.evaluate((limit) => window.EphemeralCDN.configure({ uploadLimit: limit }), limit);
    const consumer = await openEcdnPage(browser, server.url);
    const started = Date.now();
    await fetchDigest(consumer, hash, { reseed: false });
    const rate = opts.size / ((Date.now() - started) / 1000);
    measured.push({ limit, measured: Math.round(rate), ratio: Number((rate / limit).toFixed(3)) });
    await closePage(consumer);
  }
  await closePage(seeder);
  await server.close();
  return { sizeMiB: opts.size / MiB, measured, withinTenPercent: measured.every((m) => m.ratio <= 1.1) };
}

/**
 * 7. A flash crowd with a faulty seeder among its sources: an honest publisher and a
 * corrupting (or silent) seeder of the same file, and `consumers` capped pages that
 * all fetch at once and trade pieces as they verify them (issue 15). Every consumer
 * must get the right bytes; the faulty seeder may be banned, honest pages never.
 */
export async function crowdWithFault(
  browser: Browser,
  opts: { fault: 'corrupt' | 'silent'; consumers: number; size: number; cap: number },
): Promise<{ consumers: number; completedCorrect: number; faultyBanned: number; honestBanned: number; ms: number }> {
  const server = await startServer();
  const seed = 9300 + (opts.fault === 'corrupt' ? 1 : 2);
  const publisher = await openEcdnPage(browser, server.url);
  const faulty = await openFaultyPage(browser, server.url, opts.fault === 'corrupt' ? { corrupt: true } : { silent: true });
  const consumers: Page[] = [];
  try {
    const hash = await seedRandom(publisher, opts.size, seed);
    await seedRandom(faulty, opts.size, seed);
    await publisher.evaluate((limit) => window.EphemeralCDN.configure({ uploadLimit: limit }), opts.cap);
    const faultyId = await peerId(faulty);
    for (let i = 0; i < opts.consumers; i++) {
      const page = await openConsumer(browser, server.url);
      await page.evaluate((limit) => window.EphemeralCDN.configure({ uploadLimit: limit }), opts.cap);
      consumers.push(page);
    }
    const started = Date.now();
    const digests = await Promise.all(consumers.map((page) => fetchDigest(page, hash, { maxPeers: 5 }).catch(() => 'failed')));
    const ms = Date.now() - started;
    let faultyBanned = 0;
    let honestBanned = 0;
    for (const page of consumers) {
      const { bans } = await consumerResult(page);
      faultyBanned += bans.filter((b) => b.peerId === faultyId).length;
      honestBanned += bans.filter((b) => b.peerId !== faultyId).length;
    }
    return { consumers: opts.consumers, completedCorrect: digests.filter((d) => d === hash).length, faultyBanned, honestBanned, ms };
  } finally {
    for (const page of [publisher, faulty, ...consumers]) await closePage(page);
    await server.close();
  }
}
