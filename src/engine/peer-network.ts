import { createLog } from './log.js';
import { Peer, type DataConnection, type PeerError } from './peerjs.js';
import { Emitter } from './emitter.js';
import { EcdnError } from './errors.js';
import type { Identity } from './tracker-client.js';
import { PeerLink } from './peer-link.js';

const debug = createLog('ecdn:peer-network');

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
    peer.on('connection', (conn) => this.#adopt(conn));
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
    if (existing?.open) return Promise.resolve(existing);
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
      const offOpen = link.on('open', () => done(resolve));
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
    return link;
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
