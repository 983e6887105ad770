/**
 * The binary framing spoken on a data channel between two peers.
 *
 * One channel per pair of peers carries every file they share, so every frame but
 * HANDSHAKE names its file by its SHA-256 (32 raw bytes on the wire, hex in memory).
 * Integers are big-endian. The first byte is the frame type:
 *
 * | type | frame            | body after the type byte                                   |
 * |------|------------------|------------------------------------------------------------|
 * | 1    | HANDSHAKE        | version u16, features u32                                  |
 * | 2    | MANIFEST_REQUEST | hash                                                       |
 * | 3    | MANIFEST         | hash, size u64, pieceSize u32, chain: 32 bytes per piece   |
 * | 4    | BITFIELD         | hash, pieceCount u32, ceil(pieceCount / 8) bytes, MSB first |
 * | 5    | HAVE             | hash, piece u32                                            |
 * | 6    | REQUEST          | hash, piece u32, offset u32, length u32                    |
 * | 7    | PIECE            | hash, piece u32, offset u32, data (the rest, ≤ BLOCK_SIZE)  |
 * | 8    | CANCEL           | hash, piece u32, offset u32, length u32                    |
 * | 9    | REJECT           | hash, piece u32, offset u32, length u32, reason u8         |
 * | 10   | LOST             | hash                                                       |
 *
 * HANDSHAKE feature bits: 1 = lanes (`peer-link.ts`, `FEATURE_LANES`; docs/engine.md
 * describes them). Receivers ignore bits they do not know.
 *
 * A MANIFEST's chain lists the SHA-256 chaining value after each piece, the last one
 * being the file's SHA-256 (see `manifest.ts`).
 *
 * {@link decodeFrame} is the one place where bytes from a stranger are trusted to have a
 * shape, so it checks every length and throws only `EcdnError('PROTOCOL')`.
 */
import { EcdnError } from './errors.js';
import { bytesToHex, hexToBytes } from './hash.js';

/** Largest message a data channel accepts here; a bigger `send` throws. */
export const MAX_MESSAGE = 262_144;
/** Largest data payload of one PIECE frame: MAX_MESSAGE less the 41-byte header, rounded down to a multiple of 64. */
export const BLOCK_SIZE = 262_080;
/** Version sent in HANDSHAKE. Bump it when a frame changes meaning. */
export const PROTOCOL_VERSION = 2;
/** The `piece` of a REJECT that answers a MANIFEST_REQUEST rather than a REQUEST. */
export const MANIFEST_PIECE = 0xffff_ffff;
/** Bytes of one piece hash in a MANIFEST frame. */
export const PIECE_HASH_SIZE = 32;

const HASH_SIZE = 32;
const U32 = 0x1_0000_0000;
const MANIFEST_HEADER = 1 + HASH_SIZE + 8 + 4;
const PIECE_HEADER = 1 + HASH_SIZE + 4 + 4;
/** Most pieces one MANIFEST frame can describe (8,190). */
export const MAX_MANIFEST_PIECES = Math.floor((MAX_MESSAGE - MANIFEST_HEADER) / PIECE_HASH_SIZE);

const TYPE_CODES = {
  HANDSHAKE: 1,
  MANIFEST_REQUEST: 2,
  MANIFEST: 3,
  BITFIELD: 4,
  HAVE: 5,
  REQUEST: 6,
  PIECE: 7,
  CANCEL: 8,
  REJECT: 9,
  LOST: 10,
} as const;

const REASON_CODES = { NOT_FOUND: 1, NOT_HAVE: 2, BUSY: 3 } as const;
const REASONS = ['NOT_FOUND', 'NOT_HAVE', 'BUSY'] as const;

/** Why a REQUEST or MANIFEST_REQUEST will not be served. */
export type RejectReason = (typeof REASONS)[number];

/** First frame on a new channel, both ways. */
export interface HandshakeFrame {
  type: 'HANDSHAKE';
  /** {@link PROTOCOL_VERSION} of the sender. */
  version: number;
  /** Bit set of optional features; receivers ignore bits they do not know. */
  features: number;
}

/** Asks for the piece manifest of a file. */
export interface ManifestRequestFrame {
  type: 'MANIFEST_REQUEST';
  hash: string;
}

/** The piece manifest of a file: its size, piece size and the SHA-256 of every piece. */
export interface ManifestFrame {
  type: 'MANIFEST';
  hash: string;
  /** File size in bytes, at most `Number.MAX_SAFE_INTEGER`. */
  size: number;
  /** Bytes per piece (the last piece may be shorter), 1 to 2^32 − 1. */
  pieceSize: number;
  /** 32 bytes per piece, `pieceCountFor(size, pieceSize)` pieces. A view into the received message. */
  chain: Uint8Array;
}

/** Which pieces of a file the sender holds, verified. */
export interface BitfieldFrame {
  type: 'BITFIELD';
  hash: string;
  pieceCount: number;
  /** `ceil(pieceCount / 8)` bytes, piece 0 in the high bit of byte 0, spare bits zero. */
  bits: Uint8Array;
}

/** The sender has verified one more piece. */
export interface HaveFrame {
  type: 'HAVE';
  hash: string;
  piece: number;
}

/** A byte range inside one piece of one file. */
export interface BlockRef {
  hash: string;
  piece: number;
  /** Byte offset inside the piece. */
  offset: number;
  /** 1 to {@link BLOCK_SIZE} bytes (0 only in a REJECT of a MANIFEST_REQUEST). */
  length: number;
}

/** Asks for one block. */
export interface RequestFrame extends BlockRef {
  type: 'REQUEST';
}

/** One block of data, answering a REQUEST. */
export interface PieceFrame {
  type: 'PIECE';
  hash: string;
  piece: number;
  offset: number;
  /** 1 to {@link BLOCK_SIZE} bytes; decoded as a view into the received message, without a copy. */
  data: Uint8Array;
}

/** Withdraws a REQUEST; the block may still arrive if it was already sent. */
export interface CancelFrame extends BlockRef {
  type: 'CANCEL';
}

/** A REQUEST (or, with `piece = MANIFEST_PIECE`, a MANIFEST_REQUEST) that will not be served. */
export interface RejectFrame extends BlockRef {
  type: 'REJECT';
  reason: RejectReason;
}

/** The sender no longer holds this file (it stopped seeding). */
export interface LostFrame {
  type: 'LOST';
  hash: string;
}

/** Every frame, discriminated by `type`. */
export type Frame =
  | HandshakeFrame
  | ManifestRequestFrame
  | ManifestFrame
  | BitfieldFrame
  | HaveFrame
  | RequestFrame
  | PieceFrame
  | CancelFrame
  | RejectFrame
  | LostFrame;

/** The `type` of a {@link Frame}. */
export type FrameType = Frame['type'];

/**
 * Number of pieces of a file of `size` bytes cut into `pieceSize` pieces.
 * A 0-byte file has no piece at all.
 */
export function pieceCountFor(size: number, pieceSize: number): number {
  return size === 0 ? 0 : Math.ceil(size / pieceSize);
}

// --- encoding -------------------------------------------------------------------------

function checkUint(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be an integer from 0 to ${max}, got ${value}.`);
  }
}

function frameOf(code: number, length: number): { bytes: Uint8Array<ArrayBuffer>; view: DataView } {
  const bytes = new Uint8Array(length);
  bytes[0] = code;
  return { bytes, view: new DataView(bytes.buffer) };
}

function checkBlock(b: { piece: number; offset: number; length: number }, allowManifest: boolean): void {
  if (allowManifest && b.piece === MANIFEST_PIECE && b.offset === 0 && b.length === 0) return;
  checkUint('piece', b.piece, MANIFEST_PIECE - 1);
  checkUint('offset', b.offset, U32 - 1);
  checkUint('length', b.length, BLOCK_SIZE);
  if (b.length === 0) throw new RangeError('length must be at least 1.');
  if (b.offset + b.length > U32) throw new RangeError('offset + length must fit in 32 bits.');
}

function encodeBlockFrame(code: number, b: BlockRef, extra: number): { bytes: Uint8Array<ArrayBuffer>; view: DataView } {
  const f = frameOf(code, 1 + HASH_SIZE + 12 + extra);
  hexToBytes(b.hash, f.bytes, 1);
  f.view.setUint32(33, b.piece);
  f.view.setUint32(37, b.offset);
  f.view.setUint32(41, b.length);
  return f;
}

/**
 * Encodes a frame into one exactly sized buffer (`result.byteOffset` is 0, so
 * `result.buffer` may be sent as well). A PIECE's data is copied once, into that buffer.
 *
 * Throws `RangeError` for out-of-range numbers and `EcdnError('INVALID_HASH')` for a bad
 * hash: both are bugs of the caller, never of a peer.
 */
export function encodeFrame(frame: Frame): Uint8Array<ArrayBuffer> {
  switch (frame.type) {
    case 'HANDSHAKE': {
      checkUint('version', frame.version, 0xffff);
      checkUint('features', frame.features, U32 - 1);
      const f = frameOf(TYPE_CODES.HANDSHAKE, 7);
      f.view.setUint16(1, frame.version);
      f.view.setUint32(3, frame.features);
      return f.bytes;
    }
    case 'MANIFEST_REQUEST':
    case 'LOST': {
      const f = frameOf(TYPE_CODES[frame.type], 1 + HASH_SIZE);
      hexToBytes(frame.hash, f.bytes, 1);
      return f.bytes;
    }
    case 'MANIFEST': {
      checkUint('size', frame.size, Number.MAX_SAFE_INTEGER);
      checkUint('pieceSize', frame.pieceSize, U32 - 1);
      if (frame.pieceSize === 0) throw new RangeError('pieceSize must be at least 1.');
      const count = pieceCountFor(frame.size, frame.pieceSize);
      if (count > MAX_MANIFEST_PIECES)
        throw new RangeError(`${count} pieces do not fit in one MANIFEST frame (at most ${MAX_MANIFEST_PIECES}).`);
      if (frame.chain.byteLength !== count * PIECE_HASH_SIZE) {
        throw new RangeError(`chain must hold ${count * PIECE_HASH_SIZE} bytes, got ${frame.chain.byteLength}.`);
      }
      const f = frameOf(TYPE_CODES.MANIFEST, MANIFEST_HEADER + frame.chain.byteLength);
      hexToBytes(frame.hash, f.bytes, 1);
      f.view.setUint32(33, Math.floor(frame.size / U32));
      f.view.setUint32(37, frame.size % U32);
      f.view.setUint32(41, frame.pieceSize);
      f.bytes.set(frame.chain, MANIFEST_HEADER);
      return f.bytes;
    }
    case 'BITFIELD': {
      checkUint('pieceCount', frame.pieceCount, U32 - 1);
      const len = Math.ceil(frame.pieceCount / 8);
      if (frame.bits.byteLength !== len)
        throw new RangeError(`bits must hold ${len} bytes for ${frame.pieceCount} pieces, got ${frame.bits.byteLength}.`);
      if (1 + HASH_SIZE + 4 + len > MAX_MESSAGE) throw new RangeError('The bitfield does not fit in one message.');
      const f = frameOf(TYPE_CODES.BITFIELD, 1 + HASH_SIZE + 4 + len);
      hexToBytes(frame.hash, f.bytes, 1);
      f.view.setUint32(33, frame.pieceCount);
      f.bytes.set(frame.bits, 37);
      // Spare bits must be zero on the wire; mask them rather than trust the caller.
      if (frame.pieceCount % 8 !== 0) f.bytes[36 + len] = f.bytes[36 + len]! & (0xff00 >> (frame.pieceCount % 8));
      return f.bytes;
    }
    case 'HAVE': {
      checkUint('piece', frame.piece, MANIFEST_PIECE - 1);
      const f = frameOf(TYPE_CODES.HAVE, 1 + HASH_SIZE + 4);
      hexToBytes(frame.hash, f.bytes, 1);
      f.view.setUint32(33, frame.piece);
      return f.bytes;
    }
    case 'REQUEST':
    case 'CANCEL':
      checkBlock(frame, false);
      return encodeBlockFrame(TYPE_CODES[frame.type], frame, 0).bytes;
    case 'REJECT': {
      checkBlock(frame, true);
      const code = REASON_CODES[frame.reason];
      if (code === undefined) throw new RangeError(`Unknown reject reason ${String(frame.reason)}.`);
      const f = encodeBlockFrame(TYPE_CODES.REJECT, frame, 1);
      f.bytes[45] = code;
      return f.bytes;
    }
    case 'PIECE': {
      checkUint('piece', frame.piece, MANIFEST_PIECE - 1);
      checkUint('offset', frame.offset, U32 - 1);
      const n = frame.data.byteLength;
      if (n === 0 || n > BLOCK_SIZE) throw new RangeError(`A PIECE carries 1 to ${BLOCK_SIZE} bytes, got ${n}.`);
      if (frame.offset + n > U32) throw new RangeError('offset + length must fit in 32 bits.');
      const f = frameOf(TYPE_CODES.PIECE, PIECE_HEADER + n);
      hexToBytes(frame.hash, f.bytes, 1);
      f.view.setUint32(33, frame.piece);
      f.view.setUint32(37, frame.offset);
      f.bytes.set(frame.data, PIECE_HEADER);
      return f.bytes;
    }
    default:
      throw new RangeError(`Unknown frame type ${String((frame as { type: unknown }).type)}.`);
  }
}

/**
 * Packs "do I hold piece i" for `count` pieces into bitfield bytes: piece 0 in the
 * high bit of byte 0, as in BitTorrent.
 */
export function encodeBitfield(have: (i: number) => boolean, count: number): Uint8Array<ArrayBuffer> {
  checkUint('count', count, U32 - 1);
  const bits = new Uint8Array(Math.ceil(count / 8));
  for (let i = 0; i < count; i++) if (have(i)) bits[i >> 3] = bits[i >> 3]! | (0x80 >> (i & 7));
  return bits;
}

/** True when bitfield `bits` marks piece `i` (false past its end). */
export function bitfieldHas(bits: Uint8Array, i: number): boolean {
  const byte = bits[i >> 3];
  return byte !== undefined && i >= 0 && (byte & (0x80 >> (i & 7))) !== 0;
}

// --- decoding -------------------------------------------------------------------------

function fail(message: string): never {
  throw new EcdnError('PROTOCOL', `Malformed frame: ${message}`);
}

function toBytes(input: unknown): Uint8Array {
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  return fail(`expected binary data, got ${input === null ? 'null' : typeof input}.`);
}

function expectLength(bytes: Uint8Array, length: number, name: string): void {
  if (bytes.byteLength !== length) fail(`${name} must be ${length} bytes, got ${bytes.byteLength}.`);
}

function readBlock(bytes: Uint8Array, view: DataView, name: string, allowManifest: boolean): BlockRef {
  const hash = bytesToHex(bytes.subarray(1, 33));
  const piece = view.getUint32(33);
  const offset = view.getUint32(37);
  const length = view.getUint32(41);
  if (allowManifest && piece === MANIFEST_PIECE) {
    if (offset !== 0 || length !== 0) fail(`${name} of a manifest must have offset and length 0.`);
  } else {
    if (piece === MANIFEST_PIECE) fail(`${name} names the reserved piece ${MANIFEST_PIECE}.`);
    if (length === 0 || length > BLOCK_SIZE) fail(`${name} length ${length} is outside 1..${BLOCK_SIZE}.`);
    if (offset + length > U32) fail(`${name} range ends past 2^32.`);
  }
  return { hash, piece, offset, length };
}

/**
 * Decodes one message received on a data channel.
 *
 * Throws `EcdnError('PROTOCOL')`, and nothing else, for anything malformed: an unknown
 * type, a wrong length, trailing bytes, an out-of-range number, a PIECE larger than
 * {@link BLOCK_SIZE}, a bitfield whose length does not match its count or whose spare
 * bits are set, a manifest whose hash count does not match its size.
 * It allocates nothing whose size a peer controls: PIECE data, manifest hashes and
 * bitfield bits are views into `input`, so they are valid as long as `input` is not reused.
 */
export function decodeFrame(input: ArrayBuffer | ArrayBufferView): Frame {
  try {
    return decodeChecked(input);
  } catch (err) {
    if (err instanceof EcdnError) throw err;
    // Only exotic inputs get here (a detached buffer, a hostile view); the contract still holds.
    throw new EcdnError('PROTOCOL', `Malformed frame: ${String(err)}`, { cause: err });
  }
}

function decodeChecked(input: unknown): Frame {
  const bytes = toBytes(input);
  if (bytes.byteLength === 0) fail('empty message.');
  if (bytes.byteLength > MAX_MESSAGE) fail(`${bytes.byteLength} bytes is more than ${MAX_MESSAGE}.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const code = bytes[0]!;
  // Every frame but HANDSHAKE starts with a hash, so check that much once.
  if (code !== TYPE_CODES.HANDSHAKE && code >= 2 && code <= 10 && bytes.byteLength < 1 + HASH_SIZE) {
    fail(`type ${code} is truncated (${bytes.byteLength} bytes).`);
  }
  switch (code) {
    case TYPE_CODES.HANDSHAKE:
      expectLength(bytes, 7, 'HANDSHAKE');
      return { type: 'HANDSHAKE', version: view.getUint16(1), features: view.getUint32(3) };
    case TYPE_CODES.MANIFEST_REQUEST:
      expectLength(bytes, 33, 'MANIFEST_REQUEST');
      return { type: 'MANIFEST_REQUEST', hash: bytesToHex(bytes.subarray(1, 33)) };
    case TYPE_CODES.LOST:
      expectLength(bytes, 33, 'LOST');
      return { type: 'LOST', hash: bytesToHex(bytes.subarray(1, 33)) };
    case TYPE_CODES.MANIFEST: {
      if (bytes.byteLength < MANIFEST_HEADER) fail(`MANIFEST is truncated (${bytes.byteLength} bytes).`);
      const high = view.getUint32(33);
      const low = view.getUint32(37);
      // 2^53 − 1 has 21 bits in its high word; anything above would lose precision.
      if (high > 0x1f_ffff) fail('MANIFEST size is larger than 2^53 − 1.');
      const size = high * U32 + low;
      const pieceSize = view.getUint32(41);
      if (pieceSize === 0) fail('MANIFEST piece size is 0.');
      const hashBytes = bytes.byteLength - MANIFEST_HEADER;
      if (hashBytes % PIECE_HASH_SIZE !== 0) fail(`MANIFEST hashes take ${hashBytes} bytes, not a multiple of 32.`);
      const count = hashBytes / PIECE_HASH_SIZE;
      // Compared as products, which stay exact below 2^53 because count ≤ 8,190.
      const consistent = size === 0 ? count === 0 : count > 0 && count * pieceSize >= size && (count - 1) * pieceSize < size;
      if (!consistent) fail(`MANIFEST has ${count} piece hashes for ${size} bytes in pieces of ${pieceSize}.`);
      return {
        type: 'MANIFEST',
        hash: bytesToHex(bytes.subarray(1, 33)),
        size,
        pieceSize,
        chain: bytes.subarray(MANIFEST_HEADER),
      };
    }
    case TYPE_CODES.BITFIELD: {
      if (bytes.byteLength < 37) fail(`BITFIELD is truncated (${bytes.byteLength} bytes).`);
      const pieceCount = view.getUint32(33);
      const len = bytes.byteLength - 37;
      if (len !== Math.ceil(pieceCount / 8)) fail(`BITFIELD has ${len} bytes for ${pieceCount} pieces.`);
      const bits = bytes.subarray(37);
      if (pieceCount % 8 !== 0 && (bits[len - 1]! & (0xff >> (pieceCount % 8))) !== 0) fail('BITFIELD has spare bits set.');
      return { type: 'BITFIELD', hash: bytesToHex(bytes.subarray(1, 33)), pieceCount, bits };
    }
    case TYPE_CODES.HAVE: {
      expectLength(bytes, 37, 'HAVE');
      const piece = view.getUint32(33);
      if (piece === MANIFEST_PIECE) fail(`HAVE names the reserved piece ${MANIFEST_PIECE}.`);
      return { type: 'HAVE', hash: bytesToHex(bytes.subarray(1, 33)), piece };
    }
    case TYPE_CODES.REQUEST:
      expectLength(bytes, 45, 'REQUEST');
      return { type: 'REQUEST', ...readBlock(bytes, view, 'REQUEST', false) };
    case TYPE_CODES.CANCEL:
      expectLength(bytes, 45, 'CANCEL');
      return { type: 'CANCEL', ...readBlock(bytes, view, 'CANCEL', false) };
    case TYPE_CODES.REJECT: {
      expectLength(bytes, 46, 'REJECT');
      const block = readBlock(bytes, view, 'REJECT', true);
      const reason = REASONS[bytes[45]! - 1];
      if (reason === undefined) fail(`REJECT has unknown reason ${bytes[45]}.`);
      return { type: 'REJECT', ...block, reason };
    }
    case TYPE_CODES.PIECE: {
      if (bytes.byteLength < PIECE_HEADER + 1) fail(`PIECE is truncated (${bytes.byteLength} bytes).`);
      const n = bytes.byteLength - PIECE_HEADER;
      if (n > BLOCK_SIZE) fail(`PIECE carries ${n} bytes, more than ${BLOCK_SIZE}.`);
      const piece = view.getUint32(33);
      const offset = view.getUint32(37);
      if (piece === MANIFEST_PIECE) fail(`PIECE names the reserved piece ${MANIFEST_PIECE}.`);
      if (offset + n > U32) fail('PIECE range ends past 2^32.');
      return { type: 'PIECE', hash: bytesToHex(bytes.subarray(1, 33)), piece, offset, data: bytes.subarray(PIECE_HEADER) };
    }
    default:
      return fail(`unknown type ${code}.`);
  }
}
