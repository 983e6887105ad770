// Across browser engines: EphemeralCDN against a bare data channel between
// the same two browsers, for three pairs:
//
//   firefox               Firefox seeds, Firefox fetches
//   chromium_to_firefox   Chromium seeds, Firefox fetches
//   firefox_to_chromium   Firefox seeds, Chromium fetches
//
// Each run makes two trials per pair, one through the engine (a fresh consumer
// tab fetches from a seeder tab, timed from the call to the verified buffer,
// as `single_mbps`) and one bare (`bareRun` of transfer.ts: a new
// RTCPeerConnection signalled by the bench, 256 KiB messages paced by
// `bufferedamountlow`, timed from the first send to the last byte). The six
// trials are rotated by one each run, so no trial always goes first. Firefox's
// network process drops UDP packets under load, so every trial also counts the
// namespace's UDP receive errors (/proc/net/snmp) it caused.
// docs/performance.md, "Across browser engines", says what each key means.
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { closePage, openEcdnPage, openPage } from '../lib/browser.js';
import { type FirefoxBrowser, openFirefoxEcdnPage, openFirefoxPage } from '../lib/firefox.js';
import { log, median, MiB, mbps, round, sleep, withTimeout } from '../lib/stats.js';
import { bareRun, ecdnFetchIn, ecdnSeed, freshSeed } from './transfer.js';

export interface BrowsersOptions {
  /** Runs; each has one EphemeralCDN and one bare trial per pair. */
  runs: number;
  /** The file each trial moves. */
  size: number;
}

type Engine = 'chromium' | 'firefox';
const PAIRS = {
  firefox: { seeder: 'firefox', consumer: 'firefox' },
  chromium_to_firefox: { seeder: 'chromium', consumer: 'firefox' },
  firefox_to_chromium: { seeder: 'firefox', consumer: 'chromium' },
} satisfies Record<string, { seeder: Engine; consumer: Engine }>;
type PairName = keyof typeof PAIRS;
const PAIR_NAMES = Object.keys(PAIRS) as PairName[];

interface Trial {
  mbps: number;
  /** EphemeralCDN only: the rate from a quarter of the file to the end (connections up). */
  steady_mbps?: number;
  /** UDP datagrams the kernel dropped on receive during the trial (RcvbufErrors; InErrors if higher). */
  udp_drops: number;
}

/** UDP receive errors of this network namespace so far. */
function udpDrops(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const [head, values] = lines.map((l) => l.trim().split(/\s+/));
  if (!head || !values) return NaN;
  const at = (name: string) => Number(values[head.indexOf(name)]);
  return Math.max(at('InErrors'), at('RcvbufErrors'));
}

async function counted(fn: () => Promise<Omit<Trial, 'udp_drops'>>): Promise<Trial> {
  const before = udpDrops();
  const r = await fn();
  return { ...r, udp_drops: udpDrops() - before };
}

export async function runBrowsers(
  chromium: Browser,
  firefox: FirefoxBrowser,
  serverUrl: string,
  { runs, size }: BrowsersOptions,
): Promise<{ results: Record<string, number>; raw: unknown }> {
  log(`browsers: ${size / MiB} MiB, ${runs} runs, Firefox ${await firefox.version()}`);
  const origin = `${serverUrl}/healthz`;
  const tabs: Page[] = [];
  const keep = (page: Page) => {
    tabs.push(page);
    return page;
  };
  try {
    // One seeder per engine, each with a file of its own (so a consumer finds one holder).
    const seeders: Record<Engine, Page> = {
      chromium: keep(await openEcdnPage(chromium, serverUrl)),
      firefox: keep(await openFirefoxEcdnPage(firefox, serverUrl)),
    };
    const hashes: Record<Engine, string> = {
      chromium: await ecdnSeed(seeders.chromium, size, freshSeed()),
      firefox: await ecdnSeed(seeders.firefox, size, freshSeed()),
    };
    const consumerTab = (engine: Engine) =>
      engine === 'chromium' ? openEcdnPage(chromium, serverUrl) : openFirefoxEcdnPage(firefox, serverUrl);
    // The bare runs' tabs, opened once: each trial makes a new connection between two of them.
    const bare = {
      chromium: [keep(await openPage(chromium, origin)), keep(await openPage(chromium, origin))],
      firefox: [keep(await openFirefoxPage(firefox, origin)), keep(await openFirefoxPage(firefox, origin))],
    };
    log('browsers: seeders and bare tabs ready');

    const ecdnTrial = (pair: PairName) =>
      counted(async () => {
        const { seeder, consumer } = PAIRS[pair];
        const tab = await consumerTab(consumer);
        try {
          const r = await ecdnFetchIn(tab, hashes[seeder]);
          return { mbps: mbps(size, r.ms), steady_mbps: mbps(r.steadyBytes, r.steadyMs) };
        } finally {
          await closePage(tab);
        }
      });
    const bareTrial = (pair: PairName) =>
      counted(async () => {
        const { seeder, consumer } = PAIRS[pair];
        const pages = { a: bare[seeder][0]!, b: bare[consumer][1]! };
        return { mbps: (await withTimeout(`bare ${pair}`, 120_000, () => bareRun(pages, size))).mbps };
      });

    const trials = PAIR_NAMES.flatMap((pair) => [
      { pair, kind: 'ecdn' as const, run: () => ecdnTrial(pair) },
      { pair, kind: 'bare' as const, run: () => bareTrial(pair) },
    ]);
    const failed: Trial = { mbps: NaN, udp_drops: NaN };
    const all: Array<Record<PairName, { ecdn: Trial; bare: Trial }>> = [];
    for (let r = 0; r < runs; r++) {
      const run = Object.fromEntries(PAIR_NAMES.map((p) => [p, { ecdn: failed, bare: failed }])) as Record<
        PairName,
        { ecdn: Trial; bare: Trial }
      >;
      for (let k = 0; k < trials.length; k++) {
        const trial = trials[(r + k) % trials.length]!;
        try {
          run[trial.pair][trial.kind] = await trial.run();
        } catch (err) {
          log(`browsers run ${r + 1}: ${trial.pair} ${trial.kind} failed: ${(err as Error).message}`);
        }
        await sleep(300);
      }
      all.push(run);
      log(
        `browsers run ${r + 1}: ` +
          PAIR_NAMES.map(
            (p) =>
              `${p} ${run[p].ecdn.mbps.toFixed(1)} / bare ${run[p].bare.mbps.toFixed(1)} MB/s ` +
              `(UDP drops ${run[p].ecdn.udp_drops} / ${run[p].bare.udp_drops})`,
          ).join(', '),
      );
    }

    const results: Record<string, number> = {};
    for (const p of PAIR_NAMES) {
      results[`${p}_mbps`] = round(median(all.map((r) => r[p].ecdn.mbps)), 1);
      results[`${p}_bare_mbps`] = round(median(all.map((r) => r[p].bare.mbps)), 1);
      results[`${p}_vs_bare`] = round(median(all.map((r) => r[p].ecdn.mbps / r[p].bare.mbps)), 2);
    }
    return { results, raw: { size, firefox: await firefox.version(), runs: all } };
  } finally {
    for (const tab of tabs) await closePage(tab);
  }
}
