import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isEcdnError } from './errors.js';
import { hexToBytes } from './hash.js';
import { MAX_PIECE_COUNT, Manifest, buildManifest, choosePieceSize } from './manifest.js';
import { BLOCK_SIZE, decodeFrame, encodeFrame, pieceCountFor } from './wire.js';
import { prng, randomBytes } from '../../test/helpers/random.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const nodeHex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A chain of `count` entries that is all zeros but ends, as it must, at `hash`. */
function chainEndingAt(hash: string, count: number): Uint8Array {
  const chain = new Uint8Array(32 * count);
  if (count > 0) hexToBytes(hash, chain, 32 * (count - 1));
  return chain;
}

describe('choosePieceSize', () => {
  const table: Array<[string, number, number, number]> = [
    ['0 B', 0, 16 * KiB, 0],
    ['1 B', 1, 16 * KiB, 1],
    ['16 KiB', 16 * KiB, 16 * KiB, 1],
    ['1 MiB', MiB, 128 * KiB, 8],
    ['8 MiB', 8 * MiB, 4 * BLOCK_SIZE, 9],
    ['1 GiB', GiB, 4 * BLOCK_SIZE, 1025],
    ['64 GiB', 64 * GiB, 64 * BLOCK_SIZE, 4098],
  ];
  for (const [name, size, pieceSize, count] of table) {
    it(`gives ${name} pieces of ${pieceSize} B, ${count} of them`, () => {
      assert.equal(choosePieceSize(size), pieceSize);
      assert.equal(pieceCountFor(size, choosePieceSize(size)), count);
    });
  }

  it('keeps its invariants over random sizes up to 1 TB', () => {
    const rand = prng(7);
    for (let k = 0; k < 5000; k++) {
      // Log-uniform sizes cover bytes to terabytes evenly.
      const size = Math.floor(Math.exp(rand() * Math.log(2 ** 40)));
      const ps = choosePieceSize(size);
      const count = pieceCountFor(size, ps);
      assert.ok(count <= MAX_PIECE_COUNT, `size ${size}: ${count} pieces`);
      if (size > 0 && ps < 4 * BLOCK_SIZE) assert.ok(count <= 8, `size ${size}: at most 8 pieces below the 1 MiB piece size`);
      if (ps <= BLOCK_SIZE) assert.ok(ps === BLOCK_SIZE || (ps % (16 * KiB) === 0 && ps >= 16 * KiB), `size ${size}: ${ps}`);
      else assert.equal(ps % BLOCK_SIZE, 0, `size ${size}: ${ps} is whole blocks`);
    }
  });

  it('refuses sizes whose piece size would overflow 32 bits', () => {
    assert.throws(() => choosePieceSize(Number.MAX_SAFE_INTEGER), RangeError);
    assert.throws(() => choosePieceSize(-1), RangeError);
  });
});

describe('Manifest', () => {
  it('cuts pieces into blocks that cover each piece exactly', () => {
    const cases: Array<[number, number]> = [
      [1, 16 * KiB],
      [MiB, choosePieceSize(MiB)],
      [8 * MiB + 17, choosePieceSize(8 * MiB + 17)],
      [3 * BLOCK_SIZE + 5, 2 * BLOCK_SIZE],
      [1000, 320],
      [5 * MiB, 700_032],
    ];
    for (const [size, pieceSize] of cases) {
      const count = pieceCountFor(size, pieceSize);
      const m = new Manifest({ hash: EMPTY_SHA256, size, pieceSize, chain: chainEndingAt(EMPTY_SHA256, count) });
      let covered = 0;
      for (let i = 0; i < m.pieceCount; i++) {
        const [start, end] = m.pieceRange(i);
        assert.equal(start, covered, 'pieces are contiguous');
        assert.equal(end - start, m.pieceLength(i));
        let at = 0;
        for (const b of m.blocks(i)) {
          assert.equal(b.offset, at);
          assert.ok(b.length >= 1 && b.length <= BLOCK_SIZE);
          at += b.length;
        }
        assert.equal(at, m.pieceLength(i), `piece ${i} of ${size}/${pieceSize}`);
        assert.equal(m.pieceAt(start), i);
        assert.equal(m.pieceAt(end - 1), i);
        covered = end;
      }
      assert.equal(covered, size);
      assert.throws(() => m.pieceRange(m.pieceCount), RangeError);
    }
  });

  it('handles a 0-byte file as zero pieces', async () => {
    for (const empty of [new Blob([]), new Uint8Array(0), new ArrayBuffer(0)]) {
      const m = await buildManifest(empty);
      assert.equal(m.hash, EMPTY_SHA256);
      assert.equal(m.pieceCount, 0);
      assert.equal(m.size, 0);
      assert.equal(m.chain.byteLength, 0);
      const back = Manifest.fromFrame(decodeFrame(encodeFrame(m.toFrame())) as ReturnType<Manifest['toFrame']>);
      assert.equal(back.pieceCount, 0);
    }
  });

  it('addresses a file by its SHA-256 from Blobs, ArrayBuffers, Uint8Arrays and views, and every piece verifies', async () => {
    for (const [size, pieceSize] of [
      [1, undefined],
      [63, undefined],
      [64, undefined],
      [65, undefined],
      [MiB + 3, undefined],
      [9 * MiB + 12_345, undefined],
      [3 * MiB, 2 * BLOCK_SIZE],
      [100_000, 4096],
    ] as Array<[number, number | undefined]>) {
      const data = randomBytes(size, size);
      const hash = nodeHex(data);
      const progress: number[] = [];
      const m = await buildManifest(new Blob([data]), { pieceSize, onProgress: (done) => progress.push(done) });
      const ps = pieceSize ?? choosePieceSize(size);
      assert.equal(m.pieceSize, ps);
      assert.equal(m.hash, hash);
      assert.equal(progress.at(-1), size);
      assert.deepEqual(
        progress,
        [...progress].sort((a, b) => a - b),
      );
      for (let i = 0; i < m.pieceCount; i++)
        assert.equal(await m.verifyPiece(i, data.subarray(...m.pieceRange(i))), true, `piece ${i} of ${size}`);
      for (const input of [data, data.slice().buffer]) assert.deepEqual((await buildManifest(input, { pieceSize })).chain, m.chain);
    }
    const big = randomBytes(300_000, 9);
    const view = big.subarray(1234, 250_000);
    assert.equal((await buildManifest(view)).hash, nodeHex(view), 'a view, not its whole buffer');
  });

  it('verifies pieces in any order, each from the chaining value before it', async () => {
    const data = randomBytes(5 * MiB + 77, 11);
    const m = await buildManifest(data);
    const order = [...Array(m.pieceCount).keys()].reverse();
    for (const i of order) assert.equal(await m.verifyPiece(i, data.subarray(...m.pieceRange(i))), true, `piece ${i}`);
  });

  it("rejects a chain that does not end at the file's SHA-256, and pieces not cut on 64-byte boundaries", () => {
    const hash = nodeHex(new Uint8Array([1]));
    assert.throws(
      () => new Manifest({ hash, size: 100, pieceSize: 64, chain: new Uint8Array(64) }),
      (e: unknown) => isEcdnError(e, 'PROTOCOL'),
    );
    assert.throws(
      () => new Manifest({ hash, size: 100, pieceSize: 50, chain: chainEndingAt(hash, 2) }),
      (e: unknown) => isEcdnError(e, 'PROTOCOL'),
    );
    assert.doesNotThrow(() => new Manifest({ hash, size: 100, pieceSize: 64, chain: chainEndingAt(hash, 2) }));
    assert.doesNotThrow(
      () => new Manifest({ hash, size: 100, pieceSize: 100, chain: chainEndingAt(hash, 1) }),
      'one piece needs no boundary',
    );
  });

  it('verifies pieces: right bytes pass, a flipped byte or a wrong length fails', async () => {
    const data = randomBytes(3 * MiB + 1000, 42);
    const m = await buildManifest(data, { pieceSize: BLOCK_SIZE * 4 });
    for (let i = 0; i < m.pieceCount; i++) {
      const [s, e] = m.pieceRange(i);
      assert.equal(await m.verifyPiece(i, data.subarray(s, e)), true, `piece ${i}`);
    }
    const piece = data.slice(0, m.pieceLength(0));
    piece[12345]! ^= 1;
    assert.equal(await m.verifyPiece(0, piece), false);
    assert.equal(await m.verifyPiece(0, data.subarray(0, m.pieceLength(0) - 1)), false);
    assert.equal(await m.verifyPiece(1, data.subarray(0, m.pieceLength(0))), false, 'piece 0 bytes are not piece 1');
    const last = m.pieceCount - 1;
    assert.equal(await m.verifyPiece(last, data.slice(m.pieceRange(last)[0]).buffer), true, 'an ArrayBuffer works too');
  });

  it('round-trips through a MANIFEST frame and copies the received hashes', async () => {
    const data = randomBytes(2 * MiB, 3);
    const m = await buildManifest(data);
    const encoded = encodeFrame(m.toFrame());
    const frame = decodeFrame(encoded);
    assert.equal(frame.type, 'MANIFEST');
    if (frame.type !== 'MANIFEST') return;
    const back = Manifest.fromFrame(frame);
    assert.deepEqual(back.chain, m.chain);
    encoded.fill(0);
    assert.deepEqual(back.chain, m.chain, 'not a view into the message');
    assert.equal(back.pieceCount, m.pieceCount);
  });

  it('rejects inconsistent manifests with PROTOCOL', () => {
    const bad = [
      { hash: EMPTY_SHA256, size: 100, pieceSize: 50, chain: new Uint8Array(32) },
      { hash: EMPTY_SHA256, size: 100, pieceSize: 0, chain: new Uint8Array(0) },
      { hash: EMPTY_SHA256, size: -1, pieceSize: 10, chain: new Uint8Array(0) },
      { hash: EMPTY_SHA256, size: 1.5, pieceSize: 10, chain: new Uint8Array(32) },
      { hash: EMPTY_SHA256, size: 10_000_000, pieceSize: 1000, chain: new Uint8Array(32 * 10_000) },
    ];
    for (const fields of bad)
      assert.throws(
        () => new Manifest(fields),
        (e: unknown) => isEcdnError(e, 'PROTOCOL'),
        JSON.stringify({ ...fields, chain: fields.chain.length }),
      );
    assert.throws(
      () => new Manifest({ hash: 'nope', size: 0, pieceSize: 1, chain: new Uint8Array(0) }),
      (e: unknown) => isEcdnError(e, 'INVALID_HASH'),
    );
  });

  it('refuses an explicit piece size too small for one MANIFEST frame before reading anything', async () => {
    await assert.rejects(buildManifest(new Uint8Array(100_000), { pieceSize: 1 }), RangeError);
    await assert.rejects(buildManifest(new Uint8Array(100_000), { pieceSize: 1000 }), RangeError, 'not a multiple of 64');
  });

  it('aborts', async () => {
    const data = randomBytes(8 * MiB, 5);
    const ctrl = new AbortController();
    await assert.rejects(buildManifest(new Blob([data]), { signal: ctrl.signal, onProgress: () => ctrl.abort() }), (e: unknown) =>
      isEcdnError(e, 'ABORTED'),
    );
    await assert.rejects(buildManifest(data, { signal: AbortSignal.abort() }), (e: unknown) => isEcdnError(e, 'ABORTED'));
    assert.equal((await buildManifest(data)).hash, nodeHex(data), 'an abort leaves nothing broken');
  });
});
