/**
 * What the tracker reports to its owner: recoverable trouble as `warning`, and one
 * plain event per thing that happened, ready for logs and counters.
 */
import type { ErrorCode, ReportReason } from './protocol.js';

/**
 * Why a connection was dropped:
 * `close` the socket closed, `timeout` no heartbeat in time, `shutdown` `tracker.close()`,
 * `too-large` it sent a message over `maxMessageBytes`, `slow-consumer` it did not read its replies,
 * `rate-limited` it kept sending over its rate limit.
 */
export type EvictReason = 'close' | 'timeout' | 'shutdown' | 'too-large' | 'slow-consumer' | 'rate-limited';

/** All evict reasons, for metrics and documentation. */
export const EVICT_REASONS: readonly EvictReason[] = ['close', 'timeout', 'shutdown', 'too-large', 'slow-consumer', 'rate-limited'];

/** What a warning is about: an error code sent to a client, or trouble the client never hears of. */
export type TrackerWarningCode = ErrorCode | 'SOCKET_ERROR' | 'SLOW_CONSUMER';

/** Recoverable trouble, emitted as `'warning'`. The tracker carries on. */
export class TrackerWarning extends Error {
  /** What went wrong. Client errors carry the code the client was sent. */
  readonly code: TrackerWarningCode;
  /** The peer concerned, when it had said `hello`. */
  readonly peerId: string | undefined;
  /** The address of the connection concerned, when there was one. */
  readonly ip: string | undefined;

  constructor(
    code: TrackerWarningCode,
    message: string,
    context: { peerId?: string | undefined; ip?: string | undefined; cause?: unknown } = {},
  ) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = 'TrackerWarning';
    this.code = code;
    this.peerId = context.peerId;
    this.ip = context.ip;
  }
}

/** The tracker's events, for `tracker.on(...)`. Payloads are plain objects, ready for counters. */
export interface TrackerEvents {
  /** Recoverable trouble: a client sent something invalid, a socket failed, the store failed. */
  warning: [warning: TrackerWarning];
  /** A connection got its identity. */
  hello: [event: { peerId: string; resumed: boolean; ip: string; country: string | undefined }];
  /** A peer announced a hash. `changed` is false for a repeat that changed nothing. */
  announce: [event: { hash: string; peerId: string; complete: boolean; changed: boolean }];
  /** A peer withdrew a hash. `changed` is false when it did not hold it. */
  withdraw: [event: { hash: string; peerId: string; changed: boolean }];
  /** A peer asked who holds a hash. `peerId` is absent for a lookup over HTTP (`GET /api/files/:hash?peers=N`). */
  lookup: [event: { hash: string; peerId?: string; returned: number; seeders: number; leechers: number }];
  /** A connection is gone and everything it announced was removed. `hashes` is how many swarms it left. */
  evict: [event: { peerId: string | undefined; ip: string; reason: EvictReason; hashes: number }];
  /**
   * A client reported that it banned a peer. `duplicate` is true when this connection
   * already reported the same peer for the same hash (count only the others).
   */
  report: [event: { hash: string; reporter: string; peerId: string; reason: ReportReason; duplicate: boolean }];
}
