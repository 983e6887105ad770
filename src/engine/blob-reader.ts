/**
 * Reads ranges of a large Blob (a file the page seeds) in a worker, so that the page's main
 * thread never waits on the read: `Blob.slice` is synchronous and waits on the browser
 * process, which is busy relaying the very traffic being served. Measured while
 * serving a 512 MiB file from disk on two busy cores, 16 of 163 slices on the main thread took
 * over 10 ms and the longest 72 ms, which made the page's longest tasks.
 *
 * The worker is the disk worker's script (disk-worker.ts, `readBlob`), started on first
 * use and stopped after {@link IDLE_MS} without reads. Where no worker can run (Node, or a
 * Content-Security-Policy without `blob:` in `worker-src`) the page reads the Blob itself.
 */
import { DiskWorker } from './disk-piece-store.js';
import type { DiskReply } from './disk-protocol.js';
import { EcdnError } from './errors.js';
import { readRange } from './hash.js';

/**
 * Blobs smaller than this are read on the calling thread: they take few reads, and the
 * first read after the worker stopped would wait for it to start (tens of ms) before
 * the first block of a small file could go out.
 */
export const WORKER_MIN_SIZE = 32 * 1024 * 1024;
/** A reader's worker stops after this long without reads: a seeder serves in bursts. */
export const IDLE_MS = 10_000;

let worker: DiskWorker | undefined;
/** The Blobs the current worker has, by their key. */
let sent = new WeakSet<Blob>();
const keys = new WeakMap<Blob, number>();
let nextKey = 1;
let reading = 0;
let idleTimer: ReturnType<typeof setTimeout> | undefined;
/** Set once a worker failed to start or run: reads stay on this thread from then on. */
let unavailable = typeof Worker !== 'function';

/** `[start, end)` of `blob`, read in a worker where there is one and the Blob is large; a new buffer of the caller's. */
export async function readBlob(blob: Blob, start: number, end: number): Promise<Uint8Array> {
  if (unavailable || blob.size < WORKER_MIN_SIZE) return readHere(blob, start, end);
  clearTimeout(idleTimer);
  if (!worker) {
    worker = new DiskWorker();
    sent = new WeakSet();
  }
  const used = worker;
  let key = keys.get(blob);
  if (key === undefined) {
    key = nextKey++;
    keys.set(blob, key);
  }
  const first = !sent.has(blob);
  sent.add(blob);
  const fallBack = () => {
    unavailable = true;
    if (worker === used) worker = undefined;
    used.destroy();
    return readHere(blob, start, end);
  };
  let request: Promise<DiskReply>;
  try {
    request = used.request({ type: 'readBlob', key, blob: first ? blob : undefined, start, end });
  } catch {
    // No worker may start here (a Content-Security-Policy, say).
    return fallBack();
  }
  reading++;
  try {
    return new Uint8Array(((await request) as Extract<DiskReply, { type: 'read' }>).bytes);
  } catch (err) {
    // The worker failed (EcdnError), rather than the read (a DOMException from the Blob).
    if (!(err instanceof EcdnError)) throw err;
    return fallBack();
  } finally {
    if (--reading === 0 && worker === used) {
      idleTimer = setTimeout(() => {
        if (reading > 0 || worker !== used) return;
        worker = undefined;
        used.destroy();
      }, IDLE_MS);
    }
  }
}

function readHere(blob: Blob, start: number, end: number): Promise<Uint8Array> {
  // A Blob's range comes back as a new buffer: the caller's, as promised.
  return readRange(blob, start, end);
}
