// `npm run bench [-- --quick] [-- --only=transfer,capped,small,hash,heap,large,tracker,tracker-redis,nat,browsers,crowd]`
//
// Real Chromium tabs (playwright-core, /usr/bin/chromium or CHROME_PATH) and the
// real server; writes bench/results/latest.json and prints a table. See
// docs/performance.md for what each key means. WebRTC between tabs needs a
// default route: on a machine without one, run it under with-isolated-net.
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { createServer } from '../server/create-server.js';
import { closePage, launchBrowser, openEcdnPage, openWebTorrentPage, pageErrors, startWebTorrentSite } from './lib/browser.js';
import { log, median, MiB, mbps, percentile, round, sleep } from './lib/stats.js';
import {
  bareRun,
  openBarePages,
  ecdnFetchFresh,
  ecdnFetchIn,
  ecdnSeed,
  freshSeed,
  hashRun,
  hashLimitRun,
  heapRun,
  wtClient,
  wtFetchFresh,
  wtSeed,
  wtWaitForPeers,
} from './scenarios/transfer.js';
import { runTracker } from './scenarios/tracker.js';
import { runLarge } from './scenarios/large.js';
import { runPrivate } from './scenarios/private.js';
import { runTrackerRedis } from './scenarios/tracker-redis.js';
import { runNat } from './scenarios/nat.js';
import { runPaths } from './scenarios/paths.js';
import { runBrowsers } from './scenarios/browsers.js';
import { runCrowd } from './scenarios/crowd.js';
import { firefoxPath, launchFirefox, NO_FIREFOX } from './lib/firefox.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const outArg = args.find((a) => a.startsWith('--out='))?.slice(6);
const runsArg = Number(args.find((a) => a.startsWith('--runs='))?.slice(7) ?? NaN);
const OUT = outArg ?? fileURLToPath(new URL('./results/latest.json', import.meta.url));
const wants = (name: string) => !only || only.includes(name);

const CONFIG = quick
  ? {
      mode: 'quick',
      runs: 3,
      size: 64 * MiB,
      cappedSize: 4 * MiB,
      cap: 2_000_000,
      coldSamples: 10,
      warmSamples: 20,
      wtSmallSamples: 5,
      hashSize: 256 * MiB,
      hashRuns: 1,
      largeSize: 256 * MiB,
      largeRuns: 1,
      heapSize: 64 * MiB,
      natRuns: 3,
      natSize: 8 * MiB,
      browsersRuns: 3,
      browsersSize: 24 * MiB,
      crowd: { crowds: [1, 4], runs: 2, size: 8 * MiB, cap: 1_000_000 },
      tracker: {
        peers: 10_000,
        clientProcesses: 4,
        hashesPerPeer: 3,
        perAddress: 60,
        holdMs: 2_000,
        saturateMs: 2_000,
        openLoopMs: 2_000,
        offeredRate: 20_000,
        lightRate: 5_000,
      },
      trackerRedis: {
        peers: 8_000,
        clientsPerServer: 2,
        hashesPerPeer: 3,
        perAddress: 60,
        holdMs: 2_000,
        rounds: 2,
        saturateMs: 1_500,
        openLoopMs: 1_500,
        offeredRates: [5_000],
        lookupMs: 1_000,
      },
    }
  : {
      mode: 'full',
      runs: 3,
      size: 128 * MiB,
      cappedSize: 24 * MiB,
      cap: 2_000_000,
      coldSamples: 30,
      warmSamples: 60,
      wtSmallSamples: 15,
      // Chromium here cannot read an in-memory Blob past a few hundred MB (NotReadableError);
      // a 1 GiB file from disk is the 'large' scenario's large_seed_mbps.
      hashSize: 256 * MiB,
      hashRuns: 3,
      largeSize: 1024 * MiB,
      largeRuns: 2,
      heapSize: 256 * MiB,
      natRuns: 5,
      natSize: 32 * MiB,
      browsersRuns: 5,
      browsersSize: 64 * MiB,
      crowd: { crowds: [1, 4, 8], runs: 2, size: 16 * MiB, cap: 1_000_000 },
      tracker: {
        peers: 19_000,
        clientProcesses: 4,
        hashesPerPeer: 3,
        perAddress: 60,
        holdMs: 12_000,
        saturateMs: 6_000,
        openLoopMs: 6_000,
        offeredRate: 20_000,
        lightRate: 5_000,
        heapProfile: args.includes('--tracker-heap'),
      },
      trackerRedis: {
        peers: 30_000,
        clientsPerServer: 2,
        hashesPerPeer: 3,
        perAddress: 60,
        holdMs: 12_000,
        rounds: 3,
        saturateMs: 4_000,
        openLoopMs: 4_000,
        offeredRates: [5_000, 2_000],
        lookupMs: 3_000,
      },
    };
if (Number.isFinite(runsArg)) CONFIG.runs = CONFIG.natRuns = CONFIG.browsersRuns = runsArg;

const SMALL = 16 * 1024;
const loadAtStart = os.loadavg();
const results: Record<string, unknown> = {};
const raw: Record<string, unknown> = {};

function machine(browserVersion: string | undefined) {
  const cpu = os.cpus();
  let commit: string | undefined;
  try {
    commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    commit = undefined;
  }
  // Read from node_modules directly: some packages' export maps hide package.json.
  const version = (pkg: string) => {
    try {
      return (JSON.parse(readFileSync(new URL(`../node_modules/${pkg}/package.json`, import.meta.url), 'utf8')) as { version: string })
        .version;
    } catch {
      return undefined;
    }
  };
  return {
    date: new Date().toISOString(),
    mode: CONFIG.mode,
    commit,
    node: process.version,
    chromium: browserVersion,
    cpu: cpu[0]?.model,
    cores: cpu.length,
    memory_gib: round(os.totalmem() / 2 ** 30, 1),
    kernel: os.release(),
    // Other work on this shared machine shows here; absolute MB/s follow it, ratios much less.
    loadavg_at_start: loadAtStart.map((x) => round(x, 2)),
    loadavg_at_end: os.loadavg().map((x) => round(x, 2)),
    webtorrent: version('webtorrent'),
    bittorrent_tracker: version('bittorrent-tracker'),
    playwright_core: version('playwright-core'),
    peerjs: version('peerjs'),
  };
}

async function transferScenario(browser: Browser, serverUrl: string, site: Awaited<ReturnType<typeof startWebTorrentSite>>) {
  const size = CONFIG.size;
  log(`transfer: ${size / MiB} MiB, ${CONFIG.runs} runs, contenders alternate`);
  const seeder = await openEcdnPage(browser, serverUrl);
  const hash = await ecdnSeed(seeder, size, freshSeed());
  log('transfer: EphemeralCDN seeder ready');
  const wtSeeder = await openWebTorrentPage(browser, site);
  await wtClient(wtSeeder);
  const torrent = await wtSeed(wtSeeder, site, size, freshSeed());
  await wtWaitForPeers(site, torrent.infoHash, 1);
  log(`transfer: WebTorrent seeder ready (${torrent.pieceLength / 1024} KiB pieces)`);
  const barePages = await openBarePages(browser, `${serverUrl}/healthz`);
  const runs: Array<{ bare: number; single: number; webtorrent: number }> = [];
  const contenders = {
    bare: async () => (await bareRun(barePages, size)).mbps,
    single: async () => mbps(size, (await ecdnFetchFresh(browser, serverUrl, hash)).ms),
    webtorrent: async () => mbps(size, (await wtFetchFresh(browser, site, torrent.torrentFile)).ms),
  };
  const order = ['bare', 'single', 'webtorrent'] as const;
  for (let r = 0; r < CONFIG.runs; r++) {
    const run = { bare: NaN, single: NaN, webtorrent: NaN };
    for (let k = 0; k < order.length; k++) {
      const name = order[(r + k) % order.length]!;
      try {
        run[name] = await contenders[name]();
      } catch (err) {
        log(`transfer run ${r + 1}: ${name} failed: ${(err as Error).message}`);
      }
      await sleep(300);
    }
    runs.push(run);
    log(`transfer run ${r + 1}: bare ${run.bare.toFixed(1)}, ecdn ${run.single.toFixed(1)}, webtorrent ${run.webtorrent.toFixed(1)} MB/s`);
  }
  for (const p of [seeder, wtSeeder, barePages.a, barePages.b]) await closePage(p);
  raw.transfer = { size, runs, webtorrent_piece_length: torrent.pieceLength };
  results.bare_mbps = round(median(runs.map((r) => r.bare)), 1);
  results.single_mbps = round(median(runs.map((r) => r.single)), 1);
  results.single_vs_bare = round(median(runs.map((r) => r.single / r.bare)), 2);
  results.webtorrent_mbps = round(median(runs.map((r) => r.webtorrent)), 1);
  results.vs_webtorrent = round(median(runs.map((r) => r.single / r.webtorrent)), 2);
}

async function cappedScenario(browser: Browser, serverUrl: string, site: Awaited<ReturnType<typeof startWebTorrentSite>>) {
  const size = CONFIG.cappedSize;
  const cap = CONFIG.cap;
  log(`capped: ${size / MiB} MiB, seeders capped at ${cap / 1e6} MB/s, ${CONFIG.runs} runs`);
  const seeders: Page[] = [];
  const wtSeeders: Page[] = [];
  seeders.push(...(await Promise.all([0, 1, 2, 3].map(() => openEcdnPage(browser, serverUrl, { uploadLimit: cap })))));
  wtSeeders.push(
    ...(await Promise.all(
      [0, 1, 2, 3].map(async () => {
        const p = await openWebTorrentPage(browser, site);
        await wtClient(p, cap);
        return p;
      }),
    )),
  );
  // One file per swarm size, seeded once: seeders 0..k-1 hold the k-seeder file.
  // Consumers fetch with reseed off, so no trial adds a seeder to a later one.
  const ecdnFiles = new Map<number, string>();
  const wtFiles = new Map<number, { infoHash: string; torrentFile: number[] }>();
  for (const k of [1, 2, 4]) {
    const seed = freshSeed();
    const hashes = await Promise.all(seeders.slice(0, k).map((p) => ecdnSeed(p, size, seed)));
    ecdnFiles.set(k, hashes[0]!);
  }
  for (const k of [1, 4]) {
    const seed = freshSeed();
    const torrents = await Promise.all(wtSeeders.slice(0, k).map((p) => wtSeed(p, site, size, seed)));
    await wtWaitForPeers(site, torrents[0]!.infoHash, k);
    wtFiles.set(k, torrents[0]!);
  }
  log('capped: seeders ready');
  // Rates from the call to the resolved buffer, as for single_mbps; steady rates
  // (from a quarter of the payload received to the end, i.e. without connection
  // set-up) are kept as `*_steady`.
  const ecdnTrial = async (k: number, run: Record<string, number>) => {
    const r = await ecdnFetchFresh(browser, serverUrl, ecdnFiles.get(k)!);
    run[`ecdn_${k}_steady`] = mbps(r.steadyBytes, r.steadyMs);
    return mbps(size, r.ms);
  };
  const wtTrial = async (k: number, run: Record<string, number>) => {
    const r = await wtFetchFresh(browser, site, wtFiles.get(k)!.torrentFile);
    run[`webtorrent_${k}_steady`] = mbps(r.steadyBytes, r.steadyMs);
    return mbps(size, r.ms);
  };
  const runs: Array<Record<string, number>> = [];
  for (let r = 0; r < CONFIG.runs; r++) {
    const run: Record<string, number> = {};
    const trials: Array<[string, () => Promise<number>]> = [
      ['ecdn_1', () => ecdnTrial(1, run)],
      ['ecdn_2', () => ecdnTrial(2, run)],
      ['ecdn_4', () => ecdnTrial(4, run)],
      ['webtorrent_1', () => wtTrial(1, run)],
      ['webtorrent_4', () => wtTrial(4, run)],
    ];
    for (let k = 0; k < trials.length; k++) {
      const [name, trial] = trials[(r + k) % trials.length]!;
      try {
        run[name] = await trial();
      } catch (err) {
        run[name] = NaN;
        log(`capped run ${r + 1}: ${name} failed: ${(err as Error).message}`);
      }
    }
    runs.push(run);
    log(
      `capped run ${r + 1}: ecdn 1/2/4 seeders ${run.ecdn_1!.toFixed(2)}/${run.ecdn_2!.toFixed(2)}/${run.ecdn_4!.toFixed(2)} MB/s, ` +
        `webtorrent 1/4 ${run.webtorrent_1!.toFixed(2)}/${run.webtorrent_4!.toFixed(2)} MB/s`,
    );
  }
  for (const p of [...seeders, ...wtSeeders]) await closePage(p);
  raw.capped = { size, cap, runs };
  results.capped_1_mbps = round(median(runs.map((r) => r.ecdn_1!)), 2);
  results.capped_speedup_2 = round(median(runs.map((r) => r.ecdn_2! / r.ecdn_1!)), 2);
  results.capped_speedup_4 = round(median(runs.map((r) => r.ecdn_4! / r.ecdn_1!)), 2);
  results.webtorrent_capped_speedup_4 = round(median(runs.map((r) => r.webtorrent_4! / r.webtorrent_1!)), 2);
  results.capped_speedup_2_steady = round(median(runs.map((r) => r.ecdn_2_steady! / r.ecdn_1_steady!)), 2);
  results.capped_speedup_4_steady = round(median(runs.map((r) => r.ecdn_4_steady! / r.ecdn_1_steady!)), 2);
}

async function smallScenario(browser: Browser, serverUrl: string, site: Awaited<ReturnType<typeof startWebTorrentSite>>) {
  log(`small: ${SMALL / 1024} KiB, ${CONFIG.coldSamples} cold, ${CONFIG.warmSamples} warm, ${CONFIG.wtSmallSamples} WebTorrent`);
  const seeder = await openEcdnPage(browser, serverUrl);
  const seeds = Array.from({ length: CONFIG.warmSamples + 2 }, () => freshSeed());
  const hashes = await seeder.evaluate(
    ({ size, seeds }) => Promise.all(seeds.map((seed) => window.EphemeralCDN.seed(window.__benchBytes(size, seed)))),
    { size: SMALL, seeds },
  );
  const wtSeeder = await openWebTorrentPage(browser, site);
  await wtClient(wtSeeder);
  const torrent = await wtSeed(wtSeeder, site, SMALL, freshSeed());
  await wtWaitForPeers(site, torrent.infoHash, 1);

  // Interleaved: a cold EphemeralCDN tab, then a cold WebTorrent tab, while samples last.
  const cold: number[] = [];
  const wt: number[] = [];
  await ecdnFetchFresh(browser, serverUrl, hashes[0]!); // untimed warm-up of the server and browser
  for (let i = 0; i < Math.max(CONFIG.coldSamples, CONFIG.wtSmallSamples); i++) {
    if (i < CONFIG.coldSamples) cold.push((await ecdnFetchFresh(browser, serverUrl, hashes[0]!)).ms);
    if (i < CONFIG.wtSmallSamples) {
      try {
        wt.push((await wtFetchFresh(browser, site, torrent.torrentFile)).ms);
      } catch (err) {
        log(`small: WebTorrent sample failed: ${(err as Error).message}`);
      }
    }
  }
  // Warm: one tab that already fetched from the seeder (tracker, signaling and data channel open).
  const warmPage = await openEcdnPage(browser, serverUrl);
  await ecdnFetchIn(warmPage, hashes[1]!);
  const warm: number[] = [];
  for (let i = 0; i < CONFIG.warmSamples; i++) warm.push((await ecdnFetchIn(warmPage, hashes[i + 2]!)).ms);
  for (const p of [seeder, wtSeeder, warmPage]) await closePage(p);
  raw.small = { size: SMALL, cold, warm, webtorrent: wt };
  results.small_fetch_ms_p50 = round(percentile(cold, 50), 1);
  results.small_fetch_ms_p95 = round(percentile(cold, 95), 1);
  results.small_fetch_warm_ms_p50 = round(percentile(warm, 50), 1);
  results.small_fetch_warm_ms_p95 = round(percentile(warm, 95), 1);
  results.webtorrent_small_ms_p50 = round(percentile(wt, 50), 1);
  log(
    `small: cold p50 ${results.small_fetch_ms_p50} ms, warm p50 ${results.small_fetch_warm_ms_p50} ms, WebTorrent p50 ${results.webtorrent_small_ms_p50} ms`,
  );
}

async function hashScenario(browser: Browser, serverUrl: string) {
  const runs: number[] = [];
  const limits: number[] = [];
  for (let r = 0; r < CONFIG.hashRuns; r++) {
    const { mbps: v, ms } = await hashRun(browser, serverUrl, CONFIG.hashSize);
    runs.push(v);
    // hash-wasm alone on the same CPU, alternated with seed(), so that both see the same machine.
    const limit = await hashLimitRun(browser, serverUrl, Math.min(CONFIG.hashSize, 256 * MiB));
    limits.push(limit.mbps);
    log(
      `hash run ${r + 1}: ${CONFIG.hashSize / MiB} MiB in ${Math.round(ms)} ms = ${v.toFixed(0)} MB/s; hash-wasm alone ${limit.mbps.toFixed(0)} MB/s`,
    );
  }
  raw.hash = { size: CONFIG.hashSize, runs, limits };
  results.hash_mbps = round(median(runs), 0);
  results.hash_limit_mbps = round(median(limits), 0);
  results.hash_vs_limit = round(median(runs) / median(limits), 2);
}

async function largeScenario(serverUrl: string) {
  log(`large: ${CONFIG.largeSize / MiB} MiB from disk to disk, ${CONFIG.largeRuns} runs against the bare channel`);
  const r = await runLarge(serverUrl, { size: CONFIG.largeSize, runs: CONFIG.largeRuns });
  Object.assign(results, r.results);
  raw.large = r.raw;
}

async function privateScenario(serverUrl: string) {
  const runs = Number.isFinite(runsArg) ? runsArg : 3;
  log(`private: 256 MiB as it is and as a private share, ${runs} runs`);
  const r = await runPrivate(serverUrl, { size: 256 * MiB, runs });
  Object.assign(results, r.results);
  raw.private = r.raw;
}

async function heapScenario(browser: Browser, serverUrl: string) {
  const r = await heapRun(browser, serverUrl, CONFIG.heapSize);
  raw.heap = { size: CONFIG.heapSize, ...r };
  results.seeder_heap_mb = round(r.seederMb, 1);
  results.consumer_heap_mb = round(r.consumerMb, 1);
  results.seeder_heap_with_buffers_mb = round(r.seederWithBuffersMb, 1);
  results.consumer_heap_with_buffers_mb = round(r.consumerWithBuffersMb, 1);
}

async function trackerScenario() {
  log(`tracker: ${CONFIG.tracker.peers} peers over ${CONFIG.tracker.clientProcesses} client processes`);
  const r = await runTracker({ ...CONFIG.tracker, heapProfile: args.includes('--tracker-heap') });
  raw.tracker = r.details;
  results.tracker_peers_held = r.tracker_peers_held;
  results.tracker_rss_per_peer_kb = r.tracker_rss_per_peer_kb;
  results.announce_per_s = r.announce_per_s;
  results.announce_p99_ms = r.announce_p99_ms;
  results.tracker_server_cpu_us_per_announce = r.details.saturate_server_cpu_us_per_announce;
  results.announce_p99_ms_at_5k = r.details.light_p99_ms;
}

async function trackerRedisScenario() {
  const c = CONFIG.trackerRedis;
  log(
    `tracker-redis: ${c.peers} peers on 2 instances sharing one redis-server, ${c.peers / 2} on one in-memory server, ${c.rounds} rounds`,
  );
  try {
    const r = await runTrackerRedis(c);
    Object.assign(results, r.results);
    raw.tracker_redis = r.raw;
  } catch (err) {
    // A leak or a warning still leaves figures worth reading; keep them beside the failure.
    const partial = (err as { partial?: { results: Record<string, number>; raw: unknown } }).partial;
    if (partial) {
      Object.assign(results, partial.results);
      raw.tracker_redis = partial.raw;
    }
    throw err;
  }
}

async function natScenario() {
  // The simulated internet is built from network namespaces and nftables.
  if (process.getuid?.() !== 0) {
    log('nat: skipped, it needs root (network namespaces, nftables, coturn)');
    raw.nat = { skipped: 'needs root' };
    return;
  }
  try {
    const r = await runNat({ runs: CONFIG.natRuns, size: CONFIG.natSize });
    Object.assign(results, r.results);
    raw.nat = r.raw;
  } catch (err) {
    // A wrong route still leaves figures worth reading; keep them beside the failure.
    const partial = (err as { partial?: { results: Record<string, number>; raw: unknown } }).partial;
    if (partial) {
      Object.assign(results, partial.results);
      raw.nat = partial.raw;
    }
    throw err;
  }
}

async function pathsScenario() {
  // Delay and loss on the simulated internet: namespaces, nftables and a TAP forwarder.
  if (process.getuid?.() !== 0) {
    log('paths: skipped, it needs root (network namespaces, nftables, TAP devices)');
    raw.paths = { skipped: 'needs root' };
    return;
  }
  const runs = Number.isFinite(runsArg) ? runsArg : quick ? 2 : 3;
  const r = await runPaths(quick ? { runs, size: 16 * MiB, lossySize: 4 * MiB } : { runs, size: 64 * MiB, lossySize: 16 * MiB });
  Object.assign(results, r.results);
  raw.paths = r.raw;
}

async function browsersScenario(browser: Browser, serverUrl: string) {
  const path = firefoxPath();
  if (!path) {
    log(`browsers: skipped. ${NO_FIREFOX}`);
    raw.browsers = { skipped: 'no Firefox' };
    return;
  }
  const firefox = await launchFirefox(path);
  try {
    const r = await runBrowsers(browser, firefox, serverUrl, { runs: CONFIG.browsersRuns, size: CONFIG.browsersSize });
    Object.assign(results, r.results);
    raw.browsers = r.raw;
  } finally {
    await firefox.close().catch(() => {});
  }
}

async function crowdScenario(browser: Browser, serverUrl: string, site: Awaited<ReturnType<typeof startWebTorrentSite>>) {
  const r = await runCrowd(browser, serverUrl, site, { ...CONFIG.crowd, runs: Number.isFinite(runsArg) ? runsArg : CONFIG.crowd.runs });
  Object.assign(results, r.results);
  raw.crowd = r.raw;
}

const TARGETS: Record<string, [string, (v: number) => boolean]> = {
  single_vs_bare: ['>= 0.9', (v) => v >= 0.9],
  // Issue 14: on a long path, beat a single bare channel by 2x, with and without loss, and WebTorrent everywhere.
  path_50ms_vs_bare: ['>= 2.0', (v) => v >= 2],
  path_50ms_loss1_vs_bare: ['>= 2.0', (v) => v >= 2],
  ...Object.fromEntries(
    ['0ms', '25ms', '50ms', '0ms_loss1', '25ms_loss1', '50ms_loss1'].map((p) => [`path_${p}_vs_webtorrent`, ['> 1', (v: number) => v > 1]]),
  ),
  firefox_vs_bare: ['>= 0.9', (v) => v >= 0.9],
  chromium_to_firefox_vs_bare: ['>= 0.9', (v) => v >= 0.9],
  firefox_to_chromium_vs_bare: ['>= 0.9', (v) => v >= 0.9],
  vs_webtorrent: ['>= 1.5', (v) => v >= 1.5],
  capped_speedup_2: ['>= 1.9', (v) => v >= 1.9],
  capped_speedup_4: ['>= 3.6', (v) => v >= 3.6],
  small_fetch_ms_p50: ['<= 120', (v) => v <= 120],
  hash_mbps: ['>= 250', (v) => v >= 250],
  // Issue 13: seed() hashes within 10 % of hash-wasm's own speed here; a large file moves
  // at 0.9 of the bare channel on the disk path, and no main-thread task exceeds 50 ms.
  hash_vs_limit: ['>= 0.9', (v) => v >= 0.9],
  large_vs_bare: ['>= 0.9', (v) => v >= 0.9],
  large_heap_mb: ['<= 150', (v) => v <= 150],
  main_thread_longest_task_ms: ['<= 50', (v) => v <= 50],
  seeder_heap_mb: ['flat', (v) => v < CONFIG.heapSize / 1e6 / 8],
  tracker_peers_held: ['>= 19000', (v) => v >= 19_000],
  tracker_rss_per_peer_kb: ['<= 6', (v) => v <= 6],
  announce_per_s: ['>= 20000', (v) => v >= 20_000],
  announce_p99_ms: ['<= 50', (v) => v <= 50],
  // Issue 12: an instance on Redis does at least half of what the in-memory store does per core,
  // and Redis holds at most 1 KB per (peer, hash) entry.
  redis_vs_memory_per_core: ['>= 0.5', (v) => v >= 0.5],
  redis_memory_per_entry_bytes: ['<= 1000', (v) => v <= 1000],
  // Issue 15: a crowd of 8 capped consumers finishes about as fast as one, off one copy from the publisher.
  crowd_time_ratio_8: ['<= 1.3', (v) => v <= 1.3],
  crowd_max_ratio_8: ['<= 1.6', (v) => v <= 1.6],
  crowd_publisher_upload_ratio_8: ['<= 1.5', (v) => v <= 1.5],
};

const UNITS: Record<string, string> = {
  bare_mbps: 'MB/s',
  ...Object.fromEntries(
    ['0ms', '25ms', '50ms', '0ms_loss1', '25ms_loss1', '50ms_loss1'].flatMap((p) =>
      ['', '_bare', '_webtorrent'].map((who) => [`path_${p}${who}_mbps`, 'MB/s']),
    ),
  ),
  path_0ms_first_byte_ms: 'ms',
  path_50ms_first_byte_ms: 'ms',
  single_mbps: 'MB/s',
  webtorrent_mbps: 'MB/s',
  capped_1_mbps: 'MB/s',
  hash_mbps: 'MB/s',
  hash_limit_mbps: 'MB/s',
  large_mbps: 'MB/s',
  large_bare_mbps: 'MB/s',
  large_memory_mbps: 'MB/s',
  large_seed_mbps: 'MB/s',
  large_heap_mb: 'MB',
  main_thread_longest_task_ms: 'ms',
  small_fetch_ms_p50: 'ms',
  small_fetch_ms_p95: 'ms',
  small_fetch_warm_ms_p50: 'ms',
  small_fetch_warm_ms_p95: 'ms',
  webtorrent_small_ms_p50: 'ms',
  seeder_heap_mb: 'MB',
  consumer_heap_mb: 'MB',
  seeder_heap_with_buffers_mb: 'MB',
  consumer_heap_with_buffers_mb: 'MB',
  tracker_rss_per_peer_kb: 'KiB',
  announce_per_s: '/s',
  announce_p99_ms: 'ms',
  announce_p99_ms_at_5k: 'ms',
  tracker_server_cpu_us_per_announce: 'µs',
  redis_announce_per_s: '/s',
  redis_announce_p99_ms: 'ms',
  redis_bytes_per_announce: 'B',
  redis_rss_per_peer_kb: 'KiB',
  redis_memory_per_peer_bytes: 'B',
  redis_memory_per_entry_bytes: 'B',
  redis_instance_cpu_us_per_announce: 'µs',
  redis_server_cpu_us_per_announce: 'µs',
  memory_announce_per_s: '/s',
  memory_cpu_us_per_announce: 'µs',
  memory_announce_p99_ms: 'ms',
  ...Object.fromEntries(['crowd_1_s', 'webtorrent_crowd_1_s'].map((k) => [k, 's'])),
  ...Object.fromEntries(
    ['firefox', 'chromium_to_firefox', 'firefox_to_chromium'].flatMap((pair) => [
      [`${pair}_mbps`, 'MB/s'],
      [`${pair}_bare_mbps`, 'MB/s'],
    ]),
  ),
  ...Object.fromEntries(
    ['cone', 'turn', 'relay'].flatMap((path) => [
      [`nat_${path}_setup_ms`, 'ms'],
      [`nat_${path}_bare_setup_ms`, 'ms'],
      [`nat_${path}_mbps`, 'MB/s'],
      [`nat_${path}_bare_mbps`, 'MB/s'],
    ]),
  ),
};

function printTable(all: Record<string, unknown>) {
  const rows = Object.entries(all).filter(([, v]) => typeof v === 'number');
  const w = Math.max(...rows.map(([k]) => k.length));
  const lines = [
    `${'key'.padEnd(w)}  ${'value'.padStart(10)}  unit   target     `,
    `${'-'.repeat(w)}  ${'-'.repeat(10)}  -----  -----------`,
  ];
  for (const [k, v] of rows) {
    const t = TARGETS[k];
    const status = t ? `${t[0].padEnd(9)} ${Number.isFinite(v as number) ? (t[1](v as number) ? 'ok' : 'MISS') : '?'}` : '';
    lines.push(`${k.padEnd(w)}  ${String(v).padStart(10)}  ${(UNITS[k] ?? '').padEnd(5)}  ${status}`);
  }
  console.log(lines.join('\n'));
}

async function main() {
  const t0 = Date.now();
  const server = createServer({});
  const serverUrl = await server.listen(0, '127.0.0.1');
  const site = await startWebTorrentSite();
  let browser: Browser | undefined;
  let browserVersion: string | undefined;
  const failures: string[] = [];
  const step = async (name: string, fn: () => Promise<void>) => {
    if (!wants(name)) return;
    const started = Date.now();
    try {
      await fn();
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
      log(`${name} FAILED: ${(err as Error).stack}`);
    }
    log(`${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  };
  try {
    if (['transfer', 'capped', 'small', 'hash', 'heap', 'large', 'browsers', 'crowd'].some(wants)) {
      browser = await launchBrowser();
      browserVersion = browser.version();
    }
    await step('transfer', () => transferScenario(browser!, serverUrl, site));
    await step('capped', () => cappedScenario(browser!, serverUrl, site));
    await step('small', () => smallScenario(browser!, serverUrl, site));
    await step('hash', () => hashScenario(browser!, serverUrl));
    await step('heap', () => heapScenario(browser!, serverUrl));
    await step('large', () => largeScenario(serverUrl));
    await step('private', () => privateScenario(serverUrl));
    await step('browsers', () => browsersScenario(browser!, serverUrl));
    await step('crowd', () => crowdScenario(browser!, serverUrl, site));
    await browser?.close();
    browser = undefined;
    await step('tracker', trackerScenario);
    await step('tracker-redis', trackerRedisScenario);
    await step('nat', natScenario);
    await step('paths', pathsScenario);
  } finally {
    await browser?.close().catch(() => {});
    await site.close().catch(() => {});
    await server.close().catch(() => {});
  }

  // With --only, keep the other keys of the previous run, so that the file always has them all.
  let previous: Record<string, unknown> = {};
  if (only && existsSync(OUT)) {
    try {
      previous = JSON.parse(readFileSync(OUT, 'utf8')) as Record<string, unknown>;
    } catch {
      previous = {};
    }
  }
  const prevRaw = (previous.raw ?? {}) as Record<string, unknown>;
  const { machine: _m, raw: _r, config: _c, failures: _f, elapsed_s: _e, ...prevKeys } = previous;
  const out = {
    ...prevKeys,
    ...results,
    machine: machine(browserVersion ?? (previous.machine as { chromium?: string } | undefined)?.chromium),
    config: { ...CONFIG, only: only ?? null },
    elapsed_s: round((Date.now() - t0) / 1000, 1),
    failures: [...failures, ...pageErrors.slice(0, 20).map((e) => `page error: ${e}`)],
    raw: { ...prevRaw, ...raw },
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(out, null, 2)}\n`);
  const keys = Object.fromEntries(Object.entries(out).filter(([k]) => !['machine', 'config', 'raw', 'failures', 'elapsed_s'].includes(k)));
  console.log(
    `\nEphemeralCDN bench (${CONFIG.mode}), ${out.machine.chromium ? `Chromium ${out.machine.chromium}, ` : ''}Node ${process.version}, ${out.machine.cpu} x${out.machine.cores}`,
  );
  printTable(keys);
  console.log(`\nwrote ${OUT} in ${out.elapsed_s} s${failures.length ? `; ${failures.length} scenario(s) failed` : ''}`);
  if (failures.length) process.exitCode = 1;
}

await main();
// Playwright, the WebTorrent tracker and PeerJS leave handles behind; the run is over.
process.exit(process.exitCode ?? 0);
