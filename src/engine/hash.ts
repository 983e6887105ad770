/**
 * What hashing reads and writes: inputs (Blobs and bytes), byte ranges of them, and
 * SHA-256 values as hex. The hashing itself is in `sha256-chain.ts`, and a file's
 * address and manifest come from `buildManifest` in `manifest.ts`, in one pass.
 */
import { EcdnError } from './errors.js';

/** What the hashing functions accept: a Blob (or File) or bytes already in memory. */
export type HashInput = Blob | ArrayBuffer | Uint8Array;

/**
 * Bytes read from a Blob per step. Large enough that per-read overhead vanishes,
 * small enough that a step blocks the main thread for only about 25 ms at 160 MB/s.
 */
export const HASH_SLICE_SIZE = 4 * 1024 * 1024;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lowercase hex of `bytes`. */
export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]!];
  return out;
}

/** True when `a` and `b` hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hexNibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/**
 * Writes the 32 bytes of a SHA-256 given as 64 hex characters into `out` at `offset`
 * (a fresh array when `out` is omitted) and returns `out`.
 * Throws `EcdnError('INVALID_HASH')` for anything that is not 64 hex characters.
 */
export function hexToBytes(hex: string, out: Uint8Array = new Uint8Array(32), offset = 0): Uint8Array {
  if (typeof hex !== 'string' || hex.length !== 64) {
    throw new EcdnError(
      'INVALID_HASH',
      `Expected a SHA-256 as 64 hexadecimal characters, got ${typeof hex === 'string' ? `${hex.length} characters` : typeof hex}.`,
    );
  }
  for (let i = 0; i < 32; i++) {
    const hi = hexNibble(hex.charCodeAt(2 * i));
    const lo = hexNibble(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0)
      throw new EcdnError('INVALID_HASH', `Expected a SHA-256 as 64 hexadecimal characters, got ${JSON.stringify(hex)}.`);
    out[offset + i] = (hi << 4) | lo;
  }
  return out;
}

/** Wraps bytes in a Blob (which snapshots them: one copy); a Blob is returned as it is. */
export function toBlob(data: HashInput): Blob {
  if (data instanceof Blob) return data;
  return new Blob([data as Uint8Array<ArrayBuffer> | ArrayBuffer]);
}

/**
 * Bytes produced on demand rather than held: a private share's ciphertext, which is
 * encrypted from the plaintext file a range at a time (see private-share.ts).
 */
export interface ByteSource {
  /** Size in bytes. */
  readonly size: number;
  /** `[start, end)`, in a buffer the caller may keep or transfer. */
  read(start: number, end: number): Promise<Uint8Array>;
}

/** True for a {@link ByteSource}, as opposed to a Blob or bytes in memory. */
export function isByteSource(data: HashInput | ByteSource): data is ByteSource {
  return !(data instanceof Blob) && !(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data);
}

/** Size of a {@link HashInput} (or {@link ByteSource}) in bytes. */
export function inputSize(data: HashInput | ByteSource): number {
  if (isByteSource(data)) return data.size;
  return data instanceof Blob ? data.size : data.byteLength;
}

/**
 * Reads `[start, end)` of the input. Bytes already in memory are returned as a view,
 * so hashing an ArrayBuffer copies nothing.
 */
export async function readRange(data: HashInput | ByteSource, start: number, end: number): Promise<Uint8Array> {
  if (isByteSource(data)) return data.read(start, end);
  if (data instanceof Blob) return new Uint8Array(await data.slice(start, end).arrayBuffer());
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  return bytes.subarray(start, end);
}

/** Throws `EcdnError('ABORTED')` when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new EcdnError('ABORTED', 'The operation was aborted.', { cause: signal.reason });
}
