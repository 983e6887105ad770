import { createLog } from './log.js';
import { Peer, type DataConnection, type PeerError } from './peerjs.js';
import { Download, type DownloadHost, type FetchProgress } from './download.js';
import { Emitter } from './emitter.js';
import { EcdnError, parseHash } from './errors.js';
import { hexToBytes, toBlob, type HashInput } from './hash.js';
import { buildManifest, type Manifest } from './manifest.js';
import { PeerLink } from './peer-link.js';
import { Swarm } from './swarm.js';
import { TrackerClient, type Identity, type FileStatus, type WebSocketConstructor } from './tracker-client.js';
import { Uploader, type UploadFaults } from './uploader.js';
import { MANIFEST_PIECE, type Frame } from './wire.js';

const debug = createLog('ecdn:engine');

/** Engine-wide settings, all optional. */
export interface EngineConfig {
  /** Base URL of the EphemeralCDN server, e.g. `https://cdn.example.org`. */
  server?: string;
  /**
   * ICE servers for WebRTC. Defaults to none, which connects peers on the same
   * network; add STUN/TURN servers of your own to cross NATs. PeerJS's public
   * STUN default is never used.
   */
  iceServers?: RTCIceServer[];
  /** `'relay'` hides this page's IP address from peers; needs a TURN server in `iceServers`. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Most bytes per second this page uploads to peers, all files together. Default: no limit. */
  uploadLimit?: number;
  /** Most peer connections this page keeps open. Default 40. */
  maxConnections?: number;
  /**
   * Whether fetched files are served to other peers while the page is open.
   * Defaults to true, except on a metered connection (Save-Data or cellular).
   */
  reseed?: boolean;
  /**
   * How long to wait for a peer's data channel to open before trying it (or
   * another peer) again. Default 5 s: ICE through STUN or TURN usually takes
   * under 2 s, and a channel that has not opened by then rarely will.
   */
  connectTimeout?: number;
  /** WebSocket class for the tracker connection; Node passes the `ws` package's. */
  WebSocket?: WebSocketConstructor;
}

/** Options of {@link SwarmEngine.seed}. */
export interface SeedOptions {
  /** Stops hashing with `ABORTED`. */
  signal?: AbortSignal;
  /** Hashing progress, in bytes. */
  onProgress?: (hashed: number, total: number) => void;
}

/** Options of {@link SwarmEngine.fetch} and its relatives. */
export interface FetchOptions {
  /** Aborts the fetch with `ABORTED`. */
  signal?: AbortSignal;
  /** Milliseconds before the fetch fails with `TIMEOUT`. Default: none. */
  timeout?: number;
  /** Most peers to download from at once. Default 5. */
  maxPeers?: number;
  /** Called as verified bytes arrive, at most every 100 ms. */
  onProgress?: (progress: FetchProgress) => void;
  /** Serve the file to others while downloading and after. Defaults to the engine's `reseed`. */
  reseed?: boolean;
}

/** What {@link SwarmEngine.stats} reports. */
export interface EngineStats {
  /** This page's PeerJS ID, once connected. */
  peerId: string | undefined;
  /** Files held whole and served: bytes of each served, and how many peers are downloading it from this page now. */
  seeding: Array<{ hash: string; size: number | undefined; bytesUp: number; downloaders: number }>;
  /** Downloads under way. */
  downloading: Array<{ hash: string; received: number; total: number; peers: number }>;
  /** Payload bytes served to peers. */
  bytesUp: number;
  /** Payload bytes received from peers. */
  bytesDown: number;
  /** Open peer connections. */
  peers: number;
  /** Payload bytes moved over each open connection. */
  connections: Array<{ peerId: string; bytesUp: number; bytesDown: number }>;
}

/** Events of a {@link SwarmEngine}. */
export interface EngineEvents extends Record<string, unknown> {
  /** Recoverable trouble: a peer misbehaved, a connection failed. */
  warning: Error;
  /** A peer was banned from a download: it sent pieces that failed their hash, or a false manifest. */
  ban: { hash: string; peerId: string; reason: 'BAD_PIECES' | 'BAD_MANIFEST'; strikes: number };
  /** A download completed and verified. */
  fetched: FetchReport;
  /**
   * A file this page holds changed its serving figures: payload bytes served, or
   * the number of peers downloading it from this page now. At most about four a
   * second per file, and once more when its last downloader goes quiet.
   */
  seeding: { hash: string; bytesUp: number; downloaders: number };
}

/** Ways a test can make a page misbehave as a peer. */
export interface EngineFaults extends UploadFaults {
  /**
   * Claim to hold `hash` and serve the file `with` under its name: a manifest
   * that is self-consistent (every piece but the last matches it, and its chain
   * ends at `hash`) but describes other bytes.
   */
  lie?: { hash: string; with: string };
}

/** What a completed download cost, for the curious and for the fault suite. */
export interface FetchReport {
  hash: string;
  size: number;
  /** From the first call to the verified bytes. */
  ms: number;
  /** Bytes received and thrown away: duplicates and pieces that failed their hash. */
  wastedBytes: number;
  /** Peers that supplied verified pieces. */
  suppliers: string[];
  /** Peers banned during the download. */
  banned: string[];
}

const DEFAULT_MAX_PEERS = 5;
const DEFAULT_CONNECT_TIMEOUT = 5_000;

/**
 * The swarm engine: one per page. It holds the files this page seeds, runs its
 * downloads, and owns the connections to the tracker and to peers, which it
 * opens lazily on first use.
 */
export class SwarmEngine extends Emitter<EngineEvents> {
  /** True once {@link destroy} ran. */
  destroyed = false;

  #config: EngineConfig;
  #tracker: TrackerClient | undefined;
  #peer: Peer | undefined;
  #peerOpen: Promise<Peer> | undefined;
  #resolvePeerOpen: ((peer: Peer) => void) | undefined;
  /** Fails a dial under way, when PeerJS reports the peer unavailable. */
  readonly #failDial = new Map<string, (err: Error) => void>();
  readonly #swarms = new Map<string, Swarm>();
  readonly #downloads = new Map<string, Download>();
  readonly #links = new Map<string, PeerLink>();
  readonly #allLinks = new Set<PeerLink>();
  readonly #dialing = new Map<string, Promise<PeerLink>>();
  readonly #watchers = new Map<string, Set<(status: FileStatus) => void>>();
  readonly #uploader = new Uploader((hash) => this.#served(hash));
  #faults: EngineFaults = {};
  #bytesDownClosed = 0;

  constructor(config: EngineConfig = {}) {
    super();
    this.#config = { ...config };
    this.#uploader.setLimit(config.uploadLimit);
  }

  /** The settings in force. */
  get config(): Readonly<EngineConfig> {
    return this.#config;
  }

  /**
   * Changes settings. A new `server`, `iceServers` or `WebSocket` reconnects;
   * files being seeded are announced, and watched files watched, again on the
   * new connection.
   */
  configure(changes: EngineConfig): void {
    const reconnect = ['server', 'iceServers', 'iceTransportPolicy', 'WebSocket'].some(
      (key) => key in changes && changes[key as keyof EngineConfig] !== this.#config[key as keyof EngineConfig],
    );
    this.#config = { ...this.#config, ...changes };
    if ('uploadLimit' in changes) this.#uploader.setLimit(changes.uploadLimit);
    if (reconnect && this.#tracker) {
      this.#stopNetwork();
      if (this.#swarms.size > 0 || this.#watchers.size > 0) this.#startNetwork();
    }
  }

  /** Test-only: make this page misbehave as a peer. Never set it in production. */
  set faults(faults: EngineFaults) {
    this.#faults = faults;
    this.#uploader.faults = faults;
    if (faults.lie) this.#startNetwork().announce(faults.lie.hash, true);
  }

  /** The copy this page serves under `hash`: its own, or under a test fault, another file's. */
  #served(hash: string): Swarm | undefined {
    const lie = this.#faults.lie;
    return this.#swarms.get(lie?.hash === hash ? lie.with : hash);
  }

  /**
   * Seeds a file: hashes it, announces it to the tracker and serves it to peers
   * while this page lives. Resolves with its SHA-256 as 64 lowercase hex, the
   * name to share. The bytes are read in slices, never copied whole, and in one
   * pass that yields the piece manifest too.
   */
  async seed(data: HashInput, options: SeedOptions = {}): Promise<string> {
    this.#assertAlive();
    const blob = toBlob(data);
    const manifest = await buildManifest(blob, options);
    const hash = manifest.hash;
    this.#assertAlive();
    if (!this.#swarms.get(hash)?.complete) {
      this.#swarms.get(hash)?.destroy();
      this.#addSwarm(Swarm.fromBlob(hash, blob, Promise.resolve(manifest)));
    }
    const tracker = this.#startNetwork();
    tracker.announce(hash, true);
    await Promise.all([tracker.ready(options.signal), this.#peerOpen]);
    debug('seeding %s (%d B)', hash, blob.size);
    return hash;
  }

  /** Stops serving a file and tells the tracker. Downloads from this page switch to other peers. */
  unseed(hash: string): void {
    hash = parseHash(hash);
    const swarm = this.#swarms.get(hash);
    if (swarm) this.#removeSwarm(swarm);
  }

  /**
   * Fetches a file by its SHA-256 from the peers holding it, verifies it, and
   * (unless `reseed` is false) keeps serving it. Throws {@link EcdnError}:
   * `INVALID_HASH` before any network access, `DEAD` when no seeder is left.
   */
  async fetch(hash: string, options: FetchOptions = {}): Promise<ArrayBuffer> {
    hash = parseHash(hash);
    this.#assertAlive();
    const local = this.#swarms.get(hash);
    if (local?.complete) {
      const manifest = await local.manifest;
      return toArrayBuffer(await local.read(0, manifest.size));
    }
    const download = this.#download(hash, options, false);
    return toArrayBuffer(await this.#await(download, options));
  }

  /** Fetches a file and decodes it as UTF-8. */
  async fetchText(hash: string, options: FetchOptions = {}): Promise<string> {
    return new TextDecoder().decode(await this.fetch(hash, options));
  }

  /** Fetches a file as a Blob of the given MIME type. */
  async fetchBlob(hash: string, type = '', options: FetchOptions = {}): Promise<Blob> {
    return new Blob([await this.fetch(hash, options)], { type });
  }

  /** Fetches a file and returns an object URL for it. Revoke it with `URL.revokeObjectURL` when done. */
  async fetchURL(hash: string, type = '', options: FetchOptions = {}): Promise<string> {
    return URL.createObjectURL(await this.fetchBlob(hash, type, options));
  }

  /**
   * Fetches a file as a stream of verified bytes in file order: each piece is
   * checked against the manifest before it is enqueued. The manifest itself is
   * proven only when the last piece checks out, so if it turns out false the
   * stream errors with `HASH_MISMATCH` instead of closing: treat what it gave
   * as provisional until it closes.
   */
  stream(hash: string, options: FetchOptions = {}): ReadableStream<Uint8Array> {
    hash = parseHash(hash);
    this.#assertAlive();
    const local = this.#swarms.get(hash);
    let download: Download | undefined;
    let sent = 0;
    return new ReadableStream<Uint8Array>({
      start: async (controller) => {
        if (local?.complete) {
          const manifest = await local.manifest;
          controller.enqueue(await local.read(0, manifest.size));
          controller.close();
          return;
        }
        download = this.#download(hash, options, true);
        let streamed: Manifest | undefined;
        const flush = () => {
          const manifest = download!.manifest;
          const buffer = download!.buffer;
          if (!manifest || !buffer) return;
          if (sent > 0 && manifest !== streamed) {
            // The download dropped a false manifest after some of its pieces were handed out.
            controller.error(new EcdnError('HASH_MISMATCH', `A peer's manifest for ${hash} was false; the bytes streamed so far are not the file.`, { hash }));
            download!.off('piece', flush);
            return;
          }
          streamed = manifest;
          for (; sent < download!.contiguous; sent++) {
            const [start, end] = manifest.pieceRange(sent);
            controller.enqueue(buffer.slice(start, end));
          }
        };
        download.on('piece', flush);
        try {
          await this.#await(download, options);
          flush();
          controller.close();
        } catch (err) {
          controller.error(err);
        }
      },
      cancel: () => {
        download?.fail(new EcdnError('ABORTED', 'The stream was cancelled.', { hash }));
      },
    });
  }

  /**
   * Watches a file's swarm: `callback` gets `{ alive, seeders, leechers }` now
   * and on every change, including the moment the file dies. Returns a function
   * that stops watching. While the tracker is unreachable nothing is reported,
   * so a short outage never looks like a death.
   */
  watch(hash: string, callback: (status: FileStatus) => void): () => void {
    hash = parseHash(hash);
    this.#assertAlive();
    let set = this.#watchers.get(hash);
    if (!set) this.#watchers.set(hash, (set = new Set()));
    set.add(callback);
    const tracker = this.#startNetwork();
    tracker.watch(hash);
    return () => {
      const current = this.#watchers.get(hash);
      if (!current?.delete(callback) || current.size > 0) return;
      this.#watchers.delete(hash);
      this.#tracker?.unwatch(hash);
    };
  }

  /** What this page seeds and downloads, bytes moved, and open peer connections. */
  stats(): EngineStats {
    let bytesDown = this.#bytesDownClosed;
    for (const link of this.#allLinks) bytesDown += link.bytesReceived;
    return {
      peerId: this.#tracker?.identity?.peerId,
      seeding: [...this.#swarms.values()]
        .filter((s) => s.complete)
        .map((s) => ({ hash: s.hash, size: s.size, bytesUp: s.bytesUp, downloaders: s.downloaders() })),
      downloading: [...this.#downloads.values()].map((d) => ({ hash: d.hash, ...d.progress() })),
      bytesUp: this.#uploader.bytesUp,
      bytesDown,
      peers: this.#links.size,
      connections: [...this.#allLinks].map((link) => ({
        peerId: link.remoteId,
        bytesUp: link.bytesSent,
        bytesDown: link.bytesReceived,
      })),
    };
  }

  /** Stops everything: downloads fail with `DESTROYED`, seeded files are withdrawn, connections close. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const download of this.#downloads.values()) download.fail(new EcdnError('DESTROYED', 'The engine was destroyed.'));
    for (const swarm of this.#swarms.values()) swarm.destroy();
    this.#swarms.clear();
    this.#stopNetwork();
    this.removeAllListeners();
  }

  #assertAlive(): void {
    if (this.destroyed) throw new EcdnError('DESTROYED', 'The engine was destroyed.');
  }

  /** Starts a download, or joins the one already under way for this file. */
  #download(hash: string, options: FetchOptions, sequential: boolean): Download {
    const existing = this.#downloads.get(hash);
    if (existing && !existing.destroyed) return existing;
    this.#startNetwork();
    const download = new Download(hash, this.#host, {
      maxPeers: options.maxPeers ?? DEFAULT_MAX_PEERS,
      reseed: options.reseed ?? this.#reseedDefault(),
      sequential,
    });
    this.#downloads.set(hash, download);
    download.on('warning', (err) => this.emit('warning', err));
    download.on('ban', (ban) => {
      this.#tracker?.report(hash, ban.peerId, ban.reason);
      this.emit('ban', { hash, ...ban });
    });
    const started = Date.now();
    const forget = () => {
      if (this.#downloads.get(hash) === download) this.#downloads.delete(hash);
    };
    download.done.then((bytes) => {
      forget();
      this.emit('fetched', {
        hash,
        size: bytes.byteLength,
        ms: Date.now() - started,
        wastedBytes: download.wastedBytes,
        suppliers: [...download.suppliers],
        banned: [...download.banned],
      });
    }, forget);
    return download;
  }

  /** Waits for a download, honouring the caller's signal, timeout and progress callback. */
  async #await(download: Download, options: FetchOptions): Promise<Uint8Array> {
    const { signal, timeout, onProgress } = options;
    if (signal?.aborted) throw new EcdnError('ABORTED', 'The fetch was aborted.', { hash: download.hash, cause: signal.reason });
    const offProgress = onProgress ? download.on('progress', onProgress) : undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const interrupted = new Promise<never>((_, reject) => {
      onAbort = () =>
        reject(new EcdnError('ABORTED', 'The fetch was aborted.', { hash: download.hash, cause: signal?.reason }));
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeout !== undefined) {
        timer = setTimeout(
          () => reject(new EcdnError('TIMEOUT', `The fetch did not complete within ${timeout} ms.`, { hash: download.hash })),
          timeout,
        );
      }
    });
    try {
      return await Promise.race([download.done, interrupted]);
    } catch (err) {
      // The download is shared with other callers of the same hash; only the
      // caller's own interruption ends it when nobody else is waiting.
      if (err instanceof EcdnError && (err.code === 'ABORTED' || err.code === 'TIMEOUT')) download.fail(err);
      throw err;
    } finally {
      offProgress?.();
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  #reseedDefault(): boolean {
    if (this.#config.reseed !== undefined) return this.#config.reseed;
    const connection = (globalThis.navigator as { connection?: { saveData?: boolean; type?: string } } | undefined)
      ?.connection;
    return !(connection?.saveData || connection?.type === 'cellular');
  }

  readonly #host: DownloadHost = {
    tracker: () => this.#startNetwork(),
    localId: () => this.#tracker?.identity?.peerId,
    connect: (peerId, signal) => this.#connect(peerId, signal),
    addSwarm: (swarm) => this.#addSwarm(swarm),
    removeSwarm: (swarm) => {
      if (this.#swarms.get(swarm.hash) === swarm) this.#removeSwarm(swarm);
    },
  };

  #addSwarm(swarm: Swarm): void {
    this.#swarms.set(swarm.hash, swarm);
  }

  #removeSwarm(swarm: Swarm): void {
    this.#swarms.delete(swarm.hash);
    this.#uploader.forget(swarm.hash);
    this.#tracker?.withdraw(swarm.hash);
    swarm.destroy();
  }

  #serverUrl(): URL {
    const server = this.#config.server;
    if (!server) {
      throw new EcdnError(
        'TRACKER_UNREACHABLE',
        'No EphemeralCDN server is configured: call configure({ server: "https://your-server" }).',
      );
    }
    return new URL(server);
  }

  #startNetwork(): TrackerClient {
    if (this.#tracker) return this.#tracker;
    const base = this.#serverUrl();
    const wsUrl = new URL('tracker', base.href.endsWith('/') ? base : `${base.href}/`);
    wsUrl.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    const tracker = new TrackerClient({ url: wsUrl.href, WebSocket: this.#config.WebSocket });
    this.#tracker = tracker;
    for (const swarm of this.#swarms.values()) tracker.announce(swarm.hash, swarm.complete);
    for (const hash of this.#watchers.keys()) tracker.watch(hash);
    tracker.on('warning', (err) => this.emit('warning', err));
    tracker.on('swarm', (status) => {
      for (const callback of this.#watchers.get(status.hash) ?? []) callback(status);
    });
    tracker.on('identity', (identity) => this.#openPeer(identity, base));
    this.#peerOpen = new Promise((resolve) => (this.#resolvePeerOpen = resolve));
    return tracker;
  }

  #openPeer(identity: Identity, base: URL): void {
    if (this.#peer) {
      // A new identity (the tracker could not resume ours): links made under the
      // old ID die with its Peer, and downloads find their peers again.
      this.#peer.destroy();
      this.#peerOpen = new Promise((resolve) => (this.#resolvePeerOpen = resolve));
    }
    const secure = base.protocol === 'https:';
    const peer = new Peer(identity.peerId, {
      host: base.hostname,
      port: Number(base.port) || (secure ? 443 : 80),
      path: `${base.pathname.replace(/\/$/, '')}/peerjs`,
      key: 'peerjs',
      token: identity.token,
      secure,
      debug: 0,
      config: {
        iceServers: this.#config.iceServers ?? [],
        ...(this.#config.iceTransportPolicy ? { iceTransportPolicy: this.#config.iceTransportPolicy } : {}),
      },
    });
    this.#peer = peer;
    let retries = 0;
    peer.on('open', () => {
      retries = 0;
      debug('signaling open as %s', identity.peerId);
      this.#resolvePeerOpen?.(peer);
    });
    peer.on('connection', (conn) => this.#adopt(conn));
    peer.on('disconnected', () => {
      if (this.#peer !== peer || peer.destroyed) return;
      // The PeerServer went away; come back with backoff and jitter.
      const delay = Math.random() * Math.min(10_000, 250 * 2 ** retries++);
      setTimeout(() => {
        if (this.#peer === peer && !peer.destroyed && peer.disconnected) peer.reconnect();
      }, delay);
    });
    peer.on('error', (err: PeerError<string>) => {
      if (err.type === 'peer-unavailable') {
        const id = /peer (\S+)/.exec(err.message)?.[1];
        if (id) this.#failDial.get(id)?.(new EcdnError('NO_PEER_REACHABLE', `Peer ${id} is not connected.`));
        return;
      }
      this.emit('warning', err);
    });
  }

  #connect(peerId: string, signal: AbortSignal): Promise<PeerLink> {
    const existing = this.#links.get(peerId);
    if (existing?.open) return Promise.resolve(existing);
    let dialing = this.#dialing.get(peerId);
    if (!dialing) {
      dialing = this.#dial(peerId).finally(() => this.#dialing.delete(peerId));
      this.#dialing.set(peerId, dialing);
    }
    return raceAbort(dialing, signal);
  }

  async #dial(peerId: string): Promise<PeerLink> {
    const peer = await this.#peerOpen!;
    if (this.#links.size >= (this.#config.maxConnections ?? 40)) {
      throw new EcdnError('NO_PEER_REACHABLE', `Connection limit (${this.#config.maxConnections ?? 40}) reached.`);
    }
    const link = this.#adopt(peer.connect(peerId, { serialization: 'raw', reliable: true }));
    const timeout = this.#config.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new EcdnError('NO_PEER_REACHABLE', `No data channel to ${peerId} within ${timeout} ms.`)), timeout);
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
    link.on('frame', (frame) => this.#onFrame(link, frame));
    link.on('warning', (err) => this.emit('warning', err));
    link.on('close', () => {
      this.#allLinks.delete(link);
      this.#bytesDownClosed += link.bytesReceived;
      if (this.#links.get(id) === link) this.#links.delete(id);
      for (const swarm of this.#swarms.values()) swarm.interested.delete(link);
      for (const download of this.#downloads.values()) download.onLinkClosed(link);
    });
    if (this.#allLinks.size > (this.#config.maxConnections ?? 40) * 2) link.destroy();
    return link;
  }

  #onFrame(link: PeerLink, frame: Frame): void {
    switch (frame.type) {
      case 'MANIFEST_REQUEST':
        void this.#serveManifest(link, frame.hash);
        return;
      case 'REQUEST':
        this.#uploader.request(link, frame);
        return;
      case 'CANCEL':
        this.#uploader.cancel(link, frame);
        return;
      case 'HANDSHAKE':
        return;
      default:
        this.#downloads.get(frame.hash)?.onFrame(link, frame);
    }
  }

  async #serveManifest(link: PeerLink, hash: string): Promise<void> {
    const swarm = this.#served(hash);
    const reject = () => link.send({ type: 'REJECT', hash, piece: MANIFEST_PIECE, offset: 0, length: 0, reason: 'NOT_FOUND' });
    if (!swarm) return reject();
    let manifest;
    try {
      manifest = await swarm.manifest;
    } catch (err) {
      this.emit('warning', err as Error);
      return reject();
    }
    if (swarm.destroyed) return reject();
    if (this.#faults.lie?.hash === hash && manifest.pieceCount > 0) {
      // The strongest liar: a chain that ends at the address asked for, so only its last piece can give it away.
      const chain = manifest.chain.slice();
      hexToBytes(hash, chain, chain.byteLength - 32);
      link.send({ ...manifest.toFrame(), hash, chain });
    } else link.send({ ...manifest.toFrame(), hash });
    link.send({ type: 'BITFIELD', hash, pieceCount: manifest.pieceCount, bits: swarm.bitfield(manifest.pieceCount) });
    swarm.interested.add(link);
  }

  #stopNetwork(): void {
    for (const link of [...this.#allLinks]) link.destroy();
    this.#peer?.destroy();
    this.#peer = undefined;
    this.#peerOpen = undefined;
    this.#tracker?.destroy();
    this.#tracker = undefined;
  }
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer as ArrayBuffer;
  return bytes.slice().buffer as ArrayBuffer;
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
