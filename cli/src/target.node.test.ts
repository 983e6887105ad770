import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isEcdnError } from 'ephemeral-cdn';
import { parseTarget } from './target.js';

const HASH = 'ab'.repeat(32);

function invalid(input: string): string {
  try {
    parseTarget(input);
  } catch (err) {
    assert.ok(isEcdnError(err, 'INVALID_HASH'), `INVALID_HASH, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'one line');
    return err.message;
  }
  assert.fail(`${input} was accepted`);
}

describe('parseTarget', () => {
  it('takes a bare hash, in any case and with spaces around it', () => {
    assert.deepEqual(parseTarget(`  ${HASH.toUpperCase()}\n`), { hash: HASH });
  });

  it("takes a share link: the hash, the link's server, and the name and type of its fragment", () => {
    const link = `http://127.0.0.1:8787/f/${HASH}#name=build%20graph.png&type=image%2Fpng`;
    assert.deepEqual(parseTarget(link), { hash: HASH, server: 'http://127.0.0.1:8787/', name: 'build graph.png', type: 'image/png' });
  });

  it('keeps the path of a server that lives under one', () => {
    assert.deepEqual(parseTarget(`https://example.org/cdn/f/${HASH}`), { hash: HASH, server: 'https://example.org/cdn/' });
  });

  it('says what is wrong with a malformed hash or link, in one line', () => {
    assert.match(invalid('abc'), /neither a file hash .* nor a share link/);
    assert.match(invalid(`${HASH}0`), /neither a file hash/);
    assert.match(invalid(`http://127.0.0.1:8787/f/${HASH.slice(1)}`), /63 hexadecimal characters/);
    assert.match(invalid(`http://127.0.0.1:8787/f/${'zz'.repeat(32)}`), /characters other than 0–9 and a–f/);
    assert.match(invalid(`http://127.0.0.1:8787/files/${HASH}`), /not a share link/);
    assert.match(invalid('http://[broken'), /not a valid URL/);
  });
});
