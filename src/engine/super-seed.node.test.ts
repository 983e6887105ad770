import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLAIM_EXPIRY_MS, FirstPass, TURN_MAX_MS, Turns } from './super-seed.js';

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

  it('tells a request that must wait whether its piece is taken, without claiming a free one', () => {
    const p = pass(3);
    assert.equal(p.claimedByOther('a', 0, 0), false);
    assert.ok(p.admit('b', 0, 1), 'a did not claim piece 0 by asking');
    assert.ok(p.claimedByOther('a', 0, 2));
    assert.equal(p.claimedByOther('b', 0, 2), false, 'its own piece');
    p.served('b', 0, PIECE, 3);
    assert.ok(p.admit('c', 1, 4));
    assert.deepEqual(
      p.served('c', 1, PIECE, 5).map((r) => `${r.link}:${r.piece}`),
      [],
    );
    assert.ok(p.admit('c', 2, 6));
    assert.deepEqual(
      p.served('c', 2, PIECE, 7).map((r) => `${r.link}:${r.piece}`),
      ['a:0'],
      'the refusal is taken back at the end of the pass, like one from admit',
    );
  });
});

describe('Turns', () => {
  it('never makes a lone link wait', () => {
    const t = new Turns<string>();
    for (let now = 0; now < 10 * TURN_MAX_MS; now += 100) {
      assert.ok(t.ask('a', now));
      assert.equal(t.served('a', now % 400 === 0, now), undefined);
      if (now % 700 === 0) assert.equal(t.idle('a', now), undefined);
    }
  });

  it('serves one link a whole piece, then the one that waited longest', () => {
    const t = new Turns<string>();
    assert.ok(t.ask('a', 0));
    assert.equal(t.ask('b', 1), false);
    assert.equal(t.ask('c', 2), false);
    assert.equal(t.served('a', false, 10), undefined, 'mid-piece, a keeps the turn');
    assert.equal(t.served('a', true, 20), 'b', 'a piece is done: b waited longest');
    assert.equal(t.holder, 'b');
    assert.equal(t.ask('a', 21), false, 'a waits behind c now');
    assert.equal(t.served('b', true, 30), 'c');
    assert.equal(t.served('c', true, 40), 'a');
  });

  it('keeps a waiting link its place across a BUSY answer, and skips it while it is not asking', () => {
    const t = new Turns<string>();
    assert.ok(t.ask('a', 0));
    assert.equal(t.ask('b', 1), false);
    assert.equal(t.ask('c', 2), false);
    t.leave('b', 2500);
    assert.equal(t.served('a', true, 2600), 'c', 'b is between its BUSY and its next request');
    assert.equal(t.ask('b', 2700), false);
    assert.equal(t.ask('a', 2800), false);
    assert.equal(t.served('c', true, 3000), 'b', 'b has waited since 1, a since 2800');
  });

  it('passes the turn on from a slow or stalled holder, from one that has nothing to ask, and from one that left', () => {
    const t = new Turns<string>();
    assert.ok(t.ask('slow', 0));
    assert.equal(t.ask('b', 1), false);
    assert.equal(t.served('slow', false, TURN_MAX_MS + 1), 'b', 'held for TURN_MAX_MS mid-piece');
    assert.equal(t.ask('c', TURN_MAX_MS + 2), false);
    assert.equal(t.stalled(TURN_MAX_MS + 10), undefined, 'b just got it');
    assert.equal(t.stalled(2 * TURN_MAX_MS + 2), 'c', 'b took no block for TURN_MAX_MS');
    assert.equal(t.ask('d', 2 * TURN_MAX_MS + 3), false);
    assert.equal(t.idle('c', 2 * TURN_MAX_MS + 4), 'd');
    assert.equal(t.leave('d', 2 * TURN_MAX_MS + 5, true), undefined);
    assert.equal(t.holder, undefined);
    assert.ok(t.ask('e', 2 * TURN_MAX_MS + 6), 'a link asking with nobody holding the turn gets it at once');
    assert.equal(t.idle('e', 2 * TURN_MAX_MS + 7), undefined);
    assert.ok(t.ask('f', 2 * TURN_MAX_MS + 8), 'a holder with nothing to ask does not keep the turn');
  });
});
