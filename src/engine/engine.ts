import { createLog } from './log.js';
import { Download, type DownloadHost, type FetchProgress } from './download.js';
import { Emitter } from './emitter.js';
import { EcdnError, parseHash } from './errors.js';
import { classifyNat, gatherCandidates, verdictFor, type Diagnosis } from './diagnose.js';
import { downloadStream, heldFileStream, type Retained } from './file-stream.js';
import { toBlob, type ByteSource, type HashInput } from './hash.js';
import {
  PRIVATE_HEADER_BYTES,
  PrivateSource,
  assertNotPrivate,
  decryptShare,
  decryptStream,
  generateKey,
  parseKey,
  revealStream,
  type PrivateMeta,
} from './private-share.js';
import { DOWNLOADER_WINDOW_MS, HeldFile } from './held-file.js';
import { createHasher, type Hasher } from './hasher.js';
import { makeIdentity } from './identity.js';
import { DiskWorker, NoDiskError, openDiskStore, sweepLeftovers } from './disk-piece-store.js';
import { MemoryPieceStore, type PieceStore } from './piece-store.js';
import type { Manifest } from './manifest.js';
import type { LinkRoute, PeerLink } from './peer-link.js';
import { PeerNetwork } from './peer-network.js';
import { TrackerClient, type Identity, type FileStatus, type WebSocketConstructor } from './tracker-client.js';
import { Uploader, type UploaderHost } from './uploader.js';
import type { Frame } from './wire.js';

const debug = createLog('ecdn:engine');

/** Engine-wide settings, all optional. */
export interface EngineConfig {
  /**
   * Base URL of the EphemeralCDN server, e.g. `https://cdn.example.org`, or the URLs
   * of several instances sharing one Redis (see docs/scaling.md). With several, the
   * page connects to the first and, when its instance fails, moves on to the next,
   * keeping its peer ID, its links and what it seeds.
   */
  server?: string | readonly string[];
  /**
   * ICE servers for WebRTC. Defaults to the ones the server hands out: its own
   * STUN responder, and TURN with short-lived credentials where its operator set
   * one up; none if it hands out nothing, which connects peers on one network.
   * Setting this overrides them. PeerJS's public STUN default is never used.
   */
  iceServers?: RTCIceServer[];
  /** `'relay'` hides this page's IP address from peers; needs a TURN server (the server's, or one in `iceServers`). */
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
  /**
   * Where downloads keep their pieces. `'auto'` (the default): files of
   * {@link DISK_THRESHOLD} bytes and more go to disk, in the origin's private file
   * system, and smaller ones stay in memory. `'disk'` puts every file on disk,
   * `'memory'` none. Without a usable disk (no private file system, or a quota too
   * small, checked before downloading) a file stays in memory with a `warning`, and one
   * too big for memory fails with `NO_SPACE`. A {@link PieceStorage} of your own (files
   * on a Node machine's disk, say) takes every download.
   */
  storage?: 'auto' | 'disk' | 'memory' | PieceStorage;
}

/** Where downloads keep their pieces, for {@link EngineConfig.storage}: one store per download. */
export interface PieceStorage {
  /** A store for `manifest`'s file; may resume one (see {@link PieceStore.resumed}). Rejects with `NO_SPACE` when the file does not fit. */
  open(manifest: Manifest): Promise<PieceStore>;
}

/** Files this big or bigger are downloaded to disk under the default `storage: 'auto'`. */
export const DISK_THRESHOLD = 32 * 1024 * 1024;
/**
 * How long after an engine starts the downloads that closed tabs left on disk are
 * deleted: until then, a page loaded again that asks for the same file resumes it.
 */
export const LEFTOVER_GRACE_MS = 10_000;

/** Options of {@link SwarmEngine.seed}. */
export interface SeedOptions {
  /** Stops hashing with `ABORTED`. */
  signal?: AbortSignal;
  /** Hashing progress, in bytes. */
  onProgress?: (hashed: number, total: number) => void;
  /**
   * Makes a private share: the file is encrypted in this page (AES-128-GCM, see
   * docs/security.md) and only its ciphertext is announced and served, so `seed()`
   * resolves with a {@link PrivateShare} whose `key` only holders of the link learn.
   */
  encrypt?: boolean;
  /** A private share's name, carried encrypted. Defaults to the File's name. */
  name?: string;
  /** A private share's MIME type, carried encrypted. Defaults to the Blob's type. */
  type?: string;
}

/** What {@link SwarmEngine.seed} resolves with for `encrypt: true`. */
export interface PrivateShare {
  /** SHA-256 of the ciphertext: the address peers fetch, and the start of the link. */
  hash: string;
  /**
   * The key: 128 bits as 22 characters of base64url. It belongs in the link's fragment
   * (`/f/<hash>#k=<key>`, see `shareLink`), which browsers never send to a server.
   */
  key: string;
  /** The name carried in the encrypted header. */
  name: string;
  /** The MIME type carried in the encrypted header. */
  type: string;
  /** Bytes of the file itself. */
  size: number;
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
  /**
   * A private share's key (the `k` of its link's fragment): the verified ciphertext is
   * decrypted, in order, and a wrong key fails with `DECRYPT_FAILED` before any byte is
   * handed out. A key that is not 22 characters of base64url fails at once with
   * `INVALID_KEY`. `fetchBlob` and `fetchURL` then give a File with the share's name,
   * typed with its type unless `type` is given.
   */
  key?: string;
  /**
   * The bytes as they travel, even a private share's ciphertext, which without a `key`
   * otherwise fails with `KEY_REQUIRED`: for a page that relays a file it cannot read.
   * The page re-seeds what it fetched either way (see `reseed`).
   */
  raw?: boolean;
}

/** What {@link SwarmEngine.info} tells of a file before it is downloaded. */
export interface FileInfo {
  hash: string;
  /** Size in bytes. */
  size: number;
  /** Pieces the file is cut into, each verified on its own. */
  pieces: number;
  /** Peers holding the whole file, as the tracker counted them. */
  seeders: number;
  /** Peers holding verified parts of it. */
  leechers: number;
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
const DEFAULT_MAX_CONNECTIONS = 40;
const DEFAULT_CONNECT_TIMEOUT = 5_000;
/** How long diagnose() gathers candidates by default. */
const DIAGNOSE_TIMEOUT = 8_000;
/** Blocks served within this are reported in one `seeding` event. */
const SEEDING_REPORT_MS = 250;

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
  #network: PeerNetwork | undefined;
  /** Settles when the current tracker connection has a peer network open; replaced on reconnects. */
  #networkOpen: Promise<PeerNetwork> | undefined;
  #resolveNetwork: ((network: PeerNetwork) => void) | undefined;
  /** The files this page holds, whole or in part, and serves. */
  readonly #held = new Map<string, HeldFile>();
  readonly #downloads = new Map<string, Download>();
  readonly #watchers = new Map<string, Set<(status: FileStatus) => void>>();
  readonly #uploader: Uploader;
  #hasher: Hasher | undefined;
  #disk: DiskWorker | undefined;
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;
  /** Disk stores behind Blobs handed out by fetchBlob(), kept until the engine is destroyed. */
  readonly #pinned = new Set<() => void>();
  /** Pending `seeding` reports, per file. */
  readonly #seedingReports = new Map<string, ReturnType<typeof setTimeout>>();
  /** Payload bytes received over peer networks that were replaced. */
  #bytesDownBefore = 0;
  #diagnosis: { at: number; result: Promise<Diagnosis | undefined> } | undefined;

  constructor(config: EngineConfig = {}) {
    super();
    this.#config = { ...config };
    this.#uploader = this.createUploader({
      file: (hash) => this.#held.get(hash),
      served: (file) => this.#reportSeeding(file),
      warning: (err) => this.emit('warning', err),
    });
    this.#uploader.setLimit(config.uploadLimit);
    if (typeof navigator !== 'undefined' && 'storage' in navigator) {
      this.#sweepTimer = setTimeout(
        () => void sweepLeftovers().then((swept) => debug('deleted %d leftover downloads', swept)),
        LEFTOVER_GRACE_MS,
      );
    }
  }

  /** The settings in force. */
  get config(): Readonly<EngineConfig> {
    return this.#config;
  }

  /**
   * Changes settings. A new `server`, `iceServers` or `WebSocket` reconnects;
   * files being seeded are announced, and watched files watched, again on the
   * new connection. Seeds and fetches under way carry on over it.
   */
  configure(changes: EngineConfig): void {
    const reconnect = (['server', 'iceServers', 'iceTransportPolicy', 'WebSocket'] as const).some(
      (key) => key in changes && !sameSetting(changes[key], this.#config[key]),
    );
    this.#config = { ...this.#config, ...changes };
    if ('uploadLimit' in changes) this.#uploader.setLimit(changes.uploadLimit);
    if (reconnect && this.#tracker) {
      this.#stopNetwork();
      if (this.#held.size > 0 || this.#watchers.size > 0 || this.#downloads.size > 0) this.#startNetwork();
    }
  }

  /**
   * Seeds a file: hashes it, announces it to the tracker and serves it to peers
   * while this page lives. Resolves with its SHA-256 as 64 lowercase hex, the
   * name to share. The bytes are read in slices, never copied whole, and in one
   * pass that yields the piece manifest too.
   */
  seed(data: HashInput, options: SeedOptions & { encrypt: true }): Promise<PrivateShare>;
  seed(data: HashInput, options?: SeedOptions & { encrypt?: false }): Promise<string>;
  seed(data: HashInput, options?: SeedOptions): Promise<string | PrivateShare>;
  async seed(data: HashInput, options: SeedOptions = {}): Promise<string | PrivateShare> {
    this.#assertAlive();
    const blob = toBlob(data);
    if (options.encrypt) return this.#seedPrivately(blob, options);
    const hash = await this.#hashAndHold(blob, options);
    debug('seeding %s (%d B)', hash, blob.size);
    return hash;
  }

  /**
   * Hashes the bytes `seed()` serves (a Blob, or a source that makes them as they are
   * read), holds them unless this page already holds the whole file, and resolves with
   * their address once connected.
   */
  async #hashAndHold(bytes: Blob | ByteSource, options: SeedOptions): Promise<string> {
    const manifest = await this.#hashing().manifest(bytes, options);
    const hash = manifest.hash;
    this.#assertAlive();
    if (!this.#held.get(hash)?.complete) {
      const known = Promise.resolve(manifest);
      this.hold(bytes instanceof Blob ? HeldFile.fromBlob(hash, bytes, known) : HeldFile.fromSource(hash, bytes, known));
    }
    await this.#connected(options.signal);
    return hash;
  }

  /**
   * Seeds `blob` as a private share: the ciphertext is made from it on demand (for the
   * hash now, and per piece when peers ask), never stored (see private-share.ts).
   */
  async #seedPrivately(blob: Blob, options: SeedOptions): Promise<PrivateShare> {
    const key = generateKey();
    const meta: PrivateMeta = { name: options.name ?? (blob instanceof File ? blob.name : ''), type: options.type ?? blob.type };
    const source = await PrivateSource.create(blob, { key: parseKey(key), meta });
    const hash = await this.#hashAndHold(source, options);
    debug('seeding %s privately (%d B)', hash, blob.size);
    return { hash, key, ...meta, size: blob.size };
  }

  /** Stops serving a file and tells the tracker. Downloads from this page switch to other peers. */
  unseed(hash: string): void {
    hash = parseHash(hash);
    const file = this.#held.get(hash);
    if (file) this.#release(file);
  }

  /**
   * Fetches a file by its SHA-256 from the peers holding it, verifies it, and
   * (unless `reseed` is false) keeps serving it. Throws {@link EcdnError}:
   * `INVALID_HASH` before any network access, `DEAD` when no seeder is left.
   * Callers of the same hash share one download; one caller's abort or timeout
   * only ends its own wait.
   */
  async fetch(hash: string, options: FetchOptions = {}): Promise<ArrayBuffer> {
    hash = parseHash(hash);
    const key = options.key === undefined ? undefined : parseKey(options.key);
    this.#assertAlive();
    const local = this.#held.get(hash);
    if (local?.complete) {
      const manifest = await local.manifest;
      return toArrayBuffer(await reveal(hash, await local.read(0, manifest.size), key, options.raw));
    }
    const download = this.#download(hash, { ...options, sequential: false });
    const { store, release } = await this.#attend(download, options).done;
    try {
      return toArrayBuffer(await reveal(hash, await store.bytes(), key, options.raw));
    } finally {
      release();
    }
  }

  /**
   * What a file is before downloading it: its size and piece count from the manifest
   * of the first peer that sends one, and the tracker's counts. Nothing but the
   * manifest is downloaded; the connections made stay open for a fetch that follows.
   * The size is a peer's word until the file is fetched and checks out against its
   * hash. Throws like {@link fetch}: `INVALID_HASH`, `DEAD`, `NO_PEER_REACHABLE`,
   * `TIMEOUT`, `ABORTED`.
   */
  async info(hash: string, options: Pick<FetchOptions, 'signal' | 'timeout'> = {}): Promise<FileInfo> {
    hash = parseHash(hash);
    this.#assertAlive();
    const local = this.#held.get(hash);
    if (local?.complete) {
      const manifest = await local.manifest;
      const status = await this.#downloadHost.lookup(hash, 0, options.signal ?? new AbortController().signal);
      return { hash, size: manifest.size, pieces: manifest.pieceCount, seeders: status.seeders, leechers: status.leechers };
    }
    const download = this.#download(hash, { ...options, paused: true });
    const attendance = this.#attend(download, options);
    let offManifest: (() => void) | undefined;
    try {
      const manifest =
        download.manifest ??
        (await Promise.race([
          new Promise<Manifest>((resolve) => (offManifest = download.on('manifest', resolve))),
          // An empty file completes at once; a dead one fails.
          attendance.done.then(({ release }) => {
            release();
            return download.manifest!;
          }),
        ]));
      const { seeders = 1, leechers = 0 } = download.status ?? {};
      return { hash, size: manifest.size, pieces: manifest.pieceCount, seeders, leechers };
    } finally {
      offManifest?.();
      // Only this caller's share: a download that others wait for goes on.
      attendance.leave(new EcdnError('ABORTED', 'info() has what it asked for.', { hash }));
    }
  }

  /** Fetches a file and decodes it as UTF-8. */
  async fetchText(hash: string, options: FetchOptions = {}): Promise<string> {
    return new TextDecoder().decode(await this.fetch(hash, options));
  }

  /**
   * Fetches a file as a Blob of the given MIME type. A large file comes back as a File
   * on disk (see {@link EngineConfig.storage}), never whole in memory; it stays readable
   * while this engine lives.
   */
  async fetchBlob(hash: string, type = '', options: FetchOptions = {}): Promise<Blob> {
    hash = parseHash(hash);
    const key = options.key === undefined ? undefined : parseKey(options.key);
    this.#assertAlive();
    const ciphertext = await this.#fetchRawBlob(hash, key ? '' : type, options);
    if (key === undefined) {
      if (!options.raw) assertNotPrivate(hash, new Uint8Array(await ciphertext.slice(0, PRIVATE_HEADER_BYTES).arrayBuffer()));
      return ciphertext;
    }
    let meta: PrivateMeta | undefined;
    const plain = await blobOf(ciphertext.stream().pipeThrough(decryptStream(key, (m) => (meta = m))));
    return new File([plain], meta!.name, { type: type || meta!.type });
  }

  /** The file's bytes as they travel, as a Blob: {@link fetchBlob} before any decryption. */
  async #fetchRawBlob(hash: string, type: string, options: FetchOptions): Promise<Blob> {
    const held = this.#held.get(hash);
    const local = held?.blob;
    if (local) return this.#pin(hash, local, type);
    // A private share this page seeds: its ciphertext is made as it is read.
    if (held?.complete) return (await blobOf(heldFileStream(held))).slice(0, held.size, type);
    const download = this.#download(hash, { ...options, sequential: false });
    const { store, release } = await this.#attend(download, options).done;
    try {
      if (store.where === 'memory') return new Blob([(await store.bytes()) as Uint8Array<ArrayBuffer>], { type });
      // A File backed by the store's file, which must outlive it: held until the engine goes.
      const blob = await store.blob();
      this.#pinned.add(store.retain());
      return blob.slice(0, blob.size, type);
    } finally {
      release();
    }
  }

  /** `blob` typed as `type`; a held file's disk store is kept while the engine lives, since the Blob reads from it. */
  #pin(hash: string, blob: Blob, type: string): Blob {
    const store = this.#held.get(hash)?.store;
    if (store?.where === 'disk') this.#pinned.add(store.retain());
    return blob.slice(0, blob.size, type);
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
   * as provisional until it closes. Cancelling the stream ends only this
   * caller's share of the download.
   */
  stream(hash: string, options: FetchOptions = {}): ReadableStream<Uint8Array> {
    hash = parseHash(hash);
    const key = options.key === undefined ? undefined : parseKey(options.key);
    this.#assertAlive();
    const local = this.#held.get(hash);
    let raw: ReadableStream<Uint8Array>;
    if (local?.complete) raw = heldFileStream(local);
    else {
      const download = this.#download(hash, { ...options, sequential: true });
      const attendance = this.#attend(download, options);
      raw = downloadStream(download, { done: attendance.done, cancel: (reason) => attendance.leave(reason) });
    }
    return key === undefined && options.raw ? raw : revealStream(hash, raw, key);
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
    if (!set) {
      set = new Set();
      this.#watchers.set(hash, set);
    }
    set.add(callback);
    this.#startNetwork().watch(hash);
    return () => {
      const current = this.#watchers.get(hash);
      if (!current?.delete(callback) || current.size > 0) return;
      this.#watchers.delete(hash);
      this.#tracker?.unwatch(hash);
    };
  }

  /** What this page seeds and downloads, bytes moved, and open peer connections. */
  stats(): EngineStats {
    const links = [...(this.#network?.links() ?? [])];
    let bytesDown = this.#bytesDownBefore + (this.#network?.bytesDownClosed ?? 0);
    for (const link of links) bytesDown += link.bytesReceived;
    return {
      peerId: this.#tracker?.identity?.peerId,
      seeding: [...this.#held.values()]
        .filter((file) => file.complete)
        .map((file) => ({ hash: file.hash, size: file.size, bytesUp: file.bytesUp, downloaders: file.downloaders() })),
      downloading: [...this.#downloads.values()].map((d) => ({ hash: d.hash, ...d.progress() })),
      bytesUp: this.#uploader.bytesUp,
      bytesDown,
      peers: this.#network?.size ?? 0,
      connections: links.map((link) => ({ peerId: link.remoteId, bytesUp: link.bytesSent, bytesDown: link.bytesReceived })),
    };
  }

  /**
   * Finds out why peers might not reach this page: whether the tracker and the
   * signaling server answer, which ICE candidates this network yields against
   * the servers handed out, what kind of NAT it sits behind, and whether the
   * relay works, with a one-line `verdict` a person can act on. Takes a few
   * seconds; never rejects.
   */
  async diagnose(options: { timeout?: number } = {}): Promise<Diagnosis> {
    this.#assertAlive();
    const timeout = options.timeout ?? DIAGNOSE_TIMEOUT;
    const signal = AbortSignal.timeout(timeout);
    let tracker: Diagnosis['tracker'] = 'unreachable';
    let signaling: Diagnosis['signaling'] = 'unreachable';
    try {
      await this.#startNetwork().ready(signal);
      tracker = 'ok';
      await this.#connected(signal);
      signaling = 'ok';
    } catch {
      // Reported as unreachable.
    }
    const servers = this.#iceServers();
    const urlsOf = (server: RTCIceServer) => (Array.isArray(server.urls) ? server.urls : [server.urls]);
    const turn = servers.filter((server) => urlsOf(server).some((url) => /^turns?:/i.test(url)));
    const probe = this.#tracker?.ice?.natProbe ?? [];
    const stunUrls = probe.length >= 2 ? probe : servers.flatMap(urlsOf).filter((url) => /^stuns?:/i.test(url));
    let found: Diagnosis['candidates'] = { host: 0, srflx: 0, relay: 0 };
    let nat: Diagnosis['nat'] = 'unknown';
    let relay: Diagnosis['turn'] = turn.length > 0 ? 'failed' : 'none';
    let stun: Diagnosis['stun'] = stunUrls.length > 0 ? 'failed' : 'none';
    try {
      const gathering = await gatherCandidates([...stunUrls.map((urls) => ({ urls })), ...turn], timeout);
      for (const { type } of gathering.candidates) if (type === 'host' || type === 'srflx' || type === 'relay') found[type]++;
      nat = classifyNat(gathering, stunUrls);
      if (stunUrls.some((url) => !gathering.unanswered.has(url)) && (found.srflx > 0 || nat === 'open')) stun = 'ok';
      if (turn.length > 0 && found.relay > 0) relay = 'ok';
    } catch (err) {
      this.emit('warning', err as Error);
      found = { host: 0, srflx: 0, relay: 0 };
    }
    const diagnosis = { tracker, signaling, candidates: found, stun, nat, turn: relay };
    return { ...diagnosis, verdict: verdictFor(diagnosis) };
  }

  /**
   * How each open peer connection's bytes travel: the ICE candidate pair in use
   * (direct, through a NAT's mapping, or relayed) and the candidates the peer
   * offered.
   */
  async routes(): Promise<Array<LinkRoute & { peerId: string }>> {
    const links = [...(this.#network?.links() ?? [])].filter((link) => link.open);
    const routes = await Promise.all(links.map(async (link) => ({ link, route: await link.route().catch(() => undefined) })));
    return routes.flatMap(({ link, route }) => (route ? [{ peerId: link.remoteId, ...route }] : []));
  }

  /** Stops everything: downloads fail with `DESTROYED`, seeded files are withdrawn, connections close. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const download of this.#downloads.values()) download.fail(new EcdnError('DESTROYED', 'The engine was destroyed.'));
    for (const file of this.#held.values()) file.destroy();
    this.#held.clear();
    for (const timer of this.#seedingReports.values()) clearTimeout(timer);
    this.#seedingReports.clear();
    this.#stopNetwork();
    this.#hasher?.destroy();
    this.#disk?.destroy();
    clearTimeout(this.#sweepTimer);
    for (const release of this.#pinned) release();
    this.#pinned.clear();
    this.removeAllListeners();
  }

  /**
   * Where a download of `manifest`'s file keeps its pieces (see {@link EngineConfig.storage}).
   * Rejects with `NO_SPACE` when it fits neither on disk nor in memory.
   */
  async #storeFor(manifest: Manifest): Promise<PieceStore> {
    const { size } = manifest;
    const mode = this.#config.storage ?? 'auto';
    if (typeof mode === 'object') return mode.open(manifest);
    if (mode === 'memory' || (mode === 'auto' && size < DISK_THRESHOLD)) return this.#memoryStore(manifest, undefined);
    this.#disk ??= new DiskWorker();
    try {
      return await openDiskStore(this.#disk, manifest);
    } catch (err) {
      if (!(err instanceof NoDiskError)) throw err;
      return this.#memoryStore(manifest, err.message);
    }
  }

  /** A memory store for `manifest`'s file, if it fits; `why` says why not on disk, for the warning. */
  #memoryStore(manifest: Manifest, why: string | undefined): PieceStore {
    const { hash, size } = manifest;
    const room = memoryRoom();
    if (size > room) {
      const disk = why ? `there is no room on disk (${why})` : 'storage is set to memory';
      throw new EcdnError('NO_SPACE', `${hash} is ${size} bytes: ${disk}, and more than ${room} bytes will not fit in memory.`, { hash });
    }
    if (why) this.emit('warning', new EcdnError('STORAGE', `Downloading ${hash} into memory: ${why}.`, { hash }));
    return new MemoryPieceStore(size);
  }

  /** The hasher, started on first use: a worker costs a thread and some memory. */
  #hashing(): Hasher {
    this.#hasher ??= createHasher((err) => this.emit('warning', err));
    return this.#hasher;
  }

  /**
   * Serves `file` from this page and tells the tracker, which then offers this
   * page to others who look the file up. A seam for subclasses: the fault
   * suite's lying peer holds a file under a name that is not its hash.
   */
  protected hold(file: HeldFile): void {
    const previous = this.#held.get(file.hash);
    if (previous && previous !== file) {
      this.#uploader.forget(previous.hash);
      previous.destroy();
    }
    this.#held.set(file.hash, file);
    const tracker = this.#startNetwork();
    // A partial copy is announced once it has a piece to give (see #onHave).
    if (file.complete) tracker.announce(file.hash, true);
  }

  /**
   * Makes the uploader that serves this page's files. A seam for subclasses:
   * the fault suite's corrupting and silent peers serve through their own.
   */
  protected createUploader(host: UploaderHost): Uploader {
    return new Uploader(host);
  }

  #assertAlive(): void {
    if (this.destroyed) throw new EcdnError('DESTROYED', 'The engine was destroyed.');
  }

  /** Stops serving `file` (if it is still the one held under its hash) and withdraws it. */
  #release(file: HeldFile): void {
    if (this.#held.get(file.hash) === file) {
      this.#held.delete(file.hash);
      this.#uploader.forget(file.hash);
      this.#tracker?.withdraw(file.hash);
    }
    file.destroy();
  }

  /** A piece of a partial copy verified: tell the peers that follow it, and the tracker at the first. */
  #onHave(file: HeldFile, piece: number): void {
    if (this.#held.get(file.hash) !== file) return;
    for (const link of file.interested) link.send({ type: 'HAVE', hash: file.hash, piece });
    this.#tracker?.announce(file.hash, false);
  }

  /** Emits `seeding` for `file` soon, coalescing the blocks served meanwhile. */
  #reportSeeding(file: HeldFile): void {
    if (this.#seedingReports.has(file.hash)) return;
    this.#seedingReports.set(
      file.hash,
      setTimeout(() => {
        this.#seedingReports.delete(file.hash);
        if (file.destroyed || this.destroyed) return;
        const downloaders = file.downloaders();
        this.emit('seeding', { hash: file.hash, bytesUp: file.bytesUp, downloaders });
        // A downloader counts as one for a while after its last block: look again
        // once it may have gone quiet, so that the count falls back to zero.
        if (downloaders > 0) {
          setTimeout(() => {
            if (!this.#seedingReports.has(file.hash)) this.#reportSeeding(file);
          }, DOWNLOADER_WINDOW_MS);
        }
      }, SEEDING_REPORT_MS),
    );
  }

  /**
   * Starts a download, or joins the one already under way for this file. A caller
   * that wants the bytes resumes one that {@link info} started paused.
   */
  #download(hash: string, options: FetchOptions & { sequential?: boolean; paused?: boolean }): Download {
    const existing = this.#downloads.get(hash);
    if (existing && !existing.destroyed) {
      if (!options.paused) existing.resume();
      return existing;
    }
    this.#startNetwork();
    const download = new Download(hash, this.#downloadHost, {
      maxPeers: options.maxPeers ?? DEFAULT_MAX_PEERS,
      reseed: options.reseed ?? this.#reseedDefault(),
      sequential: options.sequential ?? false,
      paused: options.paused ?? false,
    });
    this.#downloads.set(hash, download);
    download.on('warning', (err) => this.emit('warning', err));
    download.on('ban', (ban) => {
      this.#tracker?.report(hash, ban.peerId, ban.reason);
      this.emit('ban', { hash, ...ban });
    });
    download.on('hold', (file) => this.hold(file));
    download.on('have', ({ file, piece }) => this.#onHave(file, piece));
    download.on('release', (file) => this.#release(file));
    const started = Date.now();
    const forget = () => {
      if (this.#downloads.get(hash) === download) this.#downloads.delete(hash);
    };
    download.done.then((store) => {
      forget();
      const file = this.#held.get(hash);
      if (file?.complete) this.#tracker?.announce(hash, true);
      this.emit('fetched', {
        hash,
        size: store.size,
        ms: Date.now() - started,
        wastedBytes: download.wastedBytes,
        suppliers: [...download.suppliers],
        banned: [...download.banned],
      });
    }, forget);
    return download;
  }

  /**
   * One caller's wait for a shared download, honouring its signal, timeout and
   * progress callback. The caller's own interruption fails only its own wait;
   * the download stops when the last caller left.
   */
  #attend(download: Download, options: FetchOptions): { done: Promise<Retained>; leave(reason: EcdnError): void } {
    const { signal, timeout, onProgress } = options;
    const hash = download.hash;
    download.join();
    let left = false;
    let offProgress: (() => void) | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    let interrupt!: (reason: EcdnError) => void;
    /** Stops listening for this caller; false when it already had. */
    const detach = (): boolean => {
      if (left) return false;
      left = true;
      offProgress?.();
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      return true;
    };
    let interrupted = false;
    const leave = (reason: EcdnError) => {
      if (!detach()) return;
      interrupted = true;
      interrupt(reason);
      download.leave(reason);
    };
    // Retained in a reaction of `done` itself, before the download lets go (see Download.done).
    const retained = download.done.then((store) => {
      const release = store.retain();
      if (interrupted) release();
      return { store, release };
    });
    const done = Promise.race([retained, new Promise<never>((_, reject) => (interrupt = reject))]).finally(detach);
    // A stream's caller reads errors from the stream, not from this promise.
    done.catch(() => {});
    if (signal?.aborted) {
      leave(new EcdnError('ABORTED', 'The fetch was aborted.', { hash, cause: signal.reason }));
      return { done, leave };
    }
    if (onProgress) offProgress = download.on('progress', onProgress);
    if (signal) {
      onAbort = () => leave(new EcdnError('ABORTED', 'The fetch was aborted.', { hash, cause: signal.reason }));
      signal.addEventListener('abort', onAbort, { once: true });
    }
    if (timeout !== undefined) {
      timer = setTimeout(() => leave(new EcdnError('TIMEOUT', `The fetch did not complete within ${timeout} ms.`, { hash })), timeout);
    }
    return { done, leave };
  }

  #reseedDefault(): boolean {
    if (this.#config.reseed !== undefined) return this.#config.reseed;
    const connection = (globalThis.navigator as { connection?: { saveData?: boolean; type?: string } } | undefined)?.connection;
    return !(connection?.saveData || connection?.type === 'cellular');
  }

  readonly #downloadHost: DownloadHost = {
    lookup: async (hash, max, signal) => {
      for (;;) {
        const tracker = this.#startNetwork();
        try {
          return await tracker.lookup(hash, max, signal);
        } catch (err) {
          // A configure() that reconnected destroyed the client mid-lookup: ask the new one.
          const replaced = this.#tracker !== tracker || tracker.destroyed;
          if (!replaced || this.destroyed || signal.aborted) throw err;
        }
      }
    },
    localId: () => this.#tracker?.identity?.peerId,
    connect: async (peerId, signal) => (await this.#connected(signal, { welcome: false })).connect(peerId, signal),
    diagnose: () => this.#diagnoseOnce(),
    verify: (manifest, piece, bytes) => this.#hashing().verify(manifest, piece, bytes),
    store: (manifest) => this.#storeFor(manifest),
  };

  /** One diagnosis shared by the downloads that give up within a minute, so that a page of images runs it once. */
  #diagnoseOnce(): Promise<Diagnosis | undefined> {
    const now = Date.now();
    if (!this.#diagnosis || now - this.#diagnosis.at > 60_000) {
      this.#diagnosis = { at: now, result: this.diagnose({ timeout: 5_000 }).catch(() => undefined) };
    }
    return this.#diagnosis.result;
  }

  /**
   * Waits until this page is welcomed by the tracker and open on the signaling
   * server. A reconnection meanwhile (see {@link configure}) is waited out.
   * Without `welcome`, only until it can dial: open on the signaling server, with
   * the ICE servers to dial with (the page's own, or the server's from a lookup
   * over HTTP), so that a download dials the peers its first lookup found while
   * the tracker's socket is still opening.
   */
  async #connected(signal?: AbortSignal, { welcome = true } = {}): Promise<PeerNetwork> {
    for (;;) {
      this.#assertAlive();
      const tracker = this.#startNetwork();
      const networkOpen = this.#networkOpen!;
      try {
        if (welcome || !(this.#config.iceServers || tracker.ice)) await tracker.ready(signal);
        const network = await networkOpen;
        await network.opened;
        return network;
      } catch (err) {
        const replaced = this.#tracker !== tracker || tracker.destroyed;
        if (!replaced || this.destroyed || signal?.aborted) throw err;
      }
    }
  }

  /** The configured server (or servers): each one's base URL, and its tracker's WebSocket URL. */
  #servers(): Array<{ base: URL; tracker: string }> {
    const { server } = this.#config;
    const list = typeof server === 'string' ? [server] : (server ?? []);
    if (list.length === 0) {
      throw new EcdnError(
        'TRACKER_UNREACHABLE',
        'No EphemeralCDN server is configured: call configure({ server: "https://your-server" }).',
      );
    }
    return list.map((url) => {
      const base = new URL(url);
      const tracker = new URL('tracker', base.href.endsWith('/') ? base : `${base.href}/`);
      tracker.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
      return { base, tracker: tracker.href };
    });
  }

  #startNetwork(): TrackerClient {
    if (this.#tracker) return this.#tracker;
    const servers = this.#servers();
    const tracker = new TrackerClient({
      url: servers.map((server) => server.tracker),
      WebSocket: this.#config.WebSocket,
      // Our own identity, so that the PeerServer connection opens first (on the
      // `identity` event) instead of after the tracker's `welcome`.
      identity: makeIdentity(),
    });
    // Signaling goes to the instance the tracker connection is on: the one known to be up.
    const base = () => servers.find((server) => server.tracker === tracker.url)!.base;
    this.#tracker = tracker;
    for (const file of this.#held.values()) {
      // A partial copy with no piece yet has nothing to offer.
      if (file.hasPieces) tracker.announce(file.hash, file.complete);
    }
    for (const hash of this.#watchers.keys()) tracker.watch(hash);
    tracker.on('warning', (err) => this.emit('warning', err));
    tracker.on('swarm', (status) => {
      for (const callback of this.#watchers.get(status.hash) ?? []) callback(status);
    });
    tracker.on('identity', (identity) => this.#openNetwork(identity, base()));
    tracker.on('connect', () => this.#network?.moveTo(base()));
    tracker.on('ice', () => this.#network?.setIceServers(this.#iceServers()));
    this.#networkOpen = new Promise((resolve) => (this.#resolveNetwork = resolve));
    return tracker;
  }

  #openNetwork(identity: Identity, server: URL): void {
    if (this.#network) {
      // A new identity (the tracker could not resume ours): links made under the
      // old ID die with it, and downloads find their peers again.
      this.#retireNetwork();
      this.#networkOpen = new Promise((resolve) => (this.#resolveNetwork = resolve));
    }
    const network = new PeerNetwork({
      identity,
      server,
      rtcConfig: {
        iceServers: this.#iceServers(),
        ...(this.#config.iceTransportPolicy ? { iceTransportPolicy: this.#config.iceTransportPolicy } : {}),
      },
      maxConnections: this.#config.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      connectTimeout: this.#config.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT,
    });
    this.#network = network;
    network.on('warning', (err) => this.emit('warning', err));
    network.on('link', (link) => this.#onLink(link));
    this.#resolveNetwork?.(network);
  }

  /** The ICE servers in force: the page's own, else the server's. */
  #iceServers(): RTCIceServer[] {
    return this.#config.iceServers ?? this.#tracker?.ice?.iceServers ?? [];
  }

  #onLink(link: PeerLink): void {
    link.on('frame', (frame) => this.#onFrame(link, frame));
    link.on('close', () => {
      for (const file of this.#held.values()) file.interested.delete(link);
      for (const download of this.#downloads.values()) download.onLinkClosed(link);
    });
  }

  #onFrame(link: PeerLink, frame: Frame): void {
    switch (frame.type) {
      case 'MANIFEST_REQUEST':
        void this.#uploader.manifest(link, frame.hash);
        // A peer fetching a file this page is fetching too: trade both ways on its link.
        this.#downloads.get(frame.hash)?.adoptLink(link);
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

  #retireNetwork(): void {
    const network = this.#network;
    if (!network) return;
    let bytesDown = network.bytesDownClosed;
    for (const link of network.links()) bytesDown += link.bytesReceived;
    this.#bytesDownBefore += bytesDown;
    network.destroy();
    this.#network = undefined;
  }

  #stopNetwork(): void {
    this.#retireNetwork();
    this.#networkOpen = undefined;
    this.#resolveNetwork = undefined;
    this.#tracker?.destroy();
    this.#tracker = undefined;
  }
}

/**
 * Most bytes a download may keep in memory: half the device's memory where the browser
 * tells it (Chromium's `navigator.deviceMemory`, in GiB, at most 8), else 2 GiB, and
 * never more than one ArrayBuffer can hold everywhere.
 */
function memoryRoom(): number {
  const gib = (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory;
  const device = gib ? (gib * 1024 ** 3) / 2 : 2 * 1024 ** 3;
  return Math.min(device, 2 ** 31 - 1);
}

/**
 * What a caller gets of a file's verified bytes: the plaintext of a private share given
 * its key, `KEY_REQUIRED` for one without, the bytes themselves (or, with `raw`, always).
 */
async function reveal(hash: string, bytes: Uint8Array, key: Uint8Array<ArrayBuffer> | undefined, raw = false): Promise<Uint8Array> {
  if (key) return (await decryptShare(bytes, key)).data;
  if (!raw) assertNotPrivate(hash, bytes);
  return bytes;
}

/** Bytes of plaintext gathered in memory before they are moved into a Blob. */
const BLOB_BATCH_BYTES = 16 * 1024 * 1024;

/** All of a stream, as a Blob; chunks go into the Blob as they come, so they need not all sit in this heap. */
async function blobOf(stream: ReadableStream<Uint8Array>): Promise<Blob> {
  let blob = new Blob([]);
  let parts: Uint8Array<ArrayBuffer>[] = [];
  let held = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value as Uint8Array<ArrayBuffer>);
    held += value.byteLength;
    if (held >= BLOB_BATCH_BYTES) {
      blob = new Blob([blob, ...parts]);
      parts = [];
      held = 0;
    }
  }
  return new Blob([blob, ...parts]);
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer as ArrayBuffer;
  return bytes.slice().buffer as ArrayBuffer;
}

/** Whether two values of one setting are the same: server lists compare by content. */
function sameSetting(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((value, i) => value === b[i]);
  return a === b;
}
