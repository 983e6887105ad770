/**
 * Private shares: a file encrypted in the page before it is seeded, whose key travels
 * only in the share link's fragment (`/f/<hash>#k=<key>`). The swarm moves and verifies
 * the ciphertext like any file; only holders of the key decrypt it.
 *
 * The ciphertext is RFC 8188's `aes128gcm` content coding, byte for byte:
 *
 * ```
 * header  = salt (16) | rs (u32 BE) | idlen (u8) | keyid (idlen)
 * record  = AES-128-GCM(CEK, nonce_i, data_i | delimiter | zero padding) | tag (16)
 * CEK     = HKDF-SHA-256(salt, key, "Content-Encoding: aes128gcm" 0x00, 16)
 * NONCE   = HKDF-SHA-256(salt, key, "Content-Encoding: nonce" 0x00, 12)
 * nonce_i = NONCE XOR i (i as a 96-bit big-endian integer)
 * ```
 *
 * Every record is `rs` bytes but the last; the delimiter is 0x01, or 0x02 in the last
 * record. A private share sets `keyid` to "ecdn-private-v1", which is how a consumer
 * without the key tells it from a public file (`KEY_REQUIRED`), and encrypts, as its
 * plaintext, a metadata header (u16 BE length, then that many bytes of UTF-8 JSON
 * `{"name","type"}` padded with spaces so that the header is a multiple of 256 bytes)
 * followed by the file. docs/security.md has the layout and test vectors.
 *
 * A seeder never writes the ciphertext down: {@link PrivateSource} encrypts the records
 * a read needs from the plaintext file, when asked (once to hash it, then per piece
 * served). Records come out the same every time, under the same nonces, because the
 * plaintext is the same; the tag of every record is kept from the first pass and a
 * record whose tag differs later (the file changed under the page) is never sent,
 * since two ciphertexts under one nonce would leak both plaintexts.
 */
import { EcdnError } from './errors.js';
import type { ByteSource } from './hash.js';

/** Bytes of a private share's key: 128 bits, 22 characters of base64url. */
export const KEY_BYTES = 16;
/** Bytes of the random salt at the start of the ciphertext. */
export const SALT_BYTES = 16;
/** Bytes of an AES-GCM tag, at the end of every record. */
export const TAG_BYTES = 16;
/**
 * Record size (`rs`) of the shares this engine writes: 64 KiB of ciphertext, 65,519
 * bytes of plaintext. Small enough that a 1 MiB piece is a handful of records, large
 * enough that the 17 bytes each costs are 0.03 % of the file.
 */
export const RECORD_SIZE = 65_536;
/** The `keyid` that marks an EphemeralCDN private share. */
export const PRIVATE_KEY_ID: Uint8Array<ArrayBuffer> = new TextEncoder().encode('ecdn-private-v1');
/** Bytes of a private share's header: salt, rs, idlen, keyid. */
export const PRIVATE_HEADER_BYTES = SALT_BYTES + 4 + 1 + PRIVATE_KEY_ID.length;
/** The metadata header is padded to a multiple of this, so that the size hides the name's length. */
export const META_ALIGN = 256;
/** Longest metadata header written: longer names are cut. */
const META_MAX = 4096;
/** Smallest record size RFC 8188 allows: a tag, a delimiter and one byte of data. */
const MIN_RECORD_SIZE = TAG_BYTES + 2;

const CEK_INFO = new TextEncoder().encode('Content-Encoding: aes128gcm\0');
const NONCE_INFO = new TextEncoder().encode('Content-Encoding: nonce\0');

/** What the encrypted header of a private share says about its file. */
export interface PrivateMeta {
  /** The file's name, as it was shared. */
  name: string;
  /** Its MIME type; may be empty. */
  type: string;
}

/** A key drawn with `crypto.getRandomValues`, as base64url: what a share link's `#k=` carries. */
export function generateKey(): string {
  return toBase64url(crypto.getRandomValues(new Uint8Array(KEY_BYTES)));
}

/**
 * The 16 bytes of a key given as base64url (22 characters, no padding), or
 * `INVALID_KEY` for anything else: checked before any network access.
 */
export function parseKey(key: unknown): Uint8Array<ArrayBuffer> {
  if (typeof key === 'string' && /^[A-Za-z0-9_-]{22}$/.test(key)) {
    const bytes = fromBase64url(key);
    // The last character carries 2 bits of the key and 4 of nothing: a non-zero
    // remainder means a different string would decode to the same key.
    if (bytes && bytes.length === KEY_BYTES && toBase64url(bytes) === key) return bytes;
  }
  const shown = typeof key === 'string' ? `${key.length} characters` : typeof key;
  throw new EcdnError('INVALID_KEY', `A private share's key is ${KEY_BYTES * 8} bits as 22 characters of base64url, got ${shown}.`);
}

/** `bytes` as base64url without padding. */
export function toBase64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The bytes of base64url text (padding optional), or undefined when it is not base64url. */
export function fromBase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1) return undefined;
  const binary = atob(text.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The content-encryption key and base nonce of one share (RFC 8188 section 2.2 and 2.3). */
export interface RecordKeys {
  readonly cek: CryptoKey;
  readonly nonce: Uint8Array<ArrayBuffer>;
}

/** Derives a share's record keys from its key (the IKM) and salt, with HKDF-SHA-256. */
export async function deriveKeys(key: Uint8Array<ArrayBuffer>, salt: Uint8Array<ArrayBuffer>): Promise<RecordKeys> {
  const ikm = await crypto.subtle.importKey('raw', key, 'HKDF', false, ['deriveBits']);
  const [cekBits, nonceBits] = await Promise.all([
    crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: CEK_INFO }, ikm, 128),
    crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: NONCE_INFO }, ikm, 96),
  ]);
  const cek = await crypto.subtle.importKey('raw', cekBits, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return { cek, nonce: new Uint8Array(nonceBits) };
}

/** The nonce of record `seq`: the base nonce XOR `seq` as a 96-bit big-endian integer. */
export function recordNonce(base: Uint8Array, seq: number): Uint8Array<ArrayBuffer> {
  const nonce = new Uint8Array(base);
  let rest = seq;
  for (let i = nonce.length - 1; rest > 0 && i >= 0; i--) {
    nonce[i]! ^= rest % 256;
    rest = Math.floor(rest / 256);
  }
  return nonce;
}

/**
 * Encrypts one record: `data`, the delimiter (0x02 when `last`, else 0x01) and `padding`
 * zero bytes. The result is `data.length + 1 + padding + 16` bytes.
 */
export async function sealRecord(
  keys: RecordKeys,
  seq: number,
  data: Uint8Array,
  last: boolean,
  padding = 0,
): Promise<Uint8Array<ArrayBuffer>> {
  const plain = new Uint8Array(data.length + 1 + padding);
  plain.set(data);
  plain[data.length] = last ? 2 : 1;
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: recordNonce(keys.nonce, seq) }, keys.cek, plain);
  return new Uint8Array(sealed);
}

/**
 * Decrypts one record and strips its padding. Throws `DECRYPT_FAILED` when the tag
 * does not check out (a wrong key, or bytes that were not sealed with it) or the
 * delimiter is missing.
 */
export async function openRecord(
  keys: RecordKeys,
  seq: number,
  record: Uint8Array,
): Promise<{ data: Uint8Array<ArrayBuffer>; last: boolean }> {
  let plain: Uint8Array<ArrayBuffer>;
  try {
    const opened = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: recordNonce(keys.nonce, seq) },
      keys.cek,
      record as Uint8Array<ArrayBuffer>,
    );
    plain = new Uint8Array(opened);
  } catch (err) {
    throw new EcdnError('DECRYPT_FAILED', `Record ${seq} of the private share did not decrypt: the key is not this file's.`, {
      cause: err,
    });
  }
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  const delimiter = plain[end];
  if (delimiter !== 1 && delimiter !== 2) throw new EcdnError('DECRYPT_FAILED', `Record ${seq} of the private share has no delimiter.`);
  return { data: plain.subarray(0, end), last: delimiter === 2 };
}

/** The fields of an `aes128gcm` header. */
export interface RecordHeader {
  salt: Uint8Array<ArrayBuffer>;
  /** Record size: bytes of every record's ciphertext but the last's. */
  rs: number;
  keyId: Uint8Array<ArrayBuffer>;
}

/** The header bytes: salt, rs, idlen, keyid. */
export function encodeHeader({ salt, rs, keyId }: RecordHeader): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(SALT_BYTES + 5 + keyId.length);
  out.set(salt);
  new DataView(out.buffer).setUint32(SALT_BYTES, rs);
  out[SALT_BYTES + 4] = keyId.length;
  out.set(keyId, SALT_BYTES + 5);
  return out;
}

/** The header at the start of `bytes`, once they hold all of it; undefined until then. Throws `DECRYPT_FAILED` for an `rs` below 18. */
export function parseHeader(bytes: Uint8Array): { header: RecordHeader; length: number } | undefined {
  if (bytes.length < SALT_BYTES + 5) return undefined;
  const idlen = bytes[SALT_BYTES + 4]!;
  const length = SALT_BYTES + 5 + idlen;
  if (bytes.length < length) return undefined;
  const rs = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(SALT_BYTES);
  if (rs < MIN_RECORD_SIZE) throw new EcdnError('DECRYPT_FAILED', `The private share's record size, ${rs}, is below ${MIN_RECORD_SIZE}.`);
  return { header: { salt: bytes.slice(0, SALT_BYTES), rs, keyId: bytes.slice(SALT_BYTES + 5, length) }, length };
}

/** True when `head` (the file's first bytes, at least {@link PRIVATE_HEADER_BYTES}) starts a private share's ciphertext. */
export function isPrivateShare(head: Uint8Array): boolean {
  if (head.length < PRIVATE_HEADER_BYTES || head[SALT_BYTES + 4] !== PRIVATE_KEY_ID.length) return false;
  if (new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(SALT_BYTES) < MIN_RECORD_SIZE) return false;
  return PRIVATE_KEY_ID.every((byte, i) => head[SALT_BYTES + 5 + i] === byte);
}

/** The metadata header: u16 BE length, then UTF-8 JSON padded with spaces to a multiple of {@link META_ALIGN}. */
export function encodeMeta(meta: PrivateMeta): Uint8Array<ArrayBuffer> {
  const encoder = new TextEncoder();
  let name = meta.name;
  let json = encoder.encode(JSON.stringify({ name, type: meta.type }));
  while (json.length + 2 > META_MAX && name.length > 0) {
    name = [...name].slice(0, -Math.max(1, Math.ceil(name.length / 8))).join('');
    json = encoder.encode(JSON.stringify({ name, type: meta.type.slice(0, 255) }));
  }
  const total = Math.ceil((json.length + 2) / META_ALIGN) * META_ALIGN;
  const out = new Uint8Array(total).fill(0x20);
  new DataView(out.buffer).setUint16(0, total - 2);
  out.set(json, 2);
  return out;
}

/** Reads a metadata header's JSON; `DECRYPT_FAILED` when it is not what a share writes. */
export function decodeMeta(json: Uint8Array): PrivateMeta {
  try {
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json)) as Partial<PrivateMeta>;
    return { name: typeof value.name === 'string' ? value.name : '', type: typeof value.type === 'string' ? value.type : '' };
  } catch (err) {
    throw new EcdnError('DECRYPT_FAILED', "The private share's header is unreadable.", { cause: err });
  }
}

/** Bytes of ciphertext for `plainSize` bytes of plaintext (metadata header included) in records of `rs`. */
export function cipherSize(plainSize: number, rs: number, headerBytes = PRIVATE_HEADER_BYTES): number {
  const perRecord = rs - TAG_BYTES - 1;
  const records = Math.max(1, Math.ceil(plainSize / perRecord));
  return headerBytes + plainSize + records * (TAG_BYTES + 1);
}

/** What {@link encryptShare} is given; the salt and record size are for tests and test vectors. */
export interface EncryptOptions {
  key: Uint8Array<ArrayBuffer>;
  meta: PrivateMeta;
  salt?: Uint8Array<ArrayBuffer>;
  rs?: number;
}

/**
 * A private share's ciphertext, produced from the plaintext `file` on demand: a read
 * of any range encrypts the records it touches. See the module's header for why the
 * tags are kept.
 */
export class PrivateSource implements ByteSource {
  readonly size: number;
  readonly header: Uint8Array<ArrayBuffer>;
  readonly #file: Blob;
  readonly #keys: RecordKeys;
  readonly #meta: Uint8Array<ArrayBuffer>;
  readonly #rs: number;
  readonly #perRecord: number;
  readonly #plainSize: number;
  readonly #records: number;
  /** Each record's tag, once it was encrypted; `#tagged[i]` says whether record i's is known. */
  readonly #tags: Uint8Array;
  readonly #tagged: Uint8Array;

  private constructor(file: Blob, keys: RecordKeys, header: Uint8Array<ArrayBuffer>, meta: Uint8Array<ArrayBuffer>, rs: number) {
    this.#file = file;
    this.#keys = keys;
    this.header = header;
    this.#meta = meta;
    this.#rs = rs;
    this.#perRecord = rs - TAG_BYTES - 1;
    this.#plainSize = meta.length + file.size;
    this.#records = Math.max(1, Math.ceil(this.#plainSize / this.#perRecord));
    this.size = cipherSize(this.#plainSize, rs, header.length);
    this.#tags = new Uint8Array(this.#records * TAG_BYTES);
    this.#tagged = new Uint8Array(this.#records);
  }

  /** The ciphertext of `file` as a private share under `key`, with a fresh random salt. */
  static async create(file: Blob, { key, meta, salt, rs = RECORD_SIZE }: EncryptOptions): Promise<PrivateSource> {
    if (!Number.isInteger(rs) || rs < MIN_RECORD_SIZE || rs > 0xffff_ffff) throw new RangeError(`rs must be 18 to 2^32 - 1, got ${rs}.`);
    salt ??= crypto.getRandomValues(new Uint8Array(SALT_BYTES));
    const keys = await deriveKeys(key, salt);
    return new PrivateSource(file, keys, encodeHeader({ salt, rs, keyId: PRIVATE_KEY_ID }), encodeMeta(meta), rs);
  }

  /** `[start, end)` of the ciphertext, in a new buffer of its own. */
  async read(start: number, end: number): Promise<Uint8Array<ArrayBuffer>> {
    start = Math.max(0, start);
    end = Math.min(end, this.size);
    const out = new Uint8Array(Math.max(0, end - start));
    if (end <= start) return out;
    const headerBytes = this.header.length;
    if (start < headerBytes) out.set(this.header.subarray(start, Math.min(end, headerBytes)));
    if (end <= headerBytes) return out;
    const first = this.#recordAt(Math.max(start, headerBytes));
    const last = this.#recordAt(end - 1);
    const plainStart = first * this.#perRecord;
    const plainEnd = Math.min((last + 1) * this.#perRecord, this.#plainSize);
    const plain = await this.#plaintext(plainStart, plainEnd);
    const sealed = await Promise.all(
      Array.from({ length: last - first + 1 }, (_, k) => {
        const seq = first + k;
        const from = seq * this.#perRecord - plainStart;
        const to = Math.min(from + this.#perRecord, plain.length);
        return sealRecord(this.#keys, seq, plain.subarray(from, to), seq === this.#records - 1);
      }),
    );
    sealed.forEach((record, k) => {
      const seq = first + k;
      this.#checkTag(seq, record);
      const recordStart = headerBytes + seq * this.#rs;
      const from = Math.max(start, recordStart);
      const to = Math.min(end, recordStart + record.length);
      out.set(record.subarray(from - recordStart, to - recordStart), from - start);
    });
    return out;
  }

  /** The record whose ciphertext holds byte `offset` (past the header). */
  #recordAt(offset: number): number {
    return Math.min(this.#records - 1, Math.floor((offset - this.header.length) / this.#rs));
  }

  /** `[start, end)` of the plaintext: the metadata header, then the file. */
  async #plaintext(start: number, end: number): Promise<Uint8Array> {
    const metaLength = this.#meta.length;
    const out = new Uint8Array(end - start);
    if (start < metaLength) out.set(this.#meta.subarray(start, Math.min(end, metaLength)));
    if (end > metaLength) {
      const from = Math.max(start, metaLength);
      const bytes = new Uint8Array(await this.#file.slice(from - metaLength, end - metaLength).arrayBuffer());
      if (bytes.length !== end - from) throw new EcdnError('STORAGE', 'The shared file returned fewer bytes than its size.');
      out.set(bytes, from - start);
    }
    return out;
  }

  #checkTag(seq: number, record: Uint8Array): void {
    const tag = record.subarray(record.length - TAG_BYTES);
    const at = seq * TAG_BYTES;
    if (this.#tagged[seq] === 0) {
      this.#tags.set(tag, at);
      this.#tagged[seq] = 1;
      return;
    }
    for (let i = 0; i < TAG_BYTES; i++) {
      if (this.#tags[at + i] !== tag[i]) {
        throw new EcdnError(
          'STORAGE',
          'The privately shared file changed since it was shared: its record is not sent again under the same nonce.',
        );
      }
    }
  }
}

/**
 * Decrypts a private share's ciphertext as it arrives, in order: give it bytes with
 * {@link push}, and {@link end} when there are no more. Only whole records that
 * checked out are handed on, so a wrong key or tampered bytes throw `DECRYPT_FAILED`
 * before any byte of plaintext is out. Holds at most one record and a chunk.
 */
export class ShareDecryptor {
  /** The share's name and type, once its header record is decrypted. */
  meta: PrivateMeta | undefined;
  readonly #key: Uint8Array<ArrayBuffer>;
  #keys: RecordKeys | undefined;
  #rs = 0;
  #pending: Uint8Array = new Uint8Array(0);
  #seq = 0;
  #done = false;
  /** Plaintext of the metadata header read so far, until it is whole. */
  #metaBytes: Uint8Array | undefined = new Uint8Array(0);

  constructor(key: Uint8Array<ArrayBuffer>) {
    this.#key = key;
  }

  /**
   * Plaintext file bytes from `bytes` and those held back before; may be empty. With
   * `final`, `bytes` are the last there are: the same as `push` then {@link end}, in one piece.
   */
  async push(bytes: Uint8Array, final = false): Promise<Uint8Array> {
    this.#append(bytes);
    if (!this.#keys) {
      const parsed = parseHeader(this.#pending);
      if (!parsed) {
        if (final) throw new EcdnError('DECRYPT_FAILED', 'The private share ended inside its header.');
        return new Uint8Array(0);
      }
      if (!isPrivateShare(this.#pending)) throw new EcdnError('DECRYPT_FAILED', 'This file is not a private share: it needs no key.');
      this.#rs = parsed.header.rs;
      this.#keys = await deriveKeys(this.#key, parsed.header.salt);
      this.#pending = this.#pending.subarray(parsed.length);
    }
    if (final) {
      const pending = this.#pending;
      const records = Array.from({ length: Math.ceil(pending.length / this.#rs) }, (_, k) =>
        pending.subarray(k * this.#rs, (k + 1) * this.#rs),
      );
      this.#pending = new Uint8Array(0);
      const out = records.length > 0 ? await this.#open(records, true) : new Uint8Array(0);
      if (!this.#done || this.#metaBytes) throw new EcdnError('DECRYPT_FAILED', 'The private share ended before its last record.');
      return out;
    }
    // A whole record may be the last one: it is decrypted only once a byte follows it, or at the end.
    const count = Math.floor((this.#pending.length - 1) / this.#rs);
    if (count <= 0) return new Uint8Array(0);
    const records = Array.from({ length: count }, (_, k) => this.#pending.subarray(k * this.#rs, (k + 1) * this.#rs));
    this.#pending = this.#pending.subarray(count * this.#rs);
    return this.#open(records, false);
  }

  /** The plaintext still held back; throws `DECRYPT_FAILED` if the ciphertext ended early. */
  async end(): Promise<Uint8Array> {
    if (!this.#keys) throw new EcdnError('DECRYPT_FAILED', 'The private share ended inside its header.');
    const rest = this.#pending.length > 0 ? await this.#open([this.#pending], true) : new Uint8Array(0);
    this.#pending = new Uint8Array(0);
    if (!this.#done || this.#metaBytes) throw new EcdnError('DECRYPT_FAILED', 'The private share ended before its last record.');
    return rest;
  }

  async #open(records: Uint8Array[], atEnd: boolean): Promise<Uint8Array> {
    if (this.#done) throw new EcdnError('DECRYPT_FAILED', 'The private share goes on after its last record.');
    const first = this.#seq;
    this.#seq += records.length;
    const opened = await Promise.all(records.map((record, k) => openRecord(this.#keys!, first + k, record)));
    let size = 0;
    opened.forEach(({ last }, k) => {
      const final = k === opened.length - 1;
      if (last && !final) throw new EcdnError('DECRYPT_FAILED', 'The private share goes on after its last record.');
      if (final && atEnd && !last) throw new EcdnError('DECRYPT_FAILED', 'The private share ended before its last record.');
      if (last) this.#done = true;
    });
    for (const { data } of opened) size += data.length;
    let out: Uint8Array = new Uint8Array(size);
    let at = 0;
    for (const { data } of opened) {
      out.set(data, at);
      at += data.length;
    }
    if (this.#metaBytes) out = this.#takeMeta(out);
    return out;
  }

  /** Takes the metadata header off the front of the plaintext, once it is whole; returns what follows it. */
  #takeMeta(plain: Uint8Array): Uint8Array {
    let seen = plain;
    // Usually the whole header is in the first record: no copy of what follows it.
    if (this.#metaBytes!.length > 0) {
      seen = new Uint8Array(this.#metaBytes!.length + plain.length);
      seen.set(this.#metaBytes!);
      seen.set(plain, this.#metaBytes!.length);
    }
    if (seen.length < 2) {
      this.#metaBytes = seen;
      return new Uint8Array(0);
    }
    const length = 2 + ((seen[0]! << 8) | seen[1]!);
    if (seen.length < length) {
      this.#metaBytes = seen;
      return new Uint8Array(0);
    }
    this.meta = decodeMeta(seen.subarray(2, length));
    this.#metaBytes = undefined;
    return seen.subarray(length);
  }

  #append(bytes: Uint8Array): void {
    if (this.#pending.length === 0) {
      this.#pending = bytes;
      return;
    }
    const joined = new Uint8Array(this.#pending.length + bytes.length);
    joined.set(this.#pending);
    joined.set(bytes, this.#pending.length);
    this.#pending = joined;
  }
}

/** A whole private share's ciphertext, decrypted: its name and type, and the file. */
export async function decryptShare(ciphertext: Uint8Array, key: Uint8Array<ArrayBuffer>): Promise<{ meta: PrivateMeta; data: Uint8Array }> {
  const decryptor = new ShareDecryptor(key);
  const data = await decryptor.push(ciphertext, true);
  return { meta: decryptor.meta!, data };
}

/**
 * A stream of plaintext from a stream of a private share's ciphertext; `onMeta` hears
 * the name and type as soon as the header record is decrypted.
 */
export function decryptStream(key: Uint8Array<ArrayBuffer>, onMeta?: (meta: PrivateMeta) => void): TransformStream<Uint8Array, Uint8Array> {
  const decryptor = new ShareDecryptor(key);
  let told = false;
  const tell = () => {
    if (!told && decryptor.meta) {
      told = true;
      onMeta?.(decryptor.meta);
    }
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    transform: async (chunk, controller) => {
      const out = await decryptor.push(chunk);
      tell();
      if (out.length > 0) controller.enqueue(out);
    },
    flush: async (controller) => {
      const out = await decryptor.end();
      tell();
      if (out.length > 0) controller.enqueue(out);
    },
  });
}

/** Throws `KEY_REQUIRED` when `head` (a file's first bytes) starts a private share. */
export function assertNotPrivate(hash: string, head: Uint8Array): void {
  if (isPrivateShare(head)) {
    throw new EcdnError('KEY_REQUIRED', `${hash} is a private share: open it with the key from its link (#k=…).`, { hash });
  }
}

/**
 * A file's stream as a caller gets it: decrypted with `key`, or, without one, the bytes
 * as they are unless they start a private share, which errors with `KEY_REQUIRED`
 * before any byte is handed out.
 */
export function revealStream(
  hash: string,
  stream: ReadableStream<Uint8Array>,
  key: Uint8Array<ArrayBuffer> | undefined,
  onMeta?: (meta: PrivateMeta) => void,
): ReadableStream<Uint8Array> {
  if (key) return stream.pipeThrough(decryptStream(key, onMeta));
  let head: Uint8Array | undefined = new Uint8Array(0);
  const release = (controller: TransformStreamDefaultController<Uint8Array>) => {
    assertNotPrivate(hash, head!);
    if (head!.length > 0) controller.enqueue(head!);
    head = undefined;
  };
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform: (chunk, controller) => {
        if (!head) {
          controller.enqueue(chunk);
          return;
        }
        const joined = new Uint8Array(head.length + chunk.length);
        joined.set(head);
        joined.set(chunk, head.length);
        head = joined;
        if (head.length >= PRIVATE_HEADER_BYTES) release(controller);
      },
      flush: (controller) => {
        if (head) release(controller);
      },
    }),
  );
}
