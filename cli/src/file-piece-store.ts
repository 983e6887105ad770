/**
 * Downloads on this machine's disk: a {@link PieceStore} that writes each verified piece
 * where it belongs in a file, so that a fetch holds in memory only the pieces in flight,
 * whatever the file's size. The engine takes it through `EngineConfig.storage`.
 *
 * - {@link OutputFileStorage} (`fetch -o FILE`): pieces go to a partial file next to the
 *   output, `FILE.<hash prefix>.part`, with its {@link PieceState} sidecar, and the partial
 *   file takes the output's name only once every piece checked out, so nothing half-written
 *   ever has that name. A run that stops keeps both, and the next run of the same fetch
 *   resumes from them.
 * - {@link ScratchFileStorage} (`fetch -`): a file in the system's temporary directory,
 *   deleted once the download is read out; small files stay in memory.
 */
import { openAsBlob } from 'node:fs';
import { type FileHandle, link, open, rename, rm, stat, statfs, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { EcdnError, type Manifest, MemoryPieceStore, type PieceStorage, PieceStore } from 'ephemeral-cdn';
import { CliError } from './cli-error.js';
import { PieceState } from './piece-state.js';

/** Files smaller than this are downloaded for stdout in memory (the engine's own threshold for disk). */
export const SCRATCH_THRESHOLD = 32 * 1024 * 1024;

/** What a {@link FilePieceStore} writes to, and what becomes of it. */
interface FileStoreOptions {
  /** The file the pieces are written into. */
  path: string;
  /** Open on `path`, sized to the file. */
  data: FileHandle;
  /** The record of written pieces, for resuming; none for a scratch file. */
  state: PieceState | undefined;
  /** Where the file goes once complete. Undefined: `path` is scratch, deleted when the store is freed. */
  finalPath: string | undefined;
  /** Replace a file that exists at `finalPath` (`--force`). */
  overwrite: boolean;
  /** Pieces an earlier run recorded (see {@link PieceStore.resumed}). */
  resumed: number[];
}

/** A download's pieces in one file on disk. */
export class FilePieceStore extends PieceStore {
  readonly where = 'disk';
  /** The file the pieces are written into: the partial file, or the scratch file. */
  readonly path: string;
  readonly #options: FileStoreOptions;
  /** Writes and reads under way, waited for before the file is closed or moved. */
  readonly #busy = new Set<Promise<unknown>>();
  #completed: Promise<string> | undefined;
  #closed: Promise<void> | undefined;

  constructor(size: number, options: FileStoreOptions) {
    super(size);
    this.path = options.path;
    this.#options = options;
    this.resumed = options.resumed;
  }

  async write(index: number, offset: number, bytes: Uint8Array): Promise<void> {
    await this.#track(async () => {
      this.#assertOpen();
      try {
        let done = 0;
        while (done < bytes.byteLength) {
          const { bytesWritten } = await this.#options.data.write(bytes, done, bytes.byteLength - done, offset + done);
          done += bytesWritten;
        }
      } catch (err) {
        throw diskError(err, this.path);
      }
      await this.#options.state?.mark(index);
    });
  }

  async read(start: number, end: number): Promise<Uint8Array> {
    return this.#track(async () => {
      this.#assertOpen();
      const bytes = new Uint8Array(end - start);
      let done = 0;
      while (done < bytes.byteLength) {
        const { bytesRead } = await this.#options.data.read(bytes, done, bytes.byteLength - done, start + done);
        if (bytesRead === 0) throw new EcdnError('STORAGE', `${this.path} ended at ${start + done} bytes, before ${end}.`);
        done += bytesRead;
      }
      return bytes;
    });
  }

  async bytes(): Promise<Uint8Array> {
    return this.read(0, this.size);
  }

  /** The finished file, read from disk as it is asked for (see {@link complete}). */
  async blob(): Promise<Blob> {
    return openAsBlob(await this.complete());
  }

  /**
   * Once every piece is written: flushes the file and moves it to its final path (an
   * output's), removing the state. Resolves with where the file now is. Runs once.
   */
  complete(): Promise<string> {
    this.#completed ??= this.#track(async () => {
      this.#assertOpen();
      const { data, state, finalPath, overwrite } = this.#options;
      await data.datasync();
      if (!finalPath) return this.path;
      await place(this.path, finalPath, overwrite);
      if (state) {
        await state.close();
        await rm(state.path, { force: true });
      }
      return finalPath;
    });
    return this.#completed;
  }

  /** Settles once the file is closed (and a scratch file deleted) after the store was freed. */
  closed(): Promise<void> {
    return this.#closed ?? Promise.resolve();
  }

  protected free(): void {
    this.#closed = (async () => {
      // The download lets go while a write may still be under way: let it land first.
      while (this.#busy.size > 0) await Promise.allSettled([...this.#busy]);
      await this.#options.data.close().catch(() => {});
      await this.#options.state?.close().catch(() => {});
      if (!this.#options.finalPath) await rm(this.path, { force: true });
    })();
  }

  #assertOpen(): void {
    if (this.destroyed) throw new EcdnError('STORAGE', `${this.path} was closed.`);
  }

  #track<T>(work: () => Promise<T>): Promise<T> {
    const promise = work();
    this.#busy.add(promise);
    const forget = () => this.#busy.delete(promise);
    promise.then(forget, forget);
    return promise;
  }
}

/**
 * Where `fetch -o FILE` downloads: the partial file next to `FILE`, resumed when an
 * earlier run of the same fetch left one, and moved to `FILE` once complete.
 */
export class OutputFileStorage implements PieceStorage {
  /** The output's path. */
  readonly finalPath: string;
  readonly #overwrite: boolean;
  /** The store of the download under way (the latest, should a false manifest have made it start again). */
  store: FilePieceStore | undefined;

  constructor(finalPath: string, options: { overwrite: boolean }) {
    this.finalPath = finalPath;
    this.#overwrite = options.overwrite;
  }

  /** The partial file of a download of `hash` to `finalPath`; its state is this plus `.state`. */
  static partialPathOf(finalPath: string, hash: string): string {
    return join(dirname(finalPath), `${basename(finalPath)}.${hash.slice(0, 12)}.part`);
  }

  async open(manifest: Manifest): Promise<PieceStore> {
    const path = OutputFileStorage.partialPathOf(this.finalPath, manifest.hash);
    const left = await stat(path).catch(() => undefined);
    // A partial file of another size is not this download's: start again.
    const { state, written } = await PieceState.open(`${path}.state`, manifest, left?.size === manifest.size);
    try {
      const resumedBytes = written.reduce((sum, piece) => sum + manifest.pieceLength(piece), 0);
      await checkRoom(dirname(path), manifest.size - resumedBytes, manifest.hash);
      const data = await open(path, written.length > 0 ? 'r+' : 'w+');
      try {
        // Sized at once (sparse where the file system allows), so a piece lands at its offset whatever the order.
        await data.truncate(manifest.size);
      } catch (err) {
        await data.close();
        throw err;
      }
      this.store = new FilePieceStore(manifest.size, {
        path,
        data,
        state,
        finalPath: this.finalPath,
        overwrite: this.#overwrite,
        resumed: written,
      });
      return this.store;
    } catch (err) {
      await state.close();
      throw diskError(err, path);
    }
  }
}

/**
 * Where `fetch -` downloads: in memory under {@link SCRATCH_THRESHOLD}, else in a file of
 * the system's temporary directory (`TMPDIR`), deleted when the download has been read out.
 */
export class ScratchFileStorage implements PieceStorage {
  readonly #dir: string;
  readonly #threshold: number;
  /** The file store of the download under way; undefined while none is on disk. */
  store: FilePieceStore | undefined;

  constructor(options: { dir?: string; threshold?: number } = {}) {
    this.#dir = options.dir ?? tmpdir();
    this.#threshold = options.threshold ?? SCRATCH_THRESHOLD;
  }

  async open(manifest: Manifest): Promise<PieceStore> {
    if (manifest.size < this.#threshold) return new MemoryPieceStore(manifest.size);
    const path = join(this.#dir, `ecdn-${manifest.hash.slice(0, 12)}-${process.pid}-${Date.now().toString(36)}.part`);
    await checkRoom(this.#dir, manifest.size, manifest.hash);
    try {
      const data = await open(path, 'wx+');
      await data.truncate(manifest.size);
      this.store = new FilePieceStore(manifest.size, { path, data, state: undefined, finalPath: undefined, overwrite: false, resumed: [] });
      return this.store;
    } catch (err) {
      await rm(path, { force: true });
      throw diskError(err, path);
    }
  }
}

/** Moves the finished file `from` to `to`, replacing a file there only with `overwrite`. */
async function place(from: string, to: string, overwrite: boolean): Promise<void> {
  if (overwrite) {
    await rename(from, to);
    return;
  }
  try {
    // A hard link fails if `to` exists, where a rename would silently replace it.
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new CliError('OUTPUT_EXISTS', `${to} appeared during the download; the file is kept as ${from}.`);
    // A file system without hard links: check, then rename.
    if (
      await stat(to).then(
        () => true,
        () => false,
      )
    ) {
      throw new CliError('OUTPUT_EXISTS', `${to} appeared during the download; the file is kept as ${from}.`);
    }
    await rename(from, to);
    return;
  }
  await unlink(from);
}

/** Fails with `NO_SPACE` when the file system holding `dir` has less than `needed` bytes free. */
async function checkRoom(dir: string, needed: number, hash: string): Promise<void> {
  const fs = await statfs(dir).catch(() => undefined);
  if (!fs) return;
  const free = fs.bavail * fs.bsize;
  if (free < needed) {
    throw new EcdnError('NO_SPACE', `${hash} needs ${needed} more bytes in ${dir}, which has ${free} free.`, { hash });
  }
}

/** A file system error as the engine reports it: a full disk is `NO_SPACE`. */
function diskError(err: unknown, path: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT')
    return new EcdnError('NO_SPACE', `The disk is full: could not write ${path}.`, { cause: err });
  return err;
}
