/**
 * A server instance in a process of its own, started as an operator would (the
 * package's bin, configured through the environment), so that a test can kill it
 * for real: no goodbye, its sockets and its Redis connections cut by the kernel.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const BIN = new URL('../../server/bin/ephemeral-cdn-server.js', import.meta.url);

export interface Instance {
  /** Base URL, e.g. `http://127.0.0.1:39211`. */
  url: string;
  /** Kills the process with SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Stops it the way an operator does (SIGTERM: it says goodbye), or kills it if that hangs. */
  close(): Promise<void>;
}

/** Starts `ephemeral-cdn-server` on a free port with `env` added to this process's environment. */
export async function startInstance(env: Record<string, string>): Promise<Instance> {
  const child = spawn(process.execPath, [BIN.pathname], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', STUN_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (process.env.ECDN_TEST_CONSOLE) console.log(`[instance] ${line}`);
      const entry = JSON.parse(line) as { event?: string; url?: string };
      if (entry.event === 'listening' && entry.url) resolve(entry.url);
    });
    child.once('exit', (code) => reject(new Error(`the instance exited with ${code} before listening`)));
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    url,
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
    async close() {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
