/**
 * A real redis-server for tests: started on a free port in a temporary directory,
 * with nothing saved to disk, and killed after.
 *
 * Without `redis-server` on the PATH, {@link redisSkip} returns the reason to skip,
 * unless `ECDN_REQUIRE_REDIS=1` (set by .ci/run), where it throws instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface RunningRedis {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The current redis-server process; a new one after {@link RunningRedis.restart}. */
  process: ChildProcess;
  /** Kills the server (SIGKILL, as a crash would) but keeps its port and directory, for {@link RunningRedis.restart}. */
  kill(): Promise<void>;
  /** Starts a new, empty redis-server on the same port (killing the running one first, if any). */
  restart(): Promise<void>;
  /** Kills the server and removes its directory. */
  stop(): Promise<void>;
}

let available: boolean | undefined;

/**
 * False when redis-server can be run; otherwise the one-line reason to skip a test
 * that needs it. Throws when `ECDN_REQUIRE_REDIS=1` and it cannot.
 */
export function redisSkip(): string | false {
  available ??= spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  if (available) return false;
  if (process.env.ECDN_REQUIRE_REDIS === '1') {
    throw new Error('ECDN_REQUIRE_REDIS=1 but redis-server is not installed (apt-get install redis-server)');
  }
  return 'redis-server is not installed (apt-get install redis-server); skipping the Redis tests';
}

/** A free port, for a test that starts Redis later ({@link startRedis} with `port`). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function spawnRedis(port: number, dir: string): ChildProcess & { stdout: NodeJS.ReadableStream; stderr: NodeJS.ReadableStream } {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves true once `child` accepts connections, false when it exits or takes over 5 s. */
function whenReady(child: ReturnType<typeof spawnRedis>): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let output = '';
    const timer = setTimeout(() => resolve(false), 5000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += String(chunk);
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/**
 * Starts redis-server and resolves once it accepts connections: on a free port, or
 * on `port` (which must be free: no retry then).
 */
export async function startRedis(port?: number): Promise<RunningRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ecdn-redis-'));
  for (let attempt = 0; ; attempt++) {
    const chosen = port ?? (await freePort());
    const child = spawnRedis(chosen, dir);
    const ready = await whenReady(child);
    if (!ready) {
      child.kill('SIGKILL');
      // Another process took the port between freePort() and the server's bind.
      if (attempt < 3 && port === undefined) continue;
      await rm(dir, { recursive: true, force: true });
      throw new Error('redis-server did not start');
    }
    // Only read until ready; drain the rest so that the pipe never fills.
    child.stdout.resume();
    child.stderr.resume();
    const running: RunningRedis = {
      url: `redis://127.0.0.1:${chosen}`,
      port: chosen,
      process: child,
      kill: () => killed(running.process),
      async restart() {
        await killed(running.process);
        const next = spawnRedis(chosen, dir);
        running.process = next;
        if (!(await whenReady(next))) throw new Error(`redis-server did not start again on port ${chosen}`);
        next.stdout.resume();
        next.stderr.resume();
      },
      async stop() {
        await killed(running.process);
        await rm(dir, { recursive: true, force: true });
      },
    };
    return running;
  }
}
