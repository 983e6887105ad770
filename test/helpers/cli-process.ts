import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** The CLI's bin, run as a user's `npx ephemeral-cdn` runs it. */
export const CLI_BIN = fileURLToPath(new URL('../../cli/bin/ephemeral-cdn.js', import.meta.url));

/** One line of the CLI's `--json` output. */
export type CliLine = Record<string, unknown> & { type: string };

/** A running `ephemeral-cdn` process, its output collected as it comes. */
export interface CliProcess {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  /** Everything written to stdout and stderr so far. */
  stdout(): Buffer;
  stderr(): string;
  /** The `--json` lines so far, from stdout (from stderr when stdout carries the file). */
  lines(): CliLine[];
  /** Resolves the first `--json` line `match` accepts, now or later; rejects after `timeout` ms or if the process ends first. */
  waitFor(match: (line: CliLine) => boolean, timeout?: number): Promise<CliLine>;
  /** The exit status (or 128 + the signal's number had it been killed). */
  readonly exited: Promise<number>;
}

/** Starts `ephemeral-cdn …args` in `cwd`. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  let err = '';
  const jsonOnStderr = args.includes('-') && (args.includes('-o') || args.includes('--output'));
  const parsed: CliLine[] = [];
  let pending = '';
  const waiters = new Set<() => void>();
  const feed = (text: string) => {
    pending += text;
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.startsWith('{')) {
        try {
          parsed.push(JSON.parse(line) as CliLine);
        } catch {
          // Not a JSON line (human output): only JSON lines are collected.
        }
      }
      newline = pending.indexOf('\n');
    }
    for (const wake of [...waiters]) wake();
  };
  child.stdout.on('data', (chunk: Buffer) => {
    out.push(chunk);
    if (!jsonOnStderr) feed(chunk.toString('utf8'));
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
    if (jsonOnStderr) feed(chunk.toString('utf8'));
  });
  let done = false;
  const exited = new Promise<number>((resolve) => {
    child.on('close', (code, signal) => {
      done = true;
      for (const wake of [...waiters]) wake();
      resolve(code ?? 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGKILL' ? 9 : 15));
    });
  });
  return {
    child,
    stdout: () => Buffer.concat(out),
    stderr: () => err,
    lines: () => [...parsed],
    exited,
    waitFor(match, timeout = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`No such line within ${timeout} ms. stderr:\n${err}`)), timeout);
        const finish = (failure?: Error, line?: CliLine) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (failure) reject(failure);
          else resolve(line!);
        };
        const check = () => {
          const line = parsed.find(match);
          if (line) finish(undefined, line);
          else if (done) finish(new Error(`The CLI exited before such a line. stderr:\n${err}`));
        };
        waiters.add(check);
        check();
      });
    },
  };
}
