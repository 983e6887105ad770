import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, hkdfSync } from 'node:crypto';
import { mkdtempSync, openAsBlob, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEcdnError } from './errors.js';
import {
  cipherSize,
  decryptShare,
  decryptStream,
  deriveKeys,
  encodeHeader,
  encodeMeta,
  fromBase64url,
  generateKey,
  isPrivateShare,
  openRecord,
  parseHeader,
  parseKey,
  PRIVATE_HEADER_BYTES,
  PrivateSource,
  sealRecord,
  toBase64url,
} from './private-share.js';
import { buildManifest } from './manifest.js';
import { HeldFile } from './held-file.js';
import { randomBytes } from '../../test/helpers/random.js';

const b64 = (text: string) => fromBase64url(text)!;
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const walrus = new TextEncoder().encode('I am the walrus');

/** RFC 8188 aes128gcm written with node:crypto, independently of private-share.ts: records of `rs`, no padding. */
function referenceEncrypt(key: Uint8Array, salt: Uint8Array, rs: number, keyId: Uint8Array, plain: Uint8Array): Uint8Array {
  const cek = Buffer.from(hkdfSync('sha256', key, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', key, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const header = Buffer.alloc(21 + keyId.length);
  Buffer.from(salt).copy(header);
  header.writeUInt32BE(rs, 16);
  header[20] = keyId.length;
  Buffer.from(keyId).copy(header, 21);
  const parts: Buffer[] = [header];
  const per = rs - 17;
  const records = Math.max(1, Math.ceil(plain.length / per));
  for (let seq = 0; seq < records; seq++) {
    const iv = Buffer.from(nonce);
    iv.writeUInt32BE((iv.readUInt32BE(8) ^ seq) >>> 0, 8);
    const cipher = createCipheriv('aes-128-gcm', cek, iv);
    const data = Buffer.concat([plain.subarray(seq * per, (seq + 1) * per), Buffer.from([seq === records - 1 ? 2 : 1])]);
    parts.push(cipher.update(data), cipher.final(), cipher.getAuthTag());
  }
  return Buffer.concat(parts);
}

/** The fixed inputs of the private-share vectors in docs/security.md. */
const VECTOR_KEY = 'yqdlZ-tYemfogSmv7Ws5PQ';
const VECTOR_SALT = 'I1BsxtFttlv3u_Oo94xnmw';
const VECTOR_1 =
  'I1BsxtFttlv3u_Oo94xnmwABAAAPZWNkbi1wcml2YXRlLXYxsQ4P9vO_EwBG9EGKeYMYzIoui-CUkMgun8CnPqO1ns3cDUjN4zpqx477lkXluAslTlY7Sdqu9-u-PfgZZ_CMZVRuRmRw2NBST4pgp0iCl413bYQ2qMlxqeQ-FXjaLeVTFDBr5tLwQigSo-AIqrYzNwTn_L0cyvoBQS0HdNyPiAegHksRvyHRLdMlOCuaFKmVvFRnYVP2eQmAth5u8eRIvDNhjezhNUbLD1gSXL6_-WQABRLQ-adVVBYE9DrNc6wmXvJYA8zzbTujAWs5OAceYdZwixwjFhNfEUrWFTJBPEaIcQMAmUTGLyfM97Z7ljf7OwDH5HjdfLZ562xeHJt83m-d9meiQiBFqWENNuAVRQ4XRxikfwgUyeN82TkJA2Bu';

describe('private share record layout', () => {
  it('matches RFC 8188 section 3.1 (one record, rs 4096, no keyid)', async () => {
    const keys = await deriveKeys(b64('yqdlZ-tYemfogSmv7Ws5PQ'), b64('I1BsxtFttlv3u_Oo94xnmw'));
    assert.equal(toBase64url(keys.nonce), 'Bcs8gkIRKLI8GeI8');
    const header = encodeHeader({ salt: b64('I1BsxtFttlv3u_Oo94xnmw'), rs: 4096, keyId: new Uint8Array(0) });
    const record = await sealRecord(keys, 0, walrus, true);
    const encoded = toBase64url(new Uint8Array([...header, ...record]));
    assert.equal(encoded, 'I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg');
    const opened = await openRecord(keys, 0, record);
    assert.deepEqual(opened, { data: walrus, last: true });
  });

  it('matches RFC 8188 section 3.2 (two records of rs 25, keyid "a1", one byte of padding)', async () => {
    const encoded = b64('uNCkWiNYzKTnBN9ji3-qWAAAABkCYTHOG8chz_gnvgOqdGYovxyjuqRyJFjEDyoF1Fvkj6hQPdPHI51OEUKEpgz3SsLWIqS_uA');
    const parsed = parseHeader(encoded)!;
    assert.equal(parsed.header.rs, 25);
    assert.equal(new TextDecoder().decode(parsed.header.keyId), 'a1');
    const keys = await deriveKeys(b64('BO3ZVPxUlnLORbVGMpbT1Q'), parsed.header.salt);
    const body = encoded.subarray(parsed.length);
    const first = await sealRecord(keys, 0, walrus.subarray(0, 7), false, 1);
    const second = await sealRecord(keys, 1, walrus.subarray(7), true);
    assert.equal(hex(first), hex(body.subarray(0, 25)));
    assert.equal(hex(second), hex(body.subarray(25)));
    const opened = await Promise.all([openRecord(keys, 0, body.subarray(0, 25)), openRecord(keys, 1, body.subarray(25))]);
    assert.equal(new TextDecoder().decode(new Uint8Array([...opened[0].data, ...opened[1].data])), 'I am the walrus');
  });

  it('writes a private share as the documented vector, and as an independent aes128gcm writer does', async () => {
    const key = parseKey(VECTOR_KEY);
    const salt = b64(VECTOR_SALT);
    const meta = { name: 'walrus.txt', type: 'text/plain' };
    const source = await PrivateSource.create(new Blob([walrus]), { key, meta, salt });
    const ciphertext = await source.read(0, source.size);
    assert.equal(source.size, PRIVATE_HEADER_BYTES + 256 + walrus.length + 17);
    const expected = referenceEncrypt(
      key,
      salt,
      65_536,
      new TextEncoder().encode('ecdn-private-v1'),
      new Uint8Array([...encodeMeta(meta), ...walrus]),
    );
    assert.equal(hex(ciphertext), hex(expected));
    // docs/security.md, "Private shares": vector 1, whole.
    assert.equal(toBase64url(ciphertext), VECTOR_1);
    assert.equal(createHash('sha256').update(ciphertext).digest('hex'), '5dae78feb3130e0827b1e31f7243ee0d3b844a761a25ad2d18693a771743b155');
  });

  it('writes a many-record share as the documented vector', async () => {
    const key = parseKey(VECTOR_KEY);
    const salt = b64(VECTOR_SALT);
    const plain = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
    const meta = { name: 'ramp.bin', type: '' };
    const source = await PrivateSource.create(new Blob([plain]), { key, meta, salt, rs: 100 });
    const ciphertext = await source.read(0, source.size);
    const expected = referenceEncrypt(
      key,
      salt,
      100,
      new TextEncoder().encode('ecdn-private-v1'),
      new Uint8Array([...encodeMeta(meta), ...plain]),
    );
    assert.equal(hex(ciphertext), hex(expected));
    assert.equal(ciphertext.length, cipherSize(256 + 1000, 100));
    // docs/security.md, "Private shares": vector 2.
    assert.equal(createHash('sha256').update(ciphertext).digest('hex'), 'f70f2c1814187e1b4d68faf12d39baed655c8f68d4ae239d422b9100aa87c567');
    const { meta: read, data } = await decryptShare(ciphertext, key);
    assert.deepEqual(read, meta);
    assert.deepEqual(data, plain);
  });
});

describe('private share keys', () => {
  it('draws 128-bit keys as 22 characters of base64url', () => {
    const key = generateKey();
    assert.match(key, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(parseKey(key).length, 16);
    assert.notEqual(generateKey(), key);
  });

  it('refuses anything else with INVALID_KEY', () => {
    const good = generateKey();
    // The last character of a canonical key carries 2 bits and 4 zero bits: 'B' (000001) is not canonical.
    for (const bad of [
      '',
      good.slice(1),
      `${good}A`,
      `${good.slice(0, 21)}B`,
      `${good.slice(0, 21)}+`,
      `${good.slice(0, 20)}==`,
      42,
      undefined,
    ]) {
      assert.throws(
        () => parseKey(bad),
        (e: unknown) => isEcdnError(e, 'INVALID_KEY'),
        String(bad),
      );
    }
  });
});

describe('private share ciphertext', () => {
  const plain = randomBytes(300_000, 7);
  const meta = { name: 'résumé 2026.pdf', type: 'application/pdf' };

  it('reads any range of the ciphertext as the whole would have it', async () => {
    const key = parseKey(generateKey());
    const source = await PrivateSource.create(new Blob([plain]), { key, meta });
    const whole = await source.read(0, source.size);
    assert.equal(whole.length, source.size);
    for (const [start, end] of [
      [0, 10],
      [30, 40],
      [0, PRIVATE_HEADER_BYTES + 1],
      [65_000, 140_000],
      [65_572, 65_573],
      [source.size - 5, source.size],
      [1000, source.size],
    ] as const) {
      assert.deepEqual(await source.read(start, end), whole.subarray(start, end), `${start}-${end}`);
    }
    assert.ok(isPrivateShare(whole));
    assert.ok(!isPrivateShare(plain));
  });

  it('decrypts in chunks of any size, and names the file', async () => {
    const key = parseKey(generateKey());
    const source = await PrivateSource.create(new Blob([plain]), { key, meta });
    const whole = await source.read(0, source.size);
    for (const chunk of [1000, 16_384, 65_536, 65_537, 262_080, whole.length]) {
      let heard: unknown;
      const parts: Uint8Array[] = [];
      const input = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < whole.length; i += chunk) controller.enqueue(whole.slice(i, i + chunk));
          controller.close();
        },
      });
      const reader = input.pipeThrough(decryptStream(key, (m) => (heard = m))).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
      }
      assert.deepEqual(heard, meta);
      assert.deepEqual(Buffer.concat(parts), Buffer.from(plain), `chunks of ${chunk}`);
    }
  });

  it('fails with DECRYPT_FAILED, and hands out nothing, for a wrong key, a changed byte, a cut or an extended file', async () => {
    const key = parseKey(generateKey());
    const source = await PrivateSource.create(new Blob([plain]), { key, meta });
    const whole = await source.read(0, source.size);
    const rejects = (bytes: Uint8Array, k = key) =>
      assert.rejects(decryptShare(bytes, k), (e: unknown) => isEcdnError(e, 'DECRYPT_FAILED'));
    await rejects(whole, parseKey(generateKey()));
    const flipped = whole.slice();
    flipped[200_000]! ^= 1;
    await rejects(flipped);
    await rejects(whole.subarray(0, PRIVATE_HEADER_BYTES + 65_536 * 2));
    await rejects(whole.subarray(0, whole.length - 1));
    await rejects(new Uint8Array([...whole, ...whole.subarray(PRIVATE_HEADER_BYTES, PRIVATE_HEADER_BYTES + 100)]));
    await rejects(plain);
    // A wrong key fails at the first record: nothing comes out of the stream.
    const decryptor = decryptStream(parseKey(generateKey()));
    const writer = decryptor.writable.getWriter();
    const reading = decryptor.readable.getReader().read();
    await assert.rejects(writer.write(whole.subarray(0, 70_000)), (e: unknown) => isEcdnError(e, 'DECRYPT_FAILED'));
    await assert.rejects(reading, (e: unknown) => isEcdnError(e, 'DECRYPT_FAILED'));
  });

  it('never sends a record again under its nonce once the file changed', async () => {
    // A file edited under the page with its modification time put back (cp -p, rsync -t) reads
    // as the new bytes: nothing in the Blob says it changed.
    const dir = mkdtempSync(join(tmpdir(), 'ecdn-private-'));
    const path = join(dir, 'shared.bin');
    writeFileSync(path, plain);
    // A whole second, which setting it back reproduces to the nanosecond.
    const mtime = 1_700_000_000;
    utimesSync(path, mtime, mtime);
    const key = parseKey(generateKey());
    const source = await PrivateSource.create(await openAsBlob(path), { key, meta });
    const before = await source.read(0, source.size);
    const changed = plain.slice();
    changed[100]! ^= 1;
    writeFileSync(path, changed);
    utimesSync(path, mtime, mtime);
    await assert.rejects(source.read(0, 1000), (e: unknown) => isEcdnError(e, 'STORAGE'));
    // Records the change did not touch are still served, and are the same bytes.
    assert.deepEqual(await source.read(200_000, 200_100), before.subarray(200_000, 200_100));
    rmSync(dir, { recursive: true });
  });

  it('hashes to a manifest like any file: the address is the SHA-256 of the ciphertext', async () => {
    const key = parseKey(generateKey());
    const source = await PrivateSource.create(new Blob([plain]), { key, meta });
    const manifest = await buildManifest(source);
    const whole = await source.read(0, source.size);
    assert.equal(manifest.hash, createHash('sha256').update(whole).digest('hex'));
    assert.equal(manifest.size, source.size);
  });

  it('is served like any held file: every piece read is the ciphertext, made again for each read', async () => {
    const key = parseKey(generateKey());
    const source = await PrivateSource.create(new Blob([plain]), { key, meta });
    const manifest = await buildManifest(source, { pieceSize: 64 * 1024 });
    const whole = await source.read(0, source.size);
    const held = HeldFile.fromSource(manifest.hash, source, Promise.resolve(manifest));
    await held.manifest;
    assert.equal(held.complete, true);
    for (let piece = manifest.pieceCount - 1; piece >= 0; piece--) {
      const [start, end] = manifest.pieceRange(piece);
      assert.deepEqual(await held.read(start, end), whole.subarray(start, end), `piece ${piece}`);
      assert.ok(await manifest.verifyPiece(piece, await held.read(start, end)));
    }
    assert.deepEqual(await held.read(100, 70_000), whole.subarray(100, 70_000));
    held.destroy();
  });
});
