/**
 * Property-based fuzzing of parseClientMessage: FUZZ_RUNS cases per property
 * (10^4 by default, FUZZ_RUNS=1000000 for a long run). Asserts no throw, only
 * typed errors, that everything accepted is well-formed, and a flat heap.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CLIENT_MESSAGE_TYPES,
  ERROR_CODES,
  MAX_RID_LENGTH,
  ProtocolError,
  isValidHash,
  isValidPeerId,
  parseClientMessage,
  type ClientMessage,
  type ParseResult,
} from './protocol.js';
import { FUZZ_RUNS, frameArb, validMessageArb } from './fuzz-arbitraries.js';
import { withFlatHeap } from '../../test/helpers/heap.js';

/** How much the heap may grow over one property's run. */
const HEAP_BOUND = 16 * 1024 * 1024;

/** Checks the contract of one parse result; throws an AssertionError naming what broke. */
function checkResult(result: ParseResult): void {
  if (!result.ok) {
    assert.ok(result.error instanceof ProtocolError, 'errors are ProtocolErrors');
    assert.ok(ERROR_CODES.includes(result.error.code), `known code ${result.error.code}`);
    assert.equal(typeof result.error.message, 'string');
    assert.ok(result.error.message.length < 400, 'the message does not echo a large input');
    if (result.error.rid !== undefined) checkRid(result.error.rid);
    return;
  }
  const m: ClientMessage = result.message;
  assert.ok(CLIENT_MESSAGE_TYPES.includes(m.type), `known type ${m.type}`);
  if (m.rid !== undefined) checkRid(m.rid);
  if ('hash' in m) assert.ok(isValidHash(m.hash), 'hash is valid');
  switch (m.type) {
    case 'hello':
      assert.equal(m.peerId === undefined, m.token === undefined, 'peerId and token come together');
      if (m.peerId !== undefined) assert.ok(isValidPeerId(m.peerId));
      break;
    case 'announce':
      assert.equal(typeof m.complete, 'boolean');
      break;
    case 'lookup':
      if (m.max !== undefined) assert.ok(Number.isInteger(m.max) && m.max >= 0);
      break;
    case 'report':
      assert.ok(isValidPeerId(m.peerId));
      assert.match(m.reason, /^[A-Z][A-Z0-9_]{0,31}$/);
      break;
  }
  // Only the defined fields come out, so nothing a client adds reaches the tracker.
  const allowed = new Set(['type', 'rid', 'hash', 'complete', 'max', 'peerId', 'token', 'reason']);
  for (const key of Object.keys(m)) assert.ok(allowed.has(key), `unexpected field ${key}`);
  assert.equal(Object.getPrototypeOf(m), Object.prototype, 'a plain object');
}

function checkRid(rid: unknown): void {
  assert.ok((typeof rid === 'string' && rid.length <= MAX_RID_LENGTH) || (typeof rid === 'number' && Number.isFinite(rid)), 'rid is valid');
}

describe(`parseClientMessage fuzz (${FUZZ_RUNS} cases per property)`, () => {
  it('never throws, and answers every frame with a well-formed message or a typed error', async () => {
    const seen: Record<string, number> = {};
    await withFlatHeap('parse arbitrary and mutated frames', FUZZ_RUNS, HEAP_BOUND, () => {
      fc.assert(
        fc.property(frameArb(), fc.option(fc.integer({ min: 1, max: 4_096 }), { nil: undefined }), (frame, max) => {
          let result: ParseResult;
          try {
            result = parseClientMessage(frame.data, frame.isBinary, max);
          } catch (err) {
            assert.fail(`parseClientMessage threw ${String(err)}`);
          }
          checkResult(result);
          const key = result.ok ? `ok:${result.message.type}` : result.error.code;
          seen[key] = (seen[key] ?? 0) + 1;
        }),
        { numRuns: FUZZ_RUNS },
      );
    });
    console.log(`# outcomes: ${JSON.stringify(seen)}`);
    // The generator reaches every parse outcome (a weak generator would pass vacuously).
    for (const code of ['BAD_JSON', 'BAD_MESSAGE', 'UNKNOWN_TYPE', 'INVALID_HASH', 'MESSAGE_TOO_LARGE'] as const) {
      if (FUZZ_RUNS >= 10_000) assert.ok(seen[code], `never produced ${code}`);
    }
    for (const type of CLIENT_MESSAGE_TYPES) if (FUZZ_RUNS >= 10_000) assert.ok(seen[`ok:${type}`], `never accepted ${type}`);
  });

  it('accepts every valid message, keeping its fields', async () => {
    await withFlatHeap('parse valid messages', FUZZ_RUNS, HEAP_BOUND, () => {
      fc.assert(
        fc.property(validMessageArb(), (message) => {
          const result = parseClientMessage(JSON.stringify(message), false);
          assert.ok(result.ok, `refused a valid message: ${result.ok ? '' : result.error.code} ${JSON.stringify(message)}`);
          checkResult(result);
          const expected: Record<string, unknown> = JSON.parse(JSON.stringify(message));
          if (expected.type === 'announce' && expected.complete === undefined) expected.complete = true;
          assert.deepEqual({ ...result.message }, expected);
        }),
        { numRuns: FUZZ_RUNS },
      );
    });
  });

  it('gives every error the request rid when the rid was valid', async () => {
    await withFlatHeap('rid echo', FUZZ_RUNS, HEAP_BOUND, () => {
      fc.assert(
        fc.property(frameArb(), fc.oneof(fc.string({ maxLength: MAX_RID_LENGTH }), fc.integer()), (frame, rid) => {
          if (typeof frame.data !== 'string' || frame.isBinary) return;
          let value: unknown;
          try {
            value = JSON.parse(frame.data);
          } catch {
            return;
          }
          if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
          const result = parseClientMessage(JSON.stringify({ ...value, rid }), false);
          checkResult(result);
          assert.equal(result.ok ? result.message.rid : result.error.rid, rid);
        }),
        { numRuns: FUZZ_RUNS },
      );
    });
  });
});
