/**
 * fast-check arbitraries for tracker frames, shared by the parser fuzz test and the
 * live tracker fuzz test. Used by *.test.ts files only.
 *
 * A frame is drawn from: valid messages of every type, valid messages with one field
 * mutated (wrong type, out of range, deleted, unknown extras), arbitrary JSON,
 * arbitrary text, arbitrary bytes (as text or binary frames), and valid frames cut
 * short or with bytes flipped.
 */
import fc from 'fast-check';
import { CLIENT_MESSAGE_TYPES, MAX_PEER_ID_LENGTH, MAX_RID_LENGTH, MAX_TOKEN_LENGTH, REPORT_REASONS } from './protocol.js';

/** How many cases each fuzz property runs: FUZZ_RUNS, default 10^4 (CI); 10^6 for a long run. */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);

/** A frame to hand to the tracker: what `ws` would deliver, and whether it was binary. */
export interface FuzzFrame {
  data: string | Buffer | Buffer[];
  isBinary: boolean;
  /** True when `data` is a well-formed message the tracker must accept (as far as parsing goes). */
  valid: boolean;
}

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('hex'));

/** A valid hash, drawn from `pool` when given (so that swarms meet) or at random. */
export function hashArb(pool?: readonly string[]): fc.Arbitrary<string> {
  return pool ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: hex64 }) : hex64;
}

const peerIdArb = fc.stringMatching(new RegExp(`^[A-Za-z0-9]{1,${MAX_PEER_ID_LENGTH}}$`));
const ridArb = fc.oneof(fc.string({ maxLength: MAX_RID_LENGTH }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));

/** A message every field of which is valid. */
export function validMessageArb(hashes?: readonly string[], peerIds?: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const hash = hashArb(hashes);
  const peerId = peerIds && peerIds.length > 0 ? fc.oneof(fc.constantFrom(...peerIds), peerIdArb) : peerIdArb;
  const withRid = <T extends Record<string, unknown>>(arb: fc.Arbitrary<T>) =>
    fc.tuple(arb, fc.option(ridArb, { nil: undefined })).map(([message, rid]) => (rid === undefined ? message : { ...message, rid }));
  return withRid(
    fc.oneof(
      fc.constant({ type: 'hello' }),
      fc.record({ type: fc.constant('hello'), peerId, token: fc.string({ maxLength: MAX_TOKEN_LENGTH }) }),
      fc.record({ type: fc.constant('announce'), hash, complete: fc.boolean() }, { requiredKeys: ['type', 'hash'] }),
      fc.record({ type: fc.constant('withdraw'), hash }),
      fc.record({ type: fc.constant('lookup'), hash, max: fc.nat(100) }, { requiredKeys: ['type', 'hash'] }),
      fc.record({ type: fc.constant('watch'), hash }),
      fc.record({ type: fc.constant('unwatch'), hash }),
      fc.constant({ type: 'ping' }),
      fc.record({
        type: fc.constant('report'),
        hash,
        peerId,
        reason: fc.oneof(fc.constantFrom(...REPORT_REASONS), fc.stringMatching(/^[A-Z][A-Z0-9_]{0,31}$/)),
      }),
    ),
  );
}

/** Anything JSON can hold, and then some values JSON.stringify turns into null or drops. */
const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, false, 0, -0, -1, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 0.5, '', ' ', '\u0000', 'ÿ'.repeat(80), '🙂'),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.constantFrom(...CLIENT_MESSAGE_TYPES, 'HELLO', 'announce ', 'report\u0000', '__proto__', 'constructor', 'toString'),
);

/** A valid message with one field changed to something else, deleted, or extra fields added. */
export function mutatedMessageArb(hashes?: readonly string[], peerIds?: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(
      validMessageArb(hashes, peerIds),
      fc.constantFrom('type', 'rid', 'hash', 'complete', 'max', 'peerId', 'token', 'reason', '__proto__', 'extra'),
      fc.nat(2),
      oddValue,
    )
    .map(([message, field, how, value]) => {
      const copy: Record<string, unknown> = { ...message };
      if (how === 0) delete copy[field];
      else Object.defineProperty(copy, field, { value, enumerable: true, configurable: true, writable: true });
      return copy;
    });
}

/** Frames of every kind listed at the top of this file. */
export function frameArb(
  options: { hashes?: readonly string[]; peerIds?: readonly string[]; maxBytes?: number } = {},
): fc.Arbitrary<FuzzFrame> {
  const { hashes, peerIds } = options;
  const maxBytes = options.maxBytes ?? 2_048;
  const text = (arb: fc.Arbitrary<string>, valid = false) => arb.map((data): FuzzFrame => ({ data, isBinary: false, valid }));
  const validJson = validMessageArb(hashes, peerIds).map((m) => JSON.stringify(m));
  return fc.oneof(
    { weight: 6, arbitrary: text(validJson, true) },
    { weight: 6, arbitrary: text(mutatedMessageArb(hashes, peerIds).map((m) => JSON.stringify(m))) },
    { weight: 2, arbitrary: text(fc.json({ maxDepth: 4 })) },
    { weight: 2, arbitrary: text(fc.string({ unit: 'binary', maxLength: 200 })) },
    // Deep nesting, which a recursive validator might not survive.
    { weight: 1, arbitrary: text(fc.integer({ min: 1, max: 5_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`)) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.uint8Array({ maxLength: maxBytes }), fc.boolean())
        .map(([bytes, isBinary]): FuzzFrame => ({ data: Buffer.from(bytes), isBinary, valid: false })),
    },
    {
      weight: 3,
      arbitrary: fc.tuple(validJson, fc.nat(), fc.nat(255), fc.nat(3)).map(([json, at, byte, how]): FuzzFrame => {
        const bytes = Buffer.from(json);
        const i = at % bytes.length;
        if (how === 0) return { data: bytes.subarray(0, i), isBinary: false, valid: false }; // cut short
        if (how === 1) bytes[i] = byte; // one byte changed
        if (how === 2) return { data: [bytes.subarray(0, i), bytes.subarray(i)], isBinary: false, valid: false }; // fragmented, still valid
        if (how === 3) return { data: bytes, isBinary: true, valid: false }; // a valid message in a binary frame
        return { data: bytes, isBinary: false, valid: false };
      }),
    },
  );
}
