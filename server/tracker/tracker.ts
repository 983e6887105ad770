/**
 * The tracker: which peer IDs hold which file, over JSON-on-WebSocket.
 *
 * This file handles the messages; the rest lives by concept beside it:
 * - `protocol.ts`: the messages, their limits and the parser (the trust boundary);
 * - `options.ts`: {@link TrackerOptions} and their defaults;
 * - `identity.ts`: issued peer IDs and their tokens;
 * - `connection.ts`: what is kept per socket, its message queue and backpressure;
 * - `watch-hub.ts`: `watch` and the `swarm` pushes;
 * - `store.ts`, `memory-store.ts`: where swarms live;
 * - `events.ts`: the events and warnings it emits.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import createDebug from 'debug';
import type { IceServer } from '../ice.js';
import { clientAddress } from '../address.js';
import { ConnectionsPerIp, RateLimit, StrikeWindow } from '../limits.js';
import { SHUTDOWN_GRACE_MS, closeSocket, idle, newConnection, receive, sendText, type Connection, type Queued } from './connection.js';
import { TrackerWarning, type EvictReason, type TrackerEvents, type TrackerWarningCode } from './events.js';
import { PeerTokens, randomPeerId } from './identity.js';
import { orderByNearness, type Location } from './nearness.js';
import { resolveTrackerOptions, type ResolvedTrackerOptions, type TrackerOptions } from './options.js';
import {
  CLOSE_GOING_AWAY,
  CLOSE_MESSAGE_TOO_LARGE,
  CLOSE_POLICY_VIOLATION,
  CLOSE_TRY_AGAIN_LATER,
  MAX_SEND_BUFFER_BYTES,
  RATE_LIMIT_WINDOW_MS,
  ProtocolError,
  errorMessage,
  isValidHash,
  parseClientMessage,
  rawByteLength,
  reportReason,
  ridOf,
  swarmStatus,
  type AnnounceMessage,
  type ClientMessage,
  type HelloMessage,
  type LookupMessage,
  type OkMessage,
  type ParseResult,
  type RawData,
  type ReportMessage,
  type Rid,
  type ServerMessage,
  type SwarmCounts,
  type SwarmStatus,
  type WithdrawMessage,
} from './protocol.js';
import { StoreUnavailableError, type PeerInfo, type StoreEntry, type StoreStats, type SwarmStore, type SwarmUpdate } from './store.js';
import { WatchHub } from './watch-hub.js';

const debug = createDebug('ecdn:tracker');

/** Distinct (hash, peer) reports remembered per connection, so that repeats are not counted twice. */
const MAX_REPORTS_REMEMBERED = 256;

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

/**
 * The tracker. It never sees file bytes. Hand it each WebSocket accepted on
 * `/tracker` with {@link Tracker.handleConnection}; docs/protocol.md describes what
 * clients say. Create it with {@link createTracker}.
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

  private readonly options: ResolvedTrackerOptions;
  private readonly store: SwarmStore;
  private readonly perIp: ConnectionsPerIp;
  private readonly tokens: PeerTokens;
  private readonly watches: WatchHub;

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
  /** Handles one queued message; bound once, not per message. */
  private readonly handleMessage: (conn: Connection, message: Queued) => Promise<void>;
  /** Peer ID -> the one connection it is bound to. */
  private readonly peers = new Map<string, Connection>();
  /** Hash -> how many connections here announced it. */
  private readonly localSwarms = new Map<string, LocalSwarm>();
  /**
   * Connection -> the hashes it announced as partial: what a shared store's rebuild
   * needs besides `conn.hashes`. Kept only for a store that rebuilds, so that the
   * in-memory store's announces pay nothing for it.
   */
  private readonly partial: WeakMap<Connection, Set<string>> | undefined;
  private readonly sweepTimer: NodeJS.Timeout;
  /** Stops the store's reports of changes made elsewhere (a shared store only). */
  private readonly stopChanges: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: TrackerOptions = {}) {
    super();
    this.options = resolveTrackerOptions(options);
    this.store = this.options.store;
    this.perIp = new ConnectionsPerIp(this.options.maxConnectionsPerIp);
    this.tokens = new PeerTokens(this.options.secret);
    this.watches = new WatchHub(
      {
        counts: (hash) => this.store.counts(hash),
        send: (conn, message) => this.send(conn, message),
        countsFailed: (hash, err) => this.warn(storeFailure(err), `reading the counts of ${hash} failed`, { cause: err }),
      },
      this.options.limits.maxWatchesPerConnection,
    );
    this.handleMessage = (conn, message) => this.handle(conn, message);
    // A shared store reports what other trackers changed, so that watchers here hear of it too.
    this.stopChanges = this.store.onChange?.((hash) => this.watches.changed(hash));
    // A shared store that lost its data (Redis restarted) writes back what this tracker's peers hold.
    if (this.store.setRebuild) {
      this.partial = new WeakMap();
      this.store.setRebuild(() => this.ownEntries());
    }

    const { heartbeatTimeoutMs } = this.options;
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(10, Math.round(heartbeatTimeoutMs / 4)));
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
    const ip = clientAddress(req, this.options.trustProxy);
    if (!this.perIp.acquire(ip)) {
      const err = new ProtocolError(
        'TOO_MANY_CONNECTIONS',
        `This address already has ${this.perIp.max} tracker connections open; close one first.`,
      );
      this.warn(err.code, err.message, { ip });
      if (socket.readyState === socket.OPEN) {
        socket.send(JSON.stringify(errorMessage(err)));
        socket.close(CLOSE_TRY_AGAIN_LATER, 'too many connections from this address');
      }
      return;
    }
    const country = this.countryOf(ip);
    const { limits } = this.options;
    const now = performance.now();
    const conn = newConnection(socket, req.socket, ip, country, new RateLimit(limits.maxMessagesPerSecond, limits.messageBurst, now), now);
    if (this.options.ice) conn.host = req.headers.host;
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
    return this.tokens.verify(peerId, token);
  }

  /** Size of the swarm store (all trackers sharing it, for a shared store). */
  storeStats(): Promise<StoreStats> {
    return this.store.stats();
  }

  /** Counts for `/healthz` and metrics. */
  stats(): TrackerStats {
    return { connections: this.connections.size, peers: this.peers.size, swarms: this.localSwarms.size, watched: this.watches.size };
  }

  /**
   * Stops the sweep timer, closes every connection with 1001 (cutting those that
   * do not finish the handshake within a second) and removes their entries.
   * Resolves once they are removed. Never rejects; calling it again is harmless.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.destroyed = true;
    this.watches.close();
    this.stopChanges?.();
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

  /** Refuses what must not even be queued (too large, over the rate too often), and queues the rest. */
  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    if (conn.closed) return;
    const { limits } = this.options;
    const size = rawByteLength(data);
    if (size > limits.maxMessageBytes) {
      this.reject(conn, new ProtocolError('MESSAGE_TOO_LARGE', `Message is ${size} bytes; the limit is ${limits.maxMessageBytes}.`));
      this.drop(conn, 'too-large');
      closeSocket(conn.socket, CLOSE_MESSAGE_TOO_LARGE, 'message too large');
      return;
    }
    const now = performance.now();
    const limited = !conn.rate.take(now);
    const strikes = this.options.rateLimitStrikes;
    if (limited && (conn.strikes ??= new StrikeWindow(strikes, RATE_LIMIT_WINDOW_MS)).strike(now)) {
      // Replies still queued are dropped with the connection; this error is the last word.
      const err = new ProtocolError(
        'RATE_LIMITED',
        `More than ${strikes} messages over the rate limit within ${RATE_LIMIT_WINDOW_MS / 1000} s: disconnected.`,
      );
      this.reject(conn, err);
      this.drop(conn, 'rate-limited');
      closeSocket(conn.socket, CLOSE_POLICY_VIOLATION, 'rate limit exceeded');
      return;
    }
    const parsed = parseClientMessage(data, isBinary, limits.maxMessageBytes);
    receive(conn, this.handleMessage, { parsed, limited }, orderingHash(conn, parsed));
  }

  /** Handles one message, in its lane's turn. Never rejects. */
  private async handle(conn: Connection, { parsed, limited }: Queued): Promise<void> {
    if (conn.closed) return;
    const { limits } = this.options;
    if (limited) {
      // The rid is echoed, so that a client waiting on the reply hears of it.
      const rid = parsed.ok ? parsed.message.rid : parsed.error.rid;
      const rate = limits.maxMessagesPerSecond;
      return this.reject(
        conn,
        new ProtocolError(
          'RATE_LIMITED',
          `Over the limit of ${rate} messages per second (bursts of ${limits.messageBurst}); this message was dropped.`,
          rid,
        ),
      );
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
    try {
      await this.dispatch(conn, message);
    } catch (err) {
      this.dispatchFailed(conn, message, err);
    }
  }

  private dispatchFailed(conn: Connection, message: ClientMessage, err: unknown): void {
    if (err instanceof ProtocolError) {
      this.reject(conn, err);
      return;
    }
    if (err instanceof StoreUnavailableError) {
      this.reject(
        conn,
        new ProtocolError(
          'STORE_UNAVAILABLE',
          `The swarm store is unreachable: "${message.type}" failed; retry in a few seconds.`,
          message.rid,
        ),
      );
      return;
    }
    this.warn('INTERNAL_ERROR', `"${message.type}" failed: ${err instanceof Error ? err.message : String(err)}`, {
      peerId: conn.peerId,
      ip: conn.ip,
      cause: err,
    });
    this.send(conn, {
      type: 'error',
      ...ridOf(message.rid),
      code: 'INTERNAL_ERROR',
      message: 'The tracker failed to handle this request; retry later.',
    });
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
        return this.watches.watch(conn, message.hash, message.rid);
      case 'unwatch':
        this.watches.unwatch(conn, message.hash);
        return this.send(conn, { type: 'ok', ...ridOf(message.rid), hash: message.hash });
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
      if (!this.tokens.verify(peerId, token)) throw new ProtocolError('INVALID_TOKEN', `The token does not belong to peer ${peerId}.`, rid);
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
      token = this.tokens.tokenFor(peerId);
    }
    conn.peerId = peerId;
    conn.lastSeen = performance.now();
    this.peers.set(peerId, conn);
    debug('hello %s (%s) from %s', peerId, resumed ? 'resumed' : 'new', conn.ip);
    const { heartbeatTimeoutMs, limits } = this.options;
    this.send(conn, {
      type: 'welcome',
      ...ridOf(rid),
      peerId,
      token,
      heartbeatInterval: Math.round(heartbeatTimeoutMs / 3),
      limits: { ...limits },
      ...this.iceGrant(conn, peerId),
    });
    this.emit('hello', { peerId, resumed, ip: conn.ip, country: conn.country });
  }

  private async onAnnounce(conn: Connection, message: AnnounceMessage): Promise<void> {
    const { hash, complete, rid } = message;
    const isNew = !conn.hashes.has(hash);
    const max = this.options.limits.maxHashesPerConnection;
    // Announces of other new hashes may be waiting on the store too: they count.
    if (isNew && conn.hashes.size + conn.announcing >= max) {
      throw new ProtocolError('TOO_MANY_HASHES', `A connection may announce at most ${max} hashes; withdraw one first.`, rid);
    }
    const peer: PeerInfo = { peerId: conn.peerId!, ip: conn.ip, country: conn.country };
    const shared = this.localSwarms.get(hash)?.hash ?? hash;
    let update: SwarmUpdate;
    if (isNew) conn.announcing++;
    try {
      update = await this.store.add(shared, peer, complete);
    } catch (err) {
      // Kept, so that the store writes it back when it returns (the client is told to retry too).
      if (err instanceof StoreUnavailableError) this.holds(conn, shared, isNew, complete);
      throw err;
    } finally {
      if (isNew) conn.announcing--;
    }
    this.holds(conn, shared, isNew, complete);
    this.send(conn, okWithStatus(rid, hash, update));
    this.emit('announce', { hash, peerId: conn.peerId!, complete, changed: update.changed });
    if (update.changed) this.watches.changed(hash);
  }

  /** Records that the connection holds a hash (one more when `isNew`), once the store does. */
  private holds(conn: Connection, hash: string, isNew: boolean, complete: boolean): void {
    if (this.partial) {
      let partial = this.partial.get(conn);
      if (!complete) {
        if (partial === undefined) this.partial.set(conn, (partial = new Set()));
        partial.add(hash);
      } else partial?.delete(hash);
    }
    if (!isNew) return;
    let local = this.localSwarms.get(hash);
    if (local === undefined) {
      local = { hash, count: 0 };
      this.localSwarms.set(hash, local);
    }
    local.count++;
    conn.hashes.add(local.hash);
  }

  private async onWithdraw(conn: Connection, message: WithdrawMessage): Promise<void> {
    const { hash, rid } = message;
    let update: SwarmUpdate;
    try {
      update = await this.store.remove(hash, conn.peerId!);
    } finally {
      // Forgotten even when the store failed, so that its rebuild does not write it back.
      this.partial?.get(conn)?.delete(hash);
      if (conn.hashes.delete(hash)) this.forgetLocal(hash);
    }
    this.send(conn, okWithStatus(rid, hash, update));
    this.emit('withdraw', { hash, peerId: conn.peerId!, changed: update.changed });
    if (update.changed) this.watches.changed(hash);
  }

  private async onLookup(conn: Connection, message: LookupMessage): Promise<void> {
    const { hash, rid } = message;
    const { status, peers } = await this.findPeers(hash, conn, message.max, conn.peerId);
    this.send(conn, { type: 'peers', ...ridOf(rid), ...status, peers });
    this.emit('lookup', { hash, peerId: conn.peerId!, returned: peers.length, seeders: status.seeders, leechers: status.leechers });
  }

  /**
   * A lookup over HTTP (`GET /api/files/:hash?peers=N`), for a page that asks
   * before its tracker connection is open: the same answer as `lookup`, ordered
   * by nearness to the address that asked.
   */
  async lookupFrom(ip: string, hash: string, max?: number): Promise<{ status: FileStatus; peers: string[] }> {
    if (!isValidHash(hash)) throw new ProtocolError('INVALID_HASH', 'Expected a SHA-256 as 64 lowercase hexadecimal characters.');
    const found = await this.findPeers(hash, { ip, country: this.countryOf(ip) }, max);
    this.emit('lookup', { hash, returned: found.peers.length, seeders: found.status.seeders, leechers: found.status.leechers });
    return found;
  }

  private countryOf(ip: string): string | undefined {
    try {
      return this.options.lookupCountry(ip) || undefined;
    } catch (err) {
      this.warn('INTERNAL_ERROR', `country lookup of ${ip} failed`, { ip, cause: err });
      return undefined;
    }
  }

  private async findPeers(
    hash: string,
    asker: Location,
    max: number | undefined,
    self?: string,
  ): Promise<{ status: FileStatus; peers: string[] }> {
    const records = await this.store.list(hash);
    let seeders = 0;
    for (const record of records) if (record.complete) seeders++;
    const leechers = records.length - seeders;
    const { maxPeersReturned } = this.options.limits;
    const limit = Math.min(max ?? maxPeersReturned, maxPeersReturned);
    const candidates = self === undefined ? records : records.filter((record) => record.peerId !== self);
    const peers = orderByNearness(asker, candidates, limit, this.options.random).map((record) => record.peerId);
    return { status: swarmStatus(hash, { seeders, leechers }), peers };
  }

  private onReport(conn: Connection, message: ReportMessage): void {
    const { hash, peerId, rid } = message;
    const perMinute = this.options.maxReportsPerMinute;
    const reports = (conn.reports ??= {
      rate: new RateLimit(perMinute / 60, Math.max(1, Math.min(perMinute, 1e9)), performance.now()),
      seen: new Set(),
    });
    if (!reports.rate.take(performance.now())) {
      throw new ProtocolError('RATE_LIMITED', `A connection may send at most ${perMinute} reports per minute; this one was dropped.`, rid);
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
  // Liveness

  /**
   * The ICE servers for `conn`, as `welcome` and `ice` carry them, and when to
   * hand out new ones: a quarter of the credentials' lifetime before they expire.
   */
  private iceGrant(conn: Connection, peerId: string): { iceServers?: IceServer[]; natProbe?: string[] } {
    const ice = this.options.ice;
    if (!ice) return {};
    const now = Date.now();
    const { iceServers, natProbe, expiresAt } = ice.grant(peerId, conn.host, now);
    conn.iceRefreshAt = expiresAt === undefined ? undefined : now + 0.75 * (expiresAt - now);
    return natProbe ? { iceServers, natProbe } : { iceServers };
  }

  /**
   * The ICE servers `peerId` would get in `welcome`, for a page that proves the ID
   * with its token before it has a tracker connection (a lookup over HTTP); nothing
   * for a wrong token. `host` is the Host the page reached the server by.
   */
  iceFor(peerId: string, token: string, host: string | undefined): { iceServers?: IceServer[]; natProbe?: string[] } {
    const ice = this.options.ice;
    if (!ice || !this.tokens.verify(peerId, token)) return {};
    const { iceServers, natProbe } = ice.grant(peerId, host, Date.now());
    return natProbe ? { iceServers, natProbe } : { iceServers };
  }

  private sweep(): void {
    const wallClock = Date.now();
    for (const conn of this.connections) {
      if (conn.iceRefreshAt !== undefined && conn.iceRefreshAt <= wallClock && conn.peerId !== undefined) {
        this.send(conn, { type: 'ice', ...this.iceGrant(conn, conn.peerId) });
      }
    }
    const deadline = performance.now() - this.options.heartbeatTimeoutMs;
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
    this.watches.forget(conn);
    conn.evicted = this.evict(conn, reason).catch((err: unknown) =>
      this.warn('INTERNAL_ERROR', `evicting failed: ${String(err)}`, { peerId: conn.peerId, ip: conn.ip, cause: err }),
    );
  }

  private async evict(conn: Connection, reason: EvictReason): Promise<void> {
    await idle(conn);
    const { peerId } = conn;
    let hashes: string[] = [];
    if (peerId !== undefined) {
      try {
        hashes = await this.store.removePeer(peerId, conn.hashes);
      } catch (err) {
        this.warn(storeFailure(err), `removing peer ${peerId} failed`, { peerId, ip: conn.ip, cause: err });
      }
      if (this.peers.get(peerId) === conn) this.peers.delete(peerId);
    }
    for (const hash of conn.hashes) this.forgetLocal(hash);
    conn.hashes.clear();
    debug('evicted %s (%s): %s, left %d swarms', peerId ?? 'no identity', conn.ip, reason, hashes.length);
    this.emit('evict', { peerId, ip: conn.ip, reason, hashes: hashes.length });
    for (const hash of hashes) this.watches.changed(hash);
  }

  /** What this tracker's connected peers hold, for a shared store to write back. */
  private *ownEntries(): Iterable<StoreEntry> {
    for (const conn of this.connections) {
      const { peerId } = conn;
      if (peerId === undefined || conn.closed) continue;
      const peer: PeerInfo = { peerId, ip: conn.ip, country: conn.country };
      const partial = this.partial?.get(conn);
      for (const hash of conn.hashes) yield { hash, peer, complete: partial?.has(hash) !== true };
    }
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
    sendText(conn, JSON.stringify(message));
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
}

/** Creates a tracker. See {@link TrackerOptions} for the defaults. */
export function createTracker(options: TrackerOptions = {}): Tracker {
  return new Tracker(options);
}

/** The warning code for a failed store call. */
function storeFailure(err: unknown): TrackerWarningCode {
  return err instanceof StoreUnavailableError ? 'STORE_UNAVAILABLE' : 'INTERNAL_ERROR';
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

/** The hash a message is ordered by; none (ordered against every message) until the connection has an identity. */
function orderingHash(conn: Connection, parsed: ParseResult): string | undefined {
  if (!parsed.ok || conn.peerId === undefined) return undefined;
  const { message } = parsed;
  return 'hash' in message ? message.hash : undefined;
}
