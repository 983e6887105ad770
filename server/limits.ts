/**
 * Flood limits shared by the tracker and the PeerServer guard: a rate limit with
 * bursts for messages and bytes, a windowed strike count for "keeps going over the
 * limit", and a count of open connections per address. Pure: callers pass the time in.
 */
import { isIPv4 } from 'node:net';
import { expandIPv6 } from './address.js';

/**
 * What one client may send: `rate` per second on average, `burst` at once. Kept as
 * a token bucket holding at most `burst` tokens, refilled at `rate` per second;
 * each accepted message takes one (or, for byte budgets, its size).
 */
export class RateLimit {
  private tokens: number;
  private last: number;

  /**
   * @param rate tokens added per second; `Infinity` turns the limit off
   * @param burst most tokens held at once (and the starting amount)
   * @param now the current time in ms (`performance.now()`)
   */
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  /** Takes `n` tokens if there are that many; true when it did. */
  take(now: number, n = 1): boolean {
    if (this.rate === Infinity) return true;
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
    }
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}

/** Counts strikes in fixed windows of `windowMs`; {@link StrikeWindow.strike} reports when there were more than `max`. */
export class StrikeWindow {
  private start = -Infinity;
  private count = 0;

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Records one strike at `now`; true once more than `max` fell in the current window. */
  strike(now: number): boolean {
    if (now - this.start >= this.windowMs) {
      this.start = now;
      this.count = 0;
    }
    this.count++;
    return this.count > this.max;
  }
}

/**
 * The key under which an address's connections are counted: an IPv4 address itself,
 * an IPv6 address by its /64 (one subscriber usually holds a whole /64, and can pick
 * any address in it), '' for an unknown address.
 */
export function ipLimitKey(ip: string): string {
  if (ip === '' || isIPv4(ip)) return ip;
  const groups = expandIPv6(ip);
  if (!groups) return ip;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** Open connections per address (see {@link ipLimitKey}), capped at `max` each. */
export class ConnectionsPerIp {
  private readonly open = new Map<string, number>();

  constructor(readonly max: number) {}

  /** True when one more connection from `ip` would stay within the cap. */
  admits(ip: string): boolean {
    return (this.open.get(ipLimitKey(ip)) ?? 0) < this.max;
  }

  /** Counts a connection from `ip` if the cap allows it; true when it did. Pair each true with one {@link release}. */
  acquire(ip: string): boolean {
    const key = ipLimitKey(ip);
    const count = this.open.get(key) ?? 0;
    if (count >= this.max) return false;
    this.open.set(key, count + 1);
    return true;
  }

  /** Forgets one connection from `ip`. */
  release(ip: string): void {
    const key = ipLimitKey(ip);
    const count = (this.open.get(key) ?? 0) - 1;
    if (count > 0) this.open.set(key, count);
    else this.open.delete(key);
  }

  /** Addresses with at least one connection open. */
  get addresses(): number {
    return this.open.size;
  }

  /** Connections open in all. */
  get total(): number {
    let sum = 0;
    for (const count of this.open.values()) sum += count;
    return sum;
  }
}

/**
 * A {@link RateLimit} per address (see {@link ipLimitKey}), for requests that come
 * without a connection to count them on: the HTTP API's lookups. An address is
 * forgotten once its bucket would be full again, so the map holds only the
 * addresses seen in the last `burst / rate` seconds.
 */
export class RatePerIp {
  private readonly buckets = new Map<string, { limit: RateLimit; last: number }>();
  private lastSweep = -Infinity;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  /** Takes one token for `ip` at `now` (ms, `performance.now()`); true when there was one. */
  take(ip: string, now: number): boolean {
    if (this.rate === Infinity) return true;
    // A sweep at most once per refill time, so that many fresh addresses cost no more than one pass each.
    if (this.buckets.size >= 1024 && now - this.lastSweep >= this.refillMs) this.forgetIdle(now);
    const key = ipLimitKey(ip);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { limit: new RateLimit(this.rate, this.burst, now), last: now };
      this.buckets.set(key, bucket);
    }
    bucket.last = now;
    return bucket.limit.take(now);
  }

  /** Addresses with a bucket that is not full. */
  get addresses(): number {
    return this.buckets.size;
  }

  private get refillMs(): number {
    return (this.burst / this.rate) * 1000;
  }

  private forgetIdle(now: number): void {
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) if (now - bucket.last >= this.refillMs) this.buckets.delete(key);
  }
}
