// A flash crowd (issue 15): one publisher and N consumer tabs that all start fetching
// within the same second, every tab's upload capped, so that the figures measure how
// the swarm spreads the load rather than this machine's CPU. EphemeralCDN and
// WebTorrent in the same run, on the same cap.
import { readdirSync, readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { closePage, openEcdnPage, openWebTorrentPage, type WebTorrentSite } from '../lib/browser.js';
import { log, MiB, median, round, withTimeout } from '../lib/stats.js';
import { ecdnSeed, freshSeed, wtClient, wtSeed, wtWaitForPeers } from './transfer.js';

export interface CrowdOptions {
  /** Crowd sizes; the first must be 1, the reference the others are divided by. */
  crowds: number[];
  runs: number;
  size: number;
  /** Every tab's upload cap, bytes per second. */
  cap: number;
  /** EphemeralCDN consumers' `maxPeers`; the engine's default when absent. */
  maxPeers?: number;
  /** Which systems to run; both by default. */
  contenders?: Array<'ecdn' | 'webtorrent'>;
}

/** One crowd trial: when each consumer finished, and what the publisher uploaded. */
export interface CrowdTrial {
  /** Each consumer's completion time from the common start, ms. */
  ms: number[];
  /** Payload bytes the publisher uploaded. */
  publisherUp: number;
  /** Share of both cores busy during the trial, from /proc/stat (NaN where it cannot be read). */
  cpuBusy: number;
  /** Busiest one-second share of the cores during the trial. */
  cpuBusyPeak: number;
  /** Cores' worth of CPU used by the bench's Chromium processes during the trial, by process type. */
  cpuBench: Record<string, number>;
  /** EphemeralCDN only: bytes each consumer received from the publisher. */
  fromPublisher?: number[];
  /** EphemeralCDN only: bytes each consumer received and threw away (duplicates, failed pieces). */
  wasted?: number[];
  /** EphemeralCDN only: each consumer's MB received from the publisher and from the others, and its links, every second. */
  timelines?: Array<Array<[number, number, number]>>;
}

/** Milliseconds before the common start given to every tab, so that each is waiting when it comes. */
const START_DELAY_MS = 500;
const TRIAL_TIMEOUT_MS = 240_000;

/** Busy and total jiffies of all cores, from /proc/stat. */
function cpuTimes(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds used so far by this process's descendants (Chromium's processes), by
 * Chromium process type (`renderer`, `gpu-process`, `utility` for the network service,
 * `browser`), from /proc; empty where /proc cannot be read.
 */
function benchCpu(): Map<string, number> {
  const byType = new Map<string, number>();
  try {
    const parent = new Map<number, number>();
    const info = new Map<number, { type: string; seconds: number }>();
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        parent.set(pid, Number(f[1]));
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        const type = /--type=([a-z-]+)/.exec(cmd)?.[1] ?? (cmd.includes('chrom') ? 'browser' : 'other');
        info.set(pid, { type, seconds: (Number(f[11]) + Number(f[12])) / 100 });
      } catch {
        // The process ended meanwhile.
      }
    }
    for (const [pid, { type, seconds }] of info) {
      let p: number | undefined = parent.get(pid);
      while (p && p !== process.pid) p = parent.get(p);
      if (p === process.pid) byType.set(type, (byType.get(type) ?? 0) + seconds);
    }
  } catch {
    // No /proc here.
  }
  return byType;
}

/** Samples the machine's CPU every second until stopped: the mean and the busiest second. */
function sampleCpu(): () => { mean: number; peak: number; bench: Record<string, number> } {
  const benchFirst = benchCpu();
  const t0 = Date.now();
  const first = cpuTimes();
  let last = first;
  let peak = 0;
  const timer = setInterval(() => {
    const now = cpuTimes();
    if (now && last && now.total > last.total) peak = Math.max(peak, (now.busy - last.busy) / (now.total - last.total));
    last = now;
  }, 1000);
  return () => {
    clearInterval(timer);
    const end = cpuTimes();
    const seconds = (Date.now() - t0) / 1000;
    // Cores' worth used by the bench's own Chromium processes, by type.
    const bench = Object.fromEntries([...benchCpu()].map(([type, s]) => [type, round((s - (benchFirst.get(type) ?? 0)) / seconds, 2)]));
    if (!first || !end || end.total <= first.total) return { mean: NaN, peak: NaN, bench };
    return { mean: (end.busy - first.busy) / (end.total - first.total), peak, bench };
  };
}

async function ecdnTrial(browser: Browser, serverUrl: string, n: number, opts: CrowdOptions): Promise<CrowdTrial> {
  const publisher = await openEcdnPage(browser, serverUrl, { uploadLimit: opts.cap });
  const consumers: Page[] = [];
  try {
    const hash = await ecdnSeed(publisher, opts.size, freshSeed());
    const publisherId = await publisher.evaluate(() => window.EphemeralCDN.stats().peerId);
    for (let i = 0; i < n; i++) consumers.push(await openEcdnPage(browser, serverUrl, { uploadLimit: opts.cap }));
    const upBefore = await publisher.evaluate(() => window.EphemeralCDN.stats().bytesUp);
    const startAt = Date.now() + START_DELAY_MS;
    const stopCpu = sampleCpu();
    // Every consumer keeps its tab open and re-seeds, as a reader of a busy page would.
    const ends = await withTimeout(`crowd of ${n}`, TRIAL_TIMEOUT_MS, () =>
      Promise.all(
        consumers.map((page) =>
          page.evaluate(
            async ({ hash, startAt, publisherId, maxPeers }) => {
              await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
              // Every second: bytes received so far from the publisher, from other consumers, and links open.
              const timeline: Array<[number, number, number]> = [];
              const sample = setInterval(() => {
                const c = window.EphemeralCDN.stats().connections;
                const pub = c.find((x) => x.peerId === publisherId)?.bytesDown ?? 0;
                const all = c.reduce((sum, x) => sum + x.bytesDown, 0);
                timeline.push([Math.round(pub / 1e5) / 10, Math.round((all - pub) / 1e5) / 10, c.length]);
              }, 1000);
              let wasted = 0;
              const off = window.EphemeralCDN.getEngine().on('fetched', (r) => {
                if (r.hash === hash) wasted = r.wastedBytes;
              });
              let buffer: ArrayBuffer;
              try {
                buffer = await window.EphemeralCDN.fetch(hash, maxPeers ? { maxPeers } : {});
              } finally {
                clearInterval(sample);
                off();
              }
              const end = Date.now();
              if ((await window.__benchHex(buffer)) !== hash) throw new Error('wrong bytes');
              const from = window.EphemeralCDN.stats().connections.find((c) => c.peerId === publisherId)?.bytesDown ?? 0;
              return { end, from, timeline, wasted };
            },
            { hash, startAt, publisherId, maxPeers: opts.maxPeers },
          ),
        ),
      ),
    );
    const cpu = stopCpu();
    const publisherUp = (await publisher.evaluate(() => window.EphemeralCDN.stats().bytesUp)) - upBefore;
    return {
      ms: ends.map((e) => e.end - startAt),
      publisherUp,
      cpuBusy: cpu.mean,
      cpuBusyPeak: cpu.peak,
      cpuBench: cpu.bench,
      fromPublisher: ends.map((e) => e.from),
      wasted: ends.map((e) => e.wasted),
      timelines: ends.map((e) => e.timeline),
    };
  } finally {
    for (const page of [publisher, ...consumers]) await closePage(page);
  }
}

async function webtorrentTrial(browser: Browser, site: WebTorrentSite, n: number, opts: CrowdOptions): Promise<CrowdTrial> {
  const publisher = await openWebTorrentPage(browser, site);
  const consumers: Page[] = [];
  try {
    await wtClient(publisher, opts.cap);
    const torrent = await wtSeed(publisher, site, opts.size, freshSeed());
    await wtWaitForPeers(site, torrent.infoHash, 1);
    for (let i = 0; i < n; i++) {
      const page = await openWebTorrentPage(browser, site);
      await wtClient(page, opts.cap);
      consumers.push(page);
    }
    const startAt = Date.now() + START_DELAY_MS;
    const stopCpu = sampleCpu();
    const ends = await withTimeout(`WebTorrent crowd of ${n}`, TRIAL_TIMEOUT_MS, () =>
      Promise.all(
        consumers.map((page) =>
          page.evaluate(
            async ({ torrentFile, announce, startAt }) => {
              const w = window as any;
              await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
              const t = w.__wt.add(new Uint8Array(torrentFile), { announce: [announce] });
              await new Promise<void>((resolve, reject) => {
                t.on('done', resolve);
                t.on('error', reject);
              });
              return Date.now();
            },
            { torrentFile: torrent.torrentFile, announce: site.trackerUrl, startAt },
          ),
        ),
      ),
    );
    const cpu = stopCpu();
    const publisherUp = await publisher.evaluate(() =>
      ((window as any).__wt.torrents as Array<{ uploaded: number }>).reduce((sum, t) => sum + t.uploaded, 0),
    );
    return { ms: ends.map((end) => end - startAt), publisherUp, cpuBusy: cpu.mean, cpuBusyPeak: cpu.peak, cpuBench: cpu.bench };
  } finally {
    for (const page of [publisher, ...consumers]) {
      await page
        .evaluate(() => new Promise<void>((resolve) => (window as any).__wt?.destroy(() => resolve()) ?? resolve()))
        .catch(() => {});
      await closePage(page);
    }
  }
}

/**
 * Runs the crowd scenario: for each run, each crowd size, EphemeralCDN then WebTorrent
 * (the order alternates between runs). Ratios are taken within a run, against that
 * run's crowd of one, and the medians over runs are reported.
 */
export async function runCrowd(
  browser: Browser,
  serverUrl: string,
  site: WebTorrentSite,
  opts: CrowdOptions,
): Promise<{ results: Record<string, number>; raw: Record<string, unknown> }> {
  log(`crowd: ${opts.size / MiB} MiB, crowds of ${opts.crowds.join('/')}, every tab capped at ${opts.cap / 1e6} MB/s, ${opts.runs} runs`);
  const runs: Array<Record<string, { ecdn?: CrowdTrial; webtorrent?: CrowdTrial }>> = [];
  for (let r = 0; r < opts.runs; r++) {
    const run: Record<string, { ecdn?: CrowdTrial; webtorrent?: CrowdTrial }> = {};
    for (const n of opts.crowds) {
      const trials: Array<['ecdn' | 'webtorrent', () => Promise<CrowdTrial>]> = [
        ['ecdn', () => ecdnTrial(browser, serverUrl, n, opts)],
        ['webtorrent', () => webtorrentTrial(browser, site, n, opts)],
      ];
      if (r % 2 === 1) trials.reverse();
      const wanted = trials.filter(([name]) => opts.contenders?.includes(name) ?? true);
      run[n] = {};
      for (const [name, trial] of wanted) {
        try {
          const t = await trial();
          run[n]![name] = t;
          log(
            `crowd run ${r + 1}, ${name} x${n}: median ${(median(t.ms) / 1000).toFixed(1)} s, slowest ${(Math.max(...t.ms) / 1000).toFixed(1)} s, ` +
              `publisher up ${(t.publisherUp / opts.size).toFixed(2)}x, CPU ${(t.cpuBusy * 100).toFixed(0)} % (peak ${(t.cpuBusyPeak * 100).toFixed(0)} %; Chromium ${JSON.stringify(t.cpuBench)})` +
              (t.fromPublisher ? `, from publisher ${t.fromPublisher.map((b) => (b / opts.size).toFixed(2)).join('/')}` : '') +
              (t.wasted ? `, wasted ${t.wasted.map((b) => (b / opts.size).toFixed(2)).join('/')}` : ''),
          );
        } catch (err) {
          log(`crowd run ${r + 1}, ${name} x${n} failed: ${(err as Error).message}`);
        }
      }
    }
    runs.push(run);
  }

  const results: Record<string, number> = {};
  const ratio = (name: 'ecdn' | 'webtorrent', n: number, of: (t: CrowdTrial) => number) =>
    median(
      runs.map((run) => {
        const one = run[1]?.[name];
        const t = run[n]?.[name];
        return one && t ? of(t) / median(one.ms) : NaN;
      }),
    );
  for (const [name, prefix] of [
    ['ecdn', 'crowd'],
    ['webtorrent', 'webtorrent_crowd'],
  ] as const) {
    results[`${prefix}_1_s`] = round(median(runs.map((run) => median(run[1]?.[name]?.ms ?? []))) / 1000, 1);
    for (const n of opts.crowds) {
      if (n !== 1) {
        results[`${prefix}_time_ratio_${n}`] = round(
          ratio(name, n, (t) => median(t.ms)),
          2,
        );
        results[`${prefix}_max_ratio_${n}`] = round(
          ratio(name, n, (t) => Math.max(...t.ms)),
          2,
        );
      }
      results[`${prefix}_publisher_upload_ratio_${n}`] = round(
        median(runs.map((run) => (run[n]?.[name] ? run[n]![name]!.publisherUp / opts.size : NaN))),
        2,
      );
    }
  }
  const all = runs.flatMap((run) => Object.values(run).flatMap((t) => [t.ecdn, t.webtorrent])).filter((t) => t !== undefined);
  results.crowd_cpu_busy = round(median(all.map((t) => t.cpuBusy)), 2);
  results.crowd_cpu_busy_peak = round(Math.max(...all.map((t) => t.cpuBusyPeak).filter(Number.isFinite)), 2);
  return { results, raw: { ...opts, runs } };
}
