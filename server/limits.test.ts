import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionsPerIp, RateLimit, RatePerIp, StrikeWindow, ipLimitKey } from './limits.js';

describe('RateLimit', () => {
  it('allows a burst, then the sustained rate', () => {
    const bucket = new RateLimit(10, 3, 0);
    assert.deepEqual([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)], [true, true, true, false]);
    assert.equal(bucket.take(50), false, 'half a token after 50 ms');
    assert.equal(bucket.take(100), true, 'one token after 100 ms');
    assert.equal(bucket.take(100), false);
    // Never more than the burst, however long it rested.
    const taken = Array.from({ length: 5 }, () => bucket.take(100_000)).filter(Boolean).length;
    assert.equal(taken, 3);
  });

  it('takes several tokens at once (byte budgets), and is off at Infinity', () => {
    const bytes = new RateLimit(1000, 1500, 0);
    assert.equal(bytes.take(0, 1000), true);
    assert.equal(bytes.take(0, 1000), false);
    assert.equal(bytes.take(500, 1000), true);
    const off = new RateLimit(Infinity, 1, 0);
    for (let i = 0; i < 1000; i++) assert.equal(off.take(0), true);
  });

  it('ignores a clock that goes backwards', () => {
    const bucket = new RateLimit(10, 1, 1000);
    assert.equal(bucket.take(1000), true);
    assert.equal(bucket.take(0), false);
  });
});

describe('StrikeWindow', () => {
  it('reports once there are more than max strikes in one window, and forgets them in the next', () => {
    const strikes = new StrikeWindow(2, 1000);
    assert.deepEqual([strikes.strike(0), strikes.strike(10), strikes.strike(20)], [false, false, true]);
    assert.equal(strikes.strike(1500), false, 'a new window');
  });
});

describe('ipLimitKey and ConnectionsPerIp', () => {
  it('keys IPv4 by address and IPv6 by /64', () => {
    assert.equal(ipLimitKey('81.2.69.10'), '81.2.69.10');
    assert.equal(ipLimitKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
    assert.equal(ipLimitKey('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
    assert.notEqual(ipLimitKey('2001:db8:1:3::1'), ipLimitKey('2001:db8:1:2::1'));
    assert.equal(ipLimitKey(''), '');
  });

  it('caps connections per key and forgets a key with none left', () => {
    const perIp = new ConnectionsPerIp(2);
    assert.equal(perIp.acquire('1.2.3.4'), true);
    assert.equal(perIp.acquire('1.2.3.4'), true);
    assert.equal(perIp.admits('1.2.3.4'), false);
    assert.equal(perIp.acquire('1.2.3.4'), false);
    assert.equal(perIp.acquire('2001:db8::1'), true);
    assert.equal(perIp.acquire('2001:db8::2'), true);
    assert.equal(perIp.acquire('2001:db8::3'), false, 'same /64');
    assert.equal(perIp.total, 4);
    assert.equal(perIp.addresses, 2);
    perIp.release('1.2.3.4');
    perIp.release('1.2.3.4');
    perIp.release('2001:db8::1');
    perIp.release('2001:db8::2');
    assert.equal(perIp.addresses, 0, 'no key is kept for an address with no connection');
    assert.equal(perIp.total, 0);
  });
});

describe('RatePerIp', () => {
  it('gives each address (an IPv6 /64 as one) its own bucket, and forgets idle ones once there are many', () => {
    const limits = new RatePerIp(1, 2);
    assert.equal(limits.take('10.0.0.1', 0), true);
    assert.equal(limits.take('10.0.0.1', 0), true);
    assert.equal(limits.take('10.0.0.1', 0), false, 'burst spent');
    assert.equal(limits.take('10.0.0.2', 0), true, 'another address');
    assert.equal(limits.take('2001:db8::1', 0), true);
    assert.equal(limits.take('2001:db8::2', 0), true);
    assert.equal(limits.take('2001:db8::3', 0), false, 'same /64');
    assert.equal(limits.take('10.0.0.1', 1000), true, 'refilled');
    for (let i = 0; i < 1100; i++) limits.take(`10.1.${i >> 8}.${i & 255}`, 5000);
    assert.ok(limits.addresses <= 1024 + 100, `idle addresses forgotten: ${limits.addresses}`);
    assert.equal(new RatePerIp(Infinity, 1).take('10.0.0.1', 0), true);
  });
});
