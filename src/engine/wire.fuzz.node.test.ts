/**
 * Property-based fuzzing of the peer wire format with fast-check: FUZZ_RUNS cases
 * per property (10^4 by default, FUZZ_RUNS=1000000 for a long run).
 *
 * decodeFrame is where bytes from a stranger first get a shape, so for any input it
 * must either return a frame or throw EcdnError('PROTOCOL'), and nothing else. A
 * frame it returns must be the canonical reading of those bytes: encoding it again
 * gives back exactly the input. Valid frames round-trip, and the heap stays flat.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { withFlatHeap } from '../../test/helpers/heap.js';
import { EcdnError } from './errors.js';
import { BLOCK_SIZE, MANIFEST_PIECE, MAX_MESSAGE, PIECE_HASH_SIZE, decodeFrame, encodeFrame, type Frame } from './wire.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const HEAP_BOUND = 16 * 1024 * 1024;
const U32 = 0x1_0000_0000;

// --- arbitraries ----------------------------------------------------------------------

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const u32 = fc.oneof(fc.nat({ max: U32 - 1 }), fc.constantFrom(0, 1, 0x7fff_ffff, 0x8000_0000, U32 - 2, U32 - 1));
const piece = u32.filter((p) => p !== MANIFEST_PIECE);
/** Mostly small, sometimes as large as allowed: big sizes are where length checks go wrong. */
const size = (max: number) =>
  fc.oneof(
    { weight: 16, arbitrary: fc.integer({ min: 1, max: Math.min(max, 64) }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max }) },
  );

/**
 * `n` bytes: drawn one by one by fast-check when few (so that they shrink well),
 * filled from a seeded PRNG when many (drawing 256 KiB byte by byte is slow).
 */
function bytesOf(n: number): fc.Arbitrary<Uint8Array> {
  if (n <= 256) return fc.uint8Array({ minLength: n, maxLength: n });
  return fc.integer().map((seed) => {
    const out = new Uint8Array(n);
    let a = seed >>> 0;
    for (let i = 0; i < n; i++) {
      a = (Math.imul(a, 1_664_525) + 1_013_904_223) >>> 0;
      out[i] = a >>> 24;
    }
    return out;
  });
}

const block = fc
  .tuple(hash, piece, size(BLOCK_SIZE), u32)
  .map(([h, p, length, o]) => ({ hash: h, piece: p, length, offset: Math.min(o, U32 - length) }));

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ type: fc.constant('HANDSHAKE' as const), version: fc.nat(0xffff), features: u32 }),
  fc.record({ type: fc.constant('MANIFEST_REQUEST' as const), hash }),
  fc.record({ type: fc.constant('LOST' as const), hash }),
  fc
    .tuple(
      hash,
      fc.integer({ min: 1, max: U32 - 1 }),
      fc.oneof({ weight: 16, arbitrary: fc.nat(16) }, { weight: 1, arbitrary: fc.nat(8_190) }),
      fc.double({ min: 0, max: 1, noNaN: true }),
    )
    .chain(([h, pieceSize, count, where]) => {
      // A size consistent with `count` pieces: in ((count − 1) · pieceSize, count · pieceSize].
      const low = (count - 1) * pieceSize + 1;
      const fileSize = count === 0 ? 0 : Math.min(count * pieceSize, low + Math.floor(where * (pieceSize - 1)));
      return bytesOf(count * PIECE_HASH_SIZE).map((chain): Frame => ({ type: 'MANIFEST', hash: h, size: fileSize, pieceSize, chain }));
    }),
  fc
    .tuple(hash, fc.oneof({ weight: 16, arbitrary: fc.nat(200) }, { weight: 1, arbitrary: fc.nat((MAX_MESSAGE - 37) * 8) }))
    .chain(([h, pieceCount]) => {
      const len = Math.ceil(pieceCount / 8);
      return bytesOf(len).map((bits): Frame => {
        if (pieceCount % 8 !== 0) bits[len - 1] = bits[len - 1]! & (0xff00 >> (pieceCount % 8));
        return { type: 'BITFIELD', hash: h, pieceCount, bits };
      });
    }),
  fc.record({ type: fc.constant('HAVE' as const), hash, piece }),
  block.map((b): Frame => ({ type: 'REQUEST', ...b })),
  block.map((b): Frame => ({ type: 'CANCEL', ...b })),
  fc.tuple(block, fc.constantFrom('NOT_FOUND' as const, 'NOT_HAVE' as const, 'BUSY' as const), fc.boolean()).map(
    ([b, reason, manifest]): Frame => ({
      type: 'REJECT',
      ...(manifest ? { ...b, piece: MANIFEST_PIECE, offset: 0, length: 0 } : b),
      reason,
    }),
  ),
  fc
    .tuple(hash, piece, size(BLOCK_SIZE), u32)
    .chain(([h, p, n, o]) => bytesOf(n).map((data): Frame => ({ type: 'PIECE', hash: h, piece: p, offset: Math.min(o, U32 - n), data }))),
);

/** A valid frame's bytes with one kind of damage done to them. */
const mutatedArb = fc
  .tuple(frameArb, fc.nat(6), fc.nat(), fc.nat(255), fc.uint8Array({ maxLength: 40 }))
  .map(([frame, how, at, byte, extra]) => {
    const bytes = encodeFrame(frame);
    const i = at % bytes.length;
    switch (how) {
      case 0: // cut short
        return bytes.subarray(0, i);
      case 1: // one byte changed
        bytes[i] = byte;
        return bytes;
      case 2: {
        // bytes appended
        const longer = new Uint8Array(bytes.length + extra.length + 1);
        longer.set(bytes);
        longer.set(extra, bytes.length);
        return longer;
      }
      case 3: // another type byte
        bytes[0] = byte % 13;
        return bytes;
      case 4: {
        // a u32 field (piece, offset, length, count, size) set to an extreme
        if (bytes.length >= 37)
          new DataView(bytes.buffer, bytes.byteOffset).setUint32(
            33 + 4 * (at % Math.max(1, Math.floor((Math.min(bytes.length, 45) - 33) / 4))),
            [0, 1, MANIFEST_PIECE, 0x8000_0000, BLOCK_SIZE + 1][at % 5]!,
          );
        return bytes;
      }
      case 5: // the last byte changed (spare bitfield bits, reject reasons)
        bytes[bytes.length - 1] = byte;
        return bytes;
      default: // a few bits flipped anywhere
        for (let k = 0; k < 1 + (at % 4); k++) bytes[(at * (k + 7)) % bytes.length]! ^= 1 << ((k + byte) % 8);
        return bytes;
    }
  });

/** Arbitrary bytes, weighted towards the lengths real frames have. */
const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc
    .tuple(fc.integer({ min: 1, max: 10 }), fc.uint8Array({ minLength: 32, maxLength: 60 }))
    .map(([type, rest]) => Uint8Array.from([type, ...rest])),
  fc.uint8Array({ minLength: 45, maxLength: 2_048 }),
  fc.constantFrom(MAX_MESSAGE, MAX_MESSAGE + 1).map((n) => new Uint8Array(n).fill(7)),
);

/** The same bytes presented as each input kind decodeFrame takes, including views at an offset. */
const presentations = (bytes: Uint8Array): Array<ArrayBuffer | ArrayBufferView> => {
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  return [bytes, bytes.slice().buffer, shifted.subarray(3), new DataView(shifted.buffer, 3, bytes.length), Buffer.from(bytes)];
};

// --- properties -----------------------------------------------------------------------

/** Decodes and checks the contract; returns the frame, or undefined after a PROTOCOL error. */
function decodeChecked(input: ArrayBuffer | ArrayBufferView, expectedBytes: Uint8Array): Frame | undefined {
  let frame: Frame;
  try {
    frame = decodeFrame(input);
  } catch (err) {
    assert.ok(err instanceof EcdnError, `threw ${String(err)}, not an EcdnError`);
    assert.equal(err.code, 'PROTOCOL');
    return undefined;
  }
  // Accepted: it must be the canonical reading of the bytes.
  let again: Uint8Array;
  try {
    again = encodeFrame(frame);
  } catch (err) {
    assert.fail(`decoded ${describe_(frame)} from ${hexOf(expectedBytes)}, but it does not encode: ${String(err)}`);
  }
  assert.ok(
    Buffer.from(again).equals(Buffer.from(expectedBytes)),
    `${hexOf(expectedBytes)} decoded to ${describe_(frame)}, which encodes to other bytes`,
  );
  return frame;
}

const hexOf = (bytes: Uint8Array) =>
  `${Buffer.from(bytes.subarray(0, 64)).toString('hex')}${bytes.length > 64 ? `… (${bytes.length} bytes)` : ''}`;
const describe_ = (frame: Frame) => JSON.stringify(frame, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v));

describe(`wire fuzz (${FUZZ_RUNS} cases per property)`, () => {
  it('round-trips every valid frame', async () => {
    await withFlatHeap('valid frames', FUZZ_RUNS, HEAP_BOUND, () => {
      fc.assert(
        fc.property(frameArb, (frame) => {
          const bytes = encodeFrame(frame);
          const decoded = decodeChecked(bytes, bytes);
          assert.ok(decoded, `refused a valid ${frame.type}`);
          assert.deepEqual(normalize(decoded), normalize(frame));
        }),
        { numRuns: FUZZ_RUNS },
      );
    });
  });

  it('decodes arbitrary bytes to a canonical frame or EcdnError(PROTOCOL), whatever the input kind', async () => {
    const outcomes: Record<string, number> = {};
    await withFlatHeap('arbitrary bytes', FUZZ_RUNS, HEAP_BOUND, () => {
      fc.assert(
        fc.property(bytesArb, (bytes) => {
          for (const input of presentations(bytes)) {
            const frame = decodeChecked(input, bytes);
            const key = frame ? frame.type : 'PROTOCOL';
            outcomes[key] = (outcomes[key] ?? 0) + 1;
          }
        }),
        { numRuns: FUZZ_RUNS },
      );
    });
    console.log(`# outcomes: ${JSON.stringify(outcomes)}`);
  });

  it('decodes damaged valid frames to a canonical frame or EcdnError(PROTOCOL)', async () => {
    const outcomes: Record<string, number> = {};
    await withFlatHeap('mutated frames', FUZZ_RUNS, HEAP_BOUND, () => {
      fc.assert(
        fc.property(mutatedArb, (bytes) => {
          const frame = decodeChecked(bytes, bytes);
          const key = frame ? frame.type : 'PROTOCOL';
          outcomes[key] = (outcomes[key] ?? 0) + 1;
        }),
        { numRuns: FUZZ_RUNS },
      );
    });
    console.log(`# outcomes: ${JSON.stringify(outcomes)}`);
    if (FUZZ_RUNS >= 10_000)
      assert.ok(outcomes.PROTOCOL! > 0 && Object.keys(outcomes).length > 5, 'both accepted and refused frames were produced');
  });

  it('answers what is not binary data with EcdnError(PROTOCOL)', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return;
        assert.throws(
          () => decodeFrame(value as ArrayBuffer),
          (err: unknown) => err instanceof EcdnError && err.code === 'PROTOCOL',
        );
      }),
      { numRuns: Math.min(FUZZ_RUNS, 10_000) },
    );
    // A detached buffer (its bytes were transferred to a worker, say) is no frame either.
    const detached = encodeFrame({ type: 'HANDSHAKE', version: 1, features: 0 }).buffer;
    const view = new Uint8Array(detached);
    structuredClone(detached, { transfer: [detached] });
    for (const input of [detached, view]) {
      assert.throws(
        () => decodeFrame(input),
        (err: unknown) => err instanceof EcdnError && err.code === 'PROTOCOL',
      );
    }
  });
});

/** A frame with its byte fields as plain arrays, for deepEqual across views. */
function normalize(frame: Frame): Record<string, unknown> {
  return Object.fromEntries(Object.entries(frame).map(([k, v]) => [k, v instanceof Uint8Array ? Array.from(v) : v]));
}
