/**
 * SHA-256 that can stop and resume at any 64-byte boundary, by its chaining value.
 *
 * SHA-256 runs a compression function over 64-byte blocks, carrying a 32-byte state
 * (the chaining value) from one block to the next. A manifest that lists the chaining
 * value at the end of every piece lets a consumer check each piece on its own, in any
 * order, by resuming from the previous piece's value; and once every piece checked out,
 * the last one's digest *is* the file's SHA-256, so the file needs no second pass.
 *
 * WebCrypto has no such interface, so this drives hash-wasm's incremental hasher through
 * its `save()` / `load()` state. That state is hash-wasm's C struct
 * `{ u32 message[16]; u64 length; u32 hash[8]; u32 digest_length }` behind a 4-byte tag
 * of its WebAssembly build. The layout is checked against a plain hash on first use, and
 * hash-wasm is pinned to an exact version in package.json.
 */
import { createSHA256, type IHasher } from 'hash-wasm';
import { equalBytes } from './hash.js';

/** Size of a chaining value (and of a SHA-256 digest), in bytes. */
export const CHAINING_VALUE_SIZE = 32;
/** SHA-256's block size: a chain can stop only at a multiple of it. */
export const SHA256_BLOCK = 64;

const TAG = 4;
const LENGTH_AT = TAG + 64;
const HASH_AT = LENGTH_AT + 8;
/** With the digest length, and padded to the u64's alignment. */
const STATE_SIZE = TAG + 112;

/** SHA-256's initial chaining value (FIPS 180-4, 5.3.3), big-endian. */
const IV = new Uint8Array([
  0x6a, 0x09, 0xe6, 0x67, 0xbb, 0x67, 0xae, 0x85, 0x3c, 0x6e, 0xf3, 0x72, 0xa5, 0x4f, 0xf5, 0x3a, 0x51, 0x0e, 0x52, 0x7f, 0x9b, 0x05, 0x68,
  0x8c, 0x1f, 0x83, 0xd9, 0xab, 0x5b, 0xe0, 0xcd, 0x19,
]);

/** An incremental SHA-256 that can be started from, and read at, a chaining value. */
export class Sha256Chain {
  readonly #hasher: IHasher;
  /** A saved state whose tag and digest length are right; the rest is rewritten on each resume. */
  readonly #state: Uint8Array;
  #length = 0;

  private constructor(hasher: IHasher) {
    this.#hasher = hasher;
    this.#state = hasher.init().save();
    if (this.#state.byteLength !== STATE_SIZE) throw new Error(`Unexpected hash-wasm SHA-256 state of ${this.#state.byteLength} bytes.`);
  }

  /** A chain at the start of a file (the standard initial value, 0 bytes). */
  static async create(): Promise<Sha256Chain> {
    const chain = new Sha256Chain(await createSHA256());
    await checkLayout(chain);
    return chain.reset();
  }

  /** Bytes hashed since the start of the file. */
  get length(): number {
    return this.#length;
  }

  /** Goes back to the start of a file. */
  reset(): this {
    this.#hasher.init();
    this.#length = 0;
    return this;
  }

  /**
   * Continues a file from `chainingValue`, the state after its first `length` bytes
   * (`length` a multiple of 64). `undefined` with length 0 is the start of the file.
   */
  resume(chainingValue: Uint8Array | undefined, length: number): this {
    if (!Number.isSafeInteger(length) || length < 0 || length % SHA256_BLOCK !== 0)
      throw new RangeError(`A chain resumes at a multiple of 64 bytes, not ${length}.`);
    const cv = chainingValue ?? IV;
    if (cv.byteLength !== CHAINING_VALUE_SIZE) throw new RangeError(`A chaining value is 32 bytes, not ${cv.byteLength}.`);
    const state = this.#state;
    const view = new DataView(state.buffer, state.byteOffset, state.byteLength);
    state.fill(0, TAG, LENGTH_AT);
    view.setBigUint64(LENGTH_AT, BigInt(length), true);
    // The C struct holds the eight state words natively (little-endian); the chaining value is big-endian.
    for (let i = 0; i < 8; i++)
      view.setUint32(HASH_AT + 4 * i, (cv[4 * i]! << 24) | (cv[4 * i + 1]! << 16) | (cv[4 * i + 2]! << 8) | cv[4 * i + 3]!, true);
    this.#hasher.load(state);
    this.#length = length;
    return this;
  }

  /** Feeds the next bytes of the file. */
  update(bytes: Uint8Array): this {
    this.#hasher.update(bytes);
    this.#length += bytes.byteLength;
    return this;
  }

  /** The chaining value after the bytes so far, big-endian; only at a multiple of 64 bytes. */
  chainingValue(): Uint8Array {
    if (this.#length % SHA256_BLOCK !== 0) throw new RangeError(`No chaining value after ${this.#length} bytes: not a multiple of 64.`);
    const state = this.#hasher.save();
    const view = new DataView(state.buffer, state.byteOffset, state.byteLength);
    const out = new Uint8Array(CHAINING_VALUE_SIZE);
    const outView = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) outView.setUint32(4 * i, view.getUint32(HASH_AT + 4 * i, true));
    return out;
  }

  /** Finishes the file: its SHA-256 digest. The chain must be {@link reset} or resumed before reuse. */
  digest(): Uint8Array {
    return this.#hasher.digest('binary');
  }
}

let layoutChecked = false;

/** Hashes 192 bytes straight through and through a stop at 64 and 128; fails loudly if hash-wasm's state changed shape. */
async function checkLayout(chain: Sha256Chain): Promise<void> {
  if (layoutChecked) return;
  const bytes = new Uint8Array(192).map((_, i) => (i * 31 + 7) & 0xff);
  const straight = (await createSHA256()).init().update(bytes).digest('binary');
  const cv64 = chain.reset().update(bytes.subarray(0, 64)).chainingValue();
  const cv128 = chain.resume(cv64, 64).update(bytes.subarray(64, 128)).chainingValue();
  const resumed = chain.resume(cv128, 128).update(bytes.subarray(128)).digest();
  if (!equalBytes(straight, resumed)) throw new Error('hash-wasm changed its SHA-256 state layout; update src/engine/sha256-chain.ts.');
  layoutChecked = true;
}
