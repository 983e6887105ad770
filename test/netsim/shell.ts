import { spawn, spawnSync } from 'node:child_process';
import { NetsimError } from './errors.js';

/**
 * Runs a command to completion and returns its stdout. Fails with
 * `COMMAND_FAILED` (stderr in the message) on a non-zero exit, and with
 * `MISSING_TOOL` when the program is not installed.
 */
export function run(command: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new NetsimError('MISSING_TOOL', `${command} is not installed`)
          : new NetsimError('COMMAND_FAILED', `${command}: ${err.message}`),
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else {
        const how = signal ? `killed by ${signal}` : `exit ${code}`;
        reject(new NetsimError('COMMAND_FAILED', `${command} ${args.join(' ')}: ${how}: ${stderr.trim()}`));
      }
    });
    // A command that exits without reading its input would otherwise raise an
    // unhandled EPIPE; its exit status tells what went wrong.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/**
 * Runs a command synchronously and ignores its failure. Only for teardown,
 * where one step failing (a namespace already gone) must not stop the others,
 * and for the process 'exit' hook, where nothing asynchronous runs any more.
 */
export function runQuietSync(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return result.status === 0 ? result.stdout : '';
}

/** Whether a program is on PATH, without running it. */
export function hasTool(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}
