// Tracker scale-out on Redis: two server instances sharing one real redis-server
// (REDIS_URL, one shared ECDN_SECRET), each in its own process and loaded by its own
// generator processes, against one in-memory server loaded the same way in the same
// run. docs/scaling.md says what each key means and what follows from them.
//
//   redis-server ── instance A ── clients A0, A1
//                └─ instance B ── clients B0, B1
//   in-memory server M ────────── clients M0, M1
//
// Each server holds the same number of peers (`peers / 2`). Closed-loop phases
// alternate between M and A+B for `rounds` rounds (the side that goes first
// alternates too), so that the ratio of announces per CPU-second is taken within
// one round and its median kept. Then: open-loop latency phases, lookups, and every
// Redis peer leaving at once. Every phase records the CPU time of every process
// (servers, Redis, generators, this one) and of the whole machine, because on 2
// cores the generators and Redis share the CPU with the servers, and Redis's
// counters (`INFO`) before and after. The scenario fails, keeping its figures, if
// Redis is not empty once every peer left, or if a server logged a warning.
import { execSync } from 'node:child_process';
import { createClient, type RedisClientType } from '@redis/client';
import { startRedis, type RunningRedis } from '../../test/helpers/redis.js';
import { log, median, percentile, round, sleep } from '../lib/stats.js';
import {
  type Child,
  cpuSecondsOf,
  machineBusySeconds,
  type Msg,
  rssOf,
  sourceAddresses,
  startClient,
  startServer,
} from '../tracker/procs.js';

export interface TrackerRedisOptions {
  /** Peers held by the two Redis instances together, half each; the in-memory server holds half as many. */
  peers: number;
  /** Generator processes per server. */
  clientsPerServer: number;
  hashesPerPeer: number;
  /** Source addresses get at most this many connections each (the tracker's per-IP cap is 64 by default). */
  perAddress: number;
  holdMs: number;
  /** Closed-loop rounds, each one in-memory phase and one Redis phase. */
  rounds: number;
  saturateMs: number;
  openLoopMs: number;
  /** Offered announce rates of the latency phases, per second, to each side; the keys are the first one's. */
  offeredRates: number[];
  /** Closed-loop lookup phase, once per side. */
  lookupMs: number;
}

export interface TrackerRedisResult {
  results: Record<string, number>;
  raw: Record<string, unknown>;
}

/**
 * The closed loops keep 2,000 requests in flight per server. Page-like: 1,000 peers per
 * generator with one request in flight each, as a page's tracker client has. Pipelined:
 * 250 peers with 4 each, whose replies an in-memory server answers within the turn that
 * read the requests and so writes out together, while replies that wait on Redis come
 * back in different turns; reported apart, since no page pipelines like that.
 */
const PAGE_LIKE = { window: 1, peers: 1_000 } as const;
const PIPELINED = { window: 4, peers: 250 } as const;
/** The bench's INFO request as RESP: `*6 $4 INFO $5 stats $3 cpu $6 memory $12 commandstats $8 keyspace`. */
const INFO_REQUEST_BYTES = 79;
/** Key prefix of the RedisStore (its default). */
const PREFIX = 'ecdn:';

type Side = 'memory' | 'redis';

interface Proc {
  name: string;
  pid: number;
  role: 'instance' | 'memory' | 'redis' | 'client' | 'bench';
}

interface Snapshot {
  at: number;
  cpu: Record<string, number>;
  machine: number;
  info: RedisInfo;
}

interface RedisInfo {
  fields: Record<string, number>;
  commands: Record<string, { calls: number; usec: number }>;
  /** Bytes of the INFO reply itself, which the next reading's output counter includes. */
  replyBytes: number;
}

async function readInfo(redis: RedisClientType): Promise<RedisInfo> {
  const text = String(await redis.sendCommand(['INFO', 'stats', 'cpu', 'memory', 'commandstats', 'keyspace']));
  const fields: Record<string, number> = {};
  const commands: Record<string, { calls: number; usec: number }> = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.startsWith('#')) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1);
    if (key.startsWith('cmdstat_')) {
      const calls = Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
      const usec = Number(/usec=(\d+)/.exec(value)?.[1] ?? 0);
      commands[key.slice(8)] = { calls, usec };
    } else if (key.startsWith('db')) {
      fields[`${key}_keys`] = Number(/keys=(\d+)/.exec(value)?.[1] ?? NaN);
    } else if (/^-?[\d.]+$/.test(value)) fields[key] = Number(value);
  }
  // A RESP bulk string: `$<length>\r\n<text>\r\n`.
  const bytes = Buffer.byteLength(text);
  return { fields, commands, replyBytes: bytes + String(bytes).length + 5 };
}

/** Swarms, peers and entries as the store counts them in Redis. */
async function storeCounts(redis: RedisClientType): Promise<{ swarms: number; peers: number; entries: number }> {
  const [swarms, entries] = await redis.hmGet(`${PREFIX}stats`, ['swarms', 'entries']);
  const peers = await redis.hLen(`${PREFIX}peers`);
  return { swarms: Number(swarms ?? 0), peers, entries: Number(entries ?? 0) };
}

function gitDirty(): string[] {
  try {
    return execSync('git status --porcelain -- server', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
}

export async function runTrackerRedis(opts: TrackerRedisOptions): Promise<TrackerRedisResult> {
  const perServer = Math.floor(opts.peers / 2);
  const secret = `bench-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const redisServer: RunningRedis = await startRedis();
  const redis = createClient({ url: redisServer.url }) as RedisClientType;
  redis.on('error', (err: Error) => log(`tracker-redis: bench's Redis client: ${err.message}`));
  await redis.connect();
  const version = /redis_version:(\S+)/.exec(String(await redis.sendCommand(['INFO', 'server'])))?.[1];

  const servers = {
    A: startServer({ name: 'instance A', redisUrl: redisServer.url, secret }),
    B: startServer({ name: 'instance B', redisUrl: redisServer.url, secret }),
    M: startServer({ name: 'in-memory server' }),
  };
  type ServerName = keyof typeof servers;
  const clients: Record<ServerName, Child[]> = { A: [], B: [], M: [] };
  const all = () => [...clients.A, ...clients.B, ...clients.M];
  try {
    const urls = Object.fromEntries(
      await Promise.all(Object.entries(servers).map(async ([name, s]) => [name, String((await s.next('listening', 60_000)).url)] as const)),
    ) as Record<ServerName, string>;
    // The instances serve while their store connects: wait until /healthz says Redis is up.
    for (const name of ['A', 'B'] as const) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const res = await fetch(`${urls[name]}/healthz`).catch(() => undefined);
        if (res?.status === 200) break;
        if (Date.now() > deadline) throw new Error(`instance ${name}: /healthz never said ok (${res?.status})`);
        await sleep(100);
      }
    }
    const wsUrl = (name: ServerName) => `${urls[name].replace(/^http/, 'ws')}/tracker`;
    const pids: Proc[] = [
      { name: 'A', pid: servers.A.proc.pid!, role: 'instance' },
      { name: 'B', pid: servers.B.proc.pid!, role: 'instance' },
      { name: 'M', pid: servers.M.proc.pid!, role: 'memory' },
      { name: 'redis', pid: redisServer.process.pid!, role: 'redis' },
      { name: 'bench', pid: process.pid, role: 'bench' },
    ];
    const perClient = Math.ceil(perServer / opts.clientsPerServer);
    const addresses = sourceAddresses(Math.ceil((3 * perServer) / opts.perAddress) + 3 * opts.clientsPerServer + 8);
    const addrPerClient = Math.floor((addresses.length - 8) / (3 * opts.clientsPerServer));

    async function serverStats(name: ServerName): Promise<Msg> {
      return servers[name].ask({ cmd: 'stats' }, 'stats');
    }
    /** Waits until `names` hold no peer any more (a Redis instance removes a peer's entries before it forgets the peer). */
    async function untilEmpty(names: ServerName[], timeoutMs = 30_000): Promise<number> {
      const started = Date.now();
      for (;;) {
        const stats = await Promise.all(names.map(serverStats));
        if (stats.every((st) => st.stats.peers === 0 && st.stats.connections === 0)) return Date.now() - started;
        if (Date.now() - started > timeoutMs) throw new Error(`${names.join(', ')} still hold peers after ${timeoutMs} ms`);
        await sleep(50);
      }
    }

    // Warm-up: a few hundred connections on each server compile the hot paths; the
    // baselines are taken after they are gone (and, in Redis, removed).
    {
      const warm = startClient('warm-up client');
      await warm.next('ready');
      for (const name of ['A', 'B', 'M'] as const) {
        await warm.ask(
          {
            cmd: 'connect',
            url: wsUrl(name),
            count: 300,
            firstPeer: 10_000_000,
            addresses: addresses.slice(-8),
            hashesPerPeer: opts.hashesPerPeer,
            hashPool: 1_000_000_000,
            concurrency: 64,
          },
          'connected',
        );
      }
      await warm.ask({ cmd: 'load', mode: 'closed', ...PIPELINED, peers: 900, durationMs: 500 }, 'load', 30_000);
      await warm.ask({ cmd: 'close' }, 'closed');
      await untilEmpty(['A', 'B', 'M']);
    }

    const gcAll = async () =>
      Object.fromEntries(
        await Promise.all(
          (['A', 'B', 'M'] as const).map(async (name) => {
            const gc = await servers[name].ask({ cmd: 'gc' }, 'gc');
            return [name, { rss: rssOf(servers[name].proc.pid!), heapUsed: gc.heapUsed as number }] as const;
          }),
        ),
      ) as Record<ServerName, { rss: number; heapUsed: number }>;
    const base = await gcAll();
    const redisBase = await readInfo(redis);
    const countsBase = await storeCounts(redis);
    log(
      `tracker-redis: baseline RSS A ${mib(base.A.rss)}, B ${mib(base.B.rss)}, M ${mib(base.M.rss)} MiB; ` +
        `Redis used_memory ${mib(redisBase.fields.used_memory!)} MiB, entries ${countsBase.entries}`,
    );

    // Connect: each server's peers split over its generators, each generator on addresses of its own.
    let k = 0;
    for (const name of ['A', 'B', 'M'] as const) {
      for (let i = 0; i < opts.clientsPerServer; i++) {
        const c = startClient(`client ${name}${i}`);
        clients[name].push(c);
        pids.push({ name: `${name}${i}`, pid: c.proc.pid!, role: 'client' });
      }
    }
    await Promise.all(all().map((c) => c.next('ready')));
    const connectStarted = Date.now();
    const connected = await Promise.all(
      (['A', 'B', 'M'] as const).flatMap((name, s) =>
        clients[name].map((c, i) => {
          const slot = k++;
          return c.ask(
            {
              cmd: 'connect',
              url: wsUrl(name),
              count: Math.min(perClient, perServer - i * perClient),
              // A's and B's peers draw from one pool of hashes, so that swarms mix peers of both
              // instances, as behind a load balancer; M's swarms are as large (about hashesPerPeer peers).
              firstPeer: (s === 2 ? 0 : s * perServer) + i * perClient,
              addresses: addresses.slice(slot * addrPerClient, (slot + 1) * addrPerClient),
              hashesPerPeer: opts.hashesPerPeer,
              hashPool: name === 'M' ? perServer : opts.peers,
              concurrency: 128,
            },
            'connected',
            300_000,
          );
        }),
      ),
    );
    const connectMs = Date.now() - connectStarted;
    const connectFailed = connected.reduce((n, m) => n + m.failed, 0);
    log(`tracker-redis: ${connected.reduce((n, m) => n + m.held, 0)} peers connected in ${connectMs} ms (${connectFailed} failed)`);

    // Hold: every peer heartbeats at the interval the tracker gave it.
    await sleep(opts.holdMs);
    const heldBy = Object.fromEntries(
      await Promise.all(
        (['A', 'B', 'M'] as const).map(async (name) => {
          const statuses = await Promise.all(clients[name].map((c) => c.ask({ cmd: 'status' }, 'status')));
          const open = statuses.reduce((n, s) => n + s.open, 0);
          return [name, Math.min(open, (await serverStats(name)).stats.peers)] as const;
        }),
      ),
    ) as Record<ServerName, number>;
    const held = await gcAll();
    const redisHeld = await readInfo(redis);
    const countsHeld = await storeCounts(redis);
    const rssPerPeerKb = (name: ServerName) => (held[name].rss - base[name].rss) / 1024 / heldBy[name];
    const heapPerPeerKb = (name: ServerName) => (held[name].heapUsed - base[name].heapUsed) / 1024 / heldBy[name];
    const redisMemory = redisHeld.fields.used_memory! - redisBase.fields.used_memory!;
    const entries = countsHeld.entries - countsBase.entries;
    const redisPeers = countsHeld.peers - countsBase.peers;
    log(
      `tracker-redis: held A ${heldBy.A}, B ${heldBy.B}, M ${heldBy.M}; RSS per peer A ${rssPerPeerKb('A').toFixed(2)}, ` +
        `B ${rssPerPeerKb('B').toFixed(2)}, M ${rssPerPeerKb('M').toFixed(2)} KiB; Redis +${mib(redisMemory)} MiB for ` +
        `${redisPeers} peers, ${entries} entries, ${countsHeld.swarms} swarms: ${(redisMemory / entries).toFixed(0)} B/entry`,
    );

    /**
     * CPU time so far of every process: the servers' own `process.cpuUsage()` (µs steps),
     * Redis's `used_cpu_*` (µs steps), the generators and this process from /proc (10 ms steps).
     */
    async function snapshot(): Promise<Snapshot> {
      const [info, ...stats] = await Promise.all([readInfo(redis), ...(['A', 'B', 'M'] as const).map(serverStats)]);
      const cpu: Record<string, number> = {};
      for (const [i, name] of (['A', 'B', 'M'] as const).entries()) cpu[name] = (stats[i]!.cpuUserMs + stats[i]!.cpuSystemMs) / 1000;
      cpu.redis = info.fields.used_cpu_user! + info.fields.used_cpu_sys!;
      for (const p of pids) {
        if (p.name in cpu) continue;
        try {
          cpu[p.name] = cpuSecondsOf(p.pid);
        } catch {
          cpu[p.name] = NaN; // a generator that has exited
        }
      }
      return { at: performance.now(), cpu, machine: machineBusySeconds(), info };
    }

    /** One load phase on the generators of `names`; CPU, Redis counters and replies around it. */
    async function phase(label: string, names: ServerName[], load: Record<string, unknown>, durationMs: number) {
      const before = await snapshot();
      const gens = names.flatMap((n) => clients[n]);
      const replies = await Promise.all(gens.map((c) => c.ask({ cmd: 'load', ...load, durationMs }, 'load', durationMs + 60_000)));
      const after = await snapshot();
      const wall = (after.at - before.at) / 1000;
      const cpu = (name: string) => after.cpu[name]! - before.cpu[name]!;
      const sum = (role: Proc['role']) => pids.filter((p) => p.role === role).reduce((n, p) => n + cpu(p.name), 0);
      const done = replies.reduce((n, r) => n + r.done, 0);
      const busy = after.machine - before.machine;
      const ours = pids.reduce((n, p) => n + cpu(p.name), 0);
      const f = (k: string) => after.info.fields[k]! - before.info.fields[k]!;
      const calls = (c: string) => (after.info.commands[c]?.calls ?? 0) - (before.info.commands[c]?.calls ?? 0);
      const usec = (c: string) => (after.info.commands[c]?.usec ?? 0) - (before.info.commands[c]?.usec ?? 0);
      const byCommand = Object.fromEntries(
        Object.keys(after.info.commands)
          .filter((c) => c !== 'info' && calls(c) > 0)
          .map((c) => [c, { per_request: round(calls(c) / done, 3), usec_per_request: round(usec(c) / done, 2) }]),
      );
      // The bench's own INFO: one command, its request, and the first reading's reply, in the counters.
      const commands = f('total_commands_processed') - calls('info');
      const bytesIn = f('total_net_input_bytes') - INFO_REQUEST_BYTES;
      const bytesOut = f('total_net_output_bytes') - before.info.replyBytes;
      const latencies = replies.flatMap((r) => r.latencies as number[]);
      // Replies per second until the last one arrived (the closed loop drains what is in flight after its deadline).
      const ms = Math.max(...replies.map((r) => Math.max(r.ms, r.lastAckMs ?? 0)));
      const result = {
        label,
        sent: replies.reduce((n, r) => n + r.sent, 0),
        done,
        errors: replies.reduce((n, r) => n + r.errors, 0),
        ms: Math.round(ms),
        per_s: Math.round(done / (ms / 1000)),
        p50_ms: round(percentile(latencies, 50), 1),
        p95_ms: round(percentile(latencies, 95), 1),
        p99_ms: round(percentile(latencies, 99), 1),
        cpu_s: Object.fromEntries(pids.map((p) => [p.name, round(cpu(p.name), 4)])),
        redis_publishes: calls('publish'),
        cores: {
          instances: round(sum('instance') / wall, 2),
          memory_server: round(sum('memory') / wall, 2),
          redis: round(sum('redis') / wall, 2),
          generators: round(sum('client') / wall, 2),
          bench: round(sum('bench') / wall, 2),
          machine_busy: round(busy / wall, 2),
          other_work: round((busy - ours) / wall, 2),
        },
        wall_s: round(wall, 2),
        instance_cpu_us: round((sum('instance') * 1e6) / done, 1),
        memory_server_cpu_us: round((sum('memory') * 1e6) / done, 1),
        redis_cpu_us: round((sum('redis') * 1e6) / done, 1),
        redis_commands: round(commands / done, 2),
        redis_requests: round((calls('evalsha') + calls('eval')) / done, 2),
        redis_bytes_in: round(bytesIn / done, 1),
        redis_bytes_out: round(bytesOut / done, 1),
        redis_by_command: byCommand,
      };
      log(
        `tracker-redis: ${label}: ${result.per_s}/s, p99 ${result.p99_ms} ms, cores instances ${result.cores.instances} / ` +
          `memory ${result.cores.memory_server} / redis ${result.cores.redis} / generators ${result.cores.generators} / ` +
          `other ${result.cores.other_work}` +
          (names.includes('A') ? `; ${result.redis_commands} Redis commands, ${result.redis_bytes_in}+${result.redis_bytes_out} B` : ''),
      );
      return result;
    }

    // Throughput, alternating sides; the active peers move on each round, so that no
    // peer runs into the per-connection message limit.
    type PhaseResult = Awaited<ReturnType<typeof phase>>;
    const rounds: Array<Record<Side, PhaseResult>> = [];
    for (let r = 0; r < opts.rounds; r++) {
      const order: Side[] = r % 2 === 0 ? ['memory', 'redis'] : ['redis', 'memory'];
      const got = {} as Record<Side, PhaseResult>;
      for (const side of order) {
        await sleep(300);
        const load = { mode: 'closed', ...PAGE_LIKE, offset: r * PAGE_LIKE.peers };
        got[side] = await phase(`round ${r + 1} ${side}`, side === 'memory' ? ['M'] : ['A', 'B'], load, opts.saturateMs);
      }
      rounds.push(got);
    }
    // Only A loaded: what B spends on the changes A publishes (it subscribes to them), against B idle above.
    await sleep(300);
    const onlyA = await phase('A alone', ['A'], { mode: 'closed', ...PAGE_LIKE, offset: opts.rounds * PAGE_LIKE.peers }, opts.saturateMs);

    // The same with pipelining clients, one round.
    const pipelined = {} as Record<Side, PhaseResult>;
    for (const side of ['memory', 'redis'] as const) {
      await sleep(300);
      const load = { mode: 'closed', ...PIPELINED, offset: (opts.rounds + 1) * PAGE_LIKE.peers };
      pipelined[side] = await phase(`pipelined ${side}`, side === 'memory' ? ['M'] : ['A', 'B'], load, opts.saturateMs);
    }

    // Latency: open loop at the same offered rates on each side.
    const open: Record<string, Record<Side, PhaseResult>> = {};
    for (const rate of opts.offeredRates) {
      const got = {} as Record<Side, PhaseResult>;
      for (const side of ['redis', 'memory'] as const) {
        await sleep(300);
        const names: ServerName[] = side === 'redis' ? ['A', 'B'] : ['M'];
        const perGen = rate / (names.length * opts.clientsPerServer);
        got[side] = await phase(`open loop ${side} ${rate}/s`, names, { mode: 'open', rate: perGen }, opts.openLoopMs);
      }
      open[rate] = got;
    }
    const keyRate = open[opts.offeredRates[0]!]!;

    // Lookups of swarms of about `hashesPerPeer` peers, closed loop.
    const offset = (opts.rounds + 2) * PAGE_LIKE.peers;
    await sleep(300);
    const lookupRedis = await phase('lookups redis', ['A', 'B'], { mode: 'closed', kind: 'lookup', ...PAGE_LIKE, offset }, opts.lookupMs);
    await sleep(300);
    const lookupMemory = await phase('lookups memory', ['M'], { mode: 'closed', kind: 'lookup', ...PAGE_LIKE, offset }, opts.lookupMs);

    const logged = await Promise.all((['A', 'B', 'M'] as const).map(async (name) => [name, (await serverStats(name)).logged] as const));
    const final = await Promise.all(all().map((c) => c.ask({ cmd: 'status' }, 'status')));

    // Leaving: the Redis instances' peers disconnect at once; what removing them costs,
    // and whether Redis is back where it started.
    const leaveBefore = await snapshot();
    await Promise.all([...clients.A, ...clients.B].map((c) => c.ask({ cmd: 'close' }, 'closed', 20_000).catch(() => c.proc.kill())));
    clients.A = [];
    clients.B = [];
    const leaveMs = await untilEmpty(['A', 'B']);
    const leaveAfter = await snapshot();
    const countsAfter = await storeCounts(redis);
    const instanceIds = await redis.sMembers(`${PREFIX}instances`);
    const indexLeft = await Promise.all(instanceIds.map((id) => redis.sCard(`${PREFIX}i:${id}`)));
    const leaveCommands =
      leaveAfter.info.fields.total_commands_processed! -
      leaveBefore.info.fields.total_commands_processed! -
      ((leaveAfter.info.commands.info?.calls ?? 0) - (leaveBefore.info.commands.info?.calls ?? 0));
    const leaveRedisCpu = leaveAfter.cpu.redis! - leaveBefore.cpu.redis!;
    const leaveInstanceCpu = leaveAfter.cpu.A! + leaveAfter.cpu.B! - leaveBefore.cpu.A! - leaveBefore.cpu.B!;
    const redisPeersLeft = heldBy.A + heldBy.B;
    log(
      `tracker-redis: ${redisPeersLeft} peers left in ${leaveMs} ms; Redis now ${countsAfter.entries} entries, ` +
        `${countsAfter.peers} peers, ${countsAfter.swarms} swarms, index ${indexLeft.join('/')}, used_memory ${mib(leaveAfter.info.fields.used_memory!)} MiB`,
    );

    // ---------------------------------------------------------------------
    const ratio = (r: Record<Side, PhaseResult>) =>
      r.redis.done / Math.max(1e-9, r.redis.cpu_s.A! + r.redis.cpu_s.B!) / (r.memory.done / Math.max(1e-9, r.memory.cpu_s.M!));
    const ratioWithRedis = (r: Record<Side, PhaseResult>) =>
      r.redis.done / Math.max(1e-9, r.redis.cpu_s.A! + r.redis.cpu_s.B! + r.redis.cpu_s.redis!) / (r.memory.done / r.memory.cpu_s.M!);
    const redisSide = rounds.map((r) => r.redis);
    const memorySide = rounds.map((r) => r.memory);
    const med = (list: PhaseResult[], pick: (p: PhaseResult) => number) => median(list.map(pick));
    // B's CPU while only A was loaded, less what it spends idle (in the memory phases, when A and B only
    // heartbeat), per change A published: what each instance spends on every change any instance makes.
    const bIdleCores = median(memorySide.map((p) => p.cpu_s.B! / p.wall_s));
    // Every announce here flips `complete`, so each one is a change; a publish carries the changes of one
    // script call (an event-loop turn's announces on A), so there are fewer publishes than changes.
    const bSubscriberUs = ((onlyA.cpu_s.B! - bIdleCores * onlyA.wall_s) * 1e6) / onlyA.done;
    const rssA = rssPerPeerKb('A');
    const rssB = rssPerPeerKb('B');

    const results: Record<string, number> = {
      redis_announce_per_s: Math.round(med(redisSide, (p) => p.per_s)),
      redis_announce_p99_ms: keyRate.redis.p99_ms,
      redis_commands_per_announce: round(
        med(redisSide, (p) => p.redis_commands),
        2,
      ),
      redis_bytes_per_announce: Math.round(med(redisSide, (p) => p.redis_bytes_in + p.redis_bytes_out)),
      redis_rss_per_peer_kb: round((rssA + rssB) / 2, 2),
      redis_memory_per_peer_bytes: Math.round(redisMemory / redisPeers),
      redis_memory_per_entry_bytes: Math.round(redisMemory / entries),
      redis_instance_cpu_us_per_announce: round(
        med(redisSide, (p) => p.instance_cpu_us),
        1,
      ),
      redis_server_cpu_us_per_announce: round(
        med(redisSide, (p) => p.redis_cpu_us),
        1,
      ),
      memory_announce_per_s: Math.round(med(memorySide, (p) => p.per_s)),
      memory_cpu_us_per_announce: round(
        med(memorySide, (p) => p.memory_server_cpu_us),
        1,
      ),
      memory_announce_p99_ms: keyRate.memory.p99_ms,
      redis_vs_memory_per_core: round(median(rounds.map(ratio)), 2),
      redis_vs_memory_per_core_with_redis: round(median(rounds.map(ratioWithRedis)), 2),
      redis_vs_memory_per_core_pipelined: round(ratio(pipelined), 2),
    };
    const raw = {
      redis_version: version,
      server_tree_dirty: gitDirty(),
      peers_target: opts.peers,
      peers_per_server: perServer,
      clients_per_server: opts.clientsPerServer,
      hashes_per_peer: opts.hashesPerPeer,
      source_addresses: addresses.length,
      connect_ms: connectMs,
      connect_failed: connectFailed,
      hold_ms: opts.holdMs,
      held: heldBy,
      rss_base_mib: { A: mib(base.A.rss), B: mib(base.B.rss), M: mib(base.M.rss) },
      rss_held_mib: { A: mib(held.A.rss), B: mib(held.B.rss), M: mib(held.M.rss) },
      rss_per_peer_kb: { A: round(rssA, 2), B: round(rssB, 2), M: round(rssPerPeerKb('M'), 2) },
      heap_per_peer_kb: { A: round(heapPerPeerKb('A'), 2), B: round(heapPerPeerKb('B'), 2), M: round(heapPerPeerKb('M'), 2) },
      redis_memory: {
        used_memory_base_mib: mib(redisBase.fields.used_memory!),
        used_memory_held_mib: mib(redisHeld.fields.used_memory!),
        used_memory_rss_held_mib: mib(redisHeld.fields.used_memory_rss!),
        peers: redisPeers,
        entries,
        swarms: countsHeld.swarms,
        keys: redisHeld.fields.db0_keys,
        bytes_per_peer: round(redisMemory / redisPeers, 0),
        bytes_per_entry: round(redisMemory / entries, 0),
      },
      rounds,
      per_round_ratio: rounds.map((r) => round(ratio(r), 3)),
      per_round_ratio_with_redis: rounds.map((r) => round(ratioWithRedis(r), 3)),
      only_a: onlyA,
      pipelined,
      b_idle_cores: round(bIdleCores, 3),
      subscriber_cpu_us_per_change: round(bSubscriberUs, 2),
      open,
      lookup_redis: lookupRedis,
      lookup_memory: lookupMemory,
      leave: {
        peers: redisPeersLeft,
        ms: leaveMs,
        redis_commands_per_peer: round(leaveCommands / redisPeersLeft, 2),
        redis_cpu_us_per_peer: round((leaveRedisCpu * 1e6) / redisPeersLeft, 1),
        instance_cpu_us_per_peer: round((leaveInstanceCpu * 1e6) / redisPeersLeft, 1),
        after: { ...countsAfter, index_members: indexLeft, used_memory_mib: mib(leaveAfter.info.fields.used_memory!) },
      },
      pings_sent: final.reduce((n, s) => n + s.pings, 0),
      closed_unexpectedly: final.reduce((n, s) => n + s.closedUnexpectedly, 0),
      server_log: Object.fromEntries(logged),
    };
    const problems: string[] = [];
    if (countsAfter.entries || countsAfter.peers || countsAfter.swarms || indexLeft.some(Boolean)) {
      problems.push(`Redis still holds entries after every peer left: ${JSON.stringify(raw.leave.after)}`);
    }
    for (const [name, l] of logged) if (l.count) problems.push(`${name} logged ${l.count} warnings: ${l.first.join(' | ')}`);
    if (raw.closed_unexpectedly) problems.push(`${raw.closed_unexpectedly} peers were disconnected during the run`);
    if (problems.length) {
      const err = new Error(`tracker-redis: ${problems.join('; ')}`) as Error & { partial?: TrackerRedisResult };
      err.partial = { results, raw };
      throw err;
    }
    return { results, raw };
  } finally {
    await Promise.all(all().map((c) => c.ask({ cmd: 'close' }, 'closed', 20_000).catch(() => c.proc.kill())));
    await Promise.all(Object.values(servers).map((s) => s.ask({ cmd: 'close' }, 'closed', 20_000).catch(() => s.proc.kill())));
    await redis.close().catch(() => {});
    await redisServer.stop();
  }
}

function mib(bytes: number): number {
  return round(bytes / 2 ** 20, 1);
}
