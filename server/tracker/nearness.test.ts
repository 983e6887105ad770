import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nearnessGroup, orderByNearness } from './nearness.js';
import type { PeerRecord } from './store.js';

const asker = { ip: '81.2.69.10', country: 'GB' };

function rec(peerId: string, ip: string, country: string | undefined, complete = true): PeerRecord {
  return { peerId, ip, country, complete };
}

/** A deterministic random source: a small LCG. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

describe('nearnessGroup', () => {
  it('ranks same IP, same /24, same country, then the rest', () => {
    assert.equal(nearnessGroup(asker, rec('a', '81.2.69.10', 'GB')), 0);
    assert.equal(nearnessGroup(asker, rec('a', '81.2.69.200', 'GB')), 1);
    assert.equal(nearnessGroup(asker, rec('a', '81.2.70.10', 'GB')), 2);
    assert.equal(nearnessGroup(asker, rec('a', '81.2.70.10', 'FR')), 3);
  });

  it('uses /48 for IPv6', () => {
    const v6 = { ip: '2a00:1450:4009:81f::200e', country: 'GB' };
    assert.equal(nearnessGroup(v6, rec('a', '2a00:1450:4009:81f::200e', 'GB')), 0);
    assert.equal(nearnessGroup(v6, rec('a', '2a00:1450:4009:ffff::1', undefined)), 1);
    assert.equal(nearnessGroup(v6, rec('a', '2a00:1450:400a::1', undefined)), 3);
    assert.equal(nearnessGroup(v6, rec('a', '2a00:1450:400a::1', 'GB')), 2);
  });

  it('never matches on an unknown address or country', () => {
    const unknown = { ip: '', country: undefined };
    assert.equal(nearnessGroup(unknown, rec('a', '', undefined)), 3);
    assert.equal(nearnessGroup({ ip: '', country: 'GB' }, rec('a', '', 'GB')), 2);
  });
});

describe('orderByNearness', () => {
  const candidates = [
    rec('far', '9.9.9.9', 'US'),
    rec('country', '81.2.70.10', 'GB'),
    rec('subnet', '81.2.69.200', 'GB'),
    rec('same-ip', '81.2.69.10', 'GB'),
  ];

  it('orders by group whatever the shuffle', () => {
    for (let seed = 1; seed < 20; seed++) {
      const ids = orderByNearness(asker, candidates, 10, seeded(seed)).map((r) => r.peerId);
      assert.deepEqual(ids, ['same-ip', 'subnet', 'country', 'far']);
    }
  });

  it('puts complete holders before partial ones within a group, but not across groups', () => {
    const list = [
      rec('far-seed', '9.9.9.9', 'US', true),
      rec('near-partial', '81.2.69.99', 'GB', false),
      rec('near-seed', '81.2.69.98', 'GB', true),
    ];
    const ids = orderByNearness(asker, list, 10, seeded(3)).map((r) => r.peerId);
    assert.deepEqual(ids, ['near-seed', 'near-partial', 'far-seed']);
  });

  it('caps the list, keeping the nearest', () => {
    assert.deepEqual(
      orderByNearness(asker, candidates, 2, seeded(1)).map((r) => r.peerId),
      ['same-ip', 'subnet'],
    );
    assert.deepEqual(orderByNearness(asker, candidates, 0, seeded(1)), []);
    assert.deepEqual(orderByNearness(asker, [], 5, seeded(1)), []);
  });

  it('shuffles within a group using the injected random function', () => {
    const many = Array.from({ length: 10 }, (_, i) => rec(`p${i}`, `9.9.${i}.1`, 'US'));
    const first = orderByNearness(asker, many, 10, () => 0).map((r) => r.peerId);
    const again = orderByNearness(asker, many, 10, () => 0).map((r) => r.peerId);
    assert.deepEqual(first, again, 'same random source, same order');
    const seen = new Set<string>();
    for (let seed = 1; seed < 40; seed++)
      seen.add(
        orderByNearness(asker, many, 10, seeded(seed))
          .map((r) => r.peerId)
          .join(),
      );
    assert.ok(seen.size > 10, 'different random sources give different orders');
    // Every permutation keeps every peer exactly once.
    for (const order of seen) assert.deepEqual(order.split(',').sort(), many.map((r) => r.peerId).sort());
  });

  it('survives a random function that returns 1 or more', () => {
    const many = Array.from({ length: 5 }, (_, i) => rec(`p${i}`, `9.9.${i}.1`, 'US'));
    const ids = orderByNearness(asker, many, 5, () => 1).map((r) => r.peerId);
    assert.deepEqual([...ids].sort(), ['p0', 'p1', 'p2', 'p3', 'p4']);
  });

  it('does not modify its input', () => {
    const copy = [...candidates];
    orderByNearness(asker, candidates, 10, seeded(5));
    assert.deepEqual(candidates, copy);
  });
});
