/**
 * `ephemeral-cdn fetch <hash|link>`: downloads a file from several peers, verifying every
 * piece, and re-seeds it meanwhile unless `--no-seed`.
 *
 * - To a file: verified pieces are written straight into a partial file next to the
 *   output (file-piece-store.ts), which takes the output's name once complete. Stopped
 *   early, the partial file stays, and the same command resumes it.
 * - To stdout (`-o -`): verified bytes in file order, through `stream()`, as fast as the
 *   reader takes them.
 */
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FetchOptions, FetchProgress, FetchReport, SwarmEngine } from 'ephemeral-cdn';
import type { Command } from '../args.js';
import { EXIT_CODES } from '../exit-codes.js';
import type { Reporter } from '../events.js';
import { OutputFileStorage, ScratchFileStorage } from '../file-piece-store.js';
import { createNodeEngine } from '../node-engine.js';
import { resolveOutput, safeName } from '../output-path.js';
import { keepSeeding } from '../seeding-session.js';
import { parseTarget, type Target } from '../target.js';
import { reportWarnings } from './warnings.js';

type FetchCommand = Extract<Command, { name: 'fetch' }>;

/** Thrown when stdout's reader went away (`| head`): the command ends quietly. */
export class StdoutClosed extends Error {
  override readonly name = 'StdoutClosed';
}

/** Runs `fetch`; resolves the exit status. */
export async function fetch(command: FetchCommand, reporter: Reporter, signal: AbortSignal): Promise<number> {
  // Both before any network use: a typo or a file in the way fails at once.
  const target = parseTarget(command.target);
  const output = await resolveOutput(command.output, target, command.force);

  const server = command.server ?? target.server ?? command.defaultServer;
  const storage = output.kind === 'file' ? new OutputFileStorage(output.path, { overwrite: command.force }) : new ScratchFileStorage();
  const engine = createNodeEngine({
    server,
    iceServers: command.iceServers,
    reseed: command.reseed,
    storage,
    uploadLimit: command.uploadLimit,
  });
  const name = output.kind === 'file' ? basename(output.path) : (safeName(target.name) ?? target.hash.slice(0, 12));
  let last: FetchProgress = { received: 0, total: 0, peers: 0, bytesPerSecond: 0 };
  let seeders: number | undefined;
  let fetched: FetchReport | undefined;
  const started = Date.now();
  const progress = (p: FetchProgress) => {
    last = p;
    reporter.report({ type: 'progress', phase: 'fetching', hash: target.hash, name, ...p, seeders });
  };
  try {
    if (command.verbose) reportWarnings(engine, reporter);
    engine.on('fetched', (report) => {
      if (report.hash === target.hash) fetched = report;
    });
    const unwatch = engine.watch(target.hash, (status) => {
      seeders = status.seeders;
      progress(last);
    });
    const options: FetchOptions = { signal, onProgress: progress, reseed: command.reseed };
    if (command.timeoutMs !== undefined) options.timeout = command.timeoutMs;
    if (command.maxPeers !== undefined) options.maxPeers = command.maxPeers;
    let size: number;
    try {
      size =
        output.kind === 'file'
          ? (await engine.fetchBlob(target.hash, target.type ?? '', options)).size
          : await toStdout(engine, target, options);
    } catch (err) {
      await keepOrDropPartial(storage, target.hash, last, reporter);
      throw err;
    } finally {
      unwatch();
    }
    const stats = engine.stats();
    reporter.report({
      type: 'done',
      command: 'fetch',
      hash: target.hash,
      path: output.kind === 'file' ? output.path : '-',
      size,
      ms: Date.now() - started,
      suppliers: fetched?.suppliers ?? [],
      peerId: stats.peerId,
      bytesDown: stats.bytesDown,
      resumedPieces: storage.store?.resumed.length ?? 0,
    });
    if (command.keepSeeding && command.reseed) {
      await keepSeeding(engine, [{ hash: target.hash, name, size }], reporter, { signal });
    }
    return EXIT_CODES.OK;
  } finally {
    engine.destroy();
    // Before the process exits: a partial file's last piece marked, a scratch file deleted.
    await storage.store?.closed();
  }
}

/** Streams the verified file to stdout, honouring its backpressure; resolves its size. */
async function toStdout(engine: SwarmEngine, target: Target, options: FetchOptions): Promise<number> {
  const stdout = process.stdout;
  let failed: Error | undefined;
  // Heard here so that a closed pipe is not an uncaught 'error'; acted on at the next write.
  const onError = (err: Error) => {
    failed ??= err;
  };
  stdout.on('error', onError);
  const reader = engine.stream(target.hash, options).getReader();
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (failed) throw failed;
      size += value.byteLength;
      if (!stdout.write(value)) await Promise.race([once(stdout, 'drain'), once(stdout, 'close')]);
    }
    await new Promise<void>((resolve) => stdout.write('', () => resolve()));
    if (failed) throw failed;
    return size;
  } catch (err) {
    await reader.cancel().catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' ? new StdoutClosed('stdout was closed by its reader.') : err;
  } finally {
    stdout.off('error', onError);
  }
}

/**
 * After a failed or interrupted download to a file: keeps the partial file when it holds
 * verified pieces (and says how to resume), and deletes it when it holds none, so that
 * nothing useless is left behind.
 */
async function keepOrDropPartial(
  storage: OutputFileStorage | ScratchFileStorage,
  hash: string,
  last: FetchProgress,
  reporter: Reporter,
): Promise<void> {
  if (!(storage instanceof OutputFileStorage)) return;
  const store = storage.store;
  if (!store) return;
  await store.closed();
  if (last.received > 0 && last.total > 0) {
    const percent = Math.floor((last.received / last.total) * 100);
    reporter.report({
      type: 'warning',
      code: 'PARTIAL_KEPT',
      hash,
      message: `Kept the ${percent}% downloaded in ${store.path}: run the same command again to resume.`,
    });
    return;
  }
  await rm(store.path, { force: true });
  await rm(`${store.path}.state`, { force: true });
}
