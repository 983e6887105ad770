import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EcdnError, isEcdnError } from './errors.js';
import { prng } from '../../test/helpers/random.js';
import {
  BLOCK_SIZE,
  MAX_MANIFEST_PIECES,
  MAX_MESSAGE,
  MANIFEST_PIECE,
  PROTOCOL_VERSION,
  bitfieldHas,
  decodeFrame,
  encodeBitfield,
  encodeFrame,
  pieceCountFor,
  type Frame,
} from './wire.js';

const HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const HASH2 = '00ff11ee22dd33cc44bb55aa6699778800ff11ee22dd33cc44bb55aa66997788';

function bytes(n: number, seed = 1): Uint8Array {
  const r = prng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}

function roundTrip(frame: Frame): Frame {
  const encoded = encodeFrame(frame);
  assert.ok(encoded.byteLength <= MAX_MESSAGE, `${frame.type} fits one message`);
  assert.equal(encoded.byteOffset, 0);
  assert.equal(encoded.buffer.byteLength, encoded.byteLength, 'exactly sized buffer');
  const decoded = decodeFrame(encoded.buffer);
  assert.deepEqual(decoded, frame);
  // Uint8Array input with a non-zero offset decodes the same.
  const shifted = new Uint8Array(encoded.byteLength + 3);
  shifted.set(encoded, 3);
  assert.deepEqual(decodeFrame(shifted.subarray(3)), frame);
  return decoded;
}

function expectProtocol(input: unknown, why: string): void {
  assert.throws(
    () => decodeFrame(input as ArrayBuffer),
    (err: unknown) => isEcdnError(err, 'PROTOCOL'),
    why,
  );
}

/** Every frame type with edge values, for round trips and as fuzz seeds. */
function sampleFrames(): Frame[] {
  const count = pieceCountFor(10 * 1024 * 1024 + 5, 1_048_320);
  return [
    { type: 'HANDSHAKE', version: PROTOCOL_VERSION, features: 0 },
    { type: 'HANDSHAKE', version: 0xffff, features: 0xffff_ffff },
    { type: 'MANIFEST_REQUEST', hash: HASH },
    { type: 'MANIFEST', hash: HASH, size: 0, pieceSize: 16384, chain: new Uint8Array(0) },
    { type: 'MANIFEST', hash: HASH2, size: 1, pieceSize: 16384, chain: bytes(32, 2) },
    { type: 'MANIFEST', hash: HASH2, size: 10 * 1024 * 1024 + 5, pieceSize: 1_048_320, chain: bytes(32 * count, 3) },
    // A size past 2^32 exercises the high word.
    {
      type: 'MANIFEST',
      hash: HASH,
      size: 5_000_000_000_123,
      pieceSize: 0xffff_ffff,
      chain: bytes(32 * pieceCountFor(5_000_000_000_123, 0xffff_ffff), 4),
    },
    { type: 'BITFIELD', hash: HASH, pieceCount: 0, bits: new Uint8Array(0) },
    { type: 'BITFIELD', hash: HASH, pieceCount: 13, bits: encodeBitfield((i) => i % 3 === 0, 13) },
    { type: 'BITFIELD', hash: HASH2, pieceCount: 16, bits: encodeBitfield(() => true, 16) },
    { type: 'HAVE', hash: HASH, piece: 0 },
    { type: 'HAVE', hash: HASH, piece: 0xffff_fffe },
    { type: 'REQUEST', hash: HASH, piece: 7, offset: 262_080, length: BLOCK_SIZE },
    { type: 'REQUEST', hash: HASH, piece: 0, offset: 0, length: 1 },
    { type: 'PIECE', hash: HASH2, piece: 3, offset: 0, data: bytes(BLOCK_SIZE, 5) },
    { type: 'PIECE', hash: HASH2, piece: 3, offset: 524_160, data: bytes(1, 6) },
    { type: 'PIECE', hash: HASH2, piece: 1, offset: 0, data: bytes(1000, 7) },
    { type: 'CANCEL', hash: HASH, piece: 9, offset: 0, length: 100 },
    { type: 'REJECT', hash: HASH, piece: 9, offset: 0, length: 100, reason: 'NOT_HAVE' },
    { type: 'REJECT', hash: HASH, piece: 1, offset: 262_080, length: BLOCK_SIZE, reason: 'BUSY' },
    { type: 'REJECT', hash: HASH, piece: MANIFEST_PIECE, offset: 0, length: 0, reason: 'NOT_FOUND' },
    { type: 'LOST', hash: HASH2 },
  ];
}

describe('wire', () => {
  it('leaves room for the PIECE header in a message', () => {
    assert.ok(41 + BLOCK_SIZE <= MAX_MESSAGE);
    assert.equal(
      encodeFrame({ type: 'PIECE', hash: HASH, piece: 0, offset: 0, data: new Uint8Array(BLOCK_SIZE) }).byteLength,
      41 + BLOCK_SIZE,
    );
  });

  it('round-trips every frame type', () => {
    const seen = new Set<string>();
    for (const frame of sampleFrames()) {
      roundTrip(frame);
      seen.add(frame.type);
    }
    assert.equal(seen.size, 10);
  });

  it('round-trips the largest manifest that fits one message', () => {
    const pieceSize = 4 * BLOCK_SIZE;
    const size = MAX_MANIFEST_PIECES * pieceSize;
    const frame: Frame = { type: 'MANIFEST', hash: HASH, size, pieceSize, chain: bytes(32 * MAX_MANIFEST_PIECES, 8) };
    assert.ok(encodeFrame(frame).byteLength <= MAX_MESSAGE);
    roundTrip(frame);
    assert.throws(() => encodeFrame({ ...frame, size: size + 1, chain: new Uint8Array(32 * (MAX_MANIFEST_PIECES + 1)) }), RangeError);
  });

  it('decodes PIECE data as a view into the message, without a copy', () => {
    const data = bytes(5000, 9);
    const encoded = encodeFrame({ type: 'PIECE', hash: HASH, piece: 2, offset: 10, data });
    const decoded = decodeFrame(encoded);
    assert.equal(decoded.type, 'PIECE');
    if (decoded.type !== 'PIECE') return;
    assert.equal(decoded.data.buffer, encoded.buffer);
    assert.equal(decoded.data.byteOffset, 41);
    assert.deepEqual(decoded.data, data);
  });

  it('packs bitfields high bit first and masks spare bits', () => {
    const bits = encodeBitfield((i) => i === 0 || i === 9, 10);
    assert.deepEqual([...bits], [0x80, 0x40]);
    assert.equal(bitfieldHas(bits, 0), true);
    assert.equal(bitfieldHas(bits, 1), false);
    assert.equal(bitfieldHas(bits, 9), true);
    assert.equal(bitfieldHas(bits, 16), false);
    assert.equal(bitfieldHas(bits, -1), false);
    const encoded = encodeFrame({ type: 'BITFIELD', hash: HASH, pieceCount: 10, bits: new Uint8Array([0xff, 0xff]) });
    assert.equal(encoded[encoded.length - 1], 0xc0);
  });

  it('rejects malformed messages with EcdnError PROTOCOL', () => {
    const valid = (frame: Frame): Uint8Array => encodeFrame(frame);
    expectProtocol(new ArrayBuffer(0), 'empty');
    expectProtocol('hello', 'a string');
    expectProtocol(null, 'null');
    expectProtocol(42, 'a number');
    expectProtocol({ byteLength: 7 }, 'a lookalike object');
    expectProtocol(new Uint8Array([0]), 'type 0');
    expectProtocol(new Uint8Array([11, ...new Uint8Array(40)]), 'type 11');
    expectProtocol(new Uint8Array([255]), 'type 255');
    expectProtocol(new Uint8Array(MAX_MESSAGE + 1).fill(7), 'over MAX_MESSAGE');
    for (const frame of sampleFrames()) {
      const enc = valid(frame);
      // A shorter PIECE is still a PIECE; every other frame's length is fixed or self-checking.
      if (frame.type !== 'PIECE') expectProtocol(enc.subarray(0, enc.length - 1), `${frame.type} truncated by one`);
      else expectProtocol(enc.subarray(0, 41), 'PIECE truncated to its header');
      expectProtocol(enc.subarray(0, 1), `${frame.type} type byte only`);
      if (frame.type !== 'PIECE' && frame.type !== 'MANIFEST' && frame.type !== 'BITFIELD') {
        expectProtocol(new Uint8Array([...enc, 0]), `${frame.type} with a trailing byte`);
      }
    }
    // PIECE larger than a block.
    const big = new Uint8Array(41 + BLOCK_SIZE + 1);
    big.set(valid({ type: 'PIECE', hash: HASH, piece: 0, offset: 0, data: new Uint8Array(1) }).subarray(0, 41));
    expectProtocol(big, 'PIECE over BLOCK_SIZE');
    expectProtocol(valid({ type: 'PIECE', hash: HASH, piece: 0, offset: 0, data: new Uint8Array(1) }).subarray(0, 41), 'empty PIECE');
    // REQUEST lengths.
    const req = valid({ type: 'REQUEST', hash: HASH, piece: 0, offset: 0, length: 1 });
    const view = new DataView(req.buffer);
    view.setUint32(41, 0);
    expectProtocol(req, 'REQUEST length 0');
    view.setUint32(41, BLOCK_SIZE + 1);
    expectProtocol(req, 'REQUEST length over BLOCK_SIZE');
    view.setUint32(41, 100);
    view.setUint32(37, 0xffff_ffff);
    expectProtocol(req, 'REQUEST range past 2^32');
    view.setUint32(37, 0);
    view.setUint32(33, MANIFEST_PIECE);
    expectProtocol(req, 'REQUEST for the reserved piece');
    // REJECT reasons and the manifest form.
    const rej = valid({ type: 'REJECT', hash: HASH, piece: 1, offset: 0, length: 1, reason: 'BUSY' });
    rej[45] = 0;
    expectProtocol(rej, 'REJECT reason 0');
    rej[45] = 4;
    expectProtocol(rej, 'REJECT reason 4');
    const rejM = valid({ type: 'REJECT', hash: HASH, piece: MANIFEST_PIECE, offset: 0, length: 0, reason: 'NOT_FOUND' });
    new DataView(rejM.buffer).setUint32(41, 5);
    expectProtocol(rejM, 'REJECT of a manifest with a length');
    // BITFIELD length and spare bits.
    const bf = valid({ type: 'BITFIELD', hash: HASH, pieceCount: 10, bits: new Uint8Array(2) });
    expectProtocol(new Uint8Array([...bf, 0]), 'BITFIELD one byte too long');
    bf[bf.length - 1] = 0x01;
    expectProtocol(bf, 'BITFIELD spare bit set');
    const hugeCount = valid({ type: 'BITFIELD', hash: HASH, pieceCount: 8, bits: new Uint8Array(1) });
    new DataView(hugeCount.buffer).setUint32(33, 0xffff_ffff);
    expectProtocol(hugeCount, 'BITFIELD claiming 2^32 pieces');
    // MANIFEST consistency.
    const man = valid({ type: 'MANIFEST', hash: HASH, size: 100, pieceSize: 50, chain: new Uint8Array(64) });
    const mv = new DataView(man.buffer);
    mv.setUint32(37, 101);
    expectProtocol(man, 'MANIFEST with too few hashes');
    mv.setUint32(37, 50);
    expectProtocol(man, 'MANIFEST with too many hashes');
    mv.setUint32(37, 100);
    mv.setUint32(41, 0);
    expectProtocol(man, 'MANIFEST piece size 0');
    mv.setUint32(41, 50);
    mv.setUint32(33, 0x20_0000);
    expectProtocol(man, 'MANIFEST size over 2^53');
    expectProtocol(
      new Uint8Array([...valid({ type: 'MANIFEST', hash: HASH, size: 0, pieceSize: 1, chain: new Uint8Array(0) }), 1]),
      'MANIFEST with a partial hash',
    );
  });

  it('throws RangeError or INVALID_HASH, never encodes, out-of-range values', () => {
    assert.throws(() => encodeFrame({ type: 'HANDSHAKE', version: 0x1_0000, features: 0 }), RangeError);
    assert.throws(() => encodeFrame({ type: 'HAVE', hash: HASH, piece: -1 }), RangeError);
    assert.throws(() => encodeFrame({ type: 'REQUEST', hash: HASH, piece: 0, offset: 0, length: BLOCK_SIZE + 1 }), RangeError);
    assert.throws(() => encodeFrame({ type: 'REQUEST', hash: HASH, piece: 0, offset: 0, length: 0 }), RangeError);
    assert.throws(() => encodeFrame({ type: 'PIECE', hash: HASH, piece: 0, offset: 0, data: new Uint8Array(BLOCK_SIZE + 1) }), RangeError);
    assert.throws(() => encodeFrame({ type: 'BITFIELD', hash: HASH, pieceCount: 9, bits: new Uint8Array(1) }), RangeError);
    assert.throws(() => encodeFrame({ type: 'MANIFEST', hash: HASH, size: 10, pieceSize: 5, chain: new Uint8Array(32) }), RangeError);
    assert.throws(
      () => encodeFrame({ type: 'LOST', hash: 'xyz' }),
      (e: unknown) => isEcdnError(e, 'INVALID_HASH'),
    );
    assert.throws(
      () => encodeFrame({ type: 'LOST', hash: HASH.replace('e', 'g') }),
      (e: unknown) => isEcdnError(e, 'INVALID_HASH'),
    );
    // Upper-case hex is accepted and comes back lower-case.
    const decoded = decodeFrame(encodeFrame({ type: 'LOST', hash: HASH.toUpperCase() }));
    assert.deepEqual(decoded, { type: 'LOST', hash: HASH });
  });

  it('survives 10,000 random mutations: a valid frame that re-encodes identically, or PROTOCOL', () => {
    const rand = prng(0xecd0);
    const seeds = sampleFrames().map((f) => encodeFrame(f));
    const pick = (n: number): number => Math.floor(rand() * n);
    let decodedCount = 0;
    let rejectedCount = 0;
    for (let iter = 0; iter < 10_000; iter++) {
      const base = seeds[pick(seeds.length)]!;
      let input: Uint8Array;
      switch (pick(7)) {
        case 0: {
          // Flip a few random bytes.
          input = base.slice();
          for (let k = 1 + pick(4); k > 0; k--) input[pick(input.length)] = pick(256);
          break;
        }
        case 1:
          input = base.slice(0, pick(base.length + 1));
          break;
        case 2: {
          input = new Uint8Array(base.length + 1 + pick(64));
          input.set(base);
          for (let i = base.length; i < input.length; i++) input[i] = pick(256);
          break;
        }
        case 3: {
          // Change the type byte, so one frame's body is read as another's.
          input = base.slice();
          input[0] = pick(12);
          break;
        }
        case 4: {
          // Overwrite a 32-bit field in the header area with an edge value.
          input = base.slice();
          const edges = [0, 1, 0xff, 0xffff_ffff, 0x8000_0000, BLOCK_SIZE, BLOCK_SIZE + 1, MANIFEST_PIECE - 1];
          const at = 1 + pick(Math.max(1, Math.min(input.length, 50) - 4));
          if (at + 4 <= input.length) new DataView(input.buffer).setUint32(at, edges[pick(edges.length)]!);
          break;
        }
        case 5: {
          const n = pick(300);
          input = new Uint8Array(n);
          for (let i = 0; i < n; i++) input[i] = pick(256);
          if (n > 0) input[0] = 1 + pick(10);
          break;
        }
        default: {
          // Splice: drop a random range from the middle.
          const a = pick(base.length);
          const b = a + pick(base.length - a + 1);
          input = new Uint8Array([...base.subarray(0, a), ...base.subarray(b)]);
        }
      }
      let frame: Frame;
      try {
        frame = decodeFrame(input);
      } catch (err) {
        assert.ok(err instanceof EcdnError, `iteration ${iter}: threw ${String(err)}`);
        assert.equal(err.code, 'PROTOCOL', `iteration ${iter}`);
        rejectedCount++;
        continue;
      }
      decodedCount++;
      // Accepted input is canonical: encoding the frame gives back the same bytes.
      assert.deepEqual(encodeFrame(frame), input, `iteration ${iter}: ${frame.type} re-encodes differently`);
    }
    assert.ok(decodedCount > 500 && rejectedCount > 500, `both outcomes exercised (${decodedCount} decoded, ${rejectedCount} rejected)`);
  });
});

describe('wire, exotic inputs', () => {
  it('rejects a detached buffer with PROTOCOL, not TypeError', () => {
    const buf = new ArrayBuffer(7);
    structuredClone(buf, { transfer: [buf] });
    assert.equal(buf.byteLength, 0);
    assert.throws(
      () => decodeFrame(buf),
      (e: unknown) => isEcdnError(e, 'PROTOCOL'),
    );
    const view = new Uint8Array(new ArrayBuffer(33));
    structuredClone(view.buffer, { transfer: [view.buffer] });
    assert.throws(
      () => decodeFrame(view),
      (e: unknown) => isEcdnError(e, 'PROTOCOL'),
    );
  });

  it('decodes a DataView and a Node Buffer', () => {
    const enc = encodeFrame({ type: 'HAVE', hash: HASH, piece: 3 });
    assert.deepEqual(decodeFrame(new DataView(enc.buffer)), { type: 'HAVE', hash: HASH, piece: 3 });
    assert.deepEqual(decodeFrame(Buffer.from(enc)), { type: 'HAVE', hash: HASH, piece: 3 });
  });
});
