/**
 * A {@link PieceStore} on disk: one file per download in the Origin Private File System,
 * written and read by the disk worker (disk-worker.ts) through a sync access handle,
 * so that a download needs memory for the pieces in flight only, whatever its size.
 * Once complete, the file is closed and served from `getFile()`, a File backed by disk.
 *
 * Each file carries a Web Lock named after it for as long as a page holds it, so that
 * another tab sweeping leftovers (see {@link sweepLeftovers}) can tell a file in use
 * from one whose tab is gone. A download's written pieces are recorded next to it (see
 * disk-worker.ts), so that the same file asked for again after a reload resumes from
 * what the last page left: {@link PieceStore.resumed}.
 */
import { EcdnError } from './errors.js';
import type { Manifest } from './manifest.js';
import { PieceStore } from './piece-store.js';
import { startDiskWorker } from './start-disk-worker.js';
import { encodeFrame } from './wire.js';
import { DISK_DIRECTORY, type DiskReply, type DiskRequest } from './disk-protocol.js';

export { DISK_DIRECTORY } from './disk-protocol.js';

/** Prefix of the Web Lock each file is held under. */
const LOCK_PREFIX = 'ecdn-file:';

type Outgoing = DiskRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface LockManager {
  request(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => Promise<void> | void): Promise<void>;
}

interface StorageWithDirectory {
  getDirectory(): Promise<FileSystemDirectoryHandle>;
  estimate(): Promise<{ quota?: number; usage?: number }>;
}

function storage(): StorageWithDirectory | undefined {
  const s = (globalThis as { navigator?: { storage?: Partial<StorageWithDirectory> } }).navigator?.storage;
  return s?.getDirectory && s.estimate ? (s as StorageWithDirectory) : undefined;
}

function locks(): LockManager | undefined {
  return (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
}

/** The page's connection to the disk worker, started on first use. */
export class DiskWorker {
  #worker: Worker | undefined;
  #destroyed = false;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve(reply: DiskReply): void; reject(err: Error): void }>();

  /** Sends `request` and resolves with the worker's reply; rejects with the worker's error, as a DOMException. */
  request(request: Outgoing, transfer: Transferable[] = []): Promise<DiskReply> {
    // A store let go after the engine went must not start a worker nobody stops: its files are
    // left for the next page's sweep.
    if (this.#destroyed) return Promise.reject(new EcdnError('DESTROYED', 'The engine was destroyed.'));
    const worker = this.#start();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id }, transfer);
    });
  }

  /** Stops the worker (closing its files); requests under way fail with `DESTROYED`. */
  destroy(): void {
    this.#destroyed = true;
    this.#worker?.terminate();
    this.#worker = undefined;
    for (const { reject } of this.#pending.values()) reject(new EcdnError('DESTROYED', 'The engine was destroyed.'));
    this.#pending.clear();
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = startDiskWorker();
    worker.onmessage = ({ data: reply }: MessageEvent<DiskReply>) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (reply.type === 'error') pending.reject(new DOMException(reply.message, reply.name));
      else pending.resolve(reply);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      const err = new EcdnError('STORAGE', `The disk worker failed: ${event.message}`);
      for (const { reject } of this.#pending.values()) reject(err);
      this.#pending.clear();
      this.#worker = undefined;
    };
    this.#worker = worker;
    return worker;
  }
}

/** Why no disk store can be had for a file, for the warning that says it stays in memory. */
export class NoDiskError extends Error {
  override readonly name = 'NoDiskError';
}

/**
 * A disk store for `manifest`'s file: what an earlier page left of the same download,
 * if a file of it is there and no other page holds it, else a new file once the
 * origin's quota shows room for it (`margin` bytes to spare). Rejects with
 * {@link NoDiskError} where there is no private file system, no worker, or no room.
 */
export async function openDiskStore(worker: DiskWorker, manifest: Manifest, margin = 64 * 1024 * 1024): Promise<DiskPieceStore> {
  const disk = storage();
  if (!disk || !locks() || typeof Worker !== 'function')
    throw new NoDiskError('this browser offers no private file system to workers here');
  const { hash, size, pieceCount } = manifest;
  const frame = encodeFrame(manifest.toFrame());
  const open = (name: string, resume: boolean) =>
    worker.request({ type: 'open', name, size, pieceCount, manifest: frame.slice().buffer, resume }) as Promise<
      Extract<DiskReply, { type: 'opened' }>
    >;

  for (const name of await leftoversOf(disk, hash)) {
    const unlock = await tryLock(name);
    if (!unlock) continue;
    try {
      const { written } = await open(name, true);
      const resumed = [...new Uint8Array(written)].flatMap((flag, piece) => (flag === 1 ? [piece] : []));
      return new DiskPieceStore(worker, name, size, unlock, resumed);
    } catch {
      // Of another manifest, or unreadable: start afresh.
      await worker.request({ type: 'delete', name }).catch(() => {});
      unlock();
    }
  }

  const { quota = 0, usage = 0 } = await disk.estimate();
  if (quota - usage < size + margin) {
    throw new NoDiskError(`${formatMiB(quota - usage)} free in this site's storage quota, ${formatMiB(size)} needed`);
  }
  const name = `${hash}.${randomSuffix()}`;
  const unlock = (await tryLock(name))!;
  try {
    await open(name, false);
  } catch (err) {
    await worker.request({ type: 'delete', name }).catch(() => {});
    unlock();
    if ((err as DOMException).name === 'QuotaExceededError') throw new NoDiskError(`the disk refused ${formatMiB(size)}`);
    throw new NoDiskError(`the private file system failed: ${(err as Error).message}`);
  }
  return new DiskPieceStore(worker, name, size, unlock, []);
}

/** A download's pieces in one file of the origin's private file system. */
export class DiskPieceStore extends PieceStore {
  readonly where = 'disk';
  /** Reads come from the worker, or from the closed File: a new buffer each. */
  override readonly ownReads = true;
  readonly #worker: DiskWorker;
  readonly #name: string;
  readonly #unlock: () => void;
  /** The finished file, once closed for writing. */
  #file: Promise<File> | undefined;

  constructor(worker: DiskWorker, name: string, size: number, unlock: () => void, resumed: readonly number[]) {
    super(size);
    this.#worker = worker;
    this.#name = name;
    this.#unlock = unlock;
    this.resumed = resumed;
  }

  async write(index: number, offset: number, bytes: Uint8Array): Promise<void> {
    // Transferred when `bytes` is a whole buffer (a download's piece always is), else copied.
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
    const buffer = whole.buffer as ArrayBuffer;
    await this.#worker.request({ type: 'write', name: this.#name, index, offset, bytes: buffer }, [buffer]);
  }

  async read(start: number, end: number): Promise<Uint8Array> {
    if (this.#file) return new Uint8Array(await (await this.#file).slice(start, end).arrayBuffer());
    const reply = await this.#worker.request({ type: 'read', name: this.#name, start, end });
    return new Uint8Array((reply as Extract<DiskReply, { type: 'read' }>).bytes);
  }

  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await (await this.blob()).arrayBuffer());
  }

  /** Closes the file for writing and resolves with it, as a File backed by disk. */
  blob(): Promise<Blob> {
    this.#file ??= (async () => {
      await this.#worker.request({ type: 'close', name: this.#name });
      const folder = await (await storage()!.getDirectory()).getDirectoryHandle(DISK_DIRECTORY);
      return (await folder.getFileHandle(this.#name)).getFile();
    })();
    return this.#file;
  }

  protected free(): void {
    void this.#worker
      .request({ type: 'delete', name: this.#name })
      .catch(() => {})
      .finally(this.#unlock);
  }
}

/**
 * Deletes what closed tabs left: every download in {@link DISK_DIRECTORY} whose lock
 * nobody holds. Resolves how many it deleted; never rejects.
 */
export async function sweepLeftovers(): Promise<number> {
  const disk = storage();
  if (!disk || !locks()) return 0;
  let swept = 0;
  try {
    const folder = await (await disk.getDirectory()).getDirectoryHandle(DISK_DIRECTORY, { create: true });
    const names = new Set<string>();
    for await (const entry of (folder as unknown as { keys(): AsyncIterable<string> }).keys()) names.add(entry.replace(/\.state$/, ''));
    for (const name of names) {
      const unlock = await tryLock(name);
      if (!unlock) continue;
      try {
        for (const entry of [name, `${name}.state`]) {
          await folder.removeEntry(entry).catch((err: DOMException) => {
            if (err.name !== 'NotFoundError') throw err;
          });
        }
        swept++;
      } finally {
        unlock();
      }
    }
  } catch {
    // A sweep that fails leaves the files for the next one.
  }
  return swept;
}

/** Downloads of `hash` that earlier pages left (locked or not). */
async function leftoversOf(disk: StorageWithDirectory, hash: string): Promise<string[]> {
  const folder = await (await disk.getDirectory()).getDirectoryHandle(DISK_DIRECTORY, { create: true });
  const names: string[] = [];
  for await (const entry of (folder as unknown as { keys(): AsyncIterable<string> }).keys()) {
    if (entry.startsWith(`${hash}.`) && entry.endsWith('.state')) names.push(entry.slice(0, -'.state'.length));
  }
  return names;
}

/** Takes the lock of download `name` if nobody holds it; resolves the function that lets it go, or undefined. */
function tryLock(name: string): Promise<(() => void) | undefined> {
  return new Promise((resolve) => {
    void locks()!.request(`${LOCK_PREFIX}${name}`, { ifAvailable: true }, (lock) => {
      if (!lock) {
        resolve(undefined);
        return;
      }
      return new Promise<void>((release) => resolve(release));
    });
  });
}

function randomSuffix(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, '0')).join('');
}

function formatMiB(bytes: number): string {
  return `${Math.max(0, Math.round(bytes / (1024 * 1024)))} MiB`;
}
