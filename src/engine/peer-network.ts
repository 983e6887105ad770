import { createLog } from './log.js';
import { Peer, type DataConnection, type PeerError } from './peerjs.js';
import { Emitter } from './emitter.js';
import { EcdnError } from './errors.js';
import type { Identity } from './tracker-client.js';
import { FEATURE_LANES, PeerLink } from './peer-link.js';

const debug = createLog('ecdn:peer-network');

/**
 * Connections per link on a long path: the link's own and three lanes. Each
 * is an SCTP association with its own window; measured on the simulated
 * internet at 100 ms round trip, 4 moved about twice what 1 did, and 8 or 16
 * no more than 1 or 2 (see docs/performance.md, "Paths").
 */
export const LANES_PER_LINK = 4;
/**
 * Round trip (ms) from which a dialled link opens lanes. Below it one
 * association fills the path, and on one machine extra connections only cost
 * CPU; a home network to the internet is well above.
 */
export const LANE_MIN_RTT_MS = 10;

/** Settings of a {@link PeerNetwork}. */
export interface PeerNetworkOptions {
  /** This page's identity, as the tracker issued it. */
  identity: Identity;
  /** Base URL of the server; its PeerServer listens at `<server>/peerjs`. See {@link PeerNetwork.moveTo}. */
  server: URL;
  /** Passed to every RTCPeerConnection. */
  rtcConfig: RTCConfiguration;
  /** Most open links. */
  maxConnections: number;
  /** Milliseconds a dial may take to open its data channel. */
  connectTimeout: number;
}

interface PeerNetworkEvents extends Record<string, unknown> {
  /** A new link, dialled or accepted, before it opens. */
  link: PeerLink;
  /** Recoverable trouble from the signaling server or a link. */
  warning: Error;
}

/**
 * This page's place in the WebRTC mesh: its PeerJS identity on the signaling
 * server, the links to other peers (dialled or accepted) and the dials under
 * way. It reconnects to the signaling server on its own, and moves to another
 * instance of it when told to; a new identity means a new PeerNetwork.
 */
export class PeerNetwork extends Emitter<PeerNetworkEvents> {
  /** True once {@link destroy} ran. */
  destroyed = false;
  /** Resolves once the signaling server accepted this identity; rejects with `DESTROYED` if it never will. */
  readonly opened: Promise<void>;
  /** Payload bytes received over links that are closed now. */
  bytesDownClosed = 0;

  #options: PeerNetworkOptions;
  /** The PeerJS peer on the current signaling server, which dials and is dialled. */
  #peer: Peer;
  /** Resolves once {@link #peer} is open on its server. */
  #peerOpen: Promise<void>;
  /** Peers left on servers this network moved away from: disconnected, their links still open. */
  readonly #retired: Peer[] = [];
  /** One open link per peer, for downloads to share. */
  readonly #links = new Map<string, PeerLink>();
  /** Every link, including a second one when two peers dialled each other at once. */
  readonly #allLinks = new Set<PeerLink>();
  readonly #dialing = new Map<string, Promise<PeerLink>>();
  /** Fails a dial under way, when PeerJS reports the peer unavailable. */
  readonly #failDial = new Map<string, (err: Error) => void>();
  #resolveOpened!: () => void;
  #rejectOpened!: (err: Error) => void;

  constructor(options: PeerNetworkOptions) {
    super();
    this.#options = options;
    this.opened = new Promise<void>((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    });
    // Callers that never wait for it must not see an unhandled rejection.
    this.opened.catch(() => {});
    [this.#peer, this.#peerOpen] = this.#openPeer(options.server);
  }

  /** The base URL of the signaling server in use. */
  get server(): URL {
    return this.#options.server;
  }

  /**
   * Moves to the signaling server at `server` (another instance of one deployment),
   * keeping this identity and every open link: a link needs its signaling server
   * only to open. Dials from now on go through the new server.
   */
  moveTo(server: URL): void {
    if (this.destroyed || server.href === this.#options.server.href) return;
    debug('moving to the signaling server at %s', server.href);
    const old = this.#peer;
    this.#retired.push(old);
    old.disconnect();
    this.#options = { ...this.#options, server };
    [this.#peer, this.#peerOpen] = this.#openPeer(server);
  }

  #openPeer(server: URL): [Peer, Promise<void>] {
    const { identity } = this.#options;
    const secure = server.protocol === 'https:';
    const peer = new Peer(identity.peerId, {
      host: server.hostname,
      port: Number(server.port) || (secure ? 443 : 80),
      path: `${server.pathname.replace(/\/$/, '')}/peerjs`,
      key: 'peerjs',
      token: identity.token,
      secure,
      debug: 0,
      // A copy: setIceServers changes it. The current peer's, since it may have changed since the start.
      config: { ...(this.#peer?.options.config ?? this.#options.rtcConfig) },
    });
    let resolveOpen!: () => void;
    const open = new Promise<void>((resolve) => (resolveOpen = resolve));
    let retries = 0;
    peer.on('open', () => {
      retries = 0;
      debug('signaling open as %s at %s', identity.peerId, server.host);
      resolveOpen();
      this.#resolveOpened();
    });
    peer.on('connection', (conn) => this.#accept(conn));
    peer.on('disconnected', () => {
      if (this.destroyed || peer !== this.#peer) return;
      // The PeerServer went away; come back with backoff and jitter.
      const delay = Math.random() * Math.min(10_000, 250 * 2 ** retries++);
      setTimeout(() => {
        // PeerJS destroys a peer whose first connection to its server failed; that one cannot reconnect.
        if (!this.destroyed && peer === this.#peer && peer.disconnected && !peer.destroyed) peer.reconnect();
      }, delay);
    });
    peer.on('error', (err: PeerError<string>) => {
      if (err.type === 'peer-unavailable') {
        const id = /peer (\S+)/.exec(err.message)?.[1];
        if (id) this.#failDial.get(id)?.(new EcdnError('NO_PEER_REACHABLE', `Peer ${id} is not connected.`));
        return;
      }
      if (peer === this.#peer) this.emit('warning', err);
    });
    return [peer, open];
  }

  /** Open links, one per peer. */
  get size(): number {
    return this.#links.size;
  }

  /** Every link, open or opening. */
  links(): Iterable<PeerLink> {
    return this.#allLinks;
  }

  /**
   * ICE servers for connections made from now on (fresh TURN credentials, say).
   * Open connections keep the servers they started with.
   */
  setIceServers(iceServers: RTCIceServer[]): void {
    // PeerJS builds each RTCPeerConnection from `options.config` when it is made.
    const config = this.#peer.options.config as RTCConfiguration;
    config.iceServers = iceServers;
  }

  /** Opens (or reuses) a link to `peerId`; rejects with `NO_PEER_REACHABLE` or `ABORTED`. */
  connect(peerId: string, signal: AbortSignal): Promise<PeerLink> {
    const existing = this.#links.get(peerId);
    if (existing?.ready && !existing.destroyed) return Promise.resolve(existing);
    let dialing = this.#dialing.get(peerId);
    if (!dialing) {
      dialing = this.#dial(peerId).finally(() => this.#dialing.delete(peerId));
      this.#dialing.set(peerId, dialing);
    }
    return raceAbort(dialing, signal);
  }

  /** Closes every link and leaves the signaling server. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.#rejectOpened(new EcdnError('DESTROYED', 'The peer network was replaced or stopped.'));
    for (const link of [...this.#allLinks]) link.destroy();
    for (const peer of [...this.#retired.splice(0), this.#peer]) peer.destroy();
    this.removeAllListeners();
  }

  async #dial(peerId: string): Promise<PeerLink> {
    await this.opened;
    await this.#peerOpen;
    const { maxConnections, connectTimeout } = this.#options;
    if (this.#links.size >= maxConnections) {
      throw new EcdnError('NO_PEER_REACHABLE', `Connection limit (${maxConnections}) reached.`);
    }
    const link = this.#adopt(this.#peer.connect(peerId, { serialization: 'raw', reliable: true }));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new EcdnError('NO_PEER_REACHABLE', `No data channel to ${peerId} within ${connectTimeout} ms.`)),
        connectTimeout,
      );
      // Ready, not open: the first request can travel with our handshake, a round trip sooner.
      const offOpen = link.on('ready', () => done(resolve));
      const offClose = link.on('close', () => fail(new EcdnError('NO_PEER_REACHABLE', `The connection to ${peerId} closed.`)));
      const fail = (err: Error) => {
        done(() => reject(err));
        link.destroy();
      };
      const done = (then: () => void) => {
        clearTimeout(timer);
        offOpen();
        offClose();
        this.#failDial.delete(peerId);
        then();
      };
      this.#failDial.set(peerId, fail);
    });
    if (link.open) void this.#openLanes(link);
    else link.on('open', () => void this.#openLanes(link));
    return link;
  }

  /**
   * Opens lanes (see {@link PeerLink.addLane}) to the peer of a link this page
   * dialled, when the peer accepts them and the path is long. Each is a PeerJS
   * connection naming the link's own in its metadata, so that the peer can
   * attach it to the right link.
   */
  async #openLanes(link: PeerLink): Promise<void> {
    if (!(link.remoteFeatures & FEATURE_LANES)) return;
    let rtt: number | undefined;
    // ICE has usually measured the pair by the time the channel opened; if not, a consent check soon will.
    for (let attempt = 0; attempt < 3 && rtt === undefined; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 500));
      rtt = await link.roundTripMs().catch(() => undefined);
    }
    if (this.destroyed || link.destroyed || rtt === undefined || rtt < LANE_MIN_RTT_MS) return;
    debug('link to %s: %d ms round trip, opening %d lanes', link.remoteId, Math.round(rtt), LANES_PER_LINK - 1);
    for (let i = 1; i < LANES_PER_LINK; i++) {
      const conn = this.#peer.connect(link.remoteId, {
        serialization: 'raw',
        reliable: true,
        metadata: { ecdnLaneOf: link.connectionId },
      });
      link.addLane(conn);
      // A lane that cannot open is just not used; do not leave it trying forever.
      setTimeout(() => {
        if (!conn.open) conn.close();
      }, this.#options.connectTimeout);
    }
  }

  /** An incoming connection: a new link, or a lane of one this page already has. */
  #accept(conn: DataConnection): void {
    const laneOf = (conn.metadata as { ecdnLaneOf?: unknown } | undefined)?.ecdnLaneOf;
    if (laneOf === undefined) {
      this.#adopt(conn);
      return;
    }
    const link = [...this.#allLinks].find((l) => l.remoteId === conn.peer && l.connectionId === laneOf && !l.destroyed);
    if (link) link.addLane(conn);
    else conn.close();
  }

  #adopt(conn: DataConnection): PeerLink {
    const link = new PeerLink(conn);
    const id = link.remoteId;
    this.#allLinks.add(link);
    // Two peers that dial each other at once end up with two links; both work,
    // and the map keeps the first so that downloads do not switch midway.
    if (!this.#links.get(id) || this.#links.get(id)!.destroyed) this.#links.set(id, link);
    link.on('warning', (err) => this.emit('warning', err));
    link.on('close', () => {
      this.#allLinks.delete(link);
      this.bytesDownClosed += link.bytesReceived;
      if (this.#links.get(id) === link) this.#links.delete(id);
    });
    this.emit('link', link);
    if (this.#allLinks.size > this.#options.maxConnections * 2) link.destroy();
    return link;
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new EcdnError('ABORTED', 'Aborted.'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new EcdnError('ABORTED', 'Aborted.'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
