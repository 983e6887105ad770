// Long and lossy paths: one seeder and one consumer in two homes of the
// simulated internet (test/netsim), the consumer's uplink delayed by
// test/netsim/delay-forwarder.py and made lossy by an nftables rule, for every
// combination of 0, 25 and 50 ms one-way delay and 0 and 1 % loss (each way).
// On each path the bare data channel, EphemeralCDN and WebTorrent move a file
// in turn, rotated each run, so that a ratio compares trials of the same minute.
// Both homes are open (no NAT): the NAT paths are the nat scenario's subject,
// and here the path alone should differ. docs/performance.md, "Paths", says
// what each key means.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Browser } from 'playwright-core';
import { internet, startEcdnServer } from '../../test/netsim/index.js';
import { closePage, openEcdnPage, openPage, type WebTorrentSite } from '../lib/browser.js';
import { log, median, MiB, mbps, round, sleep, withTimeout } from '../lib/stats.js';
import { bareRun, ecdnFetchIn, ecdnSeed, freshSeed, wtClient, wtFetchFresh, wtSeed } from './transfer.js';
import { openWebTorrentPage } from '../lib/browser.js';

export interface PathsOptions {
  /** Runs per path; each run has one trial per contender. */
  runs: number;
  /** Bytes moved on a path without loss. */
  size: number;
  /** Bytes moved on a lossy path (smaller: a single channel moves a few hundred KB/s there). */
  lossySize: number;
}

/** The first file of every EphemeralCDN trial: one piece, so its completion is the first verified byte. */
const SMALL = 16 * 1024;
const DELAYS = [0, 25, 50] as const;
const LOSSES = [0, 1] as const;
const CONTENDERS = ['bare', 'ecdn', 'webtorrent'] as const;
type Contender = (typeof CONTENDERS)[number];

interface PathSpec {
  name: string;
  delayMs: number;
  lossPercent: number;
}
const PATHS: PathSpec[] = LOSSES.flatMap((loss) =>
  DELAYS.map((delay) => ({ name: `path_${delay}ms${loss ? `_loss${loss}` : ''}`, delayMs: delay, lossPercent: loss })),
);

interface Trial {
  mbps: number;
  /** Forwarder CPU over the trial, in percent of one core. */
  forwarderCpu: number;
  /** EphemeralCDN only: call to verified bytes of the 16 KiB file, on a fresh page. */
  firstByteMs?: number;
}

/** Runs the scenario; resolves with the keys for the table and the raw runs. */
export async function runPaths(options: PathsOptions): Promise<{ results: Record<string, number>; raw: Record<string, unknown> }> {
  const net = await internet({ homes: { a: 'open', b: 'open' }, paths: { b: {} } });
  let site: ChildProcess | undefined;
  try {
    const server = await startEcdnServer(net, 8787, { STUN_PORT: '3480' });
    site = net.spawn('pub', process.execPath, ['--import', 'tsx', 'bench/lib/webtorrent-site-main.ts', '198.18.0.1']);
    const lines = createInterface({ input: site.stdout! })[Symbol.asyncIterator]();
    const first = await withTimeout('WebTorrent site', 30_000, () => lines.next());
    const { url, trackerUrl } = JSON.parse(String(first.value)) as { url: string; trackerUrl: string };
    const askPeers = async (infoHash: string) => {
      site!.stdin!.write(`${infoHash}\n`);
      return Number((await lines.next()).value);
    };
    let known = 0;
    const wtSite: WebTorrentSite = { url, trackerUrl, peersOf: () => known, close: async () => {} };

    // The bench's pages load from plain-HTTP origins in the public segment; these stand in for HTTPS ones.
    const secure = [`--unsafely-treat-insecure-origin-as-secure=${server},${url}`];
    const browsers: Record<'a' | 'b', Browser> = {
      a: await net.launchChromium('a', { args: secure }),
      b: await net.launchChromium('b', { args: secure }),
    };

    const seeder = await openEcdnPage(browsers.a, server);
    const small = await seeder.evaluate((seed) => window.EphemeralCDN.seed(window.__benchBytes(16 * 1024, seed)), freshSeed());
    const files = new Map<number, string>();
    const wtSeeder = await openWebTorrentPage(browsers.a, wtSite);
    await wtClient(wtSeeder);
    const torrents = new Map<number, number[]>();
    for (const size of new Set([options.size, options.lossySize])) {
      files.set(size, await ecdnSeed(seeder, size, freshSeed()));
      const torrent = await wtSeed(wtSeeder, wtSite, size, freshSeed());
      const until = Date.now() + 20_000;
      while ((known = await askPeers(torrent.infoHash)) < 1) {
        if (Date.now() > until) throw new Error('bittorrent-tracker never saw the WebTorrent seeder');
        await sleep(50);
      }
      torrents.set(size, torrent.torrentFile);
    }
    const bare = { a: await openPage(browsers.a, `${server}/healthz`), b: await openPage(browsers.b, `${server}/healthz`) };
    log(`paths: seeders ready; ${options.runs} runs per path, ${options.size / MiB} MiB (lossy: ${options.lossySize / MiB} MiB)`);

    const cpu = () => net.forwarderCpuSeconds('b') ?? NaN;
    const trial = async (who: Contender, size: number): Promise<Trial> => {
      const cpu0 = cpu();
      const t0 = Date.now();
      let result: Trial;
      if (who === 'bare') {
        result = { mbps: (await withTimeout('bare transfer', 300_000, () => bareRun(bare, size))).mbps, forwarderCpu: NaN };
      } else if (who === 'ecdn') {
        const page = await openEcdnPage(browsers.b, server);
        try {
          const firstByteMs = await page.evaluate(async (small) => {
            const t = performance.now();
            const bytes = await window.EphemeralCDN.fetch(small, { reseed: false });
            const ms = performance.now() - t;
            if ((await window.__benchHex(bytes)) !== small) throw new Error('the small file does not match its hash');
            return ms;
          }, small);
          const r = await ecdnFetchIn(page, files.get(size)!);
          result = { mbps: mbps(size, r.ms), forwarderCpu: NaN, firstByteMs };
        } finally {
          await closePage(page);
        }
      } else {
        // From a quarter of the file on: the tracker and WebRTC set-up are WebTorrent's, not the path's.
        const r = await wtFetchFresh(browsers.b, wtSite, torrents.get(size)!);
        result = { mbps: mbps(r.steadyBytes, r.steadyMs), forwarderCpu: NaN };
      }
      result.forwarderCpu = ((cpu() - cpu0) / ((Date.now() - t0) / 1000)) * 100;
      return result;
    };

    const runs: Array<Record<string, Partial<Record<Contender, Trial>>>> = [];
    for (let r = 0; r < options.runs; r++) {
      const run: Record<string, Partial<Record<Contender, Trial>>> = {};
      for (const path of PATHS) {
        await net.setPath('b', { delayMs: path.delayMs, lossPercent: path.lossPercent });
        const size = path.lossPercent > 0 ? options.lossySize : options.size;
        run[path.name] = {};
        for (let k = 0; k < CONTENDERS.length; k++) {
          const who = CONTENDERS[(r + k) % CONTENDERS.length]!;
          try {
            run[path.name]![who] = await trial(who, size);
          } catch (err) {
            log(`paths run ${r + 1}: ${path.name} ${who} failed: ${(err as Error).message}`);
          }
          await sleep(200);
        }
        const f = (t: Trial | undefined) => (t ? t.mbps.toFixed(2) : 'failed');
        const p = run[path.name]!;
        log(
          `paths run ${r + 1}: ${path.name}: bare ${f(p.bare)}, ecdn ${f(p.ecdn)}, webtorrent ${f(p.webtorrent)} MB/s` +
            (p.ecdn?.firstByteMs !== undefined ? `; 16 KiB first byte ${Math.round(p.ecdn.firstByteMs)} ms` : ''),
        );
      }
      runs.push(run);
    }
    for (const page of [seeder, wtSeeder, bare.a, bare.b]) await closePage(page);

    const results: Record<string, number> = {};
    for (const path of PATHS) {
      const of = (who: Contender) => runs.map((run) => run[path.name]?.[who]?.mbps ?? NaN);
      const ratio = (over: Contender) =>
        median(runs.map((run) => (run[path.name]?.ecdn?.mbps ?? NaN) / (run[path.name]?.[over]?.mbps ?? NaN)));
      results[`${path.name}_mbps`] = round(median(of('ecdn')), 2);
      results[`${path.name}_bare_mbps`] = round(median(of('bare')), 2);
      results[`${path.name}_webtorrent_mbps`] = round(median(of('webtorrent')), 2);
      results[`${path.name}_vs_bare`] = round(ratio('bare'), 2);
      results[`${path.name}_vs_webtorrent`] = round(ratio('webtorrent'), 2);
    }
    const firstByte = (name: string) => median(runs.map((run) => run[name]?.ecdn?.firstByteMs ?? NaN));
    results.path_0ms_first_byte_ms = round(firstByte('path_0ms'), 0);
    results.path_50ms_first_byte_ms = round(firstByte('path_50ms'), 0);
    const raw = {
      size: options.size,
      lossy_size: options.lossySize,
      small: SMALL,
      homes: 'a (seeder) and b (consumer), both open; delay and loss on b’s uplink, each way',
      webtorrent_rate: 'from a quarter of the file to done (excludes tracker and WebRTC set-up)',
      runs: runs.map((run) =>
        Object.fromEntries(
          Object.entries(run).map(([name, trials]) => [
            name,
            Object.fromEntries(
              Object.entries(trials).map(([who, t]) => [
                who,
                {
                  mbps: round(t.mbps, 3),
                  forwarder_cpu_percent: round(t.forwarderCpu, 1),
                  ...(t.firstByteMs !== undefined ? { first_byte_ms: round(t.firstByteMs, 0) } : {}),
                },
              ]),
            ),
          ]),
        ),
      ),
    };
    return { results, raw };
  } finally {
    site?.stdin?.end();
    await net.close();
  }
}
