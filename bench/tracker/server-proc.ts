// The real EphemeralCDN server in a process of its own, so that the tracker
// benchmarks can read its RSS and its CPU time without the load generators'.
// Started by bench/tracker/procs.ts with an IPC channel and --expose-gc.
//
// `server-proc.ts [REDIS_URL]`: with a Redis URL the swarms live in that Redis,
// shared with every other instance started with it, and ECDN_SECRET must hold the
// secret they share, as for the server's own REDIS_URL. Default: the in-memory store.
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { writeHeapSnapshot } from 'node:v8';
import { createServer } from '../../server/create-server.js';
import { createLogger } from '../../server/logger.js';

/** Self size and count of every (type, constructor name) in a heap snapshot of this process. */
function heapSummary(): Record<string, { size: number; count: number }> {
  const file = writeHeapSnapshot(join(tmpdir(), `ecdn-bench-${process.pid}.heapsnapshot`));
  try {
    const snap = JSON.parse(readFileSync(file, 'utf8')) as {
      snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
      nodes: number[];
      strings: string[];
    };
    const fields = snap.snapshot.meta.node_fields;
    const width = fields.length;
    const iType = fields.indexOf('type');
    const iName = fields.indexOf('name');
    const iSize = fields.indexOf('self_size');
    const types = snap.snapshot.meta.node_types[0];
    const out: Record<string, { size: number; count: number }> = {};
    for (let i = 0; i < snap.nodes.length; i += width) {
      const type = types[snap.nodes[i + iType]!]!;
      const name = type === 'object' || type === 'closure' || type === 'native' ? snap.strings[snap.nodes[i + iName]!]! : '';
      const key = `${type}${name ? ` ${name.slice(0, 60)}` : ''}`;
      const entry = (out[key] ??= { size: 0, count: 0 });
      entry.size += snap.nodes[i + iSize]!;
      entry.count++;
    }
    return out;
  } finally {
    rmSync(file, { force: true });
  }
}

const redisUrl = process.argv[2];
const secret = process.env.ECDN_SECRET;
if (redisUrl && !secret) throw new Error('server-proc: a Redis URL needs ECDN_SECRET');

/** Warnings and errors the server logged (Redis trouble, internal errors): counted, the first few kept. */
const logged = { count: 0, first: [] as string[] };
const logger = createLogger({
  level: 'warn',
  destination: {
    write(line: string) {
      logged.count++;
      if (logged.first.length < 5) logged.first.push(line.trim().slice(0, 400));
    },
  },
});
const server = createServer(redisUrl ? { redisUrl, secret: Buffer.from(secret!), logger } : { logger });
const url = await server.listen(0, '127.0.0.1');

let profiler: Session | undefined;

function send(msg: unknown): void {
  process.send?.(msg);
}

process.on('message', async (msg: { cmd: string }) => {
  if (msg.cmd === 'gc') {
    const gc = (globalThis as { gc?: () => void }).gc;
    for (let i = 0; i < 3; i++) {
      gc?.();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const mem = process.memoryUsage();
    send({ ev: 'gc', rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, arrayBuffers: mem.arrayBuffers });
  } else if (msg.cmd === 'stats') {
    const cpu = process.cpuUsage();
    send({ ev: 'stats', stats: server.tracker.stats(), cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000, logged });
  } else if (msg.cmd === 'profile-start') {
    // A CPU profile of one phase only (BENCH_SERVER_CPU_PROF profiles the whole life).
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
    send({ ev: 'profile-started' });
  } else if (msg.cmd === 'profile-stop') {
    const { profile } = await profiler!.post('Profiler.stop');
    profiler!.disconnect();
    profiler = undefined;
    send({ ev: 'profile', profile: JSON.stringify(profile) });
  } else if (msg.cmd === 'heap') {
    send({ ev: 'heap', summary: heapSummary() });
  } else if (msg.cmd === 'close') {
    await server.close().catch(() => {});
    send({ ev: 'closed' });
    setTimeout(() => process.exit(0), 20);
  }
});
process.on('disconnect', () => process.exit(0));
send({ ev: 'listening', url });
