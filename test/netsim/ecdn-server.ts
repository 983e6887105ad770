import type { ChildProcess } from 'node:child_process';
import type { Internet } from './internet.js';

/**
 * Runs `npm start`'s server (`server/index.ts`) in the public segment on
 * 198.18.0.1 at `port`, with `env` on top of its defaults, and resolves with
 * its URL once it listens. The process dies with the internet.
 */
export async function startEcdnServer(net: Internet, port: number, env: Record<string, string>): Promise<string> {
  const child: ChildProcess = net.spawn('pub', process.execPath, ['--import', 'tsx', 'server/index.ts'], {
    env: { HOST: '198.18.0.1', PORT: String(port), LOG_LEVEL: 'info', ...env },
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server on port ${port} did not start within 30 s: ${output}`)), 30_000);
    let output = '';
    // Kept reading for the server's whole life, so that a full pipe never blocks it.
    const read = (chunk: string) => {
      if (output.length < 65_536) output += chunk;
      if (output.includes('"event":"listening"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.setEncoding('utf8').on('data', read);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      if (output.length < 65_536) output += chunk;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server on port ${port} exited (${code}): ${output}`));
    });
  });
  return `http://198.18.0.1:${port}`;
}
