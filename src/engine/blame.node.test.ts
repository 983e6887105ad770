import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Blame } from './blame.js';

const BLOCK = 4;
/** A piece of three 4-byte blocks. */
const blocks = [0, 4, 8].map((offset) => ({ offset, length: BLOCK }));
const good = Uint8Array.from({ length: 12 }, (_, i) => i);

/** `good` with the block at `offset` changed. */
function spoiled(offset: number): Uint8Array {
  const bytes = good.slice();
  bytes[offset]! ^= 0xff;
  return bytes;
}

describe('Blame', () => {
  it('convicts the sole sender of a piece that fails its hash', () => {
    const blame = new Blame();
    for (const { offset } of blocks) blame.sent(7, offset, 'A');
    assert.deepEqual(blame.failed(7, spoiled(4)), [{ peerId: 'A', strikes: 1 }]);
    assert.equal(blame.strikes('A'), 1);
  });

  it('judges a mixed piece only against the good copy, and only the senders of blocks that differ', () => {
    const blame = new Blame();
    blame.sent(7, 0, 'A');
    blame.sent(7, 4, 'B');
    blame.sent(7, 8, 'C');
    assert.deepEqual(blame.failed(7, spoiled(4)), [], 'no verdict while it is unclear who lied');
    assert.equal(blame.strikes('B'), 0);
    for (const { offset } of blocks) blame.sent(7, offset, 'D');
    assert.deepEqual(blame.verified(7, good, blocks), [{ peerId: 'B', strikes: 1 }]);
    assert.equal(blame.strikes('A'), 0);
    assert.equal(blame.strikes('C'), 0);
  });

  it('keeps the failed copy, not a view of a buffer that is written again', () => {
    const blame = new Blame();
    const buffer = spoiled(8);
    blame.sent(1, 0, 'A');
    blame.sent(1, 8, 'B');
    blame.failed(1, buffer);
    buffer.set(good);
    assert.deepEqual(blame.verified(1, good, blocks), [{ peerId: 'B', strikes: 1 }]);
  });

  it('forgets senders on restart but keeps strikes', () => {
    const blame = new Blame();
    blame.sent(0, 0, 'A');
    blame.failed(0, spoiled(0));
    blame.sent(2, 0, 'A');
    blame.sent(2, 4, 'B');
    blame.failed(2, spoiled(0));
    blame.restart();
    assert.deepEqual(blame.verified(2, good, blocks), [], 'the suspect copy belonged to the old manifest');
    assert.equal(blame.strikes('A'), 1);
  });

  it('ignores a piece it never saw blocks of', () => {
    const blame = new Blame();
    assert.deepEqual(blame.failed(3, good), []);
    assert.deepEqual(blame.verified(3, good, blocks), []);
  });
});
