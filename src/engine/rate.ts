/**
 * Transfer rates: measuring them (to size request pipelines) and limiting them
 * (to cap what a page uploads).
 */
import { BLOCK_SIZE } from './wire.js';

/** Milliseconds from some fixed origin; injectable so tests can drive time. */
export type Clock = () => number;

const defaultClock: Clock = () => performance.now();

/** Options of {@link RateMeter}. */
export interface RateMeterOptions {
  /** Number of buckets in the window. Default 5. */
  buckets?: number;
  /** Width of one bucket in ms. Default 1000, so the window is 5 s. */
  bucketMs?: number;
  /** Time source in ms. Default `performance.now()`. */
  now?: Clock;
}

/**
 * Bytes per second over a sliding window of a few seconds, kept as per-second buckets
 * so recording is O(1) and an idle link decays to 0 within the window.
 */
export class RateMeter {
  /** Every byte ever recorded. */
  total = 0;

  readonly #counts: Float64Array;
  readonly #bucketMs: number;
  readonly #now: Clock;
  readonly #start: number;
  /** Absolute index (time / bucketMs) of the newest bucket. */
  #head: number;

  constructor(opts: RateMeterOptions = {}) {
    const buckets = opts.buckets ?? 5;
    this.#bucketMs = opts.bucketMs ?? 1000;
    if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be a positive integer, got ${buckets}.`);
    if (!(this.#bucketMs > 0)) throw new RangeError(`bucketMs must be positive, got ${this.#bucketMs}.`);
    this.#counts = new Float64Array(buckets);
    this.#now = opts.now ?? defaultClock;
    this.#start = this.#now();
    this.#head = Math.floor(this.#start / this.#bucketMs);
  }

  #advance(now: number): void {
    const index = Math.floor(now / this.#bucketMs);
    if (index <= this.#head) return;
    const n = this.#counts.length;
    // Zero the buckets skipped while idle, at most one full turn of the ring.
    for (let i = this.#head + 1; i <= Math.min(index, this.#head + n); i++) this.#counts[i % n] = 0;
    this.#head = index;
  }

  /** Records `bytes` transferred now. */
  add(bytes: number): void {
    const now = this.#now();
    this.#advance(now);
    this.#counts[this.#head % this.#counts.length]! += bytes;
    this.total += bytes;
  }

  /**
   * Bytes per second over the window. The elapsed time is floored at one bucket, so the
   * first few hundred milliseconds of a transfer read low rather than absurdly high.
   */
  rate(): number {
    const now = this.#now();
    this.#advance(now);
    let sum = 0;
    for (const c of this.#counts) sum += c;
    const windowSpan = (this.#counts.length - 1) * this.#bucketMs + (now - this.#head * this.#bucketMs);
    const span = Math.max(this.#bucketMs, Math.min(now - this.#start, windowSpan));
    return (sum * 1000) / span;
  }
}

/** Options of {@link pipelineCapacity}. */
export interface PipelineOptions {
  /** Seconds of transfer to keep requested ahead. Default 1. */
  seconds?: number;
  /** Fewest blocks in flight, so a new or slow peer still gets a pipeline. Default 2. */
  min?: number;
  /**
   * Most blocks in flight. Default 32 (8 MiB): half of the 16 MiB at which a sender's
   * channel queue throws, and over 300 ms of the fastest link measured here.
   */
  max?: number;
  /** Bytes per block. Default BLOCK_SIZE. */
  blockSize?: number;
}

/**
 * How many blocks to keep requested from a peer that delivers `bytesPerSecond`:
 * about `seconds` of its rate, clamped to `[min, max]`.
 */
export function pipelineCapacity(bytesPerSecond: number, opts: PipelineOptions = {}): number {
  const { seconds = 1, min = 2, max = 32, blockSize = BLOCK_SIZE } = opts;
  const wanted = Math.ceil((Math.max(0, bytesPerSecond) * seconds) / blockSize);
  return Math.max(min, Math.min(max, Number.isFinite(wanted) ? wanted : max));
}

/**
 * An upload limit in bytes per second. `take(n)` charges `n` bytes at once and returns how
 * long to wait before sending them, so concurrent senders queue up behind each other's
 * debt and the long-run rate never exceeds the limit.
 *
 * The bucket holds at most `burst` bytes (one block by default), so after an idle spell
 * only one block goes out at once. A block bigger than the burst is still allowed: it
 * leaves the bucket in debt and the next sender waits.
 */
export class TokenBucket {
  #rate: number;
  #burst: number;
  #tokens: number;
  #last: number;
  readonly #now: Clock;

  /**
   * @param bytesPerSecond the limit; `Infinity` means none.
   * @param burst most bytes sent at once after an idle spell. Default BLOCK_SIZE.
   * @param now time source in ms. Default `performance.now()`.
   */
  constructor(bytesPerSecond: number, burst: number = BLOCK_SIZE, now: Clock = defaultClock) {
    checkRate(bytesPerSecond);
    if (!(burst > 0)) throw new RangeError(`burst must be positive, got ${burst}.`);
    this.#rate = bytesPerSecond;
    this.#burst = burst;
    this.#tokens = burst;
    this.#now = now;
    this.#last = now();
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed * this.#rate) / 1000);
    // Infinity × 0 (no time elapsed on an unlimited bucket) is NaN; an unlimited bucket is always full.
    if (Number.isNaN(this.#tokens)) this.#tokens = this.#burst;
  }

  /**
   * Changes the limit from now on. Time already elapsed is credited at the old rate;
   * an outstanding debt is paid off at the new one. Waits already returned by
   * {@link take} are not shortened.
   */
  setRate(bytesPerSecond: number, burst: number = this.#burst): void {
    checkRate(bytesPerSecond);
    if (!(burst > 0)) throw new RangeError(`burst must be positive, got ${burst}.`);
    this.#refill();
    this.#rate = bytesPerSecond;
    this.#burst = burst;
    this.#tokens = Math.min(this.#tokens, burst);
  }

  /** Charges `bytes` and returns the ms to wait before sending them (0 when they may go now). */
  take(bytes: number): number {
    this.#refill();
    if (this.#rate === Infinity) return 0;
    this.#tokens -= bytes;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.#rate);
  }
}

function checkRate(bytesPerSecond: number): void {
  if (!(bytesPerSecond > 0)) throw new RangeError(`The rate must be a positive number of bytes per second, got ${bytesPerSecond}.`);
}
