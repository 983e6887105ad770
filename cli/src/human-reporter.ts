/**
 * The output a person reads. In a terminal: progress bars and live counts redrawn in
 * place on stderr (live-lines.ts). Anywhere else (a CI log, a file): plain lines, progress
 * at most every few seconds. What is worth keeping (a seeded file's hash and link, a
 * status) goes to stdout, and everything else to stderr, so that `seed … > links.txt` and
 * `fetch … -o - | tar x` work.
 */
import type { WriteStream } from 'node:tty';
import type { Writable } from 'node:stream';
import type { CliEvent, FetchingProgress, HashingProgress, Reporter, SeedingProgress } from './events.js';
import { formatBytes, formatDuration, formatEta, formatSpeed, plural } from './format.js';
import { LiveLines } from './live-lines.js';

/** Plain progress lines (not in a terminal) are printed at most this often per file. */
const PLAIN_PROGRESS_MS = 2_000;
/** Seeding counts (not in a terminal) are printed when they change, at most this often per file. */
const PLAIN_SEEDING_MS = 1_000;
const BAR_WIDTH = 24;

export interface HumanReporterOptions {
  /** Where results go (stdout; stderr when stdout carries a fetched file). */
  out: Writable & { isTTY?: boolean };
  /** Where progress, warnings and errors go. */
  err: Writable & { isTTY?: boolean };
}

export class HumanReporter implements Reporter {
  readonly #out: HumanReporterOptions['out'];
  readonly #err: HumanReporterOptions['err'];
  readonly #live: LiveLines | undefined;
  /** The live rows, by file, in the order they appeared. */
  readonly #rows = new Map<string, string>();
  /** Plain mode: when each file's progress was last printed, and what is waiting to be. */
  readonly #plain = new Map<string, { at: number; text: string; timer?: ReturnType<typeof setTimeout> }>();
  #saidSeeding = false;

  constructor(options: HumanReporterOptions) {
    this.#out = options.out;
    this.#err = options.err;
    this.#live = options.err.isTTY ? new LiveLines(options.err as WriteStream) : undefined;
  }

  report(event: CliEvent): void {
    switch (event.type) {
      case 'progress':
        if (event.phase === 'hashing') {
          this.#progress(`hash:${event.file}`, hashingLine(event), event.hashed === event.total);
        } else if (event.phase === 'fetching') {
          // Off a terminal, a line saying nothing is known yet is noise (a dead file's only line should be its error).
          if (this.#live || event.total > 0) this.#progress(`fetch:${event.hash}`, fetchingLine(event), event.received === event.total);
        } else {
          this.#seeding(event);
        }
        return;
      case 'seeding':
        this.#drop(`hash:${event.file}`);
        this.#result(
          [
            `${event.name}  (${formatBytes(event.size)})`,
            `  hash   ${event.hash}`,
            `  link   ${event.link}`,
            ...event.embed.map((line, i) => `  ${i === 0 ? 'embed' : '     '}  ${line}`),
            '',
          ].join('\n'),
        );
        return;
      case 'status':
        this.#result(
          event.alive
            ? `${event.hash}: alive, ${plural(event.seeders, 'seeder')}, ${plural(event.leechers, 'leecher')}\n`
            : `${event.hash}: dead, nobody holds it\n`,
        );
        return;
      case 'warning':
        this.#message(`warning: ${event.message}\n`);
        return;
      case 'done':
        this.#finish();
        if (event.command === 'fetch') {
          const where = event.path === '-' ? 'stdout' : event.path;
          const peers = plural(event.suppliers.length, 'peer');
          const resumed = event.resumedPieces > 0 ? `; ${plural(event.resumedPieces, 'piece')} resumed from an earlier run` : '';
          this.#message(
            `Saved ${where} (${formatBytes(event.size)}, SHA-256 verified) from ${peers} in ${formatDuration(event.ms / 1000)}${resumed}.\n`,
          );
        } else {
          const why = { interrupted: 'Stopped', fetched: 'Fetched as asked', timeout: 'Time is up' }[event.reason];
          const files = event.files.map((f) => `${f.name} served ${formatBytes(f.bytesUp)}, fetched ${f.fetched}×`).join('; ');
          this.#message(`${why}: withdrew ${files}.\n`);
        }
        return;
      case 'error':
        this.#finish();
        this.#message(`error (${event.code}): ${event.message}\n`);
        return;
    }
  }

  close(): Promise<void> {
    this.#finish();
    return new Promise((resolve) => this.#err.write('', () => this.#out.write('', () => resolve())));
  }

  /** A progress row: redrawn in a terminal, else printed every few seconds (and when `final`). */
  #progress(key: string, text: string, final: boolean): void {
    if (this.#live) {
      this.#rows.set(key, text);
      this.#live.set([...this.#rows.values()]);
      return;
    }
    const last = this.#plain.get(key);
    const now = Date.now();
    if (final || !last || now - last.at >= PLAIN_PROGRESS_MS) {
      this.#plain.set(key, { at: now, text });
      this.#err.write(`${text}\n`);
    }
  }

  #seeding(event: SeedingProgress): void {
    const key = `seed:${event.hash}`;
    const text = seedingLine(event);
    if (!this.#saidSeeding) {
      this.#saidSeeding = true;
      this.#message('Seeding. Ctrl-C stops and withdraws.\n');
    }
    if (this.#live) {
      this.#rows.set(key, text);
      this.#live.set([...this.#rows.values()]);
      return;
    }
    // Printed when it changes; a change within the interval is printed at its end.
    const last = this.#plain.get(key);
    if (last?.text === text) return;
    const now = Date.now();
    const print = () => {
      const entry = this.#plain.get(key)!;
      entry.at = Date.now();
      entry.timer = undefined;
      this.#err.write(`${entry.text}\n`);
    };
    if (!last) {
      this.#plain.set(key, { at: now, text });
      this.#err.write(`${text}\n`);
      return;
    }
    last.text = text;
    const wait = PLAIN_SEEDING_MS - (now - last.at);
    if (wait <= 0) print();
    else last.timer ??= setTimeout(print, wait);
  }

  /** Takes a file's row out of the live area. */
  #drop(key: string): void {
    if (!this.#rows.delete(key)) return;
    if (this.#rows.size > 0) this.#live?.set([...this.#rows.values()]);
    else this.#live?.clear();
  }

  /** Prints to stdout; above the live area when both are the same terminal. */
  #result(text: string): void {
    if (this.#live && this.#out.isTTY) this.#live.print(text);
    else this.#out.write(text);
  }

  /** Prints to stderr, above the live area. */
  #message(text: string): void {
    if (this.#live) this.#live.print(text);
    else this.#err.write(text);
  }

  /** Leaves the live rows as last drawn, and prints what plain mode still owed. */
  #finish(): void {
    this.#live?.stop();
    this.#rows.clear();
    for (const entry of this.#plain.values()) {
      if (!entry.timer) continue;
      clearTimeout(entry.timer);
      entry.timer = undefined;
      this.#err.write(`${entry.text}\n`);
    }
  }
}

function bar(done: number, total: number): string {
  const filled = total > 0 ? Math.min(BAR_WIDTH, Math.floor((done / total) * BAR_WIDTH)) : 0;
  return `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}]`;
}

function percent(done: number, total: number): string {
  return `${total > 0 ? Math.floor((done / total) * 100) : 0}%`.padStart(4);
}

function hashingLine(e: HashingProgress): string {
  const left = e.hashed < e.total ? `, ${formatEta(e.total - e.hashed, e.bytesPerSecond)} left` : '';
  return `Hashing ${e.file} ${bar(e.hashed, e.total)} ${percent(e.hashed, e.total)}  ${formatBytes(e.hashed)} of ${formatBytes(e.total)}, ${formatSpeed(e.bytesPerSecond)}${left}`;
}

function fetchingLine(e: FetchingProgress): string {
  const seeders = e.seeders === undefined ? '' : `, ${plural(e.seeders, 'seeder')}`;
  if (e.total === 0) return `${e.name}: looking for peers${seeders}…`;
  const left = e.received < e.total ? `, ${formatEta(e.total - e.received, e.bytesPerSecond)} left` : '';
  return `${e.name} ${bar(e.received, e.total)} ${percent(e.received, e.total)}  ${formatBytes(e.received)} of ${formatBytes(e.total)}, ${formatSpeed(e.bytesPerSecond)}, ${plural(e.peers, 'peer')}${left}`;
}

function seedingLine(e: SeedingProgress): string {
  return `${e.name}: ${plural(e.seeders, 'seeder')}, ${e.downloaders} downloading from here, ${formatBytes(e.bytesUp)} served, fetched ${e.fetched}×`;
}
