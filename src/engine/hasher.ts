/**
 * Where SHA-256 runs: in a worker (hash-worker.ts) when the platform has one, so that
 * seeding or downloading a large file never blocks the page's main thread, else on
 * the calling thread (Node, or a page whose Content-Security-Policy forbids workers).
 * Both give the same answers; the engine does not care which it got.
 */
import { EcdnError, type EcdnErrorCode } from './errors.js';
import { isByteSource, toBlob, type ByteSource, type HashInput } from './hash.js';
import { buildManifest, choosePieceSize, Manifest, type BuildManifestOptions } from './manifest.js';
import { startHashWorker } from './start-hash-worker.js';

/** Hashing as the engine needs it. */
export interface Hasher {
  /** Where the hashing runs. */
  readonly where: 'worker' | 'calling thread';
  /** A file's address and manifest, in one pass (see {@link buildManifest}). */
  manifest(input: HashInput | ByteSource, options?: BuildManifestOptions): Promise<Manifest>;
  /** True when `bytes` is exactly piece `piece` of `manifest` (see {@link Manifest.verifyPiece}). */
  verify(manifest: Manifest, piece: number, bytes: Uint8Array): Promise<boolean>;
  /** Stops the worker, if any; calls under way fail with `DESTROYED`. */
  destroy(): void;
}

/** A message to the hashing worker. */
export type HashRequest =
  /** Starts a manifest; its bytes follow as `slice`s, in order, whole pieces each but the last. */
  | { id: number; type: 'manifest'; size: number; pieceSize: number }
  | { id: number; type: 'slice'; bytes: ArrayBuffer }
  | { id: number; type: 'abort' }
  | {
      id: number;
      type: 'verify';
      /** The piece, transferred. */
      bytes: ArrayBuffer;
      /** Chaining value before the piece; undefined for the first. */
      previous: Uint8Array | undefined;
      /** Offset of the piece in the file. */
      offset: number;
      /** Chaining value (or, for the last piece, digest) the piece must reach. */
      expected: Uint8Array;
      last: boolean;
    };

/** A message from the hashing worker. */
export type HashReply =
  | { id: number; type: 'progress'; done: number; total: number }
  | { id: number; type: 'manifest'; hash: string; size: number; pieceSize: number; chain: Uint8Array }
  | { id: number; type: 'verified'; ok: boolean }
  | { id: number; type: 'error'; name: string; message: string; code: string | undefined };

/** Hashing on the calling thread. */
export const callingThreadHasher: Hasher = {
  where: 'calling thread',
  manifest: (input, options) => buildManifest(input, options),
  verify: (manifest, piece, bytes) => manifest.verifyPiece(piece, bytes),
  destroy() {},
};

/** Bytes of a file read and handed to the worker at once while it builds a manifest. */
const FEED_SLICE_SIZE = 16 * 1024 * 1024;
/** Slices handed over and not yet hashed: one being hashed, one waiting, while the next is read. */
const FEED_AHEAD = 2;

/**
 * The worker's hasher when the platform has workers, else {@link callingThreadHasher}.
 * `onFallback` hears once if the worker turns out unable to start, from when on hashing
 * runs on the calling thread.
 */
export function createHasher(onFallback: (err: Error) => void = () => {}): Hasher {
  if (typeof Worker !== 'function') return callingThreadHasher;
  return new WorkerHasher(onFallback);
}

interface Pending {
  reply(message: HashReply): void;
  /** The worker could not run it: do it here instead. */
  fallBack(): void;
  fail(err: Error): void;
}

/**
 * Hashing in a worker, started on first use. If the worker cannot start (a page whose
 * Content-Security-Policy forbids `blob:` workers, say), every call, those under way
 * included, runs on the calling thread instead.
 */
class WorkerHasher implements Hasher {
  readonly #onFallback: (err: Error) => void;
  #worker: Worker | undefined;
  #failed = false;
  #destroyed = false;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  constructor(onFallback: (err: Error) => void) {
    this.#onFallback = onFallback;
  }

  get where(): 'worker' | 'calling thread' {
    return this.#failed ? 'calling thread' : 'worker';
  }

  /**
   * Reads the file here, a slice at a time, and hands each slice to the worker to hash,
   * reading the next while it hashes: both threads busy, and no copy of the file whole.
   */
  async manifest(input: HashInput | ByteSource, options: BuildManifestOptions = {}): Promise<Manifest> {
    const worker = this.#start();
    if (!worker) return callingThreadHasher.manifest(input, options);
    const { signal, onProgress } = options;
    if (signal?.aborted) throw new EcdnError('ABORTED', 'The operation was aborted.', { cause: signal.reason });
    const blob = isByteSource(input) ? input : toBlob(input);
    const size = blob.size;
    const read = isByteSource(blob)
      ? async (start: number, end: number) => {
          const bytes = await blob.read(start, end);
          // Transferred to the worker: it must be a whole buffer of its own.
          return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
            ? (bytes.buffer as ArrayBuffer)
            : bytes.slice().buffer;
        }
      : (start: number, end: number) => blob.slice(start, end).arrayBuffer();
    const pieceSize = options.pieceSize ?? choosePieceSize(size);
    const sliceSize = Math.max(1, Math.floor(FEED_SLICE_SIZE / pieceSize)) * pieceSize;
    const id = this.#nextId++;
    return new Promise<Manifest>((resolve, reject) => {
      let next = 0;
      let ahead = 0;
      let reading = false;
      let stopped = false;
      const stop = () => {
        stopped = true;
        this.#pending.delete(id);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        stop();
        worker.postMessage({ id, type: 'abort' } satisfies HashRequest);
        reject(new EcdnError('ABORTED', 'The operation was aborted.', { cause: signal?.reason }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const feed = async () => {
        if (reading) return;
        reading = true;
        try {
          while (!stopped && next < size && ahead < FEED_AHEAD) {
            const end = Math.min(next + sliceSize, size);
            const bytes = await read(next, end);
            if (stopped) return;
            if (bytes.byteLength !== end - next) throw new Error('The Blob returned fewer bytes than its size.');
            next = end;
            ahead++;
            worker.postMessage({ id, type: 'slice', bytes } satisfies HashRequest, [bytes]);
          }
        } catch (err) {
          if (stopped) return;
          stop();
          worker.postMessage({ id, type: 'abort' } satisfies HashRequest);
          reject(err);
        } finally {
          reading = false;
        }
      };
      this.#pending.set(id, {
        reply: (message) => {
          if (message.type === 'progress') {
            ahead--;
            onProgress?.(message.done, message.total);
            void feed();
            return;
          }
          stop();
          if (message.type === 'manifest') resolve(new Manifest(message));
          else if (message.type === 'error') reject(rebuildError(message));
        },
        fallBack: () => {
          stop();
          callingThreadHasher.manifest(blob, options).then(resolve, reject);
        },
        fail: (err) => {
          stop();
          reject(err);
        },
      });
      // The worker checks the size as the calling thread would: a file too large for a manifest fails at once.
      worker.postMessage({ id, type: 'manifest', size, pieceSize } satisfies HashRequest);
      void feed();
    });
  }

  verify(manifest: Manifest, piece: number, bytes: Uint8Array): Promise<boolean> {
    const worker = this.#start();
    if (!worker || bytes.byteLength !== manifest.pieceLength(piece)) return callingThreadHasher.verify(manifest, piece, bytes);
    const id = this.#nextId++;
    // A copy to transfer: `bytes` usually views a larger buffer that must stay here.
    const copy = bytes.slice();
    return new Promise<boolean>((resolve, reject) => {
      this.#pending.set(id, {
        reply: (message) => {
          this.#pending.delete(id);
          if (message.type === 'verified') resolve(message.ok);
          else if (message.type === 'error') reject(rebuildError(message));
        },
        fallBack: () => {
          this.#pending.delete(id);
          callingThreadHasher.verify(manifest, piece, bytes).then(resolve, reject);
        },
        fail: (err) => {
          this.#pending.delete(id);
          reject(err);
        },
      });
      const request: HashRequest = {
        id,
        type: 'verify',
        bytes: copy.buffer as ArrayBuffer,
        previous: piece === 0 ? undefined : manifest.chainValue(piece - 1).slice(),
        offset: piece * manifest.pieceSize,
        expected: manifest.chainValue(piece).slice(),
        last: piece === manifest.pieceCount - 1,
      };
      worker.postMessage(request, [request.bytes]);
    });
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#worker?.terminate();
    this.#worker = undefined;
    const err = new EcdnError('DESTROYED', 'The engine was destroyed.');
    for (const pending of [...this.#pending.values()]) pending.fail(err);
  }

  /** The worker, started now if need be; undefined once it failed (or after destroy). */
  #start(): Worker | undefined {
    if (this.#failed || this.#destroyed) return undefined;
    if (this.#worker) return this.#worker;
    let worker: Worker;
    try {
      worker = startHashWorker();
    } catch (err) {
      this.#fallBack(err);
      return undefined;
    }
    worker.onmessage = (event: MessageEvent<HashReply>) => this.#pending.get(event.data.id)?.reply(event.data);
    // Only a worker that could not load or run reports here: requests fail with replies.
    worker.onerror = (event) => {
      event.preventDefault();
      worker.terminate();
      this.#worker = undefined;
      this.#fallBack(event.message);
      for (const pending of [...this.#pending.values()]) pending.fallBack();
    };
    this.#worker = worker;
    return worker;
  }

  #fallBack(cause: unknown): void {
    this.#failed = true;
    this.#onFallback(
      new EcdnError(
        'WORKER_UNAVAILABLE',
        'Hashing runs on the main thread: no worker could start on this page (a Content-Security-Policy without blob: in worker-src?).',
        {
          cause,
        },
      ),
    );
  }
}

function rebuildError(message: Extract<HashReply, { type: 'error' }>): Error {
  if (message.code) return new EcdnError(message.code as EcdnErrorCode, message.message);
  const err = new Error(message.message);
  err.name = message.name;
  return err;
}
