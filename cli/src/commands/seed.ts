/**
 * `ephemeral-cdn seed <file…>`: hashes each file (a slice at a time, from disk), seeds it,
 * prints its hash, share link and embed snippet, then serves the files until Ctrl-C,
 * `--until-fetched` or `--timeout` (seeding-session.ts).
 */
import { openAsBlob } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { SwarmEngine } from 'ephemeral-cdn';
import type { Command } from '../args.js';
import { CliError } from '../cli-error.js';
import { EXIT_CODES } from '../exit-codes.js';
import type { Reporter } from '../events.js';
import { createNodeEngine } from '../node-engine.js';
import { keepSeeding, type ServedFile } from '../seeding-session.js';
import { share } from '../share.js';
import { reportWarnings } from './warnings.js';

type SeedCommand = Extract<Command, { name: 'seed' }>;

/** Runs `seed`; resolves the exit status. */
export async function seed(command: SeedCommand, reporter: Reporter, signal: AbortSignal): Promise<number> {
  // Every file is checked before the first is hashed, and before any network use.
  const inputs: Array<{ path: string; blob: Blob }> = [];
  for (const path of command.files) inputs.push({ path, blob: await openInput(path) });

  const server = command.server ?? command.defaultServer;
  const engine = createNodeEngine({ server, iceServers: command.iceServers, reseed: true, uploadLimit: command.uploadLimit });
  try {
    if (command.verbose) reportWarnings(engine, reporter);
    const served: ServedFile[] = [];
    for (const { path, blob } of inputs) {
      const hash = await hashAndSeed(engine, path, blob, reporter, signal);
      const shared = share(server, hash, path, blob.size);
      reporter.report({
        type: 'seeding',
        file: path,
        name: shared.name,
        hash,
        size: blob.size,
        mime: shared.type,
        link: shared.link,
        embed: shared.embed,
      });
      if (!served.some((file) => file.hash === hash)) served.push({ hash, name: shared.name, size: blob.size });
    }
    const { reason, files } = await keepSeeding(engine, served, reporter, {
      signal,
      untilFetched: command.untilFetched,
      timeoutMs: command.timeoutMs,
    });
    reporter.report({ type: 'done', command: 'seed', reason, files });
    return EXIT_CODES.OK;
  } finally {
    engine.destroy();
  }
}

/** Hashes and seeds one file, reporting the hashing's progress. */
async function hashAndSeed(engine: SwarmEngine, file: string, blob: Blob, reporter: Reporter, signal: AbortSignal): Promise<string> {
  const started = performance.now();
  let last = -1;
  const progress = (hashed: number, total: number) => {
    last = hashed;
    const seconds = (performance.now() - started) / 1000;
    const bytesPerSecond = seconds > 0 ? Math.round(hashed / seconds) : 0;
    reporter.report({ type: 'progress', phase: 'hashing', file, hashed, total, bytesPerSecond });
  };
  progress(0, blob.size);
  const hash = await engine.seed(blob, { signal, onProgress: progress });
  if (last < blob.size) progress(blob.size, blob.size);
  return hash;
}

/**
 * The file at `path` as a Blob backed by the disk, which the engine reads a slice at a
 * time, so a file larger than memory seeds. Throws `CliError('INPUT')` for a file that is
 * missing, unreadable or not a regular file.
 */
async function openInput(path: string): Promise<Blob> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new CliError('INPUT', err.code === 'ENOENT' ? `${path}: no such file.` : `${path}: ${err.message}`, { cause: err });
  });
  if (info.isDirectory()) throw new CliError('INPUT', `${path} is a directory: seed the files in it, or an archive of it.`);
  if (!info.isFile()) throw new CliError('INPUT', `${path} is not a regular file.`);
  try {
    // Opening proves it readable (a permission check alone says nothing when run as root).
    await (await open(path, 'r')).close();
    return await openAsBlob(path);
  } catch (err) {
    throw new CliError('INPUT', `${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}
