import { EventEmitter } from 'node:events';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import createDebug from 'debug';
import { clientAddress, proxyHops, type TrustProxy } from '../address.js';
import { lookupCountry as geoLookupCountry, type CountryLookup } from './geo.js';
import { ConnectionsPerIp, RateLimit, StrikeWindow } from '../limits.js';
import { MemoryStore } from './memory-store.js';
import { orderByNearness } from './nearness.js';
import {
  CLOSE_GOING_AWAY,
  CLOSE_MESSAGE_TOO_LARGE,
  CLOSE_POLICY_VIOLATION,
  CLOSE_TRY_AGAIN_LATER,
  DEFAULT_HEARTBEAT_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  DEFAULT_MAX_HASHES_PER_CONNECTION,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_MESSAGES_PER_SECOND,
  DEFAULT_MAX_PEERS_RETURNED,
  DEFAULT_MAX_REPORTS_PER_MINUTE,
  DEFAULT_MAX_WATCHES_PER_CONNECTION,
  DEFAULT_MESSAGE_BURST,
  DEFAULT_RATE_LIMIT_STRIKES,
  RATE_LIMIT_WINDOW_MS,
  ISSUED_PEER_ID_LENGTH,
  MAX_SEND_BUFFER_BYTES,
  ProtocolError,
  TOKEN_LENGTH,
  errorMessage,
  isValidHash,
  isValidPeerId,
  parseClientMessage,
  rawByteLength,
  reportReason,
  swarmStatus,
  type AnnounceMessage,
  type ClientMessage,
  type ErrorCode,
  type HelloMessage,
  type LookupMessage,
  type OkMessage,
  type RawData,
  type ReportMessage,
  type ReportReason,
  type Rid,
  type ServerMessage,
  type SwarmCounts,
  type SwarmStatus,
  type TrackerLimits,
  type UnwatchMessage,
  type WatchMessage,
  type WithdrawMessage,
} from './protocol.js';
import type { PeerInfo, PeerRecord, StoreStats, SwarmStore, SyncSwarmStore } from './store.js';

const debug = createDebug('ecdn:tracker');

/** Messages queued on one connection before the tracker stops reading from its socket. */
const PAUSE_AT_PENDING = 32;
/** Queue length at which reading resumes. */
const RESUME_AT_PENDING = 8;
/** How long sockets get to complete the close handshake on `close()` before being cut. */
const SHUTDOWN_GRACE_MS = 1_000;
/** Distinct (hash, peer) reports remembered per connection, so that repeats are not counted twice. */
const MAX_REPORTS_REMEMBERED = 256;

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export interface TrackerOptions {
  /** A connection silent for this long (ms) is evicted and its socket terminated. Default 30,000. */
  heartbeatTimeoutMs?: number | undefined;
  /** Most peer IDs in one `peers` reply. Default 30. */
  maxPeersReturned?: number | undefined;
  /** Largest client frame (bytes); larger gets `MESSAGE_TOO_LARGE` and close 1009. Default 65,536. */
  maxMessageBytes?: number | undefined;
  /** Most hashes one connection may have announced at a time. Default 1,000. */
  maxHashesPerConnection?: number | undefined;
  /** Most hashes one connection may watch at a time. Default 1,000. */
  maxWatchesPerConnection?: number | undefined;
  /**
   * Most connections open at once from one IPv4 address or IPv6 /64; one more gets
   * `TOO_MANY_CONNECTIONS` and close 1013. `Infinity` turns the cap off. Default 64.
   */
  maxConnectionsPerIp?: number | undefined;
  /** Sustained messages per second per connection; beyond, `RATE_LIMITED`. `Infinity` turns it off. Default 50. */
  maxMessagesPerSecond?: number | undefined;
  /** Messages a connection may send at once before `maxMessagesPerSecond` applies. Default 2,500. */
  messageBurst?: number | undefined;
  /** `RATE_LIMITED` refusals within 10 s after which the connection is closed with 1008. Default 100. */
  rateLimitStrikes?: number | undefined;
  /** `report` messages per connection per minute (and burst); beyond, `RATE_LIMITED`. Default 10. */
  maxReportsPerMinute?: number | undefined;
  /**
   * Reverse proxies to trust in front of the server: `true` for one, or a number of hops.
   * The client address is then read from `X-Forwarded-For` (see `clientAddress`). Only behind proxies you run. Default false.
   */
  trustProxy?: TrustProxy | undefined;
  /** Key of the peer tokens (HMAC-SHA256). Default: 32 random bytes, so tokens die with the process. */
  secret?: Buffer | undefined;
  /** Where swarms live. Default a new {@link MemoryStore}. An injected store is not closed by the tracker. */
  store?: SwarmStore | undefined;
  /** Country of an address. Default the GeoLite2 lookup of geo.ts. */
  lookupCountry?: CountryLookup | undefined;
  /** Source of randomness for shuffling equally near peers. Default `Math.random`. */
  random?: (() => number) | undefined;
}

/** What `GET /api/files/:hash` reports. */
export type FileStatus = SwarmStatus;

/** Counts for `/healthz` and metrics. */
export interface TrackerStats {
  /** Open WebSocket connections, with or without an identity. */
  connections: number;
  /** Connections that said `hello`, i.e. peer IDs bound here. */
  peers: number;
  /** Distinct hashes announced through this tracker's connections. */
  swarms: number;
  /** Distinct hashes watched by this tracker's connections. */
  watched: number;
}

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

  constructor(code: TrackerWarningCode, message: string, context: { peerId?: string | undefined; ip?: string | undefined; cause?: unknown } = {}) {
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
  /** A peer asked who holds a hash. */
  lookup: [event: { hash: string; peerId: string; returned: number; seeders: number; leechers: number }];
  /** A connection is gone and everything it announced was removed. `hashes` is how many swarms it left. */
  evict: [event: { peerId: string | undefined; ip: string; reason: EvictReason; hashes: number }];
  /**
   * A client reported that it banned a peer. `duplicate` is true when this connection
   * already reported the same peer for the same hash (count only the others).
   */
  report: [event: { hash: string; reporter: string; peerId: string; reason: ReportReason; duplicate: boolean }];
}

interface Connection {
  readonly socket: WebSocket;
  readonly ip: string;
  readonly country: string | undefined;
  peerId: string | undefined;
  /** Hashes this connection announced and has not withdrawn. */
  readonly hashes: Set<string>;
  /** Hashes this connection watches. Created by its first `watch`, since most peers never watch. */
  watches: Set<string> | undefined;
  lastSeen: number;
  /**
   * Messages are handled one at a time, in order, so replies come in request order.
   * This settles once the messages received so far are handled; undefined when none is pending.
   */
  queue: Promise<void> | undefined;
  /** Messages received and not yet handled, the one being handled included. */
  pending: number;
  closed: boolean;
  /** Message rate limit. */
  readonly bucket: RateLimit;
  /** Refusals for rate, counted to close connections that keep going. Created at the first refusal. */
  strikes: StrikeWindow | undefined;
  /** Created by the first `report`, since most peers never report. */
  reports: Reports | undefined;
  /** Settles once the connection's swarm entries are removed. */
  evicted: Promise<void> | undefined;
}

/** What one connection's `report`s are checked against. */
interface Reports {
  /** `report` rate limit. */
  readonly bucket: RateLimit;
  /** `hash peerId` pairs already reported on this connection, oldest first. */
  readonly seen: Set<string>;
}

/** A hash announced through this tracker's connections. */
interface LocalSwarm {
  /**
   * The hash, as one string shared by every connection holding it (and by the store's
   * key, for the default store): each announce parses a string of its own, and keeping
   * one copy per holder would cost 80 bytes per (peer, hash).
   */
  readonly hash: string;
  /** How many connections here announced it. */
  count: number;
}

/** A hash somebody watches. Count reads and pushes for it run one at a time, so pushes never go back in time. */
interface WatchedSwarm {
  /** Each watcher with the counts it was last sent, or undefined while its `watch` reply is pending. */
  readonly watchers: Map<Connection, string | undefined>;
  readonly replies: Array<{ conn: Connection; rid: Rid | undefined; done: () => void }>;
  dirty: boolean;
  running: boolean;
}

/**
 * The tracker: which peer IDs hold which file, over JSON-on-WebSocket.
 *
 * It never sees file bytes. Hand it each WebSocket accepted on `/tracker` with
 * {@link Tracker.handleConnection}; docs/protocol.md describes what clients say.
 * Create it with {@link createTracker}.
 *
 * @fires warning - recoverable trouble ({@link TrackerWarning})
 * @fires hello - a connection got its identity
 * @fires announce - a peer announced a hash
 * @fires withdraw - a peer withdrew a hash
 * @fires lookup - a peer asked who holds a hash
 * @fires evict - a connection was dropped and its entries removed
 */
export class Tracker extends EventEmitter<TrackerEvents> {
  /** True once {@link Tracker.close} was called. */
  destroyed = false;

  private readonly heartbeatTimeoutMs: number;
  private readonly limits: TrackerLimits;
  private readonly rateLimitStrikes: number;
  private readonly maxReportsPerMinute: number;
  private readonly perIp: ConnectionsPerIp;
  private readonly trustProxy: number;
  private readonly secret: Buffer;
  private readonly store: SwarmStore;
  /** The store again when it can answer at once (see the constructor), else undefined. */
  private readonly syncStore: SyncSwarmStore | undefined;
  private readonly lookupCountry: CountryLookup;
  private readonly random: () => number;

  private readonly connections = new Set<Connection>();
  /**
   * Socket -> its connection, for the socket listeners, which are shared by all
   * sockets instead of three closures per socket. An entry stays until the socket's
   * 'close', after the connection is dropped, so that a late 'error' still names its peer.
   */
  private readonly bySocket = new Map<WebSocket, Connection>();
  private readonly onSocketMessage: (this: WebSocket, data: RawData, isBinary: boolean) => void;
  private readonly onSocketClose: (this: WebSocket) => void;
  private readonly onSocketError: (this: WebSocket, err: Error) => void;
  /** Peer ID -> the one connection it is bound to. */
  private readonly peers = new Map<string, Connection>();
  /** Hash -> how many connections here announced it. */
  private readonly localSwarms = new Map<string, LocalSwarm>();
  private readonly watched = new Map<string, WatchedSwarm>();
  private readonly sweepTimer: NodeJS.Timeout;
  private closing: Promise<void> | undefined;

  constructor(options: TrackerOptions = {}) {
    super();
    this.heartbeatTimeoutMs = integerOption('heartbeatTimeoutMs', options.heartbeatTimeoutMs, DEFAULT_HEARTBEAT_TIMEOUT_MS, 1);
    this.limits = {
      maxMessageBytes: integerOption('maxMessageBytes', options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES, 1),
      maxHashesPerConnection: integerOption('maxHashesPerConnection', options.maxHashesPerConnection, DEFAULT_MAX_HASHES_PER_CONNECTION, 0),
      maxWatchesPerConnection: integerOption('maxWatchesPerConnection', options.maxWatchesPerConnection, DEFAULT_MAX_WATCHES_PER_CONNECTION, 0),
      maxPeersReturned: integerOption('maxPeersReturned', options.maxPeersReturned, DEFAULT_MAX_PEERS_RETURNED, 0),
      maxMessagesPerSecond: rateOption('maxMessagesPerSecond', options.maxMessagesPerSecond, DEFAULT_MAX_MESSAGES_PER_SECOND),
      messageBurst: integerOption('messageBurst', options.messageBurst, DEFAULT_MESSAGE_BURST, 1),
    };
    this.rateLimitStrikes = integerOption('rateLimitStrikes', options.rateLimitStrikes, DEFAULT_RATE_LIMIT_STRIKES, 0);
    this.maxReportsPerMinute = rateOption('maxReportsPerMinute', options.maxReportsPerMinute, DEFAULT_MAX_REPORTS_PER_MINUTE);
    const perIp = options.maxConnectionsPerIp === Infinity ? Infinity : integerOption('maxConnectionsPerIp', options.maxConnectionsPerIp, DEFAULT_MAX_CONNECTIONS_PER_IP, 1);
    this.perIp = new ConnectionsPerIp(perIp);
    this.trustProxy = proxyHops(options.trustProxy);
    if (options.secret !== undefined && options.secret.length === 0) throw new RangeError('secret must not be empty');
    this.secret = options.secret ?? randomBytes(32);
    this.store = options.store ?? new MemoryStore();
    // Only a plain MemoryStore is called synchronously: a subclass may override the
    // async methods (to add latency, or to count), and must then be called through them.
    this.syncStore = Object.getPrototypeOf(this.store) === MemoryStore.prototype ? (this.store as MemoryStore) : undefined;
    this.lookupCountry = options.lookupCountry ?? geoLookupCountry;
    this.random = options.random ?? Math.random;

    this.sweepTimer = setInterval(() => this.sweep(), Math.max(10, Math.round(this.heartbeatTimeoutMs / 4)));
    this.sweepTimer.unref();

    // `ws` calls its listeners with the socket as `this`.
    const { bySocket } = this;
    const tracker = this;
    this.onSocketMessage = function (data, isBinary) {
      const conn = bySocket.get(this);
      if (conn) tracker.onMessage(conn, data, isBinary);
    };
    this.onSocketClose = function () {
      const conn = bySocket.get(this);
      if (!conn) return;
      bySocket.delete(this);
      tracker.drop(conn, 'close');
    };
    this.onSocketError = function (err) {
      const conn = bySocket.get(this);
      tracker.warn('SOCKET_ERROR', `socket error: ${err.message}`, { peerId: conn?.peerId, ip: conn?.ip, cause: err });
    };
  }

  /**
   * Takes over a WebSocket accepted on the tracker's path. `req` is the upgrade
   * request, read for the client's address (see `trustProxy`).
   */
  handleConnection(socket: WebSocket, req: IncomingMessage): void {
    if (this.destroyed) {
      socket.close(CLOSE_GOING_AWAY, 'tracker shutting down');
      return;
    }
    const ip = clientAddress(req, this.trustProxy);
    if (!this.perIp.acquire(ip)) {
      const err = new ProtocolError('TOO_MANY_CONNECTIONS', `This address already has ${this.perIp.max} tracker connections open; close one first.`);
      this.warn(err.code, err.message, { ip });
      if (socket.readyState === socket.OPEN) {
        socket.send(JSON.stringify(errorMessage(err)));
        socket.close(CLOSE_TRY_AGAIN_LATER, 'too many connections from this address');
      }
      return;
    }
    let country: string | undefined;
    try {
      country = this.lookupCountry(ip) || undefined;
    } catch (err) {
      this.warn('INTERNAL_ERROR', `country lookup of ${ip} failed`, { ip, cause: err });
    }
    const conn: Connection = {
      socket,
      ip,
      country,
      peerId: undefined,
      hashes: new Set(),
      watches: undefined,
      lastSeen: performance.now(),
      queue: undefined,
      pending: 0,
      closed: false,
      evicted: undefined,
      bucket: new RateLimit(this.limits.maxMessagesPerSecond, this.limits.messageBurst, performance.now()),
      strikes: undefined,
      reports: undefined,
    };
    this.connections.add(conn);
    this.bySocket.set(socket, conn);
    debug('connection from %s (%s)', ip || 'unknown address', country ?? 'no country');

    socket.on('message', this.onSocketMessage);
    socket.on('close', this.onSocketClose);
    socket.on('error', this.onSocketError);
    if (socket.readyState !== socket.OPEN) {
      this.drop(conn, 'close');
      // A socket already closed will not emit 'close'.
      if (socket.readyState === socket.CLOSED) this.bySocket.delete(socket);
    }
  }

  /**
   * True when one more connection from `ip` (as `clientAddress` reads it) would stay
   * within `maxConnectionsPerIp`, so that a server can refuse the upgrade before it happens.
   */
  admits(ip: string): boolean {
    return !this.destroyed && this.perIp.admits(ip);
  }

  /** Whether a file is alive, and how many seeders and leechers it has. Rejects with `INVALID_HASH` for a bad hash. */
  async fileStatus(hash: string): Promise<FileStatus> {
    if (!isValidHash(hash)) throw new ProtocolError('INVALID_HASH', 'Expected a SHA-256 as 64 lowercase hexadecimal characters.');
    return swarmStatus(hash, await this.store.counts(hash));
  }

  /**
   * True when `token` is the one this tracker (or any tracker sharing its `secret`)
   * issued for `peerId`. The PeerServer uses it to accept only issued IDs.
   */
  verifyPeerToken(peerId: string, token: string): boolean {
    if (!isValidPeerId(peerId) || typeof token !== 'string' || token.length !== TOKEN_LENGTH) return false;
    const expected = Buffer.from(this.tokenFor(peerId));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Size of the swarm store (all trackers sharing it, for a shared store). */
  storeStats(): Promise<StoreStats> {
    return this.store.stats();
  }

  /** Counts for `/healthz` and metrics. */
  stats(): TrackerStats {
    return { connections: this.connections.size, peers: this.peers.size, swarms: this.localSwarms.size, watched: this.watched.size };
  }

  /**
   * Stops the sweep timer, closes every connection with 1001 (cutting those that
   * do not finish the handshake within a second) and removes their entries.
   * Resolves once they are removed. Never rejects; calling it again is harmless.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.destroyed = true;
    clearInterval(this.sweepTimer);
    const evictions: Array<Promise<void> | undefined> = [];
    const sockets: WebSocket[] = [];
    for (const conn of [...this.connections]) {
      this.drop(conn, 'shutdown');
      evictions.push(conn.evicted);
      sockets.push(conn.socket);
      conn.socket.close(CLOSE_GOING_AWAY, 'tracker shutting down');
    }
    if (sockets.length > 0) {
      setTimeout(() => {
        for (const socket of sockets) if (socket.readyState !== socket.CLOSED) socket.terminate();
      }, SHUTDOWN_GRACE_MS).unref();
    }
    debug('closing: %d connections', sockets.length);
    this.closing = Promise.allSettled(evictions).then(() => undefined);
    return this.closing;
  }

  /**
   * Cuts every socket the tracker was handed and that is not closed yet, without
   * waiting for the close handshake: for a server shutting down after {@link Tracker.close}.
   * The server need not track the tracker's sockets itself (ws's `clientTracking`
   * costs a closure and a listener per socket).
   */
  terminateSockets(): void {
    for (const socket of [...this.bySocket.keys()]) socket.terminate();
  }

  // -------------------------------------------------------------------------
  // Receiving

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    if (conn.closed) return;
    // Checked before queueing so that oversize frames are never held on to.
    const size = rawByteLength(data);
    if (size > this.limits.maxMessageBytes) {
      this.reject(conn, new ProtocolError('MESSAGE_TOO_LARGE', `Message is ${size} bytes; the limit is ${this.limits.maxMessageBytes}.`));
      this.drop(conn, 'too-large');
      closeSocket(conn.socket, CLOSE_MESSAGE_TOO_LARGE, 'message too large');
      return;
    }
    const now = performance.now();
    const limited = !conn.bucket.take(now);
    if (limited && (conn.strikes ??= new StrikeWindow(this.rateLimitStrikes, RATE_LIMIT_WINDOW_MS)).strike(now)) {
      // Replies still queued are dropped with the connection; this error is the last word.
      const err = new ProtocolError(
        'RATE_LIMITED',
        `More than ${this.rateLimitStrikes} messages over the rate limit within ${RATE_LIMIT_WINDOW_MS / 1000} s: disconnected.`,
      );
      this.reject(conn, err);
      this.drop(conn, 'rate-limited');
      closeSocket(conn.socket, CLOSE_POLICY_VIOLATION, 'rate limit exceeded');
      return;
    }
    conn.pending++;
    // Backpressure: a client sending faster than the store answers stops being read.
    if (conn.pending >= PAUSE_AT_PENDING && !conn.socket.isPaused) conn.socket.pause();
    if (conn.queue !== undefined) {
      conn.queue = conn.queue
        .then(() => this.handleFrame(conn, data, isBinary, limited))
        .catch((err: unknown) => this.frameFailed(conn, err))
        .finally(() => this.frameDone(conn));
      return;
    }
    // Nothing is pending, so this message may be handled now, in order. With a store
    // that answers at once, most messages are done within this call and allocate no
    // promise; one that has to wait becomes the queue the next messages wait on.
    let handling: Promise<void> | void = undefined;
    try {
      handling = this.handleFrame(conn, data, isBinary, limited);
    } catch (err) {
      this.frameFailed(conn, err);
    }
    if (handling === undefined) return this.frameDone(conn);
    conn.queue = handling.catch((err: unknown) => this.frameFailed(conn, err)).finally(() => this.frameDone(conn));
  }

  private frameFailed(conn: Connection, err: unknown): void {
    this.warn('INTERNAL_ERROR', `handling a message failed: ${String(err)}`, { peerId: conn.peerId, ip: conn.ip, cause: err });
  }

  /** Called once per message handled, in order. */
  private frameDone(conn: Connection): void {
    conn.pending--;
    // The last message is handled: the next is handled at once, and the settled queue is not kept.
    if (conn.pending === 0) conn.queue = undefined;
    if (conn.pending <= RESUME_AT_PENDING && conn.socket.isPaused && !conn.closed) conn.socket.resume();
  }

  /** Handles one frame; returns a promise only when it has to wait (see onMessage). */
  private handleFrame(conn: Connection, data: RawData, isBinary: boolean, limited: boolean): Promise<void> | void {
    if (conn.closed) return;
    const parsed = parseClientMessage(data, isBinary, this.limits.maxMessageBytes);
    if (limited) {
      // Parsed only to echo the rid, so that a client waiting on the reply hears of it.
      const rid = parsed.ok ? parsed.message.rid : parsed.error.rid;
      const rate = this.limits.maxMessagesPerSecond;
      return this.reject(conn, new ProtocolError('RATE_LIMITED', `Over the limit of ${rate} messages per second (bursts of ${this.limits.messageBurst}); this message was dropped.`, rid));
    }
    if (!parsed.ok) return this.reject(conn, parsed.error);
    const message = parsed.message;
    if (message.type !== 'hello') {
      if (conn.peerId === undefined) {
        return this.reject(conn, new ProtocolError('HELLO_REQUIRED', `Send "hello" before "${message.type}".`, message.rid));
      }
      // A heartbeat. Failed hellos are not, so a connection that never gets an identity times out.
      conn.lastSeen = performance.now();
    }
    let handling: Promise<void> | void;
    try {
      handling = this.dispatch(conn, message);
    } catch (err) {
      return this.dispatchFailed(conn, message, err);
    }
    if (handling !== undefined) return handling.catch((err: unknown) => this.dispatchFailed(conn, message, err));
  }

  private dispatchFailed(conn: Connection, message: ClientMessage, err: unknown): void {
    if (err instanceof ProtocolError) return this.reject(conn, err);
    this.warn('INTERNAL_ERROR', `"${message.type}" failed: ${err instanceof Error ? err.message : String(err)}`, { peerId: conn.peerId, ip: conn.ip, cause: err });
    this.send(conn, { type: 'error', ...ridOf(message.rid), code: 'INTERNAL_ERROR', message: 'The tracker failed to handle this request; retry later.' });
  }

  private dispatch(conn: Connection, message: ClientMessage): Promise<void> | void {
    switch (message.type) {
      case 'hello':
        return this.onHello(conn, message);
      case 'announce':
        return this.onAnnounce(conn, message);
      case 'withdraw':
        return this.onWithdraw(conn, message);
      case 'lookup':
        return this.onLookup(conn, message);
      case 'watch':
        return this.onWatch(conn, message);
      case 'unwatch':
        return this.onUnwatch(conn, message);
      case 'ping':
        return this.send(conn, { type: 'pong', ...ridOf(message.rid) });
      case 'report':
        return this.onReport(conn, message);
    }
  }

  private async onHello(conn: Connection, message: HelloMessage): Promise<void> {
    const { rid } = message;
    if (conn.peerId !== undefined) throw new ProtocolError('ALREADY_HELLO', `This connection already is peer ${conn.peerId}.`, rid);
    let peerId: string;
    let token: string;
    const resumed = message.peerId !== undefined;
    if (message.peerId !== undefined) {
      peerId = message.peerId;
      token = message.token ?? '';
      if (!this.verifyPeerToken(peerId, token)) throw new ProtocolError('INVALID_TOKEN', `The token does not belong to peer ${peerId}.`, rid);
      // A reconnect may arrive while the previous connection's entries are being removed: wait for that.
      let holder = this.peers.get(peerId);
      while (holder?.closed) {
        await holder.evicted;
        if (conn.closed) return;
        holder = this.peers.get(peerId);
      }
      if (holder) throw new ProtocolError('ID_IN_USE', `Peer ${peerId} is connected elsewhere.`, rid);
    } else {
      do peerId = randomPeerId();
      while (this.peers.has(peerId));
      token = this.tokenFor(peerId);
    }
    conn.peerId = peerId;
    conn.lastSeen = performance.now();
    this.peers.set(peerId, conn);
    debug('hello %s (%s) from %s', peerId, resumed ? 'resumed' : 'new', conn.ip);
    this.send(conn, {
      type: 'welcome',
      ...ridOf(rid),
      peerId,
      token,
      heartbeatInterval: Math.round(this.heartbeatTimeoutMs / 3),
      limits: { ...this.limits },
    });
    this.emit('hello', { peerId, resumed, ip: conn.ip, country: conn.country });
  }

  private onAnnounce(conn: Connection, message: AnnounceMessage): Promise<void> | void {
    const { hash, complete, rid } = message;
    const isNew = !conn.hashes.has(hash);
    if (isNew && conn.hashes.size >= this.limits.maxHashesPerConnection) {
      throw new ProtocolError(
        'TOO_MANY_HASHES',
        `A connection may announce at most ${this.limits.maxHashesPerConnection} hashes; withdraw one first.`,
        rid,
      );
    }
    const peer: PeerInfo = { peerId: conn.peerId!, ip: conn.ip, country: conn.country };
    const shared = this.localSwarms.get(hash)?.hash ?? hash;
    const sync = this.syncStore;
    if (sync === undefined) return this.announceAsync(conn, message, peer, isNew, shared);
    const changed = sync.addNow(shared, peer, complete);
    if (isNew) this.holds(conn, shared);
    this.announced(conn, message, changed, sync.countsNow(hash));
  }

  private async announceAsync(conn: Connection, message: AnnounceMessage, peer: PeerInfo, isNew: boolean, shared: string): Promise<void> {
    const changed = await this.store.add(shared, peer, message.complete);
    if (isNew) this.holds(conn, shared);
    this.announced(conn, message, changed, await this.store.counts(shared));
  }

  /** Records that the connection holds one more hash, once the store does. */
  private holds(conn: Connection, hash: string): void {
    let local = this.localSwarms.get(hash);
    if (local === undefined) {
      local = { hash, count: 0 };
      this.localSwarms.set(hash, local);
    }
    local.count++;
    conn.hashes.add(local.hash);
  }

  private announced(conn: Connection, message: AnnounceMessage, changed: boolean, counts: SwarmCounts): void {
    const { hash, complete, rid } = message;
    this.send(conn, okWithStatus(rid, hash, counts));
    this.emit('announce', { hash, peerId: conn.peerId!, complete, changed });
    if (changed) this.swarmChanged(hash);
  }

  private onWithdraw(conn: Connection, message: WithdrawMessage): Promise<void> | void {
    const sync = this.syncStore;
    if (sync === undefined) return this.withdrawAsync(conn, message);
    const { hash } = message;
    const changed = sync.removeNow(hash, conn.peerId!);
    if (conn.hashes.delete(hash)) this.forgetLocal(hash);
    this.withdrawn(conn, message, changed, sync.countsNow(hash));
  }

  private async withdrawAsync(conn: Connection, message: WithdrawMessage): Promise<void> {
    const { hash } = message;
    const changed = await this.store.remove(hash, conn.peerId!);
    if (conn.hashes.delete(hash)) this.forgetLocal(hash);
    this.withdrawn(conn, message, changed, await this.store.counts(hash));
  }

  private withdrawn(conn: Connection, message: WithdrawMessage, changed: boolean, counts: SwarmCounts): void {
    const { hash, rid } = message;
    this.send(conn, okWithStatus(rid, hash, counts));
    this.emit('withdraw', { hash, peerId: conn.peerId!, changed });
    if (changed) this.swarmChanged(hash);
  }

  private onLookup(conn: Connection, message: LookupMessage): Promise<void> | void {
    const sync = this.syncStore;
    if (sync === undefined) return this.store.list(message.hash).then((records) => this.lookedUp(conn, message, records));
    this.lookedUp(conn, message, sync.listNow(message.hash));
  }

  private lookedUp(conn: Connection, message: LookupMessage, records: PeerRecord[]): void {
    const { hash, rid } = message;
    let seeders = 0;
    for (const record of records) if (record.complete) seeders++;
    const leechers = records.length - seeders;
    const max = Math.min(message.max ?? this.limits.maxPeersReturned, this.limits.maxPeersReturned);
    const candidates = records.filter((record) => record.peerId !== conn.peerId);
    const peers = orderByNearness(conn, candidates, max, this.random).map((record) => record.peerId);
    this.send(conn, { type: 'peers', ...ridOf(rid), ...swarmStatus(hash, { seeders, leechers }), peers });
    this.emit('lookup', { hash, peerId: conn.peerId!, returned: peers.length, seeders, leechers });
  }

  private async onWatch(conn: Connection, message: WatchMessage): Promise<void> {
    const { hash, rid } = message;
    if (!conn.watches?.has(hash)) {
      if ((conn.watches?.size ?? 0) >= this.limits.maxWatchesPerConnection) {
        throw new ProtocolError(
          'TOO_MANY_WATCHES',
          `A connection may watch at most ${this.limits.maxWatchesPerConnection} hashes; unwatch one first.`,
          rid,
        );
      }
      (conn.watches ??= new Set()).add(hash);
    }
    let swarm = this.watched.get(hash);
    if (!swarm) {
      swarm = { watchers: new Map(), replies: [], dirty: false, running: false };
      this.watched.set(hash, swarm);
    }
    const watched = swarm;
    // The reply is sent by the same loop as the pushes, so that it is never older than a push.
    watched.watchers.set(conn, undefined);
    await new Promise<void>((done) => {
      watched.replies.push({ conn, rid, done });
      void this.refresh(hash, watched);
    });
  }

  private onUnwatch(conn: Connection, message: UnwatchMessage): void {
    const { hash, rid } = message;
    if (conn.watches?.delete(hash) && conn.watches.size === 0) conn.watches = undefined;
    this.removeWatcher(conn, hash);
    this.send(conn, { type: 'ok', ...ridOf(rid), hash });
  }

  private onReport(conn: Connection, message: ReportMessage): void {
    const { hash, peerId, rid } = message;
    const reports = (conn.reports ??= {
      bucket: new RateLimit(this.maxReportsPerMinute / 60, Math.max(1, Math.min(this.maxReportsPerMinute, 1e9)), performance.now()),
      seen: new Set(),
    });
    if (!reports.bucket.take(performance.now())) {
      throw new ProtocolError('RATE_LIMITED', `A connection may send at most ${this.maxReportsPerMinute} reports per minute; this one was dropped.`, rid);
    }
    const key = `${hash} ${peerId}`;
    const duplicate = reports.seen.has(key);
    if (!duplicate) {
      reports.seen.add(key);
      if (reports.seen.size > MAX_REPORTS_REMEMBERED) reports.seen.delete(reports.seen.values().next().value!);
    }
    this.send(conn, { type: 'ok', ...ridOf(rid), hash });
    this.emit('report', { hash, reporter: conn.peerId!, peerId, reason: reportReason(message.reason), duplicate });
  }

  // -------------------------------------------------------------------------
  // Watch pushes

  /** Called after any change to a swarm's membership. */
  private swarmChanged(hash: string): void {
    const swarm = this.watched.get(hash);
    if (!swarm || this.destroyed) return;
    swarm.dirty = true;
    void this.refresh(hash, swarm);
  }

  /** Reads the counts and sends them to whoever has not seen them, until nothing is left to do. */
  private async refresh(hash: string, swarm: WatchedSwarm): Promise<void> {
    if (swarm.running) return;
    swarm.running = true;
    try {
      while (swarm.dirty || swarm.replies.length > 0) {
        swarm.dirty = false;
        const replies = swarm.replies.splice(0);
        try {
          const status = swarmStatus(hash, await this.store.counts(hash));
          const key = `${status.seeders}/${status.leechers}`;
          for (const { conn, rid } of replies) {
            if (!swarm.watchers.has(conn)) continue;
            swarm.watchers.set(conn, key);
            this.send(conn, { type: 'swarm', ...ridOf(rid), ...status });
          }
          for (const [conn, last] of swarm.watchers) {
            // `undefined`: a reply is queued for this watcher and will carry fresh counts.
            if (last === undefined || last === key) continue;
            swarm.watchers.set(conn, key);
            this.send(conn, { type: 'swarm', ...status });
          }
        } catch (err) {
          this.warn('INTERNAL_ERROR', `reading the counts of ${hash} failed`, { cause: err });
          for (const { conn, rid } of replies) {
            this.send(conn, { type: 'error', ...ridOf(rid), code: 'INTERNAL_ERROR', message: 'The tracker failed to read the counts; retry later.' });
          }
        } finally {
          for (const { done } of replies) done();
        }
      }
    } finally {
      swarm.running = false;
      if (swarm.watchers.size === 0 && this.watched.get(hash) === swarm) this.watched.delete(hash);
    }
  }

  private removeWatcher(conn: Connection, hash: string): void {
    const swarm = this.watched.get(hash);
    if (!swarm) return;
    swarm.watchers.delete(conn);
    if (swarm.watchers.size === 0 && !swarm.running) this.watched.delete(hash);
  }

  // -------------------------------------------------------------------------
  // Liveness

  private sweep(): void {
    const deadline = performance.now() - this.heartbeatTimeoutMs;
    for (const conn of [...this.connections]) {
      if (conn.lastSeen >= deadline) continue;
      debug('heartbeat timeout: %s (%s)', conn.peerId ?? 'no identity', conn.ip);
      this.drop(conn, 'timeout');
      conn.socket.terminate();
    }
  }

  /**
   * Forgets a connection at once (no more messages are handled) and removes its
   * entries once the messages already being handled are done, so a late
   * `announce` cannot outlive its peer.
   */
  private drop(conn: Connection, reason: EvictReason): void {
    if (conn.closed) return;
    conn.closed = true;
    this.connections.delete(conn);
    this.perIp.release(conn.ip);
    if (conn.watches) for (const hash of conn.watches) this.removeWatcher(conn, hash);
    conn.watches = undefined;
    // The queue is read a tick later: a message being handled right now, in onMessage's
    // call, only becomes the queue when that call returns, and must finish first.
    conn.evicted = Promise.resolve()
      .then(() => conn.queue)
      .then(async () => {
        const { peerId } = conn;
        let hashes: string[] = [];
        if (peerId !== undefined) {
          try {
            hashes = this.syncStore ? this.syncStore.removePeerNow(peerId, conn.hashes) : await this.store.removePeer(peerId, conn.hashes);
          } catch (err) {
            this.warn('INTERNAL_ERROR', `removing peer ${peerId} failed`, { peerId, ip: conn.ip, cause: err });
          }
          if (this.peers.get(peerId) === conn) this.peers.delete(peerId);
        }
        for (const hash of conn.hashes) this.forgetLocal(hash);
        conn.hashes.clear();
        debug('evicted %s (%s): %s, left %d swarms', peerId ?? 'no identity', conn.ip, reason, hashes.length);
        this.emit('evict', { peerId, ip: conn.ip, reason, hashes: hashes.length });
        for (const hash of hashes) this.swarmChanged(hash);
      })
      .catch((err: unknown) => this.warn('INTERNAL_ERROR', `evicting failed: ${String(err)}`, { peerId: conn.peerId, ip: conn.ip, cause: err }));
  }

  private forgetLocal(hash: string): void {
    const local = this.localSwarms.get(hash);
    if (local !== undefined && --local.count <= 0) this.localSwarms.delete(hash);
  }

  // -------------------------------------------------------------------------
  // Sending

  private send(conn: Connection, message: ServerMessage): void {
    const { socket } = conn;
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > MAX_SEND_BUFFER_BYTES) {
      // The client does not read what it is sent; do not queue more for it.
      this.warn('SLOW_CONSUMER', `more than ${MAX_SEND_BUFFER_BYTES} bytes unread`, { peerId: conn.peerId, ip: conn.ip });
      this.drop(conn, 'slow-consumer');
      closeSocket(socket, CLOSE_POLICY_VIOLATION, 'too many unread messages');
      return;
    }
    socket.send(JSON.stringify(message));
  }

  /** Sends an `error` for a bad request and reports it as a warning. */
  private reject(conn: Connection, err: ProtocolError): void {
    this.warn(err.code, err.message, { peerId: conn.peerId, ip: conn.ip });
    this.send(conn, errorMessage(err));
  }

  private warn(code: TrackerWarningCode, message: string, context: ConstructorParameters<typeof TrackerWarning>[2] = {}): void {
    debug('warning %s: %s', code, message);
    this.emit('warning', new TrackerWarning(code, message, context));
  }

  private tokenFor(peerId: string): string {
    return createHmac('sha256', this.secret).update(peerId).digest('base64url').slice(0, TOKEN_LENGTH);
  }
}

/** Creates a tracker. See {@link TrackerOptions} for the defaults. */
export function createTracker(options: TrackerOptions = {}): Tracker {
  return new Tracker(options);
}

/** A fresh PeerJS-valid ID: {@link ISSUED_PEER_ID_LENGTH} random base62 characters. */
function randomPeerId(): string {
  let id = '';
  while (id.length < ISSUED_PEER_ID_LENGTH) {
    for (const byte of randomBytes(ISSUED_PEER_ID_LENGTH * 2)) {
      // 248 = 4 * 62: rejecting bytes above it keeps every character equally likely.
      if (byte < 248 && id.length < ISSUED_PEER_ID_LENGTH) id += BASE62[byte % 62];
    }
  }
  return id;
}

/**
 * Closes a socket the tracker has dropped. A socket paused for backpressure is
 * resumed so that the client's close frame can be read (what arrives before it is
 * ignored), and one that does not finish the handshake in time is cut.
 */
function closeSocket(socket: WebSocket, code: number, reason: string): void {
  socket.close(code, reason);
  if (socket.isPaused) socket.resume();
  setTimeout(() => {
    if (socket.readyState !== socket.CLOSED) socket.terminate();
  }, SHUTDOWN_GRACE_MS).unref();
}

/**
 * The `ok` reply to `announce` and `withdraw`, built directly rather than by spreading
 * `ridOf` and `swarmStatus` into it, since one goes out per announce. Keys are in the
 * same order either way: type, rid, hash, alive, seeders, leechers.
 */
function okWithStatus(rid: Rid | undefined, hash: string, counts: SwarmCounts): OkMessage {
  const { seeders, leechers } = counts;
  const alive = seeders > 0;
  return rid === undefined ? { type: 'ok', hash, alive, seeders, leechers } : { type: 'ok', rid, hash, alive, seeders, leechers };
}

function ridOf(rid: Rid | undefined): { rid?: Rid } {
  return rid === undefined ? {} : { rid };
}

function rateOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (value !== Infinity && !(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number or Infinity, got ${value}`);
  return value;
}

function integerOption(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer of at least ${min}, got ${value}`);
  return value;
}
