import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hexToBytes } from './hash.js';
import { Manifest } from './manifest.js';
import { PiecePicker, type BlockRequest, type PiecePickerOptions } from './piece-picker.js';
import { BLOCK_SIZE, encodeBitfield, pieceCountFor } from './wire.js';
import { prng } from '../../test/helpers/random.js';

const HASH = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** A manifest of `pieces` pieces of `blocksPerPiece` full blocks, the last piece shorter by `tail` bytes. */
function manifest(pieces: number, blocksPerPiece = 2, tail = 1000): Manifest {
  const pieceSize = blocksPerPiece * BLOCK_SIZE;
  const size = pieces * pieceSize - tail;
  const chain = new Uint8Array(32 * pieceCountFor(size, pieceSize));
  hexToBytes(HASH, chain, chain.byteLength - 32);
  return new Manifest({ hash: HASH, size, pieceSize, chain });
}

function picker(m: Manifest, opts: PiecePickerOptions = {}): { p: PiecePicker; clock: { t: number } } {
  const clock = { t: 0 };
  const p = new PiecePicker(m, { random: prng(1), now: () => clock.t, ...opts });
  return { p, clock };
}

const pieces = (reqs: BlockRequest[]): Set<number> => new Set(reqs.map((r) => r.piece));

/** Delivers every block of `reqs` from `peer`; returns pieces completed. */
function deliver(p: PiecePicker, peer: string, reqs: BlockRequest[]): number[] {
  const done: number[] = [];
  for (const r of reqs) {
    const out = p.onBlock(peer, r.piece, r.offset, r.length);
    assert.equal(out.accepted, true);
    if (out.pieceComplete) done.push(r.piece);
  }
  return done;
}

describe('PiecePicker', () => {
  it('gives two peers that hold everything disjoint pieces, whole pieces each', () => {
    const m = manifest(10);
    const { p } = picker(m);
    p.setAvailability('A', 'all');
    p.setAvailability(
      'B',
      encodeBitfield(() => true, m.pieceCount),
    );
    const a = p.next('A', 4);
    const b = p.next('B', 4);
    assert.equal(a.length, 4);
    assert.equal(b.length, 4);
    assert.equal(pieces(a).size, 2, 'A gets two whole pieces of two blocks');
    assert.equal(pieces(b).size, 2);
    for (const i of pieces(a)) assert.ok(!pieces(b).has(i), `piece ${i} given to both`);
    assert.equal(p.inFlight('A'), 4);
    assert.equal(p.requestsOf('A').length, 4);
    assert.deepEqual(p.next('A', 0), []);
  });

  it('refuses a block that was not requested from its sender', () => {
    const m = manifest(4);
    const { p } = picker(m);
    p.setAvailability('A', 'all');
    p.setAvailability('B', 'all');
    const [req] = p.next('A', 1);
    assert.ok(req);
    assert.equal(p.onBlock('B', req.piece, req.offset, req.length).accepted, false, 'B was never asked');
    assert.equal(p.inFlight('A'), 1, "A's request still stands");
    assert.equal(p.onBlock('A', req.piece, req.offset, req.length).accepted, true);
  });

  it('finishes the piece a peer already works on before starting another', () => {
    const m = manifest(4, 4);
    const { p } = picker(m);
    p.setAvailability('A', 'all');
    p.setAvailability('B', 'all');
    const first = p.next('A', 1);
    const second = p.next('A', 2);
    assert.equal(pieces([...first, ...second]).size, 1, 'A continues its own piece');
    // B does not join A's piece while new pieces remain.
    const b = p.next('B', 1);
    assert.ok(!pieces(first).has(b[0]!.piece));
  });

  it('picks first the piece only one peer has (rarest first)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const m = manifest(10, 1, 0);
      const { p } = picker(m, { random: prng(seed) });
      p.setAvailability('A', 'all');
      p.setAvailability(
        'B',
        encodeBitfield((i) => i !== 7, 10),
      );
      p.setAvailability(
        'C',
        encodeBitfield((i) => i !== 7 && i !== 3, 10),
      );
      const a = p.next('A', 2);
      assert.deepEqual(
        a.map((r) => r.piece),
        [7, 3],
        `seed ${seed}`,
      );
    }
  });

  it('breaks ties at random, spread over all equally rare pieces', () => {
    const counts = new Array<number>(8).fill(0);
    for (let seed = 1; seed <= 800; seed++) {
      const { p } = picker(manifest(8, 1, 0), { random: prng(seed) });
      p.setAvailability('A', 'all');
      counts[p.next('A', 1)[0]!.piece]!++;
    }
    for (const c of counts) assert.ok(c > 60 && c < 140, `tie-break counts ${counts.join(',')}`);
  });

  it('in sequential mode starts pieces in index order, one peer per piece', () => {
    const m = manifest(6);
    const { p } = picker(m, { sequential: true });
    p.setAvailability('A', 'all');
    p.setAvailability('B', 'all');
    p.setAvailability(
      'C',
      encodeBitfield((i) => i >= 3, 6),
    );
    assert.deepEqual([...pieces(p.next('A', 2))], [0]);
    assert.deepEqual([...pieces(p.next('B', 2))], [1]);
    assert.deepEqual([...pieces(p.next('C', 2))], [3], 'C starts the lowest piece it holds');
    assert.deepEqual([...pieces(p.next('A', 2))], [2], 'A takes the next piece nobody works on');
  });

  it('duplicates blocks in endgame, oldest first, and lists the CANCELs when one copy lands', () => {
    const m = manifest(1, 3, 0);
    const { p, clock } = picker(m);
    p.setAvailability('A', 'all');
    p.setAvailability('B', 'all');
    const a = p.next('A', 2);
    clock.t = 100;
    const a2 = p.next('A', 3);
    assert.equal(a2.length, 1, 'only the last block is left, and A cannot duplicate its own requests');
    clock.t = 200;
    // Every block is in flight at A; B gets duplicates, the oldest requests first.
    const b = p.next('B', 2);
    assert.deepEqual(
      b.map((r) => r.offset),
      [a[0]!.offset, a[1]!.offset],
    );
    // No block is requested more than twice (endgameMaxRequests), nor twice from one peer.
    p.setAvailability('C', 'all');
    const c = p.next('C', 5);
    assert.deepEqual(
      c.map((r) => r.offset),
      [a2[0]!.offset],
    );
    assert.deepEqual(p.next('B', 5), [], 'B already asked for what it could duplicate');
    // B's copy of block 0 lands: A's request for it is to be cancelled.
    const got = p.onBlock('B', 0, a[0]!.offset, a[0]!.length);
    assert.equal(got.accepted, true);
    assert.equal(got.pieceComplete, false);
    assert.deepEqual(got.cancels, [{ peerId: 'A', piece: 0, offset: a[0]!.offset, length: a[0]!.length }]);
    assert.equal(p.inFlight('A'), 2);
    // A's late copy of the same block is dropped.
    assert.deepEqual(p.onBlock('A', 0, a[0]!.offset, a[0]!.length), { accepted: false, pieceComplete: false, cancels: [] });
    p.onBlock('A', 0, a[1]!.offset, a[1]!.length);
    const last = p.onBlock('C', 0, a2[0]!.offset, a2[0]!.length);
    assert.equal(last.pieceComplete, true);
    assert.deepEqual(last.cancels, [{ peerId: 'A', piece: 0, offset: a2[0]!.offset, length: a2[0]!.length }]);
    assert.equal(p.inFlight('A') + p.inFlight('B') + p.inFlight('C'), 0, 'every request settled');
    assert.deepEqual(p.suppliers(0).sort(), ['A', 'B', 'C']);
    p.onPieceVerified(0);
    assert.equal(p.isComplete(), true);
  });

  it('returns the suppliers of a failed piece and fetches it again, from another peer when it can', () => {
    const m = manifest(2, 2, 0);
    const { p } = picker(m);
    p.setAvailability('A', 'all');
    const a = p.next('A', 4);
    assert.equal(a.length, 4);
    const done = deliver(p, 'A', a);
    assert.deepEqual(done.sort(), [0, 1]);
    assert.deepEqual(p.onPieceFailed(1), ['A']);
    p.onPieceVerified(0);
    assert.equal(p.has(1), false);
    // A is the only holder, so it may try again.
    const again = p.next('A', 4);
    assert.deepEqual([...pieces(again)], [1]);
    deliver(p, 'A', again);
    assert.deepEqual(p.onPieceFailed(1), ['A']);
    // Once B holds the piece too, A is not given it again; B is.
    p.setAvailability('B', 'all');
    assert.deepEqual(p.next('A', 4), []);
    const b = p.next('B', 4);
    assert.deepEqual([...pieces(b)], [1]);
    assert.deepEqual(deliver(p, 'B', b), [1]);
    p.onPieceVerified(1);
    assert.equal(p.isComplete(), true);
  });

  it('frees the blocks of a removed peer for others', () => {
    const m = manifest(3, 2, 0);
    const { p } = picker(m);
    p.setAvailability('A', 'all');
    p.setAvailability(
      'B',
      encodeBitfield((i) => i === 0, 3),
    );
    const a = p.next('A', 6);
    assert.equal(a.length, 6);
    assert.deepEqual(p.next('B', 2).length, 2, 'endgame: B duplicates piece 0');
    p.removePeer('A');
    assert.equal(p.inFlight('A'), 0);
    assert.deepEqual(p.next('A', 2), [], 'unknown peers get nothing');
    p.setAvailability('C', 'all');
    const c = p.next('C', 4);
    assert.deepEqual([...pieces(c)].sort(), [1, 2], 'piece 0 stays with B, 1 and 2 go to C');
    assert.equal(c.length, 4);
  });

  it('gives a refused block back to the pool and learns NOT_HAVE', () => {
    const m = manifest(2, 1, 0);
    const { p } = picker(m);
    p.setAvailability('A', 'all');
    const [r] = p.next('A', 1);
    p.onRejected('A', { piece: r!.piece, offset: r!.offset, reason: 'BUSY' });
    assert.equal(p.inFlight('A'), 0);
    const [again] = p.next('A', 1);
    assert.equal(again!.piece, r!.piece, 'the started piece is resumed first');
    p.onRejected('A', { piece: again!.piece, offset: 0, reason: 'NOT_HAVE' });
    const [other] = p.next('A', 1);
    assert.notEqual(other!.piece, again!.piece);
    p.onRejected('A', { piece: other!.piece, offset: 0, reason: 'NOT_FOUND' });
    assert.deepEqual(p.next('A', 2), [], 'a peer that does not hold the file is forgotten');
  });

  it('drops unknown or malformed blocks', () => {
    const m = manifest(2, 2, 0);
    const { p } = picker(m);
    p.setAvailability('A', 'all');
    const a = p.next('A', 2);
    assert.equal(p.onBlock('A', 1, 12345, 10).accepted, false, 'no such block');
    assert.equal(p.onBlock('A', a[0]!.piece, a[0]!.offset, a[0]!.length - 1).accepted, false, 'wrong length');
    assert.equal(p.onBlock('A', 99, 0, 10).accepted, false, 'no such piece');
  });

  it('is complete at once for a 0-byte file', () => {
    const m = new Manifest({ hash: HASH, size: 0, pieceSize: 16384, chain: new Uint8Array(0) });
    const { p } = picker(m);
    p.setAvailability('A', new Uint8Array(0));
    assert.equal(p.isComplete(), true);
    assert.deepEqual(p.next('A', 8), []);
  });

  it('completes a random swarm download with failures, departures and HAVEs', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rand = prng(seed);
      const m = manifest(30, 1 + Math.floor(rand() * 4), Math.floor(rand() * 5000));
      const sequential = seed % 3 === 0;
      const { p, clock } = picker(m, { random: rand, sequential });
      const peers = ['A', 'B', 'C', 'D'];
      const holds = new Map<string, boolean[]>();
      for (const id of peers) {
        const h = Array.from({ length: m.pieceCount }, () => rand() < 0.6);
        holds.set(id, h);
        p.setAvailability(
          id,
          encodeBitfield((i) => h[i]!, m.pieceCount),
        );
      }
      // Make sure every piece is held by someone who never leaves.
      p.setAvailability('SEED', 'all');
      peers.push('SEED');
      const bad = 'C';
      const pending: Array<{ peer: string; r: BlockRequest }> = [];
      const removed = new Set<string>();
      let steps = 0;
      while (!p.isComplete()) {
        assert.ok(++steps < 20_000, `seed ${seed}: no progress`);
        clock.t += 10;
        for (const id of peers) for (const r of p.next(id, 1 + Math.floor(rand() * 4))) pending.push({ peer: id, r });
        // Invariant: a peer never has the same block twice in flight.
        for (const id of peers) {
          const keys = p.requestsOf(id).map((r) => `${r.piece}:${r.offset}`);
          assert.equal(new Set(keys).size, keys.length);
        }
        if (pending.length === 0) {
          const missing = Array.from({ length: m.pieceCount }, (_, i) => i).filter((i) => !p.has(i));
          const info = peers.map((id) => `${id}:${removed.has(id) ? 'removed' : 'present'}:${JSON.stringify(p.requestsOf(id))}`).join(' ');
          assert.fail(`seed ${seed}: stalled with ${missing} missing; ${info}; sup ${missing.map((i) => p.suppliers(i))}`);
        }
        const { peer, r } = pending.splice(Math.floor(rand() * pending.length), 1)[0]!;
        if (removed.has(peer)) continue;
        const roll = rand();
        if (roll < 0.03) {
          p.onRejected(peer, { piece: r.piece, offset: r.offset, reason: 'BUSY' });
          continue;
        }
        const out = p.onBlock(peer, r.piece, r.offset, r.length);
        for (const c of out.cancels) {
          const k = pending.findIndex((x) => x.peer === c.peerId && x.r.piece === c.piece && x.r.offset === c.offset);
          if (k >= 0) pending.splice(k, 1);
        }
        if (out.pieceComplete) {
          const suppliers = p.suppliers(r.piece);
          if (suppliers.includes(bad) && rand() < 0.5) {
            assert.ok(p.onPieceFailed(r.piece).includes(bad));
          } else {
            p.onPieceVerified(r.piece);
            for (const id of peers) if (id !== 'SEED' && !removed.has(id) && rand() < 0.1) p.addHave(id, r.piece);
          }
        }
        if (steps === 50 && seed % 2 === 0) {
          p.removePeer('B');
          removed.add('B');
        }
      }
      assert.equal(p.isComplete(), true, `seed ${seed}`);
      for (const id of peers) assert.equal(p.inFlight(id), 0, `seed ${seed}: ${id} has requests left`);
    }
  });
});
