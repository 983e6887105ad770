import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MAX_RID_LENGTH, isValidHash, isValidPeerId, parseClientMessage, type ErrorCode, type ParseResult } from './protocol.js';

const HASH = 'a'.repeat(64);

function ok(text: string | Buffer, isBinary = false) {
  const result = parseClientMessage(text, isBinary);
  assert.ok(result.ok, `expected success, got ${result.ok ? '' : `${result.error.code}: ${result.error.message}`}`);
  return result.message;
}

function failure(result: ParseResult) {
  assert.ok(!result.ok, 'expected a protocol error');
  return result.error;
}

function code(text: string | Buffer, isBinary = false, max?: number): ErrorCode {
  return failure(parseClientMessage(text, isBinary, max)).code;
}

describe('parseClientMessage', () => {
  it('parses every message type', () => {
    assert.deepEqual(ok('{"type":"hello"}'), { type: 'hello' });
    assert.deepEqual(ok('{"type":"hello","peerId":"abc123","token":"t"}'), { type: 'hello', peerId: 'abc123', token: 't' });
    assert.deepEqual(ok(`{"type":"announce","hash":"${HASH}"}`), { type: 'announce', hash: HASH, complete: true });
    assert.deepEqual(ok(`{"type":"announce","hash":"${HASH}","complete":false}`), { type: 'announce', hash: HASH, complete: false });
    assert.deepEqual(ok(`{"type":"withdraw","hash":"${HASH}"}`), { type: 'withdraw', hash: HASH });
    assert.deepEqual(ok(`{"type":"lookup","hash":"${HASH}"}`), { type: 'lookup', hash: HASH });
    assert.deepEqual(ok(`{"type":"lookup","hash":"${HASH}","max":5}`), { type: 'lookup', hash: HASH, max: 5 });
    assert.deepEqual(ok(`{"type":"watch","hash":"${HASH}"}`), { type: 'watch', hash: HASH });
    assert.deepEqual(ok(`{"type":"unwatch","hash":"${HASH}"}`), { type: 'unwatch', hash: HASH });
    assert.deepEqual(ok('{"type":"ping"}'), { type: 'ping' });
    assert.deepEqual(ok(`{"type":"report","hash":"${HASH}","peerId":"Q8fz2LkP0aVb7TnWx4Yc","reason":"BAD_PIECES"}`), {
      type: 'report',
      hash: HASH,
      peerId: 'Q8fz2LkP0aVb7TnWx4Yc',
      reason: 'BAD_PIECES',
    });
  });

  it('validates report: a PeerJS ID, and a reason of upper-case letters, digits and _', () => {
    assert.equal(ok(`{"type":"report","hash":"${HASH}","peerId":"a","reason":"FUTURE_REASON_2"}`).type, 'report');
    for (const [fields, field] of [
      ['"peerId":"a b!","reason":"BAD_PIECES"', 'peerId'],
      [`"peerId":"${'a'.repeat(65)}","reason":"BAD_PIECES"`, 'peerId'],
      ['"peerId":5,"reason":"BAD_PIECES"', 'peerId'],
      ['"peerId":"a","reason":"bad_pieces"', 'reason'],
      ['"peerId":"a","reason":""', 'reason'],
      [`"peerId":"a","reason":"${'A'.repeat(33)}"`, 'reason'],
      ['"peerId":"a"', 'reason'],
    ]) {
      const error = failure(parseClientMessage(`{"type":"report","hash":"${HASH}",${fields}}`, false));
      assert.equal(error.code, 'BAD_MESSAGE', fields);
      assert.match(error.message, new RegExp(field!));
    }
    assert.equal(code('{"type":"report","hash":"nope","peerId":"a","reason":"BAD_PIECES"}'), 'INVALID_HASH');
  });

  it('accepts Buffers and fragmented Buffers, and ignores unknown fields', () => {
    assert.deepEqual(ok(Buffer.from('{"type":"ping","future":1}')), { type: 'ping' });
    const fragmented = parseClientMessage([Buffer.from('{"type":'), Buffer.from('"ping"}')] as unknown as Buffer, false);
    assert.ok(fragmented.ok);
  });

  it('keeps a string or numeric rid and echoes it in errors', () => {
    assert.deepEqual(ok('{"type":"ping","rid":"x-1"}'), { type: 'ping', rid: 'x-1' });
    assert.deepEqual(ok('{"type":"ping","rid":0}'), { type: 'ping', rid: 0 });
    const error = failure(parseClientMessage('{"type":"announce","rid":7,"hash":"nope"}', false));
    assert.equal(error.code, 'INVALID_HASH');
    assert.equal(error.rid, 7);
  });

  it('rejects a bad rid without echoing it', () => {
    for (const rid of [`"${'r'.repeat(MAX_RID_LENGTH + 1)}"`, '1e999', '{}', 'true', 'null']) {
      const error = failure(parseClientMessage(`{"type":"ping","rid":${rid}}`, false));
      assert.equal(error.code, 'BAD_MESSAGE', rid);
      assert.match(error.message, /rid/);
      assert.equal(error.rid, undefined);
    }
  });

  it('gives BAD_JSON for non-JSON text and invalid UTF-8', () => {
    assert.equal(code('not json'), 'BAD_JSON');
    assert.equal(code(''), 'BAD_JSON');
    assert.equal(code('{"type":"ping"'), 'BAD_JSON');
    assert.equal(code(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 'BAD_JSON');
  });

  it('gives BAD_MESSAGE for binary frames, non-objects and missing or wrong-typed fields, naming the field', () => {
    assert.equal(code(Buffer.from('{"type":"ping"}'), true), 'BAD_MESSAGE');
    for (const text of ['[]', '"ping"', '42', 'null', 'true']) assert.equal(code(text), 'BAD_MESSAGE', text);
    const cases: Array<[string, string]> = [
      ['{}', 'type'],
      ['{"type":5}', 'type'],
      ['{"type":"announce"}', 'hash'],
      ['{"type":"announce","hash":5}', 'hash'],
      [`{"type":"announce","hash":"${HASH}","complete":"yes"}`, 'complete'],
      [`{"type":"lookup","hash":"${HASH}","max":-1}`, 'max'],
      [`{"type":"lookup","hash":"${HASH}","max":1.5}`, 'max'],
      [`{"type":"lookup","hash":"${HASH}","max":"3"}`, 'max'],
      [`{"type":"lookup","hash":"${HASH}","max":1e999}`, 'max'],
      ['{"type":"withdraw","hash":null}', 'hash'],
      ['{"type":"hello","peerId":"abc"}', 'token'],
      ['{"type":"hello","token":"abc"}', 'peerId'],
      ['{"type":"hello","peerId":"no/slashes","token":"t"}', 'peerId'],
      ['{"type":"hello","peerId":5,"token":"t"}', 'peerId'],
      [`{"type":"hello","peerId":"${'a'.repeat(65)}","token":"t"}`, 'peerId'],
      ['{"type":"hello","peerId":"abc","token":7}', 'token'],
    ];
    for (const [text, field] of cases) {
      const error = failure(parseClientMessage(text, false));
      assert.equal(error.code, 'BAD_MESSAGE', text);
      assert.ok(error.message.includes(`"${field}"`), `${text}: ${error.message}`);
    }
  });

  it('gives UNKNOWN_TYPE for an unknown type, without echoing a long one in full', () => {
    assert.equal(code('{"type":"subscribe"}'), 'UNKNOWN_TYPE');
    const error = failure(parseClientMessage(JSON.stringify({ type: 'x'.repeat(10_000) }), false));
    assert.equal(error.code, 'UNKNOWN_TYPE');
    assert.ok(error.message.length < 100);
  });

  it('gives INVALID_HASH for strings that are not 64 lowercase hex characters', () => {
    for (const hash of ['', 'abc', 'A'.repeat(64), 'g'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), ` ${'a'.repeat(63)}`]) {
      assert.equal(code(JSON.stringify({ type: 'lookup', hash })), 'INVALID_HASH', hash);
    }
  });

  it('gives MESSAGE_TOO_LARGE over the limit, counting bytes rather than characters', () => {
    assert.equal(code('{"type":"ping"}', false, 10), 'MESSAGE_TOO_LARGE');
    const text = `{"type":"ping","pad":"${'é'.repeat(10)}"}`; // 20 bytes of padding in 10 characters
    assert.equal(text.length, 34);
    assert.equal(code(text, false, 40), 'MESSAGE_TOO_LARGE');
    assert.ok(parseClientMessage(text, false, 44).ok);
  });

  it('survives garbage: random bytes, deep nesting, huge numbers', () => {
    for (let i = 0; i < 200; i++) {
      const result = parseClientMessage(randomBytes(1 + (i % 64)), false);
      assert.ok(!result.ok);
      assert.ok(['BAD_JSON', 'BAD_MESSAGE'].includes(result.error.code));
    }
    assert.equal(code('['.repeat(30_000) + ']'.repeat(30_000)), 'BAD_MESSAGE');
    assert.equal(code(`{"type":"announce","hash":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`), 'BAD_MESSAGE');
    assert.equal(code(`{"type":"ping","rid":${'9'.repeat(400)}}`), 'BAD_MESSAGE');
    assert.deepEqual(ok(`{"type":"lookup","hash":"${HASH}","max":${'9'.repeat(300)}}`), {
      type: 'lookup',
      hash: HASH,
      max: Number('9'.repeat(300)),
    });
  });
});

describe('validators', () => {
  it('isValidHash', () => {
    assert.ok(isValidHash('0123456789abcdef'.repeat(4)));
    assert.ok(!isValidHash('0123456789ABCDEF'.repeat(4)));
    assert.ok(!isValidHash(42));
  });

  it('isValidPeerId follows PeerJS', () => {
    for (const id of ['abc', 'A1b2C3', 'a-b_c d']) assert.ok(isValidPeerId(id), id);
    for (const id of ['', '-a', 'a-', 'a--b', 'a/b', 'é', 'a'.repeat(65), 5]) assert.ok(!isValidPeerId(id), String(id));
  });
});
