// The processes of the tracker benchmarks: the real server (server-proc.ts) and
// the load generators (client-proc.mjs), each forked with an IPC channel, plus
// what the scenarios read about them from /proc. Used by bench/scenarios/tracker.ts
// and bench/scenarios/tracker-redis.ts.
import { execSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { log, withTimeout } from '../lib/stats.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export type Msg = { ev: string; [key: string]: any };

/** A forked bench process: send it a command, await the event that answers it. */
export class Child {
  readonly proc: ChildProcess;
  #waiters: Array<{ ev: string; resolve: (m: Msg) => void }> = [];
  constructor(proc: ChildProcess, name: string) {
    this.proc = proc;
    proc.on('message', (m: Msg) => {
      if (m.ev === 'error') log(`${name}: ${m.message}`);
      const i = this.#waiters.findIndex((w) => w.ev === m.ev);
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(m);
    });
    proc.on('exit', (code) => {
      if (code && code !== 0) log(`${name} exited with ${code}`);
    });
  }
  next(ev: string, timeoutMs = 120_000): Promise<Msg> {
    return withTimeout(`waiting for ${ev}`, timeoutMs, () => new Promise<Msg>((resolve) => this.#waiters.push({ ev, resolve })));
  }
  async ask(cmd: Record<string, unknown>, ev: string, timeoutMs?: number): Promise<Msg> {
    const reply = this.next(ev, timeoutMs);
    this.proc.send(cmd);
    return reply;
  }
}

export interface ServerProcOptions {
  name?: string;
  /** Keep the swarms in this Redis, as `REDIS_URL` does; default the in-memory store. */
  redisUrl?: string;
  /** The `ECDN_SECRET` every instance on one Redis shares; needed with `redisUrl`. */
  secret?: string;
}

/** The real server in a process of its own; it answers 'listening' with its URL. */
export function startServer(opts: ServerProcOptions = {}): Child {
  return new Child(
    fork(here('./server-proc.ts'), opts.redisUrl ? [opts.redisUrl] : [], {
      // BENCH_SERVER_CPU_PROF=1 writes a V8 CPU profile of the server (bench/results/profiles/),
      // summarised by `node --import tsx bench/profile-summary.ts FILE`.
      execArgv: [
        '--expose-gc',
        '--import',
        'tsx',
        ...(process.env.BENCH_SERVER_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${here('../results/profiles/')}`] : []),
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // The server's production dependencies do not include ws's optional native
      // helpers (bufferutil, utf-8-validate), which bittorrent-tracker pulls into
      // node_modules here; keep them out so that the figures match a production install.
      env: {
        ...process.env,
        WS_NO_BUFFER_UTIL: '1',
        WS_NO_UTF_8_VALIDATE: '1',
        DEBUG: '',
        ...(opts.secret === undefined ? {} : { ECDN_SECRET: opts.secret }),
      },
    }),
    opts.name ?? 'tracker server',
  );
}

/** One load generator (see the commands in client-proc.mjs); it says 'ready' once started. */
export function startClient(name: string): Child {
  return new Child(fork(here('./client-proc.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), name);
}

/** VmRSS of a process, in bytes. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execSync('getconf CLK_TCK', { stdio: ['ignore', 'pipe', 'ignore'] }).toString()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU time (user + system) a process has used so far, in seconds, from /proc/<pid>/stat (10 ms steps). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

/** CPU time the whole machine has spent busy (all cores, everything but idle and iowait), in seconds. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [, ...ticks] = line.trim().split(/\s+/).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return (total - idle) / clockTicks();
}

/** Loopback source addresses 127.0.1.1, 127.0.1.2, ... (all of 127/8 is local on Linux). */
export function sourceAddresses(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const b = 1 + Math.floor(i / 254);
    const c = 1 + (i % 254);
    out.push(`127.0.${b}.${c}`);
  }
  return out;
}
