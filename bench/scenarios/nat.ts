// Across NATs: EphemeralCDN against a bare data channel over the simulated
// internet of test/netsim (homes behind real NAT routers, the real server and
// coturn in the public segment), for three paths:
//
//   cone     a (cone) ↔ b (cone), the server's built-in STUN only: direct, srflx ↔ srflx
//   turn     a (cone) ↔ c (symmetric), STUN and coturn's TURN: one side relays
//   relay    a (cone) ↔ b (cone), both pages `iceTransportPolicy: 'relay'`: relay ↔ relay
//
// Each run of each path makes a new connection twice, once through the engine
// and once as a bare RTCPeerConnection with the same ICE servers (signalled by
// the bench through page.evaluate), in alternating order. Both set-up and
// throughput are measured; the candidate pair that carried the bytes is read at
// the end of each transfer, and a path that did not take its route fails the
// scenario. docs/performance.md, "Across NATs", says what each key means.
import type { Browser, Page } from 'playwright-core';
import { internet, startEcdnServer, type Internet } from '../../test/netsim/index.js';
import { closePage, openPage } from '../lib/browser.js';
import { log, median, MiB, mbps, round, sleep, withTimeout } from '../lib/stats.js';
import { BARE_HIGH_WATER, BARE_LOW_WATER, freshSeed } from './transfer.js';

export interface NatOptions {
  /** Runs per path; each run has one EphemeralCDN and one bare trial. */
  runs: number;
  /** The file whose transfer gives the throughput. */
  size: number;
}

/** The first file of every trial: one piece, so its completion is the first verified byte. */
const SMALL = 16 * 1024;
const HOMES = { a: 'cone', b: 'cone', c: 'symmetric' } as const;
type HomeName = keyof typeof HOMES;
type ServerName = 'stunOnly' | 'withTurn';
/** coturn holds 3478 on both public addresses; the built-in STUN responders take these (and the port above, for NAT probing). */
const STUN_PORTS: Record<ServerName, number> = { stunOnly: 3480, withTurn: 3482 };
const HTTP_PORTS: Record<ServerName, number> = { stunOnly: 8787, withTurn: 8788 };

interface Candidate {
  type: string | undefined;
  address: string | undefined;
}
interface Route {
  local: Candidate | undefined;
  remote: Candidate | undefined;
}

interface PathSpec {
  seeder: HomeName;
  consumer: HomeName;
  server: ServerName;
  policy?: RTCIceTransportPolicy;
  /** What the route must look like, in words, and the check. */
  expect: [string, (route: Route) => boolean];
}

const PATHS = {
  cone: {
    seeder: 'a',
    consumer: 'b',
    server: 'stunOnly',
    expect: ['srflx ↔ srflx/prflx', (r) => r.local?.type === 'srflx' && (r.remote?.type === 'srflx' || r.remote?.type === 'prflx')],
  },
  turn: {
    seeder: 'a',
    consumer: 'c',
    server: 'withTurn',
    expect: ['relay on one side', (r) => r.local?.type === 'relay' || r.remote?.type === 'relay'],
  },
  relay: {
    seeder: 'a',
    consumer: 'b',
    server: 'withTurn',
    policy: 'relay',
    expect: ['relay ↔ relay/prflx', (r) => r.local?.type === 'relay' && (r.remote?.type === 'relay' || r.remote?.type === 'prflx')],
  },
} satisfies Record<string, PathSpec>;
type PathName = keyof typeof PATHS;
const PATH_NAMES = Object.keys(PATHS) as PathName[];

interface Trial {
  setupMs: number;
  mbps: number;
  route: string;
}

const describe = (r: Route | undefined) =>
  r ? `${r.local?.type} ${r.local?.address ?? '?'} ↔ ${r.remote?.type} ${r.remote?.address ?? '?'}` : 'no route';

/** Runs the scenario; resolves with the keys for the table and the raw runs. Throws if a path took the wrong route. */
export async function runNat(options: NatOptions): Promise<{ results: Record<string, number>; raw: Record<string, unknown> }> {
  const net = await internet({ homes: { ...HOMES }, turn: true });
  try {
    const servers = {
      stunOnly: await startServer(net, 'stunOnly', {}),
      withTurn: await startServer(net, 'withTurn', { TURN_URLS: net.turn!.urls.join(','), TURN_SECRET: net.turn!.secret }),
    };
    // The servers' plain-HTTP origins stand in for HTTPS ones, so that pages get crypto.subtle.
    const secure = [`--unsafely-treat-insecure-origin-as-secure=${servers.stunOnly},${servers.withTurn}`];
    const browsers = {} as Record<HomeName, Browser>;
    for (const home of Object.keys(HOMES) as HomeName[]) browsers[home] = await net.launchChromium(home, { args: secure });
    log(
      `nat: internet up (homes ${Object.entries(HOMES)
        .map(([h, t]) => `${h} ${t}`)
        .join(', ')}), servers and browsers started`,
    );

    // Per path: a seeder tab holding a small and a large file of its own, and the two bare tabs.
    const setups = {} as Record<PathName, { seeder: Page; small: string; large: string; bare: BarePair }>;
    for (const name of PATH_NAMES) {
      const path: PathSpec = PATHS[name];
      const server = servers[path.server];
      const seeder = await openEcdnPage(browsers[path.seeder], server, path.policy);
      const small = await seeder.evaluate((seed) => window.EphemeralCDN.seed(window.__benchBytes(16 * 1024, seed)), freshSeed());
      const large = await seeder.evaluate(({ size, seed }) => window.EphemeralCDN.seed(window.__benchBytes(size, seed)), {
        size: options.size,
        seed: freshSeed(),
      });
      const bare = await openBarePair(browsers[path.seeder], browsers[path.consumer], `${server}/healthz`);
      setups[name] = { seeder, small, large, bare };
    }
    log(`nat: seeders ready; ${options.runs} runs of ${options.size / MiB} MiB per path, EphemeralCDN and bare alternating`);

    // The ICE servers the server hands out, minted here for the bare pages: the same STUN, and TURN under coturn's secret.
    const iceFor = (path: PathSpec, label: string): RTCConfiguration => ({
      iceServers: [
        { urls: `stun:198.18.0.1:${STUN_PORTS[path.server]}` },
        ...(path.server === 'withTurn' ? [{ urls: net.turn!.urls, ...net.turn!.credentials(3600, label) }] : []),
      ],
      ...(path.policy ? { iceTransportPolicy: path.policy } : {}),
    });

    const runs: Array<Record<PathName, { ecdn?: Trial; bare?: Trial }>> = [];
    const wrong: string[] = [];
    const trials: Array<[PathName, 'ecdn' | 'bare']> = PATH_NAMES.flatMap((name) => [
      [name, 'ecdn'],
      [name, 'bare'],
    ]);
    for (let r = 0; r < options.runs; r++) {
      const run = Object.fromEntries(PATH_NAMES.map((name) => [name, {}])) as Record<PathName, { ecdn?: Trial; bare?: Trial }>;
      // Rotated by one each run, so that neither contender of a path always goes first.
      for (let k = 0; k < trials.length; k++) {
        const [name, who] = trials[(r + k) % trials.length]!;
        const path: PathSpec = PATHS[name];
        const s = setups[name];
        try {
          const trial =
            who === 'ecdn'
              ? await ecdnTrial(browsers[path.consumer], servers[path.server], path.policy, s.small, s.large)
              : await bareTrial(s.bare, iceFor(path, `bench-${name}-${r}`), options.size);
          run[name][who] = trial;
          if (!path.expect[1](trial.routeInfo)) wrong.push(`${name} run ${r + 1} (${who}): ${trial.route}, expected ${path.expect[0]}`);
        } catch (err) {
          log(`nat run ${r + 1}: ${name} ${who} failed: ${(err as Error).message}`);
        }
        await sleep(200);
      }
      runs.push(run);
      log(
        `nat run ${r + 1}: ` +
          PATH_NAMES.map((name) => {
            const { ecdn, bare } = run[name];
            const f = (t: Trial | undefined) => (t ? `${Math.round(t.setupMs)} ms ${t.mbps.toFixed(1)} MB/s` : 'failed');
            return `${name} ecdn ${f(ecdn)} / bare ${f(bare)}`;
          }).join('; '),
      );
    }
    for (const { seeder, bare } of Object.values(setups)) {
      await closePage(seeder);
      await closePage(bare.a);
      await closePage(bare.b);
    }

    const results: Record<string, number> = {};
    const routes: Record<string, { expected: string; ecdn: string[]; bare: string[] }> = {};
    for (const name of PATH_NAMES) {
      const of = (who: 'ecdn' | 'bare', key: 'setupMs' | 'mbps') => runs.map((run) => run[name][who]?.[key] ?? NaN);
      const ratio = (key: 'setupMs' | 'mbps') => median(runs.map((run) => (run[name].ecdn?.[key] ?? NaN) / (run[name].bare?.[key] ?? NaN)));
      results[`nat_${name}_setup_ms`] = round(median(of('ecdn', 'setupMs')), 0);
      results[`nat_${name}_bare_setup_ms`] = round(median(of('bare', 'setupMs')), 0);
      results[`nat_${name}_setup_vs_bare`] = round(ratio('setupMs'), 2);
      results[`nat_${name}_mbps`] = round(median(of('ecdn', 'mbps')), 1);
      results[`nat_${name}_bare_mbps`] = round(median(of('bare', 'mbps')), 1);
      results[`nat_${name}_vs_bare`] = round(ratio('mbps'), 2);
      const distinct = (who: 'ecdn' | 'bare') => [...new Set(runs.map((run) => run[name][who]?.route ?? 'failed'))];
      routes[name] = { expected: PATHS[name].expect[0], ecdn: distinct('ecdn'), bare: distinct('bare') };
      log(`nat: ${name} routes: ecdn ${routes[name].ecdn.join(' | ')}; bare ${routes[name].bare.join(' | ')}`);
    }
    const raw = {
      size: options.size,
      small: SMALL,
      homes: HOMES,
      paths: Object.fromEntries(
        PATH_NAMES.map((name) => {
          const p: PathSpec = PATHS[name];
          return [
            name,
            {
              seeder: `${p.seeder} (${HOMES[p.seeder]})`,
              consumer: `${p.consumer} (${HOMES[p.consumer]})`,
              server: p.server,
              policy: p.policy ?? 'all',
            },
          ];
        }),
      ),
      routes,
      runs: runs.map((run) =>
        Object.fromEntries(
          PATH_NAMES.map((name) => [
            name,
            Object.fromEntries(
              (['ecdn', 'bare'] as const).map((who) => {
                const t = run[name][who];
                return [who, t ? { setup_ms: round(t.setupMs, 1), mbps: round(t.mbps, 2), route: t.route } : null];
              }),
            ),
          ]),
        ),
      ),
      wrong_routes: wrong,
    };
    const missing = PATH_NAMES.flatMap((name) =>
      (['ecdn', 'bare'] as const).filter((who) => runs.every((run) => !run[name][who])).map((who) => `${name} ${who}`),
    );
    if (wrong.length || missing.length) {
      const error = new Error(
        [...wrong.map((w) => `wrong route: ${w}`), ...missing.map((m) => `no successful trial: ${m}`)].join('; '),
      ) as Error & { partial?: unknown };
      error.partial = { results, raw };
      throw error;
    }
    return { results, raw };
  } finally {
    await net.close();
  }
}

/** `npm start`'s server in the public segment, on the ports of `name`. */
function startServer(net: Internet, name: ServerName, env: Record<string, string>): Promise<string> {
  return startEcdnServer(net, HTTP_PORTS[name], { STUN_PORT: String(STUN_PORTS[name]), ...env });
}

/** A tab with the server's bundle, using the ICE servers the server hands out (and relay-only if asked). */
async function openEcdnPage(browser: Browser, server: string, policy: RTCIceTransportPolicy | undefined): Promise<Page> {
  const page = await openPage(browser, `${server}/healthz`);
  await page.addScriptTag({ url: `${server}/ephemeralcdn.js` });
  await page.evaluate((policy) => window.EphemeralCDN.configure(policy ? { iceTransportPolicy: policy } : {}), policy);
  return page;
}

/**
 * A fresh consumer tab (bundle loaded, engine not connected) fetches the small
 * file, then the large one over the link that opened. Set-up is the call to the
 * small file's verified bytes; throughput is the large file's call to buffer.
 * Both are hashed again, untimed, and the route is read after the large one.
 */
async function ecdnTrial(
  browser: Browser,
  server: string,
  policy: RTCIceTransportPolicy | undefined,
  small: string,
  large: string,
): Promise<Trial & { routeInfo: Route }> {
  const page = await openEcdnPage(browser, server, policy);
  try {
    const r = await withTimeout('EphemeralCDN trial', 120_000, () =>
      page.evaluate(
        async ({ small, large }) => {
          const ecdn = window.EphemeralCDN;
          const t0 = performance.now();
          const a = await ecdn.fetch(small, { reseed: false });
          const t1 = performance.now();
          const b = await ecdn.fetch(large, { reseed: false });
          const t2 = performance.now();
          const ok = (await window.__benchHex(a)) === small && (await window.__benchHex(b)) === large;
          const routes = await ecdn.getEngine().routes();
          return { setupMs: t1 - t0, largeMs: t2 - t1, size: b.byteLength, ok, routes };
        },
        { small, large },
      ),
    );
    if (!r.ok) throw new Error('EphemeralCDN delivered bytes that do not match their hash');
    if (r.routes.length !== 1) throw new Error(`expected one link, found ${r.routes.length}`);
    const route = r.routes[0]!;
    return { setupMs: r.setupMs, mbps: mbps(r.size, r.largeMs), route: describe(route), routeInfo: route };
  } finally {
    await closePage(page);
  }
}

// ---------------------------------------------------------------------------
// Bare RTCPeerConnection with trickle ICE, signalled through the bench

interface BarePair {
  /** The sending tab, in the seeder's home. */
  a: Page;
  /** The receiving tab, which makes the offer, in the consumer's home. */
  b: Page;
}

interface BareSignal {
  gen: number;
  seq: number;
  description?: RTCSessionDescriptionInit;
  candidate?: RTCIceCandidateInit;
}

/** Two tabs whose `__natSignal(message)` is delivered to the other one's `__natBare.deliver`. */
async function openBarePair(seederBrowser: Browser, consumerBrowser: Browser, url: string): Promise<BarePair> {
  const a = await openPage(seederBrowser, url);
  const b = await openPage(consumerBrowser, url);
  const relay = (to: Page) => (_source: unknown, message: BareSignal) => {
    void to.evaluate((m) => window.__natBare?.deliver(m), message).catch(() => {});
  };
  await a.exposeBinding('__natSignal', relay(b));
  await b.exposeBinding('__natSignal', relay(a));
  return { a, b };
}

let generation = 0;

/**
 * One bare trial: b creates the connection and the offer, a answers and, as
 * soon as the channel opens, sends 16 KiB. Set-up is b's time from creating the
 * connection to holding those 16 KiB. Then a sends `size` bytes in 256 KiB
 * messages with the engine's watermarks (as bare_mbps does), timed from the
 * first send to the last byte on the pages' shared clock.
 */
async function bareTrial(pair: BarePair, config: RTCConfiguration, size: number): Promise<Trial & { routeInfo: Route }> {
  const gen = ++generation;
  const { a, b } = pair;
  try {
    await Promise.all([a, b].map((page) => page.evaluate(installBare, { gen, config, small: SMALL })));
    const setupMs = await withTimeout('bare set-up', 30_000, () => b.evaluate(() => window.__natBare.offerAndWait()));
    await b.evaluate((size) => window.__natBare.expect(size), size);
    const start = await a.evaluate(({ size, high, low }) => window.__natBare.sendBulk(size, high, low), {
      size,
      high: BARE_HIGH_WATER,
      low: BARE_LOW_WATER,
    });
    const end = await withTimeout('bare transfer', 120_000, () => b.evaluate(() => window.__natBare.done()));
    const routeInfo = await b.evaluate(() => window.__natBare.route());
    return { setupMs, mbps: mbps(size, end - start), route: describe(routeInfo), routeInfo };
  } finally {
    for (const page of [a, b]) await page.evaluate(() => window.__natBare?.close()).catch(() => {});
  }
}

interface NatBare {
  deliver(message: BareSignal): void;
  offerAndWait(): Promise<number>;
  expect(size: number): void;
  sendBulk(size: number, high: number, low: number): Promise<number>;
  done(): Promise<number>;
  route(): Promise<Route>;
  close(): void;
}

declare global {
  interface Window {
    __natBare: NatBare;
    __natSignal(message: BareSignal): Promise<void>;
  }
}

/** Installs `window.__natBare` for one trial. Serialised into the page: it uses nothing from this module. */
function installBare({ gen, config, small }: { gen: number; config: RTCConfiguration; small: number }): void {
  const pc = new RTCPeerConnection(config);
  let outSeq = 0;
  let inSeq = 0;
  const inbox = new Map<number, BareSignal>();
  let applying: Promise<void> = Promise.resolve();
  let channel: RTCDataChannel | undefined;
  let channelOpen!: () => void;
  const opened = new Promise<void>((resolve) => (channelOpen = resolve));
  let got = 0;
  let onBytes: (() => void) | undefined;
  const signal = (message: Omit<BareSignal, 'gen' | 'seq'>) => void window.__natSignal({ gen, seq: outSeq++, ...message });
  pc.onicecandidate = (e) => {
    if (e.candidate) signal({ candidate: e.candidate.toJSON() });
  };
  const use = (dc: RTCDataChannel) => {
    channel = dc;
    dc.binaryType = 'arraybuffer';
    dc.onmessage = (e) => {
      got += (e.data as ArrayBuffer).byteLength;
      onBytes?.();
    };
    if (dc.readyState === 'open') channelOpen();
    else dc.addEventListener('open', () => channelOpen(), { once: true });
  };
  // The answering side (a) sends the first 16 KiB the moment the channel opens.
  pc.ondatachannel = (e) => {
    use(e.channel);
    void opened.then(() => e.channel.send(window.__benchBytes(small, 5)));
  };
  const apply = async (m: BareSignal) => {
    if (m.description) {
      await pc.setRemoteDescription(m.description);
      if (m.description.type === 'offer') {
        await pc.setLocalDescription();
        signal({ description: pc.localDescription!.toJSON() });
      }
    } else if (m.candidate) {
      await pc.addIceCandidate(m.candidate);
    }
  };
  const until = (bytes: number) =>
    new Promise<number>((resolve) => {
      const check = () => {
        if (got >= bytes) {
          onBytes = undefined;
          resolve(performance.timeOrigin + performance.now());
        }
      };
      onBytes = check;
      check();
    });
  let done: Promise<number> | undefined;
  window.__natBare = {
    deliver(m) {
      if (m.gen !== gen) return;
      inbox.set(m.seq, m);
      for (let next = inbox.get(inSeq); next; next = inbox.get(inSeq)) {
        inbox.delete(inSeq++);
        const message = next;
        applying = applying.then(() => apply(message)).catch((err) => console.error('bare signaling', err));
      }
    },
    async offerAndWait() {
      const t0 = performance.timeOrigin + performance.now();
      use(pc.createDataChannel('bench', { ordered: true }));
      await pc.setLocalDescription();
      signal({ description: pc.localDescription!.toJSON() });
      return (await until(small)) - t0;
    },
    expect(size) {
      got = 0;
      done = until(size);
    },
    async sendBulk(size, high, low) {
      await opened;
      const dc = channel!;
      const chunk = window.__benchBytes(256 * 1024, 7);
      dc.bufferedAmountLowThreshold = low;
      const t0 = performance.timeOrigin + performance.now();
      for (let sent = 0; sent < size; ) {
        if (dc.bufferedAmount > high) await new Promise((resolve) => dc.addEventListener('bufferedamountlow', resolve, { once: true }));
        const n = Math.min(chunk.byteLength, size - sent);
        dc.send(n === chunk.byteLength ? chunk : chunk.subarray(0, n));
        sent += n;
      }
      return t0;
    },
    done: () => done!,
    async route() {
      const stats = await pc.getStats();
      let pairId: string | undefined;
      stats.forEach((s) => {
        if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      });
      const pair = pairId ? stats.get(pairId) : undefined;
      const candidate = (id: string | undefined) => {
        const c = id ? stats.get(id) : undefined;
        return c ? { type: c.candidateType as string, address: (c.address ?? c.ip) as string | undefined } : undefined;
      };
      return { local: candidate(pair?.localCandidateId), remote: candidate(pair?.remoteCandidateId) };
    },
    close() {
      pc.close();
    },
  };
}
