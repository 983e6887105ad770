import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RateMeter, TokenBucket, pipelineCapacity } from './rate.js';
import { BLOCK_SIZE } from './wire.js';

function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('RateMeter', () => {
  it('measures a steady rate over the window', () => {
    const clock = fakeClock();
    const meter = new RateMeter({ now: clock.now });
    for (let i = 0; i < 100; i++) {
      meter.add(10_000);
      clock.advance(100);
    }
    // 10 kB every 100 ms is 100 kB/s.
    assert.ok(Math.abs(meter.rate() - 100_000) < 5_000, `${meter.rate()}`);
    assert.equal(meter.total, 1_000_000);
  });

  it('follows a change of rate within the window and decays to 0 when idle', () => {
    const clock = fakeClock();
    const meter = new RateMeter({ now: clock.now });
    for (let i = 0; i < 100; i++) {
      meter.add(10_000);
      clock.advance(100);
    }
    for (let i = 0; i < 60; i++) {
      meter.add(1_000);
      clock.advance(100);
    }
    assert.ok(Math.abs(meter.rate() - 10_000) < 1_000, `slowed to ${meter.rate()}`);
    clock.advance(5_000);
    assert.equal(meter.rate(), 0);
    clock.advance(3_600_000);
    assert.equal(meter.rate(), 0, 'a long idle spell does not break the ring');
    meter.add(500);
    assert.ok(meter.rate() > 0);
  });

  it('reads low, not absurdly high, in the first moments', () => {
    const clock = fakeClock();
    const meter = new RateMeter({ now: clock.now });
    clock.advance(10);
    meter.add(BLOCK_SIZE);
    // One block in 10 ms would be 26 MB/s; the one-bucket floor says 262 kB/s.
    assert.equal(meter.rate(), BLOCK_SIZE);
    assert.equal(new RateMeter({ now: clock.now }).rate(), 0);
  });

  it('accepts other window shapes', () => {
    const clock = fakeClock(0);
    const meter = new RateMeter({ now: clock.now, buckets: 10, bucketMs: 100 });
    for (let i = 0; i < 50; i++) {
      meter.add(100);
      clock.advance(20);
    }
    assert.ok(Math.abs(meter.rate() - 5_000) < 600, `${meter.rate()}`);
    assert.throws(() => new RateMeter({ buckets: 0 }), RangeError);
  });
});

describe('pipelineCapacity', () => {
  it('keeps about one second of the rate in flight, within bounds', () => {
    assert.equal(pipelineCapacity(0), 2);
    assert.equal(pipelineCapacity(10 * BLOCK_SIZE), 10);
    assert.equal(pipelineCapacity(10 * BLOCK_SIZE + 1), 11);
    assert.equal(pipelineCapacity(1e9), 32);
    assert.equal(pipelineCapacity(Infinity), 32);
    assert.equal(pipelineCapacity(4 * BLOCK_SIZE, { seconds: 0.5, min: 1 }), 2);
    assert.equal(pipelineCapacity(100 * BLOCK_SIZE, { max: 64 }), 64);
  });
});

describe('TokenBucket', () => {
  it('lets one burst through, then paces to the limit', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(100_000, 50_000, clock.now);
    assert.equal(bucket.take(50_000), 0);
    assert.equal(bucket.take(50_000), 500, '50 kB at 100 kB/s');
    assert.equal(bucket.take(10_000), 600, 'queued behind the previous debt');
    clock.advance(600);
    assert.equal(bucket.take(1), 1);
  });

  it('holds the long-run rate when senders honour the waits', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(1_000_000, BLOCK_SIZE, clock.now);
    let sent = 0;
    const start = clock.now();
    while (clock.now() - start < 10_000) {
      const wait = bucket.take(BLOCK_SIZE);
      clock.advance(wait);
      sent += BLOCK_SIZE;
    }
    const rate = (sent * 1000) / (clock.now() - start);
    assert.ok(rate <= 1_000_000 + BLOCK_SIZE / 10 && rate > 950_000, `${rate}`);
  });

  it('refills only up to the burst after an idle spell', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(100_000, 30_000, clock.now);
    bucket.take(30_000);
    clock.advance(60_000);
    assert.equal(bucket.take(30_000), 0);
    assert.ok(bucket.take(1) > 0);
  });

  it('charges a block bigger than the burst as a debt, waited out before the next', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(100_000, 10_000, clock.now);
    const wait = bucket.take(BLOCK_SIZE);
    assert.equal(wait, Math.ceil(((BLOCK_SIZE - 10_000) * 1000) / 100_000));
    clock.advance(wait);
    assert.equal(bucket.take(0), 0, 'the debt is paid');
    assert.ok(bucket.take(1_000) > 0, 'and little is left over');
  });

  it('applies a new limit from now on', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10_000, 10_000, clock.now);
    bucket.take(10_000);
    bucket.take(10_000); // 1 s of debt at 10 kB/s
    clock.advance(500); // half paid at the old rate
    bucket.setRate(100_000);
    assert.equal(bucket.take(0), 50, 'the rest of the debt is paid at the new rate');
    bucket.setRate(Infinity);
    assert.equal(bucket.take(1e9), 0, 'no limit');
    bucket.setRate(1_000, 500);
    assert.equal(bucket.take(500), 0, 'an unlimited bucket is full…');
    assert.ok(bucket.take(1) > 0, '…clamped to the new burst');
    assert.throws(() => bucket.setRate(0), RangeError);
    assert.throws(() => new TokenBucket(-1), RangeError);
  });
});
