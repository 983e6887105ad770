import type { Writable } from 'node:stream';
import type { CliEvent, Reporter } from './events.js';

/** Progress of one kind is printed at most this often; other events at once. */
const PROGRESS_INTERVAL_MS = 250;

/**
 * `--json`: one JSON object per line, for scripts. Progress lines are thinned to four a
 * second per file and phase (the last of a hashing or a download always printed);
 * everything else is printed as it happens.
 */
export class JsonReporter implements Reporter {
  readonly #out: Writable;
  readonly #lastProgress = new Map<string, number>();

  constructor(out: Writable) {
    this.#out = out;
  }

  report(event: CliEvent): void {
    if (event.type === 'progress') {
      const key = `${event.phase}:${'hash' in event ? event.hash : event.file}`;
      const now = Date.now();
      // The last line of a phase always goes out: it is the one a script reads the total from.
      const done =
        event.phase === 'hashing'
          ? event.hashed === event.total
          : event.phase === 'fetching' && event.total > 0 && event.received === event.total;
      if (!done && now - (this.#lastProgress.get(key) ?? 0) < PROGRESS_INTERVAL_MS) return;
      this.#lastProgress.set(key, now);
    }
    this.#out.write(`${JSON.stringify(event)}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#out.write('', () => resolve()));
  }
}
