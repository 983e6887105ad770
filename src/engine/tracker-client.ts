import { createLog } from './log.js';
import { Emitter } from './emitter.js';
import { EcdnError } from './errors.js';
import { startTicker } from './ticker.js';

const debug = createLog('ecdn:tracker-client');

/** A PeerJS ID and the token that proves it is ours: made by the page (`makeIdentity`) or issued by the tracker. */
export interface Identity {
  peerId: string;
  token: string;
}

/** The ICE servers the server hands out, from `welcome` and later `ice` messages. */
export interface IceGrant {
  /** For every peer connection. */
  iceServers: RTCIceServer[];
  /** Two STUN URLs on one host, different ports, for telling cone from symmetric NATs. */
  natProbe: string[];
}

/** What the tracker knows of one file. */
export interface FileStatus {
  hash: string;
  /** True while at least one peer holds the whole file. */
  alive: boolean;
  /** Peers holding the whole file. */
  seeders: number;
  /** Peers holding verified parts of it (downloads under way). */
  leechers: number;
}

/** A lookup's answer: the status plus peer IDs, nearest first. */
export interface LookupResult extends FileStatus {
  peers: string[];
}

/** Anything with the browser WebSocket's shape (Node passes the `ws` package's class). */
export type WebSocketConstructor = new (url: string) => WebSocket;

export interface TrackerClientOptions {
  /**
   * WebSocket URL of the tracker, e.g. `ws://127.0.0.1:8787/tracker`, or several: the
   * instances of one deployment. The client connects to the first and moves on to the
   * next each time its connection fails or drops, resuming its identity there.
   */
  url: string | readonly string[];
  /** Defaults to the global WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** How long a request waits for a (re)connection before failing with `TRACKER_UNREACHABLE`. Default 10 s. */
  requestTimeoutMs?: number;
  /** Reconnection backoff bounds. Defaults 250 ms and 10 s. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * An identity of the page's own making (`makeIdentity`) to say `hello` with. It
   * becomes {@link TrackerClient.identity} (with an `identity` event) as soon as it
   * is made, and only then does this client open its socket: the page opens its
   * PeerServer connection on that event, ahead of this one. Without it, or if the
   * tracker refuses it, the tracker issues one.
   */
  identity?: Promise<Identity>;
}

interface TrackerClientEvents extends Record<string, unknown> {
  /** A new identity: the page's own once made, or the tracker's on first connection; again if the tracker could not resume it. */
  identity: Identity;
  /** A watched file's counts changed. */
  swarm: FileStatus;
  /** Connected and welcomed (again), at `url`. */
  connect: { url: string };
  /** The connection dropped; a reconnection is scheduled. */
  disconnect: undefined;
  /** The server handed out ICE servers: in `welcome`, and again before TURN credentials expire. */
  ice: IceGrant;
  /** Something recoverable went wrong. */
  warning: Error;
}

interface Pending {
  resolve(message: ServerMessage): void;
  reject(err: Error): void;
}

type ServerMessage = { type: string; rid?: string | number; [key: string]: unknown };

/**
 * Tracker error codes that mean "not now" rather than "no": its swarm store is
 * briefly away (a Redis restart), or it failed on its side. A lookup asks again.
 */
const TRANSIENT_ERRORS = new Set(['STORE_UNAVAILABLE', 'INTERNAL_ERROR']);
/** Peers a lookup over HTTP asks for when the caller names no number; the server caps it. */
const HTTP_LOOKUP_PEERS = 50;
/** How long a lookup keeps asking again through transient tracker errors. */
export const TRANSIENT_GRACE_MS = 30_000;
/** Errors built from a transient reply; a lookup retries these, and only these. */
const transient = new WeakSet<Error>();
/** Errors of requests the tracker refused because the `hello` before them failed. */
const unwelcomed = new WeakSet<Error>();

/**
 * The engine's connection to the tracker. It keeps what this page announces and
 * watches as desired state, and replays it after every reconnection, so that a
 * tracker restart costs a few seconds of staleness and never a false `DEAD`.
 */
export class TrackerClient extends Emitter<TrackerClientEvents> {
  /** True once {@link destroy} ran. */
  destroyed = false;
  /** The identity this client says `hello` with; once welcomed, the one the tracker accepted. */
  identity: Identity | undefined;
  /** The ICE servers the server handed out last, if it hands out any. */
  ice: IceGrant | undefined;

  readonly #options: Required<Omit<TrackerClientOptions, 'WebSocket' | 'url' | 'identity'>> & { WebSocket: WebSocketConstructor };
  readonly #urls: readonly string[];
  /** In order, as libpq does: a page can prefer its nearest instance; spreading load is a load balancer's job. */
  #urlIndex = 0;
  #socket: WebSocket | undefined;
  #ready = false;
  /** `hello` went out on the current socket: requests may follow it before `welcome`. */
  #greeted = false;
  /** Settles once the page's own identity is made (or failed to be). */
  #identityMade: Promise<void> | undefined;
  #waiters = new Set<{ early: boolean; resolve(): void; reject(err: Error): void }>();
  #pending = new Map<string, Pending>();
  #nextRid = 1;
  #announced = new Map<string, boolean>();
  #watched = new Set<string>();
  #backoff = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #stopHeartbeat: (() => void) | undefined;
  #welcomes = 0;
  /** Until then, after a reconnection, "dead" may only mean "not re-announced yet". */
  #settlingUntil = 0;
  #settleTimer: ReturnType<typeof setTimeout> | undefined;
  /** Watched files reported dead while settling, to ask about again once settled. */
  readonly #suppressed = new Set<string>();

  constructor(options: TrackerClientOptions) {
    super();
    const WebSocketImpl = options.WebSocket ?? (globalThis.WebSocket as WebSocketConstructor | undefined);
    if (!WebSocketImpl) {
      throw new EcdnError('TRACKER_UNREACHABLE', 'No WebSocket implementation: pass one (in Node, the `ws` package).');
    }
    this.#urls = typeof options.url === 'string' ? [options.url] : [...options.url];
    if (this.#urls.length === 0) throw new EcdnError('TRACKER_UNREACHABLE', 'No tracker URL given.');
    const { identity, ...rest } = options;
    this.#options = {
      requestTimeoutMs: 10_000,
      minBackoffMs: 250,
      maxBackoffMs: 10_000,
      ...rest,
      WebSocket: WebSocketImpl,
    };
    if (!identity) {
      this.#open();
      return;
    }
    // The socket opens only once the identity is made and announced, so that the
    // PeerServer's WebSocket, opened for it, is first in the browser's queue of
    // WebSockets to the server: it is the one a download needs first.
    this.#identityMade = identity.then(
      (made) => {
        if (this.destroyed) return;
        this.identity = made;
        this.emit('identity', made);
      },
      (err: unknown) => debug('could not make an identity (%s); the tracker will issue one', (err as Error).message),
    );
    void this.#identityMade.then(() => {
      if (!this.destroyed) this.#open();
    });
  }

  /** Resolves once connected and welcomed, or rejects with `TRACKER_UNREACHABLE` after the request timeout. */
  ready(signal?: AbortSignal): Promise<void> {
    return this.#wait(false, signal);
  }

  /** Like {@link ready}, but `early` resolves as soon as `hello` is out, for requests that may follow it. */
  #wait(early: boolean, signal?: AbortSignal): Promise<void> {
    if (this.destroyed) return Promise.reject(new EcdnError('DESTROYED', 'The tracker client was destroyed.'));
    if (this.#ready || (early && this.#greeted)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        early,
        resolve: () => {
          cleanup();
          resolve();
        },
        reject: (err: Error) => {
          cleanup();
          reject(err);
        },
      };
      const timer = setTimeout(
        () =>
          waiter.reject(
            new EcdnError(
              'TRACKER_UNREACHABLE',
              `Could not reach the tracker at ${this.#urls.join(' or ')} within ${this.#options.requestTimeoutMs} ms.`,
            ),
          ),
        this.#options.requestTimeoutMs,
      );
      const onAbort = () => waiter.reject(new EcdnError('ABORTED', 'Aborted while waiting for the tracker.'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
      };
      this.#waiters.add(waiter);
    });
  }

  /** Tells the tracker this page holds `hash`, whole or (while downloading) in part. Kept across reconnections. */
  announce(hash: string, complete: boolean): void {
    if (this.#announced.get(hash) === complete) return;
    this.#announced.set(hash, complete);
    this.#sendIfReady({ type: 'announce', hash, complete });
  }

  /** Tells the tracker this page no longer holds `hash`. */
  withdraw(hash: string): void {
    if (!this.#announced.delete(hash)) return;
    this.#sendIfReady({ type: 'withdraw', hash });
  }

  /**
   * Asks who holds `hash`. Waits for a connection if the tracker is briefly away,
   * and right after a reconnection does not take "dead" for an answer until the
   * swarm had time to re-announce. Asked before the connection is up, it asks
   * over HTTP instead of waiting.
   */
  async lookup(hash: string, max?: number, signal?: AbortSignal): Promise<LookupResult> {
    const message = { type: 'lookup', hash, ...(max === undefined ? {} : { max }) };
    const deadline = Date.now() + TRANSIENT_GRACE_MS;
    let reply = this.#greeted ? undefined : await this.#lookupOverHttp(hash, max, signal);
    for (let attempt = 0; !reply; attempt++) {
      try {
        reply = await this.#request(message, signal);
      } catch (err) {
        // A short store outage must not fail the download that asked: ask again, with backoff.
        if (!transient.has(err as Error) || Date.now() > deadline || signal?.aborted) throw err;
        await new Promise((resolve) => setTimeout(resolve, (0.5 + Math.random() / 2) * Math.min(2_000, 100 * 2 ** attempt)));
      }
    }
    const wait = this.#settlingUntil - Date.now();
    if (reply.alive !== true && wait > 0) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      return this.lookup(hash, max, signal);
    }
    return {
      hash,
      alive: reply.alive === true,
      seeders: Number(reply.seeders) || 0,
      leechers: Number(reply.leechers) || 0,
      peers: Array.isArray(reply.peers) ? reply.peers.filter((id): id is string => typeof id === 'string') : [],
    };
  }

  /**
   * A lookup over HTTP (`GET <server>/api/files/<hash>?peers=N`), which a browser
   * sends at once, where a WebSocket waits its turn behind the PeerServer's. With
   * our identity it also brings the ICE servers to dial with. Undefined when it
   * fails for whatever reason (an older server has no `peers`): the WebSocket asks.
   */
  async #lookupOverHttp(hash: string, max: number | undefined, signal?: AbortSignal): Promise<ServerMessage | undefined> {
    await this.#identityMade;
    const url = new URL(`api/files/${hash}`, this.url.replace(/^ws/, 'http'));
    url.searchParams.set('peers', String(max ?? HTTP_LOOKUP_PEERS));
    if (this.identity) {
      url.searchParams.set('id', this.identity.peerId);
      url.searchParams.set('token', this.identity.token);
    }
    try {
      const response = await fetch(url, { signal, cache: 'no-store' });
      if (!response.ok) return undefined;
      const reply = (await response.json()) as ServerMessage;
      if (!Array.isArray(reply.peers)) return undefined;
      if (!this.#ready) {
        this.#onIce(reply);
        // Our identity was checked and nothing came: the server hands out no ICE servers.
        if (this.identity && !this.ice) this.ice = { iceServers: [], natProbe: [] };
      }
      return reply;
    } catch (err) {
      debug('lookup over HTTP failed (%s); asking over the WebSocket', (err as Error).message);
      return undefined;
    }
  }

  /**
   * Tells the tracker that `peerId` was banned from a download of `hash`, so that
   * operators can see liars in the metrics. The tracker only counts reports.
   */
  report(hash: string, peerId: string, reason: string): void {
    this.#sendIfReady({ type: 'report', hash, peerId, reason });
  }

  /** Subscribes to a file's counts; they arrive as `swarm` events. Kept across reconnections. */
  watch(hash: string): void {
    if (this.#watched.has(hash)) return;
    this.#watched.add(hash);
    this.#sendIfReady({ type: 'watch', hash });
  }

  /** Ends a {@link watch}. */
  unwatch(hash: string): void {
    if (!this.#watched.delete(hash)) return;
    this.#sendIfReady({ type: 'unwatch', hash });
  }

  /** Closes the connection for good and fails everything pending with `DESTROYED`. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#settleTimer);
    this.#stopHeartbeat?.();
    const err = new EcdnError('DESTROYED', 'The tracker client was destroyed.');
    for (const waiter of [...this.#waiters]) waiter.reject(err);
    for (const pending of this.#pending.values()) pending.reject(err);
    this.#pending.clear();
    this.#socket?.close();
    this.#socket = undefined;
    this.removeAllListeners();
  }

  /**
   * Sends a request and resolves its reply. Requests go out right behind `hello`,
   * without waiting for `welcome`: the tracker handles them after it, in order,
   * which saves a cold start one round trip. If that `hello` is refused, so are
   * they, and they are sent again once welcomed.
   */
  async #request(message: Record<string, unknown>, signal?: AbortSignal): Promise<ServerMessage> {
    await this.#wait(true, signal);
    const early = !this.#ready;
    try {
      return await this.#send(message);
    } catch (err) {
      if (!early || !unwelcomed.has(err as Error)) throw err;
      await this.ready(signal);
      return this.#send(message);
    }
  }

  #send(message: Record<string, unknown>): Promise<ServerMessage> {
    const rid = String(this.#nextRid++);
    return new Promise<ServerMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(rid);
        reject(new EcdnError('TRACKER_UNREACHABLE', `The tracker did not answer a ${String(message.type)} in time.`));
      }, this.#options.requestTimeoutMs);
      this.#pending.set(rid, {
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.#socket!.send(JSON.stringify({ ...message, rid }));
    });
  }

  #sendIfReady(message: Record<string, unknown>): void {
    if (this.#ready) this.#socket!.send(JSON.stringify(message));
  }

  /** The tracker URL this client is connected to, or connecting to. */
  get url(): string {
    return this.#urls[this.#urlIndex]!;
  }

  #open(): void {
    const socket = new this.#options.WebSocket(this.url);
    this.#socket = socket;
    socket.onopen = () => this.#greet(socket);
    socket.onmessage = (event) => {
      if (typeof event.data !== 'string') return;
      let message: ServerMessage;
      try {
        message = JSON.parse(event.data) as ServerMessage;
      } catch {
        this.emit('warning', new EcdnError('PROTOCOL', 'The tracker sent invalid JSON.'));
        return;
      }
      this.#onMessage(socket, message);
    };
    socket.onclose = () => this.#onClose(socket);
    // An error is always followed by a close, which is where recovery happens.
    socket.onerror = () => {};
  }

  #greet(socket: WebSocket): void {
    const resume = this.identity ? { peerId: this.identity.peerId, token: this.identity.token } : {};
    socket.send(JSON.stringify({ type: 'hello', rid: 'hello', ...resume }));
    this.#greeted = true;
    for (const waiter of [...this.#waiters]) if (waiter.early) waiter.resolve();
  }

  #onMessage(socket: WebSocket, message: ServerMessage): void {
    if (message.type === 'welcome') {
      this.#onWelcome(socket, message);
      return;
    }
    if (message.type === 'ice') {
      this.#onIce(message);
      return;
    }
    if (message.type === 'swarm') {
      const hash = String(message.hash);
      if (message.alive !== true && Date.now() < this.#settlingUntil) {
        this.#suppressed.add(hash);
        return;
      }
      this.#suppressed.delete(hash);
      this.emit('swarm', {
        hash,
        alive: message.alive === true,
        seeders: Number(message.seeders) || 0,
        leechers: Number(message.leechers) || 0,
      });
      return;
    }
    if (message.type === 'error' && message.rid === 'hello') {
      // The tracker restarted with another secret, or our ID is still held by
      // our own previous connection: either way start afresh with a new identity.
      debug('resume refused (%s); asking for a new identity', message.code);
      this.identity = undefined;
      socket.send(JSON.stringify({ type: 'hello', rid: 'hello' }));
      return;
    }
    const rid = message.rid === undefined ? undefined : String(message.rid);
    const pending = rid === undefined ? undefined : this.#pending.get(rid);
    if (pending) {
      this.#pending.delete(rid!);
      if (message.type === 'error') {
        const code = String(message.code);
        const err = TRANSIENT_ERRORS.has(code)
          ? new EcdnError('TRACKER_UNREACHABLE', `The tracker cannot answer now (${code}): ${String(message.message)}`)
          : new EcdnError('PROTOCOL', `Tracker error ${code}: ${String(message.message)}`);
        if (TRANSIENT_ERRORS.has(code)) transient.add(err);
        if (code === 'HELLO_REQUIRED') unwelcomed.add(err);
        pending.reject(err);
      } else {
        pending.resolve(message);
      }
    } else if (message.type === 'error') {
      this.emit('warning', new EcdnError('PROTOCOL', `Tracker error ${String(message.code)}: ${String(message.message)}`));
    }
  }

  #onIce(message: ServerMessage): void {
    const grant = parseIceGrant(message);
    if (!grant) return;
    this.ice = grant;
    this.emit('ice', grant);
  }

  #onWelcome(socket: WebSocket, message: ServerMessage): void {
    // Before `identity`, whose listeners open peer connections with these servers.
    this.#onIce(message);
    const identity = { peerId: String(message.peerId), token: String(message.token) };
    const changed = this.identity?.peerId !== identity.peerId;
    this.identity = identity;
    this.#ready = true;
    this.#backoff = 0;
    debug('welcomed as %s', identity.peerId);
    for (const [hash, complete] of this.#announced) socket.send(JSON.stringify({ type: 'announce', hash, complete }));
    for (const hash of this.#watched) socket.send(JSON.stringify({ type: 'watch', hash }));
    const interval = Number(message.heartbeatInterval) || 10_000;
    this.#stopHeartbeat?.();
    this.#stopHeartbeat = startTicker(interval, () => this.#sendIfReady({ type: 'ping' }));
    if (this.#welcomes++ > 0) {
      // After a tracker restart its peers trickle back over one heartbeat
      // interval; a file that looks dead meanwhile is most likely not.
      this.#settlingUntil = Date.now() + interval;
      clearTimeout(this.#settleTimer);
      this.#settleTimer = setTimeout(() => this.#settle(), interval);
    }
    if (changed) this.emit('identity', identity);
    this.emit('connect', { url: this.url });
    for (const waiter of [...this.#waiters]) waiter.resolve();
  }

  async #settle(): Promise<void> {
    for (const hash of [...this.#suppressed]) {
      this.#suppressed.delete(hash);
      if (!this.#watched.has(hash)) continue;
      try {
        const { peers: _peers, ...status } = await this.lookup(hash, 0);
        if (this.#watched.has(hash)) this.emit('swarm', status);
      } catch {
        // Disconnected again: the next welcome starts a new settling period.
      }
    }
  }

  #onClose(socket: WebSocket): void {
    if (socket !== this.#socket || this.destroyed) return;
    const wasReady = this.#ready;
    this.#ready = false;
    this.#greeted = false;
    this.#stopHeartbeat?.();
    // Requests in flight on the dead socket will never be answered; retrying them
    // is the caller's call, since a lookup's answer may be stale by then anyway.
    for (const pending of this.#pending.values()) {
      pending.reject(new EcdnError('TRACKER_UNREACHABLE', 'The connection to the tracker dropped.'));
    }
    this.#pending.clear();
    if (wasReady) this.emit('disconnect', undefined);
    // Another instance, if there are several: this one may be gone for good.
    this.#urlIndex = (this.#urlIndex + 1) % this.#urls.length;
    // Full jitter, so that a tracker restart is not met by every client at once.
    const cap = Math.min(this.#options.maxBackoffMs, this.#options.minBackoffMs * 2 ** this.#backoff);
    this.#backoff++;
    const delay = Math.random() * cap;
    debug('tracker connection closed; reconnecting in %d ms', Math.round(delay));
    this.#reconnectTimer = setTimeout(() => this.#open(), delay);
  }
}

/** The ICE servers in a `welcome` or `ice` message, keeping only well-formed entries; undefined when there are none. */
function parseIceGrant(message: ServerMessage): IceGrant | undefined {
  if (!Array.isArray(message.iceServers)) return undefined;
  const isUrl = (url: unknown): url is string => typeof url === 'string' && /^(stun|stuns|turn|turns):/i.test(url);
  const iceServers: RTCIceServer[] = [];
  for (const entry of message.iceServers as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { urls, username, credential } = entry as Record<string, unknown>;
    const list = (Array.isArray(urls) ? urls : [urls]).filter(isUrl);
    if (list.length === 0) continue;
    iceServers.push({
      urls: list,
      ...(typeof username === 'string' ? { username } : {}),
      ...(typeof credential === 'string' ? { credential } : {}),
    });
  }
  const natProbe = Array.isArray(message.natProbe) ? message.natProbe.filter(isUrl) : [];
  return { iceServers, natProbe };
}
