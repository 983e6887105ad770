/**
 * The sidecar of a partial download (`<partial file>.state`): which pieces were written
 * to the partial file, and under which manifest, so that a run interrupted (Ctrl-C, a lost
 * network, a closed laptop) resumes where it stopped. The browser's disk store keeps the
 * same record in its private file system (src/engine/disk-worker.ts).
 *
 * Layout, numbers big-endian:
 *
 * | bytes | what |
 * |---|---|
 * | 8 | `ECDNPRT1`, the format |
 * | 32 | the file's SHA-256 |
 * | 8 | size |
 * | 4 | piece size |
 * | 4 | piece count *n* |
 * | 32 × *n* | the manifest's chain: SHA-256 chaining value after each piece |
 * | *n* | one byte per piece: 1 once written |
 *
 * A piece is marked only after its bytes were written, and a resumed piece is verified
 * against the manifest again before it counts, so a state that claims too much (the
 * machine lost power between the two writes) costs a download of that piece, never a
 * wrong byte.
 */
import { type FileHandle, open, readFile } from 'node:fs/promises';
import type { Manifest } from 'ephemeral-cdn';

const MAGIC = new TextEncoder().encode('ECDNPRT1');
const HEADER_FIXED = MAGIC.length + 32 + 8 + 4 + 4;
const WRITTEN = new Uint8Array([1]);

/** The header that identifies the download: its format, hash and manifest. */
function headerOf(manifest: Manifest): Uint8Array {
  const header = new Uint8Array(HEADER_FIXED + manifest.chain.byteLength);
  const view = new DataView(header.buffer);
  header.set(MAGIC, 0);
  let at = MAGIC.length;
  for (let i = 0; i < 32; i++) header[at + i] = Number.parseInt(manifest.hash.slice(2 * i, 2 * i + 2), 16);
  at += 32;
  view.setBigUint64(at, BigInt(manifest.size));
  view.setUint32(at + 8, manifest.pieceSize);
  view.setUint32(at + 12, manifest.pieceCount);
  header.set(manifest.chain, HEADER_FIXED);
  return header;
}

/** The written-piece record of one partial download, open for marking pieces. */
export class PieceState {
  readonly path: string;
  readonly #handle: FileHandle;
  readonly #flagsAt: number;
  closed = false;

  private constructor(path: string, handle: FileHandle, flagsAt: number) {
    this.path = path;
    this.#handle = handle;
    this.#flagsAt = flagsAt;
  }

  /**
   * Opens the state at `path` for `manifest`: with `resume`, as an earlier run left it, and
   * resolves the pieces it recorded; a state that is missing, damaged or of another
   * manifest is started afresh (no piece), as is any state without `resume`.
   */
  static async open(path: string, manifest: Manifest, resume: boolean): Promise<{ state: PieceState; written: number[] }> {
    const header = headerOf(manifest);
    const saved = resume ? await readFile(path).catch(() => undefined) : undefined;
    const same = saved?.byteLength === header.byteLength + manifest.pieceCount && header.every((byte, i) => byte === saved[i]);
    const handle = await open(path, same ? 'r+' : 'w+');
    try {
      if (!same) {
        await handle.write(header, 0, header.byteLength, 0);
        await handle.write(new Uint8Array(manifest.pieceCount), 0, manifest.pieceCount, header.byteLength);
      }
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
    const flags = saved && same ? saved.subarray(header.byteLength) : new Uint8Array(0);
    const written = [...flags].flatMap((flag, piece) => (flag === 1 ? [piece] : []));
    return { state: new PieceState(path, handle, header.byteLength), written };
  }

  /** Records piece `index` as written (its bytes must be written first). */
  async mark(index: number): Promise<void> {
    await this.#handle.write(WRITTEN, 0, 1, this.#flagsAt + index);
  }

  /** Closes the record, keeping it on disk for the next run. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.#handle.close();
  }
}
