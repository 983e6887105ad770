/**
 * The piece manifest of a file: how it is cut into pieces, and the SHA-256 chaining
 * value at the end of each piece, so a consumer can verify (and blame) every piece as
 * it lands, in any order.
 *
 * Piece i checks out when SHA-256, resumed from the chaining value after piece i − 1 (the
 * standard initial value for piece 0), reaches the value listed for piece i after its
 * bytes. The last entry is the file's SHA-256 itself, which is also its address. So once
 * every piece has checked out, the chain has been recomputed from real bytes from the
 * initial value to the address: the whole file is proven without a second pass over it,
 * and a publisher computes the address and the manifest in one pass.
 */
import { EcdnError, parseHash } from './errors.js';
import { HASH_SLICE_SIZE, type ByteSource, type HashInput, bytesToHex, equalBytes, inputSize, readRange, throwIfAborted } from './hash.js';
import { SHA256_BLOCK, Sha256Chain } from './sha256-chain.js';
import { BLOCK_SIZE, MAX_MANIFEST_PIECES, PIECE_HASH_SIZE, type ManifestFrame, pieceCountFor } from './wire.js';

/** Piece count {@link choosePieceSize} stays under, so a MANIFEST frame fits in one message with room to spare. */
export const MAX_PIECE_COUNT = 8000;
/** Smallest piece size {@link choosePieceSize} picks, and the grain small piece sizes are rounded up to. */
export const MIN_PIECE_SIZE = 16 * 1024;
/** Largest piece size a MANIFEST frame can carry (u32), as a whole number of blocks. */
const MAX_BLOCKS_PER_PIECE = Math.floor(0xffff_ffff / BLOCK_SIZE);

/**
 * Piece size for a file of `size` bytes: about an eighth of the file for small files,
 * about 1 MiB (4 blocks) for big ones, bigger for huge ones.
 *
 * A piece is either at most one block or a whole number of blocks, so no piece but the
 * last of the file ends in a tiny block. Rules:
 * - target = ceil(size / 8);
 * - target ≤ BLOCK_SIZE: round up to a multiple of 16 KiB, clamped to [16 KiB, BLOCK_SIZE];
 * - else BLOCK_SIZE × min(4, ceil(target / BLOCK_SIZE)), so 1,048,320 bytes for files over ~8 MiB;
 * - then the multiple doubles until the file has at most {@link MAX_PIECE_COUNT} pieces
 *   (64 GiB gets 64 blocks, 16,773,120 bytes, 4,098 pieces).
 *
 * A 0-byte file gets 16 KiB and has zero pieces: its manifest carries no hash, its
 * bitfield is empty, and a download of it is complete as soon as the manifest is known.
 *
 * Throws `RangeError` past about 34 TB, where the piece size would overflow 32 bits.
 */
export function choosePieceSize(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`size must be a non-negative safe integer, got ${size}.`);
  const target = Math.ceil(size / 8);
  if (target <= BLOCK_SIZE) {
    const rounded = Math.ceil(target / MIN_PIECE_SIZE) * MIN_PIECE_SIZE;
    return Math.min(BLOCK_SIZE, Math.max(MIN_PIECE_SIZE, rounded));
  }
  let multiple = Math.min(4, Math.ceil(target / BLOCK_SIZE));
  while (pieceCountFor(size, multiple * BLOCK_SIZE) > MAX_PIECE_COUNT) {
    multiple *= 2;
    if (multiple > MAX_BLOCKS_PER_PIECE) throw new RangeError(`A file of ${size} bytes is too large for a manifest.`);
  }
  return multiple * BLOCK_SIZE;
}

/** A byte range inside a piece that fits one PIECE frame. */
export interface Block {
  /** Offset inside the piece. */
  offset: number;
  /** 1 to BLOCK_SIZE bytes. */
  length: number;
}

/** What a manifest is made of, as carried by a MANIFEST frame. */
export interface ManifestFields {
  /** SHA-256 of the whole file, 64 hex characters. */
  hash: string;
  /** File size in bytes. */
  size: number;
  /** Bytes per piece; the last piece may be shorter. */
  pieceSize: number;
  /** 32 bytes per piece: the SHA-256 chaining value after it; the last one is the file's SHA-256. */
  chain: Uint8Array;
}

/**
 * A validated piece manifest. Construction checks every field against the others and
 * throws `EcdnError('PROTOCOL')` when they disagree, so a Manifest that exists is consistent.
 */
export class Manifest {
  /** SHA-256 of the whole file, lowercase hex. */
  readonly hash: string;
  /** File size in bytes. */
  readonly size: number;
  /** Bytes per piece; the last piece may be shorter. */
  readonly pieceSize: number;
  /** Number of pieces, 0 for an empty file. */
  readonly pieceCount: number;
  /** The SHA-256 chaining value after every piece, 32 bytes each; the last one is the file's SHA-256. */
  readonly chain: Uint8Array;

  /** Validates `fields`; `chain` is kept as given, not copied. */
  constructor(fields: ManifestFields) {
    this.hash = parseHash(fields.hash);
    this.size = fields.size;
    this.pieceSize = fields.pieceSize;
    this.chain = fields.chain;
    this.pieceCount = Number.isSafeInteger(this.size) && this.pieceSize >= 1 ? pieceCountFor(this.size, this.pieceSize) : 0;
    this.validate();
  }

  /**
   * A manifest from a received MANIFEST frame. The piece hashes are copied, so the
   * manifest does not pin the channel's message buffer.
   * Throws `EcdnError('PROTOCOL')` if the frame is inconsistent.
   */
  static fromFrame(frame: ManifestFrame): Manifest {
    return new Manifest({ hash: frame.hash, size: frame.size, pieceSize: frame.pieceSize, chain: frame.chain.slice() });
  }

  /** The MANIFEST frame that describes this manifest. */
  toFrame(): ManifestFrame {
    return { type: 'MANIFEST', hash: this.hash, size: this.size, pieceSize: this.pieceSize, chain: this.chain };
  }

  /**
   * Checks that size, piece size and chain agree and fit a MANIFEST frame, that pieces
   * end on SHA-256 block boundaries, and that the chain ends at the file's SHA-256.
   * Throws `EcdnError('PROTOCOL')` otherwise. The constructor already calls it.
   */
  validate(): void {
    const bad = (why: string): never => {
      throw new EcdnError('PROTOCOL', `Invalid manifest: ${why}`, { hash: this.hash });
    };
    if (!Number.isSafeInteger(this.size) || this.size < 0) bad(`size ${this.size} is not a non-negative safe integer.`);
    if (!Number.isInteger(this.pieceSize) || this.pieceSize < 1 || this.pieceSize > 0xffff_ffff)
      bad(`piece size ${this.pieceSize} is outside 1..2^32 − 1.`);
    if (this.pieceCount > MAX_MANIFEST_PIECES) bad(`${this.pieceCount} pieces do not fit in one MANIFEST frame.`);
    if (!(this.chain instanceof Uint8Array) || this.chain.byteLength !== this.pieceCount * PIECE_HASH_SIZE) {
      bad(`expected ${this.pieceCount * PIECE_HASH_SIZE} bytes of chaining values, got ${this.chain?.byteLength}.`);
    }
    if (this.pieceCount > 1 && this.pieceSize % SHA256_BLOCK !== 0)
      bad(`piece size ${this.pieceSize} is not a multiple of 64, so pieces cannot be chained.`);
    if (this.pieceCount > 0 && bytesToHex(this.chainValue(this.pieceCount - 1)) !== this.hash)
      bad("the chain does not end at the file's SHA-256.");
  }

  private checkPiece(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.pieceCount) throw new RangeError(`Piece ${i} is outside 0..${this.pieceCount - 1}.`);
  }

  /** Byte range `[start, end)` of piece `i` in the file. */
  pieceRange(i: number): [start: number, end: number] {
    this.checkPiece(i);
    const start = i * this.pieceSize;
    return [start, Math.min(start + this.pieceSize, this.size)];
  }

  /** Length of piece `i` in bytes (only the last piece may be shorter than `pieceSize`). */
  pieceLength(i: number): number {
    const [start, end] = this.pieceRange(i);
    return end - start;
  }

  /** Index of the piece holding byte `offset` of the file. */
  pieceAt(offset: number): number {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.size) throw new RangeError(`Offset ${offset} is outside the file.`);
    return Math.floor(offset / this.pieceSize);
  }

  /** The blocks that cover piece `i` exactly, in order, each at most BLOCK_SIZE bytes. */
  blocks(i: number): Block[] {
    const length = this.pieceLength(i);
    const out: Block[] = [];
    for (let offset = 0; offset < length; offset += BLOCK_SIZE) out.push({ offset, length: Math.min(BLOCK_SIZE, length - offset) });
    return out;
  }

  /** The chaining value after piece `i` (the file's SHA-256 for the last piece), as a view into `chain`. */
  chainValue(i: number): Uint8Array {
    this.checkPiece(i);
    return this.chain.subarray(i * PIECE_HASH_SIZE, (i + 1) * PIECE_HASH_SIZE);
  }

  /**
   * True when `bytes` is exactly piece `i`: the right length, and SHA-256 resumed from
   * the previous piece's chaining value ends at this piece's. Hashes on the calling
   * thread, at about 150 MB/s on the machines we measured.
   */
  async verifyPiece(i: number, bytes: Uint8Array | ArrayBuffer): Promise<boolean> {
    if (bytes.byteLength !== this.pieceLength(i)) return false;
    const chain = await sharedChain();
    chain.resume(i === 0 ? undefined : this.chainValue(i - 1), i * this.pieceSize);
    chain.update(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
    const reached = i === this.pieceCount - 1 ? chain.digest() : chain.chainingValue();
    return equalBytes(reached, this.chainValue(i));
  }
}

let shared: Promise<Sha256Chain> | undefined;

/** One chain for every verification: each call runs to completion without yielding, so they never interleave. */
function sharedChain(): Promise<Sha256Chain> {
  shared ??= Sha256Chain.create();
  return shared;
}

/** Fails before any reading when an explicit piece size could not make a valid manifest. */
function checkedPieceCount(size: number, pieceSize: number): number {
  if (!Number.isInteger(pieceSize) || pieceSize < 1 || pieceSize > 0xffff_ffff)
    throw new RangeError(`pieceSize must be an integer from 1 to 2^32 − 1, got ${pieceSize}.`);
  const count = pieceCountFor(size, pieceSize);
  if (count > MAX_MANIFEST_PIECES) throw new RangeError(`${count} pieces do not fit in one MANIFEST frame; use bigger pieces.`);
  return count;
}

/** Options of {@link buildManifest}. */
export interface BuildManifestOptions {
  /** Overrides {@link choosePieceSize}. */
  pieceSize?: number;
  /** Called as pieces are hashed, with the bytes done so far and the total. */
  onProgress?: (doneBytes: number, total: number) => void;
  /** Stops the work with `EcdnError('ABORTED')`. */
  signal?: AbortSignal;
  /**
   * Bytes read from the input per step, rounded to whole pieces. Default
   * {@link HASH_SLICE_SIZE}, small enough not to block a page for long; a worker reads more.
   */
  sliceSize?: number;
}

/**
 * Computes a file's SHA-256 and its manifest in one pass: the file's address is
 * `manifest.hash`. Reads slices of whole pieces (at least HASH_SLICE_SIZE) with
 * `blob.slice().arrayBuffer()`, never the whole file, reading the next slice while the
 * current one is hashed, and records the chaining value at the end of every piece.
 * Throws `EcdnError('ABORTED')` if `opts.signal` fires.
 */
export async function buildManifest(blob: HashInput | ByteSource, opts: BuildManifestOptions = {}): Promise<Manifest> {
  const { signal, onProgress } = opts;
  const size = inputSize(blob);
  throwIfAborted(signal);
  const builder = await ManifestBuilder.create(size, opts.pieceSize);
  const sliceSize = builder.sliceSize(opts.sliceSize ?? HASH_SLICE_SIZE);
  let pending: Promise<Uint8Array> | undefined = size > 0 ? readRange(blob, 0, Math.min(sliceSize, size)) : undefined;
  try {
    for (let pos = 0; pos < size; ) {
      const slice = await pending!;
      throwIfAborted(signal);
      // A Blob read never comes back short, but a zero-length one would loop forever.
      if (slice.byteLength === 0) throw new Error('The Blob returned fewer bytes than its size.');
      pos += slice.byteLength;
      pending = pos < size ? readRange(blob, pos, Math.min(pos + sliceSize, size)) : undefined;
      builder.update(slice);
      onProgress?.(pos, size);
    }
  } finally {
    pending?.catch(() => {});
  }
  return builder.finish();
}

/**
 * A manifest built from a file's bytes fed in order, in slices of whole pieces (see
 * {@link ManifestBuilder.sliceSize}; the last may be shorter): {@link buildManifest}
 * reads and feeds them itself, and the hashing worker is fed them by the page.
 */
export class ManifestBuilder {
  readonly size: number;
  readonly pieceSize: number;
  readonly #count: number;
  readonly #chain: Uint8Array;
  readonly #hasher: Sha256Chain;
  #piece = 0;
  #fed = 0;

  private constructor(size: number, pieceSize: number, hasher: Sha256Chain) {
    this.size = size;
    this.pieceSize = pieceSize;
    this.#count = checkedPieceCount(size, pieceSize);
    if (this.#count > 1 && pieceSize % SHA256_BLOCK !== 0) throw new RangeError(`pieceSize must be a multiple of 64, got ${pieceSize}.`);
    this.#chain = new Uint8Array(this.#count * PIECE_HASH_SIZE);
    this.#hasher = hasher;
  }

  /** A builder for a file of `size` bytes, cut into pieces of `pieceSize` (default {@link choosePieceSize}). */
  static async create(size: number, pieceSize = choosePieceSize(size)): Promise<ManifestBuilder> {
    checkedPieceCount(size, pieceSize);
    // A chain of its own: the shared one is for verification, and this one yields between slices.
    return new ManifestBuilder(size, pieceSize, await Sha256Chain.create());
  }

  /** The slice size to feed: `about` bytes rounded down to whole pieces, at least one. */
  sliceSize(about: number): number {
    return Math.max(1, Math.floor(about / this.pieceSize)) * this.pieceSize;
  }

  /** Feeds the next bytes of the file: whole pieces, unless they end the file. */
  update(slice: Uint8Array): void {
    if (slice.byteLength % this.pieceSize !== 0 && this.#fed + slice.byteLength !== this.size) {
      throw new RangeError(`A slice of ${slice.byteLength} bytes is not whole pieces of ${this.pieceSize}.`);
    }
    for (let off = 0; off < slice.byteLength; off += this.pieceSize, this.#piece++) {
      this.#hasher.update(slice.subarray(off, Math.min(off + this.pieceSize, slice.byteLength)));
      if (this.#piece < this.#count - 1) this.#chain.set(this.#hasher.chainingValue(), this.#piece * PIECE_HASH_SIZE);
    }
    this.#fed += slice.byteLength;
  }

  /** The manifest, once every byte was fed. */
  finish(): Manifest {
    if (this.#fed !== this.size) throw new RangeError(`Fed ${this.#fed} of ${this.size} bytes.`);
    const digest = this.#hasher.digest();
    if (this.#count > 0) this.#chain.set(digest, (this.#count - 1) * PIECE_HASH_SIZE);
    return new Manifest({ hash: bytesToHex(digest), size: this.size, pieceSize: this.pieceSize, chain: this.#chain });
  }
}
