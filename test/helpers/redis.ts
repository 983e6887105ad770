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
  process: ChildProcess;
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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts redis-server and resolves once it accepts connections. */
export async function startRedis(): Promise<RunningRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ecdn-redis-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ready = await new Promise<boolean>((resolve) => {
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
    if (!ready) {
      child.kill('SIGKILL');
      // Another process took the port between freePort() and the server's bind.
      if (attempt < 3) continue;
      await rm(dir, { recursive: true, force: true });
      throw new Error('redis-server did not start');
    }
    // Only read until ready; drain the rest so that the pipe never fills.
    child.stdout.resume();
    child.stderr.resume();
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      process: child,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGKILL');
          await exited;
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}
