/**
 * Serving files until told to stop: the live counts of each file's swarm (seeders from
 * the tracker, downloaders and bytes served from the engine), and the end, on Ctrl-C,
 * `--until-fetched N` or `--timeout`, after which every file is withdrawn at once and a
 * file that had no other seeder gets a warning: it is gone now. Used by `seed`, and by
 * `fetch --keep-seeding` once its download is complete.
 */
import { EcdnError, type SwarmEngine } from 'ephemeral-cdn';
import type { Reporter, SeedDone } from './events.js';

/** A file this process holds whole and serves. */
export interface ServedFile {
  hash: string;
  name: string;
  size: number;
}

export interface KeepSeedingOptions {
  /** Ends the session (as `interrupted`). */
  signal: AbortSignal;
  /** End once every file was fetched this many times. */
  untilFetched?: number;
  /** End after this long. */
  timeoutMs?: number;
}

interface Swarm {
  file: ServedFile;
  /** The tracker's latest counts; undefined until it first said. */
  seeders: number | undefined;
  leechers: number;
  /** Seeders when this session started (this process among them), and the most since. */
  baseline: number | undefined;
  peak: number;
  downloaders: number;
  bytesUp: number;
}

/**
 * Fetches completed, as far as a seeder can tell: the complete holders that appeared since
 * it started (a fetcher that re-seeds announces itself complete), or the whole copies'
 * worth of bytes it served (a fetcher with `--no-seed` never announces itself), whichever
 * is more. A fetcher that took some pieces here and the rest elsewhere counts as a
 * fraction in the second, so neither count ever exceeds the truth for one seeder alone.
 */
export function fetchedCount(swarm: Pick<Swarm, 'baseline' | 'peak' | 'bytesUp' | 'file'>): number {
  const appeared = swarm.baseline === undefined ? 0 : Math.max(0, swarm.peak - swarm.baseline);
  const served = swarm.file.size > 0 ? Math.floor(swarm.bytesUp / swarm.file.size) : 0;
  return Math.max(appeared, served);
}

/**
 * Serves `files` (already seeded on `engine`) and reports their counts until the session
 * ends; then withdraws them and resolves why it ended, with what each file got. Rejects
 * with `TIMEOUT` when `timeoutMs` ran out before `untilFetched` was reached.
 */
export async function keepSeeding(
  engine: SwarmEngine,
  files: ServedFile[],
  reporter: Reporter,
  options: KeepSeedingOptions,
): Promise<Pick<SeedDone, 'reason' | 'files'>> {
  const swarms = new Map<string, Swarm>();
  for (const file of files) {
    swarms.set(file.hash, { file, seeders: undefined, leechers: 0, baseline: undefined, peak: 0, downloaders: 0, bytesUp: 0 });
  }
  const report = (swarm: Swarm) =>
    reporter.report({
      type: 'progress',
      phase: 'seeding',
      hash: swarm.file.hash,
      name: swarm.file.name,
      seeders: swarm.seeders ?? 1,
      leechers: swarm.leechers,
      downloaders: swarm.downloaders,
      bytesUp: swarm.bytesUp,
      fetched: fetchedCount(swarm),
    });
  const { untilFetched } = options;
  const reached = () => untilFetched !== undefined && [...swarms.values()].every((swarm) => fetchedCount(swarm) >= untilFetched);

  let end!: (reason: SeedDone['reason']) => void;
  const ended = new Promise<SeedDone['reason']>((resolve) => (end = resolve));
  const unwatch = files.map((file) =>
    engine.watch(file.hash, (status) => {
      const swarm = swarms.get(file.hash)!;
      swarm.seeders = status.seeders;
      swarm.leechers = status.leechers;
      swarm.baseline ??= status.seeders;
      swarm.peak = Math.max(swarm.peak, status.seeders);
      report(swarm);
      if (reached()) end('fetched');
    }),
  );
  const offSeeding = engine.on('seeding', ({ hash, bytesUp, downloaders }) => {
    const swarm = swarms.get(hash);
    if (!swarm) return;
    swarm.bytesUp = bytesUp;
    swarm.downloaders = downloaders;
    report(swarm);
    if (reached()) end('fetched');
  });
  const onAbort = () => end('interrupted');
  if (options.signal.aborted) onAbort();
  options.signal.addEventListener('abort', onAbort, { once: true });
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => end('timeout'), options.timeoutMs);

  const reason = await ended;
  clearTimeout(timer);
  options.signal.removeEventListener('abort', onAbort);
  offSeeding();
  for (const stop of unwatch) stop();
  for (const swarm of swarms.values()) {
    // The tracker's count includes this process: one means nobody else holds the whole file.
    if ((swarm.seeders ?? 1) <= 1) {
      reporter.report({
        type: 'warning',
        code: 'LAST_SEEDER',
        hash: swarm.file.hash,
        message: `${swarm.file.name} had no other seeder: it is gone now, until someone seeds ${swarm.file.hash} again.`,
      });
    }
    engine.unseed(swarm.file.hash);
  }
  const result = [...swarms.values()].map((swarm) => ({
    hash: swarm.file.hash,
    name: swarm.file.name,
    bytesUp: swarm.bytesUp,
    fetched: fetchedCount(swarm),
  }));
  if (reason === 'timeout' && untilFetched !== undefined) {
    const short = result.filter((file) => file.fetched < untilFetched).map((file) => `${file.name} ${file.fetched}×`);
    throw new EcdnError('TIMEOUT', `Not fetched ${untilFetched}× within ${options.timeoutMs! / 1000} s: ${short.join(', ')}.`);
  }
  return { reason, files: result };
}
