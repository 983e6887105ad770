import { readBlob } from './blob-reader.js';
import type { ByteSource } from './hash.js';
import type { Manifest } from './manifest.js';
import type { PieceStore } from './piece-store.js';
import type { PeerLink } from './peer-link.js';
import { encodeBitfield } from './wire.js';

/**
 * Bytes of whole pieces kept after a Blob read (at least two pieces). Peers ask for a
 * piece a block at a time, and one read of a whole piece costs about half as much as a
 * read per block: `Blob.slice` is synchronous and waits on the browser process, which
 * is busy relaying the very traffic being served.
 */
export const PIECE_CACHE_BYTES = 16 * 1024 * 1024;
/**
 * Bytes of the following pieces read at once when a peer reads a Blob's pieces in order:
 * the next read is under way while this one is served, so that the channel never waits
 * on the disk, and a quarter as many `Blob.slice` calls block the page.
 */
export const READ_AHEAD_BYTES = 4 * 1024 * 1024;
/** A peer served a block within this long counts as downloading from this page. */
export const DOWNLOADER_WINDOW_MS = 3_000;

/**
 * One file this page holds, whole (seeded, or fetched and kept) or in part (a
 * download under way): what it can serve and to whom it owes HAVE news.
 */
export class HeldFile {
  readonly hash: string;
  /** Resolves to the piece manifest. A seeded file computes it in the background. */
  readonly manifest: Promise<Manifest>;
  /** True when every piece is here. */
  complete: boolean;
  /** True once this page stopped holding the file. */
  destroyed = false;
  /** File size in bytes, once the manifest is known. */
  size: number | undefined;
  /** Links that asked for this file's manifest, and so want HAVE and LOST frames. */
  readonly interested = new Set<PeerLink>();
  /** Payload bytes of this file served to peers. */
  bytesUp = 0;
  /** When each link was last served a block of this file. */
  readonly #lastServed = new Map<PeerLink, number>();

  /** Whole-file bytes, when complete: a Blob, so that reads slice it instead of copying it. */
  #blob: Blob | undefined;
  /** Whole-file bytes made on demand (a private share's ciphertext, see private-share.ts), when complete. */
  #source: ByteSource | undefined;
  /** The download's store: where a partial copy's verified pieces are read from. */
  #partial: PieceStore | undefined;
  /** The download's store, held until destroyed: its file may back {@link #blob} once complete. */
  #store: PieceStore | undefined;
  /** Lets go of {@link #store}. */
  #releaseStore: (() => void) | undefined;
  #have: Uint8Array | undefined;
  #haveCount = 0;
  /** The manifest, once resolved. */
  #pieceLayout: Manifest | undefined;
  /** Recently read pieces of the Blob, least recently used first. */
  readonly #pieces = new Map<number, Promise<Uint8Array>>();
  #cachedBytes = 0;

  private constructor(hash: string, manifest: Promise<Manifest>, complete: boolean) {
    this.hash = hash;
    this.manifest = manifest;
    this.complete = complete;
    manifest
      .then((m) => {
        this.size = m.size;
        this.#pieceLayout = m;
      })
      .catch(() => {});
  }

  /** A file held whole from the start. */
  static fromBlob(hash: string, blob: Blob, manifest: Promise<Manifest>): HeldFile {
    const swarm = new HeldFile(hash, manifest, true);
    swarm.#blob = blob;
    swarm.size = blob.size;
    return swarm;
  }

  /**
   * A file held whole whose bytes are made when read: a private share this page seeds,
   * encrypted from the plaintext a piece at a time, so that the ciphertext is never stored.
   */
  static fromSource(hash: string, source: ByteSource, manifest: Promise<Manifest>): HeldFile {
    const swarm = new HeldFile(hash, manifest, true);
    swarm.#source = source;
    swarm.size = source.size;
    return swarm;
  }

  /** A download in progress, whose verified pieces can already be served from `store`, which it holds until destroyed. */
  static partial(manifest: Manifest, store: PieceStore): HeldFile {
    const swarm = new HeldFile(manifest.hash, Promise.resolve(manifest), false);
    swarm.#partial = store;
    swarm.#store = store;
    swarm.#releaseStore = store.retain();
    swarm.#have = new Uint8Array(manifest.pieceCount);
    return swarm;
  }

  /** The store the file was downloaded into, while this holds it. */
  get store(): PieceStore | undefined {
    return this.#store;
  }

  /** The whole file, once complete: a disk-backed Blob for a file seeded from disk or kept on disk. */
  get blob(): Blob | undefined {
    return this.complete ? this.#blob : undefined;
  }

  /** True when piece `i` is here and verified. */
  has(i: number): boolean {
    return this.complete || this.#have?.[i] === 1;
  }

  /** Marks piece `i` verified; its bytes are already in the partial buffer. */
  markHave(i: number): void {
    if (!this.#have || this.#have[i] === 1) return;
    this.#have[i] = 1;
    this.#haveCount++;
  }

  /** True when at least one piece can be served. */
  get hasPieces(): boolean {
    return this.complete || this.#haveCount > 0;
  }

  /** Marks the whole file present, served from `blob` from now on (the store's own file, for a disk store). */
  completeWith(blob: Blob): void {
    this.complete = true;
    this.#blob = blob;
    this.#partial = undefined;
    this.#have = undefined;
    this.#pieces.clear();
    this.#cachedBytes = 0;
  }

  /** A BITFIELD of what is here. */
  bitfield(pieceCount: number): Uint8Array {
    return encodeBitfield((i) => this.has(i), pieceCount);
  }

  /**
   * Reads `[start, end)` of the file, which must lie in pieces that are here. A range
   * inside one piece of a Blob is served from a read of the whole piece, kept for the
   * piece's next blocks (see {@link PIECE_CACHE_BYTES}). Do not modify the result.
   */
  async read(start: number, end: number): Promise<Uint8Array> {
    const blob = this.#blob;
    const source = this.#source;
    if (blob || source) {
      const whole = blob ? (from: number, to: number) => readBlob(blob, from, to) : (from: number, to: number) => source!.read(from, to);
      const layout = this.#pieceLayout;
      const piece = layout && start < layout.size ? layout.pieceAt(start) : -1;
      const [pieceStart, pieceEnd] = piece < 0 ? [0, 0] : layout!.pieceRange(piece);
      if (piece < 0 || end > pieceEnd) return whole(start, end);
      const bytes = await this.#readPiece(whole, layout!, piece);
      return bytes.subarray(start - pieceStart, end - pieceStart);
    }
    if (this.#partial) return this.#partial.read(start, end);
    throw new Error(`No bytes held for ${this.hash}.`);
  }

  #readPiece(whole: (start: number, end: number) => Promise<Uint8Array>, layout: Manifest, piece: number): Promise<Uint8Array> {
    // A peer that asked for the piece before this one reads the file in order (a stream,
    // or a lone downloader): it gets the next pieces read ahead, a few at a time.
    const sequential = piece > 0 && this.#pieces.has(piece - 1);
    const run = sequential ? Math.max(1, Math.floor(READ_AHEAD_BYTES / layout.pieceSize)) : 1;
    const read = this.#cached(piece) ?? this.#readRun(whole, layout, piece, run);
    if (sequential) {
      const last = Math.min(piece + run, layout.pieceCount - 1);
      for (let next = piece + 1; next <= last; next++) {
        if (this.#pieces.has(next)) continue;
        void this.#readRun(whole, layout, next, run).catch(() => {});
        break;
      }
    }
    return read;
  }

  /** Piece `piece` if it is read or being read, now the most recently used. */
  #cached(piece: number): Promise<Uint8Array> | undefined {
    const cached = this.#pieces.get(piece);
    if (cached) {
      // Most recently used goes last.
      this.#pieces.delete(piece);
      this.#pieces.set(piece, cached);
    }
    return cached;
  }

  /**
   * Reads up to `count` pieces from `first` (stopping before one already here) in one
   * read, keeps each, and resolves the first.
   */
  #readRun(
    whole: (start: number, end: number) => Promise<Uint8Array>,
    layout: Manifest,
    first: number,
    count: number,
  ): Promise<Uint8Array> {
    let end = first + 1;
    while (end < first + count && end < layout.pieceCount && !this.#pieces.has(end)) end++;
    const [start] = layout.pieceRange(first);
    const [, stop] = layout.pieceRange(end - 1);
    const all = whole(start, stop);
    let result: Promise<Uint8Array> | undefined;
    for (let piece = first; piece < end; piece++) {
      const [from, to] = layout.pieceRange(piece);
      const read = all.then((bytes) => bytes.subarray(from - start, to - start));
      // A failed read is not kept, so that the next request tries again.
      read.catch(() => this.#forget(piece, read));
      this.#pieces.set(piece, read);
      this.#cachedBytes += to - from;
      result ??= read;
    }
    for (const [old, oldRead] of this.#pieces) {
      if (this.#cachedBytes <= PIECE_CACHE_BYTES || this.#pieces.size <= 2) break;
      this.#forget(old, oldRead);
    }
    return result!;
  }

  #forget(piece: number, read: Promise<Uint8Array>): void {
    if (this.#pieces.get(piece) !== read) return;
    this.#pieces.delete(piece);
    this.#cachedBytes -= this.#pieceLayout!.pieceLength(piece);
  }

  /** Records a block of this file served to `link`. */
  served(link: PeerLink, bytes: number): void {
    this.bytesUp += bytes;
    this.#lastServed.set(link, Date.now());
  }

  /** Peers served a block of this file within the last `windowMs`: the ones downloading it from this page now. */
  downloaders(windowMs = DOWNLOADER_WINDOW_MS): number {
    const since = Date.now() - windowMs;
    let count = 0;
    for (const [link, at] of this.#lastServed) {
      if (link.destroyed) this.#lastServed.delete(link);
      else if (at >= since) count++;
    }
    return count;
  }

  /** Tells every interested link the file is gone from this page. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const link of this.interested) link.send({ type: 'LOST', hash: this.hash });
    this.interested.clear();
    this.#blob = undefined;
    this.#source = undefined;
    this.#partial = undefined;
    this.#pieces.clear();
    this.#cachedBytes = 0;
    this.#releaseStore?.();
    this.#store = undefined;
  }
}
