import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLAIM_EXPIRY_MS, FirstPass } from './super-seed.js';

const PIECE = 1000;
/** A first pass over `pieces` pieces of PIECE bytes, links named by strings. */
const pass = (pieces: number) => new FirstPass<string>(pieces, () => PIECE);

describe('FirstPass', () => {
  it('never refuses a lone peer anything', () => {
    const p = pass(4);
    for (let piece = 0; piece < 4; piece++) assert.ok(p.admit('a', piece, 0));
    for (let piece = 3; piece >= 0; piece--) p.served('a', piece, PIECE, 1);
    assert.ok(p.over);
    assert.ok(p.admit('a', 0, 2));
  });

  it('gives each piece to one peer until every piece has left once, then takes the refusals back', () => {
    const p = pass(3);
    assert.ok(p.admit('a', 0, 0));
    assert.equal(p.admit('b', 0, 0), false, 'piece 0 is on its way to a');
    assert.ok(p.admit('b', 1, 0));
    assert.equal(p.admit('a', 1, 0), false);
    assert.equal(p.admit('c', 0, 0), false);
    assert.ok(p.admit('c', 2, 0));
    assert.ok(p.refusing);
    assert.deepEqual(p.served('a', 0, PIECE, 10), []);
    assert.equal(p.admit('b', 0, 20), false, 'a piece that reached its owner whole is still refused to others');
    assert.deepEqual(p.served('b', 1, PIECE / 2, 20), []);
    assert.deepEqual(p.served('b', 1, PIECE / 2, 30), []);
    const reveals = p.served('c', 2, PIECE, 40);
    assert.ok(p.over);
    assert.deepEqual(
      reveals.map((r) => `${r.link}:${r.piece}`).sort(),
      ['a:1', 'b:0', 'c:0'],
      'every refusal is announced again once the pass is over',
    );
    assert.ok(p.admit('b', 0, 50));
    assert.equal(p.refusing, false);
  });

  it('frees the pieces of a peer that left, whole or not, for the peers refused them', () => {
    const p = pass(3);
    assert.ok(p.admit('a', 0, 0));
    assert.ok(p.admit('a', 1, 0));
    p.served('a', 0, PIECE, 1);
    assert.equal(p.admit('b', 0, 2), false);
    assert.equal(p.admit('b', 1, 2), false);
    assert.deepEqual(
      p.drop('a').map((r) => `${r.link}:${r.piece}`),
      ['b:0', 'b:1'],
    );
    assert.ok(p.admit('b', 0, 3), 'the copy of piece 0 left with a');
    assert.equal(p.over, false);
  });

  it('lets a claim under way lapse when its peer is served nothing for a while', () => {
    const p = pass(3);
    assert.ok(p.admit('frozen', 0, 0));
    assert.equal(p.admit('b', 0, 1), false);
    assert.deepEqual(p.expire(CLAIM_EXPIRY_MS - 1), [], 'not yet');
    assert.deepEqual(
      p.expire(CLAIM_EXPIRY_MS + 1).map((r) => `${r.link}:${r.piece}`),
      ['b:0'],
    );
    assert.ok(p.admit('b', 0, CLAIM_EXPIRY_MS + 2));
    assert.equal(p.admit('frozen', 0, CLAIM_EXPIRY_MS + 3), false, 'now b has it');
  });

  it('does not take back a piece that reached its owner whole, however quiet the owner', () => {
    const p = pass(2);
    assert.ok(p.admit('a', 0, 0));
    p.served('a', 0, PIECE, 0);
    assert.deepEqual(p.expire(10 * CLAIM_EXPIRY_MS), []);
    assert.equal(p.admit('b', 0, 10 * CLAIM_EXPIRY_MS), false);
  });

  it('has nothing to spread for a file of one piece', () => {
    assert.ok(pass(1).over);
  });
});
