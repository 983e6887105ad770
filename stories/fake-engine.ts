/**
 * A stand-in for the engine, given to elements through context, so that
 * stories and tests can show every state without a network: it implements the
 * methods the elements call, and plays back what it is told to.
 */
import type { EngineConfig, EngineEvents, EngineStats, FetchOptions, FileInfo, PrivateShare, SeedOptions } from '../src/engine/engine.js';
import type { FetchProgress } from '../src/engine/download.js';
import { EcdnError, type EcdnErrorCode } from '../src/engine/errors.js';
import type { HashInput } from '../src/engine/hash.js';
import type { Diagnosis } from '../src/engine/diagnose.js';
import type { FileStatus } from '../src/engine/tracker-client.js';
import type { EcdnEngine } from '../src/internal/context.js';

export interface FakeEngineOptions {
  /**
   * What `fetch`/`stream` do: `ready` resolves with `bytes` (after `delay` ms),
   * `loading` reports `progress` and never resolves, `dead` and `error` reject.
   */
  fetch?: 'ready' | 'loading' | 'dead' | 'error';
  /** The file `fetch` resolves with. */
  bytes?: Uint8Array | (() => Promise<Uint8Array>);
  /** Progress reported while loading (and, stepped up to it, before `ready`). */
  progress?: Partial<FetchProgress>;
  /** Code of the error `fetch` (or `seed`) rejects with. */
  errorCode?: EcdnErrorCode;
  /** Milliseconds before `fetch` settles. */
  delay?: number;
  /** What `watch` reports. Omit `alive` to report "alive when seeders > 0". */
  seeders?: number;
  alive?: boolean;
  leechers?: number;
  /** What `seed` does: `ready` hashes and resolves, `loading` stops at `hashFraction`, `error` rejects. */
  seed?: 'ready' | 'loading' | 'error';
  /** How far hashing gets when `seed` is `loading`, 0…1. */
  hashFraction?: number;
  /**
   * Peers downloading from this page, with the bytes each is sent per tick:
   * `stats()` lists them, and every 250 ms a `seeding` event reports each
   * seeded file's growing figures (as a page serving them would).
   */
  uploads?: number[];
  /** What `diagnose` reports; by default a network that reaches its peers directly. */
  diagnosis?: Partial<Diagnosis>;
  /** Whether a fetched file is then held and served, as the real engine's `reseed` does. Default false. */
  reseed?: boolean;
  /** The server in `config`, where share links point; none by default (links then use the page's origin). */
  server?: string;
}

type Seeding = EngineEvents['seeding'];

export class FakeEngine implements EcdnEngine {
  options: FakeEngineOptions;
  /** Every call, for tests to assert on. */
  readonly calls: Array<{ method: string; hash?: string; signal?: AbortSignal; key?: string }> = [];
  readonly seeded = new Set<string>();
  readonly #watchers = new Map<string, Set<(status: FileStatus) => void>>();
  readonly #seedingListeners = new Set<(event: Seeding) => void>();
  #statuses = new Map<string, FileStatus>();
  #uploadTick = 0;
  #seedingTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: FakeEngineOptions = {}) {
    this.options = options;
  }

  /** The settings an element reads: the server share links point to. */
  get config(): Readonly<EngineConfig> {
    return this.options.server ? { server: this.options.server } : {};
  }

  /** Reports a new status for `hash` to its watchers, as the tracker would. */
  setStatus(hash: string, status: Partial<Omit<FileStatus, 'hash'>>): void {
    const next = { ...this.#status(hash), ...status, hash };
    this.#statuses.set(hash, next);
    for (const callback of this.#watchers.get(hash) ?? []) callback(next);
  }

  /** Reports new serving figures for `hash` to `seeding` listeners, as the engine would. */
  setSeeding(hash: string, figures: Omit<Seeding, 'hash'>): void {
    for (const listener of [...this.#seedingListeners]) listener({ hash, ...figures });
  }

  /** How many listeners are subscribed to `event`. */
  listeners(event: keyof EngineEvents): number {
    return event === 'seeding' ? this.#seedingListeners.size : 0;
  }

  /** How many watch subscriptions are open for `hash`. */
  watchers(hash: string): number {
    return this.#watchers.get(hash)?.size ?? 0;
  }

  async fetch(hash: string, options: FetchOptions = {}): Promise<ArrayBuffer> {
    this.calls.push({ method: 'fetch', hash, signal: options.signal, ...(options.key ? { key: options.key } : {}) });
    const bytes = await this.#play(hash, options);
    if (this.options.reseed) this.seeded.add(hash);
    return bytes.slice().buffer as ArrayBuffer;
  }

  async fetchBlob(hash: string, type = '', options: FetchOptions = {}): Promise<Blob> {
    this.calls.push({ method: 'fetchBlob', hash, signal: options.signal, ...(options.key ? { key: options.key } : {}) });
    const bytes = await this.#play(hash, options);
    if (this.options.reseed) this.seeded.add(hash);
    return new Blob([bytes as Uint8Array<ArrayBuffer>], { type });
  }

  /** The size of `bytes` (or of `progress.total`), unless the file is dead or fails. */
  async info(hash: string, options: Pick<FetchOptions, 'signal'> = {}): Promise<FileInfo> {
    this.calls.push({ method: 'info', hash, signal: options.signal });
    await sleep(this.options.delay ?? 40);
    const mode = this.options.fetch ?? 'ready';
    if (mode === 'dead') throw new EcdnError('DEAD', `The file ${hash} is dead.`, { hash });
    if (mode === 'error') throw new EcdnError(this.options.errorCode ?? 'NO_PEER_REACHABLE', 'The fake peers are unreachable.', { hash });
    const bytes = this.options.bytes;
    const size = bytes instanceof Uint8Array ? bytes.byteLength : (this.options.progress?.total ?? 0);
    const { seeders, leechers } = this.#status(hash);
    return { hash, size, pieces: Math.ceil(size / (1024 * 1024)), seeders, leechers };
  }

  stream(hash: string, options: FetchOptions = {}): ReadableStream<Uint8Array> {
    this.calls.push({ method: 'stream', hash, signal: options.signal });
    return new ReadableStream({
      start: async (controller) => {
        try {
          controller.enqueue(await this.#play(hash, options));
          controller.close();
        } catch (err) {
          controller.error(err);
        }
      },
    });
  }

  seed(data: HashInput, options: SeedOptions & { encrypt: true }): Promise<PrivateShare>;
  seed(data: HashInput, options?: SeedOptions & { encrypt?: false }): Promise<string>;
  seed(data: HashInput, options?: SeedOptions): Promise<string | PrivateShare>;
  /** Hashes the bytes as they are; `encrypt` draws a key but encrypts nothing (no peer ever reads them). */
  async seed(data: HashInput, options: SeedOptions = {}): Promise<string | PrivateShare> {
    this.calls.push({ method: 'seed' });
    const blob = data instanceof Blob ? data : new Blob([data as BlobPart]);
    const total = blob.size;
    const mode = this.options.seed ?? 'ready';
    if (mode === 'loading') {
      options.onProgress?.(Math.floor(total * (this.options.hashFraction ?? 0.4)), total);
      return new Promise((_, reject) => abortable(options.signal, reject));
    }
    for (const fraction of [0.25, 0.5, 0.75, 1]) {
      await sleep((this.options.delay ?? 40) / 4);
      if (options.signal?.aborted) throw new EcdnError('ABORTED', 'Aborted.');
      options.onProgress?.(Math.floor(total * fraction), total);
    }
    if (mode === 'error') throw new EcdnError(this.options.errorCode ?? 'TRACKER_UNREACHABLE', 'The fake tracker is unreachable.');
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
    const hash = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
    this.seeded.add(hash);
    if (!options.encrypt) return hash;
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
    const name = options.name ?? (blob instanceof File ? blob.name : '');
    return { hash, key, name, type: options.type ?? blob.type, size: blob.size };
  }

  unseed(hash: string): void {
    this.calls.push({ method: 'unseed', hash });
    this.seeded.delete(hash);
  }

  watch(hash: string, callback: (status: FileStatus) => void): () => void {
    this.calls.push({ method: 'watch', hash });
    let set = this.#watchers.get(hash);
    if (!set) {
      set = new Set();
      this.#watchers.set(hash, set);
    }
    set.add(callback);
    // The tracker answers a moment later, never inside watch().
    setTimeout(() => {
      if (set.has(callback)) callback(this.#status(hash));
    }, 0);
    return () => set.delete(callback);
  }

  /** Listens for `seeding` (the only event the elements use; others never fire). */
  on<K extends keyof EngineEvents>(event: K, listener: (payload: EngineEvents[K]) => void): () => void {
    if (event !== 'seeding') return () => {};
    const seeding = listener as (payload: Seeding) => void;
    this.#seedingListeners.add(seeding);
    this.#seedingTimer ??= setInterval(() => this.#tickSeeding(), 250);
    return () => {
      this.#seedingListeners.delete(seeding);
      if (this.#seedingListeners.size > 0) return;
      clearInterval(this.#seedingTimer);
      this.#seedingTimer = undefined;
    };
  }

  stats(): EngineStats {
    return this.#stats(this.#uploadTick);
  }

  async diagnose(): Promise<Diagnosis> {
    this.calls.push({ method: 'diagnose' });
    return {
      tracker: 'ok',
      signaling: 'ok',
      candidates: { host: 1, srflx: 1, relay: 0 },
      stun: 'ok',
      nat: 'cone',
      turn: 'none',
      verdict: 'Direct connections work from this network for peers whose networks allow them.',
      ...this.options.diagnosis,
    };
  }

  /** Uploads grow on every tick, as live downloads would. */
  #tickSeeding(): void {
    const stats = this.#stats(++this.#uploadTick);
    for (const { hash, bytesUp, downloaders } of stats.seeding) this.setSeeding(hash, { bytesUp, downloaders });
  }

  #stats(tick: number): EngineStats {
    const uploads = this.options.uploads ?? [];
    const bytesUp = uploads.reduce((sum, bytes) => sum + bytes * tick, 0);
    return {
      peerId: 'fake-peer',
      seeding: [...this.seeded].map((hash) => ({
        hash,
        size: undefined,
        bytesUp,
        downloaders: uploads.filter((bytes) => bytes > 0).length,
      })),
      downloading: [],
      bytesUp,
      bytesDown: 0,
      peers: uploads.length,
      connections: uploads.map((bytes, i) => ({ peerId: `peer-${i}`, bytesUp: bytes * tick, bytesDown: 0 })),
    };
  }

  #status(hash: string): FileStatus {
    const known = this.#statuses.get(hash);
    if (known) return known;
    const seeders = this.options.seeders ?? (this.seeded.has(hash) ? 1 : 0);
    return { hash, seeders, leechers: this.options.leechers ?? 0, alive: this.options.alive ?? seeders > 0 };
  }

  async #play(hash: string, options: FetchOptions): Promise<Uint8Array> {
    if (!/^[0-9a-f]{64}$/i.test(hash)) throw new EcdnError('INVALID_HASH', `Expected a SHA-256, got ${JSON.stringify(hash)}.`);
    const mode = this.options.fetch ?? 'ready';
    const progress: FetchProgress = { received: 0, total: 0, peers: 0, bytesPerSecond: 0, ...this.options.progress };
    if (mode === 'loading') {
      if (progress.total) setTimeout(() => options.onProgress?.(progress), 0);
      return new Promise((_, reject) => abortable(options.signal, reject));
    }
    await sleep(this.options.delay ?? 0);
    if (options.signal?.aborted) throw new EcdnError('ABORTED', 'Aborted.', { hash });
    if (mode === 'dead') throw new EcdnError('DEAD', 'No seeder holds this file any more.', { hash });
    if (mode === 'error') throw new EcdnError(this.options.errorCode ?? 'NO_PEER_REACHABLE', 'No peer could be reached.', { hash });
    const source = this.options.bytes;
    const bytes = typeof source === 'function' ? await source() : (source ?? new Uint8Array(0));
    options.onProgress?.({
      received: bytes.byteLength,
      total: bytes.byteLength,
      peers: progress.peers || 1,
      bytesPerSecond: progress.bytesPerSecond,
    });
    return bytes;
  }
}

function abortable(signal: AbortSignal | undefined, reject: (err: Error) => void): void {
  signal?.addEventListener('abort', () => reject(new EcdnError('ABORTED', 'Aborted.')), { once: true });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A PNG drawn on a canvas: a gradient with a label, `width`×`height` pixels. */
export async function makePng(width = 320, height = 200, label = 'EphemeralCDN'): Promise<Uint8Array> {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d')!;
  const gradient = ctx.createLinearGradient(0, 0, width, height);
  gradient.addColorStop(0, '#0969da');
  gradient.addColorStop(1, '#8250df');
  ctx.fillStyle = gradient;
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = 'rgba(255,255,255,0.9)';
  ctx.font = `600 ${Math.round(height / 8)}px system-ui, sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(label, width / 2, height / 2);
  const blob = await canvas.convertToBlob({ type: 'image/png' });
  return new Uint8Array(await blob.arrayBuffer());
}

/** A hash that looks real; no file has it. */
export const SAMPLE_HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'.replace(/^e3b0/, 'a11c');
