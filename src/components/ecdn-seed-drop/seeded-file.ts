import type { EcdnEngine } from '../../internal/context.js';
import { errorDetail, isAbort } from '../../internal/errors.js';
import type { EcdnErrorDetail } from '../../events/ecdn-error.js';

/** Where one dropped file stands: being hashed, announced, seeded, or failed. */
export type SeededFilePhase = 'hashing' | 'announcing' | 'seeding' | 'error';

/** What a {@link SeededFile} tells its element. */
export interface SeededFileHost {
  /** Something shown changed: re-render. */
  changed(file: SeededFile): void;
  /** Hashing advanced. */
  hashed(file: SeededFile, hashed: number, total: number): void;
}

let nextId = 1;

/**
 * One file dropped on `<ecdn-seed-drop>`: hashes and seeds it, then follows its
 * live seeder count (the tracker's `watch`) and what this page serves of it (the
 * engine's `seeding` events) until it is stopped. The element keeps a list of
 * these and pauses their subscriptions while it is off the page.
 */
export class SeededFile {
  /** Stable across re-renders, for keys and element ids. */
  readonly id = nextId++;
  readonly name: string;
  readonly size: number;
  readonly type: string;
  /** Seeded as a private share: encrypted, its key in its link only. */
  readonly encrypt: boolean;
  /** A private share's key, once seeded. */
  key: string | undefined;
  phase: SeededFilePhase = 'hashing';
  /** SHA-256 as 64 hex, once hashed. */
  hash: string | undefined;
  /** Bytes hashed so far. */
  hashed = 0;
  /** Hashing speed so far, in bytes per second; 0 until the first report. */
  hashRate = 0;
  /** Why it failed, in the error phase. */
  error: EcdnErrorDetail | undefined;
  /** Peers holding the whole file, live from the tracker; undefined until it answers. */
  seeders: number | undefined;
  /** Peers downloading it from this page now. */
  downloaders = 0;
  /** Payload bytes this page served of it. */
  bytesUp = 0;

  readonly #file: File;
  readonly #host: SeededFileHost;
  readonly #engine: EcdnEngine;
  readonly #abort = new AbortController();
  #unsubscribe: (() => void) | undefined;
  #stopped = false;

  constructor(file: File, engine: EcdnEngine, host: SeededFileHost, encrypt = false) {
    this.#file = file;
    this.encrypt = encrypt;
    this.name = file.name;
    this.size = file.size;
    this.type = file.type;
    this.#engine = engine;
    this.#host = host;
  }

  /** The engine that seeds it. */
  get engine(): EcdnEngine {
    return this.#engine;
  }

  /** Hashes and announces the file; resolves once it is seeded, or has failed, or was stopped. */
  async start(): Promise<void> {
    const signal = this.#abort.signal;
    const started = performance.now();
    try {
      const seeded = await this.#engine.seed(this.#file, {
        encrypt: this.encrypt,
        signal,
        onProgress: (hashed, total) => {
          if (this.#stopped) return;
          this.hashed = hashed;
          const seconds = (performance.now() - started) / 1000;
          this.hashRate = seconds > 0.2 ? hashed / seconds : 0;
          if (hashed >= total) this.phase = 'announcing';
          this.#host.hashed(this, hashed, total);
          this.#host.changed(this);
        },
      });
      const hash = typeof seeded === 'string' ? seeded : seeded.hash;
      // Stopped while announcing: the engine already serves it; withdraw it.
      if (this.#stopped) return this.#engine.unseed(hash);
      this.hash = hash;
      if (typeof seeded !== 'string') this.key = seeded.key;
      this.phase = 'seeding';
      this.resume();
    } catch (err) {
      if (this.#stopped || isAbort(err)) return;
      this.phase = 'error';
      this.error = errorDetail('', err);
    }
    this.#host.changed(this);
  }

  /** Stops hashing, or stops seeding and tells the tracker. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort.abort();
    this.pause();
    if (this.phase === 'seeding' && this.hash) this.#engine.unseed(this.hash);
  }

  /** Follows the live figures again (the element is back on the page). */
  resume(): void {
    if (this.#unsubscribe || this.#stopped || this.phase !== 'seeding' || !this.hash) return;
    const hash = this.hash;
    const engine = this.#engine;
    const offSeeding = engine.on('seeding', (figures) => {
      if (figures.hash !== hash) return;
      this.downloaders = figures.downloaders;
      this.bytesUp = figures.bytesUp;
      this.#host.changed(this);
    });
    let unwatch = () => {};
    try {
      unwatch = engine.watch(hash, (status) => {
        this.seeders = status.seeders;
        this.#host.changed(this);
      });
      // Events report changes only: start from the figures as they stand.
      const now = engine.stats().seeding.find((entry) => entry.hash === hash);
      this.downloaders = now?.downloaders ?? 0;
      this.bytesUp = now?.bytesUp ?? 0;
    } catch {
      // A destroyed engine: the counts stay as they were.
    }
    this.#unsubscribe = () => {
      offSeeding();
      unwatch();
    };
  }

  /** Stops following the live figures (the element left the page); the engine keeps seeding. */
  pause(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}
