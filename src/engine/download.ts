import { createLog } from './log.js';
import { Blame, type Verdict } from './blame.js';
import type { Diagnosis } from './diagnose.js';
import { Emitter } from './emitter.js';
import { EcdnError } from './errors.js';
import { equalBytes } from './hash.js';
import { HeldFile } from './held-file.js';
import { Manifest } from './manifest.js';
import type { PeerLink } from './peer-link.js';
import { PiecePicker, type PeerBlockRequest } from './piece-picker.js';
import { MemoryPieceStore, type PieceStore } from './piece-store.js';
import { pipelineCapacity, RateMeter } from './rate.js';
import type { LookupResult } from './tracker-client.js';
import { bitfieldHas, MANIFEST_PIECE, type Frame, type ManifestFrame } from './wire.js';

const debug = createLog('ecdn:download');

/** A peer with requests outstanding that sends nothing for this long is dropped as silent. */
export const SILENT_AFTER_MS = 4_000;
/** Connection attempts to one peer before a download gives up on it. */
export const MAX_DIAL_ATTEMPTS = 3;
/**
 * Lookups in a row that leave a download with nobody to download from before it gives
 * up; they are 0.5 s, 1 s and 1.5 s apart, so the swarm has about 3 s to change.
 */
export const EMPTY_LOOKUPS_BEFORE_GIVING_UP = 4;
/** Fewest blocks kept in flight per peer, before its rate is known; then about one second of its rate. */
export const MIN_PIPELINE = 4;

/** Progress of a fetch, as passed to `onProgress`. */
export interface FetchProgress {
  /** Verified bytes so far. */
  received: number;
  /** File size in bytes, or 0 until the manifest arrived. */
  total: number;
  /** Peers currently sending. */
  peers: number;
  /** Download rate over the last few seconds. */
  bytesPerSecond: number;
}

/**
 * What a download needs from its engine. The engine owns the tracker connection
 * and the peer links; a download only asks through these.
 */
export interface DownloadHost {
  /** Asks the tracker who holds `hash`, at most `max` peers, nearest first. */
  lookup(hash: string, max: number, signal: AbortSignal): Promise<LookupResult>;
  /** This page's PeerJS ID, to leave itself out of lookups. */
  localId(): string | undefined;
  /** Opens (or reuses) a link to a peer; rejects when it cannot be reached. */
  connect(peerId: string, signal: AbortSignal): Promise<PeerLink>;
  /** Why peers cannot be reached from here, for a `NO_PEER_REACHABLE` error; never rejects. */
  diagnose?(): Promise<Diagnosis | undefined>;
  /** Checks a piece (in a worker, say); by default {@link Manifest.verifyPiece} on this thread. */
  verify?(manifest: Manifest, piece: number, bytes: Uint8Array): Promise<boolean>;
  /**
   * Where to keep the pieces of `manifest`'s file (on disk, say); by default in memory.
   * Rejects (with `NO_SPACE`, say) when the file fits nowhere: the download fails with that.
   */
  store?(manifest: Manifest): Promise<PieceStore>;
}

export interface DownloadOptions {
  maxPeers: number;
  /** Serve verified pieces while downloading and keep seeding after. */
  reseed: boolean;
  /** Prefer pieces in file order, for streaming. */
  sequential: boolean;
  /** Find peers and a manifest but request no piece until {@link Download.resume}: for `info()`. */
  paused?: boolean;
}

interface PeerState {
  link: PeerLink;
  manifest: Manifest | undefined;
  rate: RateMeter;
  lastDataAt: number;
  bits: Uint8Array | undefined;
  /** Its bitfield lacked pieces: a partial holder, which counts half towards `maxPeers`. */
  partial: boolean;
}

/** Events of a {@link Download}. */
export interface DownloadEvents extends Record<string, unknown> {
  /** A piece was verified; `contiguous` is how many leading pieces are now complete. */
  piece: { index: number; contiguous: number };
  /** A manifest was adopted: the first one, or another one after a `restart`. */
  manifest: Manifest;
  /**
   * The manifest in use was dropped for another one (its holders lied or left):
   * pieces verified so far are gone, and counting starts again from zero.
   */
  restart: undefined;
  progress: FetchProgress;
  /** A peer was banned from this download, with the reason and the bad pieces it had sent. */
  ban: { peerId: string; reason: 'BAD_PIECES' | 'BAD_MANIFEST'; strikes: number };
  /** The partial copy that other peers may download from this page (re-seeding only). */
  hold: HeldFile;
  /** A piece of the held copy was verified and can be served. */
  have: { file: HeldFile; piece: number };
  /** The held copy is no longer valid (the download failed or restarted): stop serving it. */
  release: HeldFile;
  warning: Error;
}

/**
 * One fetch of one file from many peers: it asks the tracker who holds the
 * file, connects to several of them, spreads different pieces over them,
 * verifies each piece and the whole file, and blames and bans peers that lie.
 */
export class Download extends Emitter<DownloadEvents> {
  readonly hash: string;
  /**
   * Resolves with the store holding the verified file. A caller that reads it after
   * this resolves must {@link PieceStore.retain} it in the reaction to this promise
   * (the download lets go of it right after its callers' reactions ran).
   */
  readonly done: Promise<PieceStore>;
  /** Peers banned from this download (they sent bad pieces or a false manifest). */
  readonly banned = new Set<string>();
  /** PeerJS IDs that sent at least one verified piece. */
  readonly suppliers = new Set<string>();
  /** Bytes received that were thrown away: duplicates and pieces that failed their hash. */
  wastedBytes = 0;
  destroyed = false;

  readonly #host: DownloadHost;
  readonly #options: DownloadOptions;
  readonly #abort = new AbortController();
  readonly #peers = new Map<string, PeerState>();
  /** Failed connections and drops per peer; a peer is tried again until {@link MAX_DIAL_ATTEMPTS}. */
  readonly #dialFailures = new Map<string, number>();
  readonly #blame = new Blame();
  readonly #rate = new RateMeter();
  #manifest: Manifest | undefined;
  /** Where verified pieces go, once opened for the manifest in use; with the download's own hold on it. */
  #store: { store: PieceStore; release: () => void } | undefined;
  /** The manifest whose store is being opened. */
  #openingFor: Manifest | undefined;
  /** True once the store is open and what it resumed is checked: pieces may be requested. */
  #storeReady = false;
  /** Pieces being received, one buffer each, until verified and written to the store. */
  readonly #staging = new Map<number, Uint8Array>();
  #picker: PiecePicker | undefined;
  /** The partial copy served to others while re-seeding. */
  #held: HeldFile | undefined;
  /** Callers waiting for this download; the last one to leave stops it. */
  #callers = 0;
  #received = 0;
  #contiguous = 0;
  #finishing = false;
  #resolve!: (store: PieceStore) => void;
  #reject!: (err: Error) => void;
  #tick: ReturnType<typeof setInterval> | undefined;
  #lookups = 0;
  /** Lookups in a row after which no peer was left to download from. */
  #emptyLookups = 0;
  #lookingUp = false;
  #lastLookup = 0;
  #lastProgress = 0;
  #paused: boolean;
  /** The tracker's counts from the latest lookup. */
  #status: { seeders: number; leechers: number } | undefined;

  constructor(hash: string, host: DownloadHost, options: DownloadOptions) {
    super();
    this.hash = hash;
    this.#host = host;
    this.#options = options;
    this.#paused = options.paused ?? false;
    this.done = new Promise<PieceStore>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Callers that only stream still must not see an unhandled rejection.
    this.done.catch(() => {});
    this.#tick = setInterval(() => this.#onTick(), 250);
    void this.#findPeers();
  }

  /** The manifest in use, once one arrived. */
  get manifest(): Manifest | undefined {
    return this.#manifest;
  }

  /** How many leading pieces of the manifest in use are verified (and readable with {@link readPiece}). */
  get contiguous(): number {
    return this.#contiguous;
  }

  /** Seeders and leechers as the tracker counted them at the latest lookup. */
  get status(): { seeders: number; leechers: number } | undefined {
    return this.#status;
  }

  /** Starts requesting pieces, for a download started paused. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const manifest = this.#manifest;
    if (manifest && !this.#store && this.#openingFor !== manifest) void this.#openStore(manifest);
    else this.#pumpAll();
  }

  /**
   * Verified piece `index` of the manifest in use, in a buffer of the caller's. Throws when that
   * piece is not verified yet (see the `piece` event).
   */
  async readPiece(index: number): Promise<Uint8Array> {
    const manifest = this.#manifest;
    const store = this.#store?.store;
    if (!manifest || !store || !this.#picker?.has(index)) {
      // A caller's mistake, not a failure of the download: read only what a `piece` event announced.
      throw new RangeError(`Piece ${index} of ${this.hash} is not verified yet.`);
    }
    const [start, end] = manifest.pieceRange(index);
    return store.readCopy(start, end);
  }

  /**
   * Counts one more caller waiting for this download. A download shared by
   * several callers ends early only when the last of them {@link leave}s.
   */
  join(): void {
    this.#callers++;
  }

  /**
   * One caller stops waiting, for `reason` (its abort, timeout or cancel). When
   * it was the last, the download stops and `done` fails with `reason`.
   */
  leave(reason: EcdnError): void {
    this.#callers = Math.max(0, this.#callers - 1);
    if (this.#callers === 0) this.fail(reason);
  }

  /** Current progress figures. */
  progress(): FetchProgress {
    return {
      received: this.#received,
      total: this.#manifest?.size ?? 0,
      peers: [...this.#peers.values()].filter((p) => p.manifest && p.manifest === this.#manifest).length,
      bytesPerSecond: Math.round(this.#rate.rate()),
    };
  }

  /** Routes a frame about this file from `link`. */
  onFrame(link: PeerLink, frame: Frame): void {
    const peer = this.#peers.get(link.remoteId);
    if (this.destroyed || !peer || peer.link !== link) return;
    switch (frame.type) {
      case 'MANIFEST':
        this.#onManifest(peer, frame);
        return;
      case 'BITFIELD':
        // It follows the peer's MANIFEST on the ordered channel and must describe the same pieces.
        if (!peer.manifest || frame.pieceCount !== peer.manifest.pieceCount) return;
        peer.bits = frame.bits;
        peer.partial = !allSet(frame.bits, frame.pieceCount);
        if (peer.manifest === this.#manifest && this.#picker) {
          this.#picker.setAvailability(link.remoteId, frame.bits);
          this.#pump(peer);
        }
        return;
      case 'HAVE':
        if (this.#manifest && peer.manifest === this.#manifest && this.#picker && frame.piece < this.#manifest.pieceCount) {
          this.#picker.addHave(link.remoteId, frame.piece);
          this.#pump(peer);
        }
        return;
      case 'PIECE':
        this.#onPiece(peer, frame.piece, frame.offset, frame.data);
        return;
      case 'REJECT':
        if (frame.piece === MANIFEST_PIECE) {
          this.#dropPeer(peer, 'it does not hold the file');
          return;
        }
        this.#picker?.onRejected(link.remoteId, frame);
        if (frame.reason === 'BUSY') setTimeout(() => this.#pump(peer), 200);
        else this.#pumpAll();
        return;
      case 'LOST':
        this.#dropPeer(peer, 'it stopped seeding');
        return;
      default:
        return;
    }
  }

  /**
   * Takes `link` as a source: another peer opened it to this page to fetch the same
   * file, so it is a partial holder (or soon one) that a lookup would name only after
   * its first verified piece and at the next lookup. In a crowd, that wait is most of
   * the time lost. The link is open anyway, so it may go past `maxPeers`, up to twice
   * that. A peer with nothing yet sends an empty bitfield and then its `HAVE`s; one
   * that holds nothing answers the manifest request with a `REJECT` and is dropped.
   */
  adoptLink(link: PeerLink): void {
    const id = link.remoteId;
    if (this.destroyed || link.destroyed || this.#peers.has(id) || this.banned.has(id)) return;
    if (this.#peers.size >= this.#options.maxPeers * 2 || (this.#dialFailures.get(id) ?? 0) >= MAX_DIAL_ATTEMPTS) return;
    this.#peers.set(id, { link, manifest: undefined, rate: new RateMeter(), lastDataAt: Date.now(), bits: undefined, partial: false });
    link.send({ type: 'MANIFEST_REQUEST', hash: this.hash });
  }

  /** Called by the engine when a link closes. */
  onLinkClosed(link: PeerLink): void {
    const peer = this.#peers.get(link.remoteId);
    if (peer && peer.link === link) this.#dropPeer(peer, 'its link closed');
  }

  /** Stops the download and fails `done` with `err`. */
  fail(err: EcdnError): void {
    if (this.destroyed) return;
    debug('%s failed: %s', this.hash.slice(0, 8), err.message);
    this.#cleanup(false);
    this.#reject(err);
  }

  #cleanup(keepHeld: boolean): void {
    this.destroyed = true;
    clearInterval(this.#tick);
    this.#abort.abort();
    for (const peer of this.#peers.values()) this.#cancelAll(peer);
    this.#peers.clear();
    this.#staging.clear();
    if (!keepHeld) {
      this.#release();
      this.#dropStore();
    }
    this.removeAllListeners();
  }

  /** Lets go of the store (freed unless a copy served or a caller still holds it). */
  #dropStore(): void {
    this.#store?.release();
    this.#store = undefined;
  }

  #release(): void {
    if (!this.#held) return;
    this.emit('release', this.#held);
    this.#held = undefined;
  }

  async #findPeers(): Promise<void> {
    if (this.#lookingUp || this.destroyed) return;
    this.#lookingUp = true;
    this.#lookups++;
    this.#lastLookup = Date.now();
    try {
      const result = await this.#host.lookup(this.hash, this.#options.maxPeers * 2, this.#abort.signal);
      if (this.destroyed) return;
      this.#status = { seeders: result.seeders, leechers: result.leechers };
      const self = this.#host.localId();
      const fresh = result.peers.filter(
        (id) => id !== self && !this.#peers.has(id) && !this.banned.has(id) && (this.#dialFailures.get(id) ?? 0) < MAX_DIAL_ATTEMPTS,
      );
      debug('%s: tracker says alive=%s, %d peers, %d new', this.hash.slice(0, 8), result.alive, result.peers.length, fresh.length);
      if (!result.alive && this.#peers.size === 0) {
        return this.fail(new EcdnError('DEAD', `The file ${this.hash} is dead: no seeder holds it any more.`, { hash: this.hash }));
      }
      const room = Math.min(Math.ceil(this.#options.maxPeers - this.#load()), this.#options.maxPeers * 2 - this.#peers.size);
      await Promise.all(fresh.slice(0, Math.max(0, room)).map((id) => this.#addPeer(id)));
      if (this.destroyed) return;
      if (this.#peers.size > 0) {
        this.#emptyLookups = 0;
        return;
      }
      // Nobody to download from. Ask again a couple of times before giving up: the
      // swarm may be changing (a seeder coming back, or one that just joined).
      this.#emptyLookups++;
      if (fresh.length === 0 && this.#emptyLookups >= EMPTY_LOOKUPS_BEFORE_GIVING_UP) {
        if (this.banned.size > 0 && result.peers.every((id) => id === self || this.banned.has(id))) {
          return this.fail(
            new EcdnError('HASH_MISMATCH', `Every peer offering ${this.hash} sent bytes that do not match it.`, { hash: this.hash }),
          );
        }
        return this.#unreachable();
      }
      setTimeout(() => void this.#findPeers(), 500 * this.#emptyLookups);
    } catch (err) {
      if (!this.destroyed) this.fail(err instanceof EcdnError ? err : new EcdnError('TRACKER_UNREACHABLE', String(err)));
    } finally {
      this.#lookingUp = false;
    }
  }

  /** Gives up with `NO_PEER_REACHABLE`, saying why when the host can tell. */
  async #unreachable(): Promise<void> {
    const details = await this.#host.diagnose?.();
    // A peer may have turned up while the diagnosis ran.
    if (this.destroyed || this.#peers.size > 0) return;
    const why = details ? ` ${details.verdict}` : '';
    this.fail(
      new EcdnError('NO_PEER_REACHABLE', `None of the peers holding ${this.hash} could be reached.${why}`, { hash: this.hash, details }),
    );
  }

  async #addPeer(peerId: string): Promise<void> {
    let link: PeerLink;
    try {
      link = await this.#host.connect(peerId, this.#abort.signal);
    } catch (err) {
      this.#dialFailures.set(peerId, (this.#dialFailures.get(peerId) ?? 0) + 1);
      debug('%s: could not reach %s: %s', this.hash.slice(0, 8), peerId, (err as Error).message);
      return;
    }
    if (this.destroyed || link.destroyed || this.#peers.has(peerId)) return;
    this.#peers.set(peerId, {
      link,
      manifest: undefined,
      rate: new RateMeter(),
      lastDataAt: Date.now(),
      bits: undefined,
      partial: false,
    });
    link.send({ type: 'MANIFEST_REQUEST', hash: this.hash });
  }

  #onManifest(peer: PeerState, frame: ManifestFrame): void {
    let manifest: Manifest;
    try {
      manifest = Manifest.fromFrame(frame);
      manifest.validate();
    } catch (err) {
      this.#ban(peer.link.remoteId, 'BAD_MANIFEST', (err as Error).message);
      return;
    }
    const current = this.#manifest;
    if (current && sameManifest(current, manifest)) manifest = current;
    peer.manifest = manifest;
    if (!current) this.#adopt(manifest, peer);
    else if (manifest !== current) {
      if (!this.#offered(current)) {
        this.#switchManifest();
        return;
      }
      debug('%s: %s offers a different manifest; kept in reserve', this.hash.slice(0, 8), peer.link.remoteId);
      return;
    }
    if (peer.bits) this.#picker!.setAvailability(peer.link.remoteId, peer.bits);
    this.#pump(peer);
  }

  #adopt(manifest: Manifest, from: PeerState): void {
    debug('%s: manifest from %s: %d B in %d pieces', this.hash.slice(0, 8), from.link.remoteId, manifest.size, manifest.pieceCount);
    this.#manifest = manifest;
    this.#picker = new PiecePicker(manifest, { sequential: this.#options.sequential });
    this.#received = 0;
    this.#contiguous = 0;
    this.#blame.restart();
    for (const peer of this.#peers.values()) {
      if (peer.manifest && sameManifest(peer.manifest, manifest)) {
        peer.manifest = manifest;
        if (peer.bits) this.#picker.setAvailability(peer.link.remoteId, peer.bits);
      }
    }
    this.emit('manifest', manifest);
    // Paused (for info()), it opens no store: a disk store reserves the file's size.
    if (!this.#paused) void this.#openStore(manifest);
  }

  /** Opens the store for `manifest`; pieces are requested once it is open. */
  async #openStore(manifest: Manifest): Promise<void> {
    let store: PieceStore;
    this.#openingFor = manifest;
    try {
      store = this.#host.store ? await this.#host.store(manifest) : new MemoryPieceStore(manifest.size);
    } catch (err) {
      if (this.destroyed || manifest !== this.#manifest) return;
      this.fail(
        err instanceof EcdnError ? err : new EcdnError('NO_SPACE', `No room for ${this.hash}: ${String(err)}`, { hash: this.hash }),
      );
      return;
    }
    const release = store.retain();
    if (this.destroyed || manifest !== this.#manifest) {
      release();
      return;
    }
    this.#store = { store, release };
    if (this.#options.reseed) {
      this.#held = HeldFile.partial(manifest, store);
      this.emit('hold', this.#held);
    }
    if (store.resumed.length > 0) await this.#checkResumed(manifest, store);
    if (this.destroyed || manifest !== this.#manifest) return;
    this.#storeReady = true;
    if (this.#picker!.isComplete()) void this.#finish();
    else this.#pumpAll();
  }

  /**
   * Checks the pieces an earlier page left in the store (see {@link PieceStore.resumed})
   * and counts those that check out, before asking peers for the rest. One that fails is
   * downloaded again like any missing piece.
   */
  async #checkResumed(manifest: Manifest, store: PieceStore): Promise<void> {
    let good = 0;
    for (const piece of store.resumed) {
      if (this.destroyed || manifest !== this.#manifest) return;
      if (piece >= manifest.pieceCount) continue;
      const [start, end] = manifest.pieceRange(piece);
      let ok: boolean;
      try {
        const bytes = (await store.read(start, end)).slice();
        ok = await (this.#host.verify ? this.#host.verify(manifest, piece, bytes) : manifest.verifyPiece(piece, bytes));
      } catch {
        ok = false;
      }
      if (!ok || this.destroyed || manifest !== this.#manifest) continue;
      this.#accept(manifest, piece);
      good++;
    }
    debug('%s: resumed %d of %d pieces left on disk', this.hash.slice(0, 8), good, store.resumed.length);
  }

  #pumpAll(): void {
    for (const peer of this.#peers.values()) this.#pump(peer);
  }

  /** Keeps about one second of the peer's measured rate requested from it. */
  #pump(peer: PeerState): void {
    const picker = this.#picker;
    if (!picker || !this.#storeReady || this.destroyed || this.#paused || peer.manifest !== this.#manifest || peer.link.destroyed) return;
    const id = peer.link.remoteId;
    const target = pipelineCapacity(peer.rate.rate(), { min: MIN_PIPELINE });
    const inFlight = picker.inFlight(id);
    for (const block of picker.next(id, target - inFlight)) {
      peer.link.send({ type: 'REQUEST', hash: this.hash, piece: block.piece, offset: block.offset, length: block.length });
    }
    // The silence clock starts when a peer gets work, not when it last had some.
    if (inFlight === 0) peer.lastDataAt = Date.now();
  }

  #onPiece(peer: PeerState, piece: number, offset: number, data: Uint8Array): void {
    const picker = this.#picker;
    const manifest = this.#manifest;
    const id = peer.link.remoteId;
    if (!picker || !manifest || peer.manifest !== manifest) return;
    const result = picker.onBlock(id, piece, offset, data.byteLength);
    peer.lastDataAt = Date.now();
    peer.rate.add(data.byteLength);
    this.#rate.add(data.byteLength);
    if (!result.accepted) {
      this.wastedBytes += data.byteLength;
      return;
    }
    let staged = this.#staging.get(piece);
    if (!staged) {
      staged = new Uint8Array(manifest.pieceLength(piece));
      this.#staging.set(piece, staged);
    }
    staged.set(data, offset);
    this.#blame.sent(piece, offset, id);
    this.#sendCancels(result.cancels);
    if (result.pieceComplete) void this.#verify(piece);
    this.#pump(peer);
  }

  async #verify(piece: number): Promise<void> {
    const manifest = this.#manifest!;
    const store = this.#store!.store;
    const [start, end] = manifest.pieceRange(piece);
    const bytes = this.#staging.get(piece)!;
    // A piece that fails is received again into a fresh buffer.
    this.#staging.delete(piece);
    const ok = await (this.#host.verify ? this.#host.verify(manifest, piece, bytes) : manifest.verifyPiece(piece, bytes));
    if (this.destroyed || manifest !== this.#manifest) return;
    const picker = this.#picker!;
    if (!ok) {
      this.wastedBytes += end - start;
      picker.onPieceFailed(piece);
      debug('%s: piece %d failed its hash', this.hash.slice(0, 8), piece);
      this.#convict(this.#blame.failed(piece, bytes));
      this.#pumpAll();
      return;
    }
    // Before the write, which may hand the bytes over to the disk worker.
    const verdicts = this.#blame.verified(piece, bytes, manifest.blocks(piece));
    try {
      await store.write(piece, start, bytes);
    } catch (err) {
      if (!this.destroyed && manifest === this.#manifest) this.fail(storeError(this.hash, err));
      return;
    }
    if (this.destroyed || manifest !== this.#manifest) return;
    for (const supplier of picker.suppliers(piece)) this.suppliers.add(supplier);
    this.#convict(verdicts);
    this.#accept(manifest, piece);
    if (picker.isComplete()) void this.#finish();
    else this.#pumpAll();
  }

  /** Counts piece `piece`, verified and in the store: readable, servable, and no longer asked for. */
  #accept(manifest: Manifest, piece: number): void {
    const picker = this.#picker!;
    this.#sendCancels(picker.onPieceVerified(piece));
    this.#received += manifest.pieceLength(piece);
    if (this.#held) {
      this.#held.markHave(piece);
      this.emit('have', { file: this.#held, piece });
    }
    while (this.#contiguous < manifest.pieceCount && picker.has(this.#contiguous)) this.#contiguous++;
    this.emit('piece', { index: piece, contiguous: this.#contiguous });
    this.#reportProgress(false);
  }

  /** Bans the peers blame convicted, even those dropped meanwhile. */
  #convict(verdicts: Verdict[]): void {
    for (const { peerId, strikes } of verdicts) {
      this.#ban(peerId, 'BAD_PIECES', `${strikes} ${strikes === 1 ? 'piece' : 'pieces'} failed their hash`);
    }
  }

  async #finish(): Promise<void> {
    if (this.#finishing) return;
    this.#finishing = true;
    // Every piece checked out, the last one against the address itself, so the
    // chain from SHA-256's initial value to the address was recomputed from these
    // bytes: they are the file, and no second pass is needed.
    const { store, release } = this.#store!;
    this.#reportProgress(true);
    if (this.#held) {
      let blob: Blob;
      try {
        blob = await store.blob();
      } catch (err) {
        this.fail(storeError(this.hash, err));
        return;
      }
      if (this.destroyed) return;
      this.#held.completeWith(blob);
    }
    this.#cleanup(true);
    debug('%s complete: %d B from %d peers, kept in %s', this.hash.slice(0, 8), store.size, this.suppliers.size, store.where);
    this.#resolve(store);
    // After the reactions of the callers waiting on `done`, which retain the store if they read it.
    queueMicrotask(release);
  }

  /** True when a connected peer offers `manifest`. */
  #offered(manifest: Manifest): boolean {
    for (const peer of this.#peers.values()) if (peer.manifest === manifest) return true;
    return false;
  }

  #switchManifest(): void {
    debug('%s: no peer offers the manifest in use any more; switching', this.hash.slice(0, 8));
    this.#release();
    this.#dropStore();
    this.#storeReady = false;
    this.#staging.clear();
    this.#manifest = undefined;
    this.#picker = undefined;
    this.emit('restart', undefined);
    const next = [...this.#peers.values()].find((p) => p.manifest);
    if (next) this.#adopt(next.manifest!, next);
    else void this.#findPeers();
    this.#pumpAll();
  }

  #ban(peerId: string, reason: 'BAD_PIECES' | 'BAD_MANIFEST', why: string): void {
    if (this.banned.has(peerId)) return;
    this.banned.add(peerId);
    this.emit('ban', { peerId, reason, strikes: this.#blame.strikes(peerId) });
    this.emit('warning', new EcdnError('PROTOCOL', `Banned ${peerId} from ${this.hash}: ${why}.`, { hash: this.hash }));
    const peer = this.#peers.get(peerId);
    if (peer) this.#dropPeer(peer, `banned: ${why}`);
  }

  #dropPeer(peer: PeerState, why: string): void {
    const id = peer.link.remoteId;
    if (this.#peers.get(id) !== peer) return;
    debug('%s: dropping %s (%s)', this.hash.slice(0, 8), id, why);
    // A dropped peer may be tried again later, but not forever.
    this.#dialFailures.set(id, (this.#dialFailures.get(id) ?? 0) + 1);
    this.#cancelAll(peer);
    this.#peers.delete(id);
    this.#picker?.removePeer(id);
    const current = this.#manifest;
    if (current && !this.#finishing && !this.#offered(current) && [...this.#peers.values()].some((p) => p.manifest)) {
      // Nobody left can supply the manifest in use (its last holder lied, or left):
      // start over with one that somebody offers.
      this.#switchManifest();
      return;
    }
    this.#pumpAll();
    if (this.#peers.size === 0 && !this.destroyed) void this.#findPeers();
  }

  #cancelAll(peer: PeerState): void {
    for (const { piece, offset, length } of this.#picker?.requestsOf(peer.link.remoteId) ?? []) {
      peer.link.send({ type: 'CANCEL', hash: this.hash, piece, offset, length });
    }
  }

  #sendCancels(cancels: PeerBlockRequest[]): void {
    for (const { peerId, piece, offset, length } of cancels) {
      this.#peers.get(peerId)?.link.send({ type: 'CANCEL', hash: this.hash, piece, offset, length });
    }
  }

  /**
   * How many peers this download has, as counted against `maxPeers`: a partial holder
   * counts half. In a flash crowd most sources are partial, each with pieces the others
   * lack, and a consumer linked to half of the crowd traded far less than one linked to
   * all of it (crowd of 8, docs/performance.md). A lone consumer of whole copies is
   * unchanged, and there are never more than `2 × maxPeers` peers.
   */
  #load(): number {
    let load = 0;
    for (const peer of this.#peers.values()) load += peer.partial ? 0.5 : 1;
    return load;
  }

  #onTick(): void {
    if (this.destroyed || !this.#picker) return;
    const now = Date.now();
    for (const peer of [...this.#peers.values()]) {
      if (this.#picker.inFlight(peer.link.remoteId) > 0 && now - peer.lastDataAt > SILENT_AFTER_MS) {
        this.#dropPeer(peer, `silent for ${now - peer.lastDataAt} ms`);
      }
    }
    // Top up with more peers while there is room: in a crowd, the others become partial
    // holders (and show up in lookups) only once they verified a piece.
    if (this.#load() < this.#options.maxPeers && this.#lookups < 10 && now - this.#lastLookup > 2000) {
      void this.#findPeers();
    }
    this.#reportProgress(false);
  }

  #reportProgress(final: boolean): void {
    const now = Date.now();
    if (!final && now - this.#lastProgress < 100) return;
    this.#lastProgress = now;
    this.emit('progress', this.progress());
  }
}

/** True when `bits` has every one of `count` pieces. */
function allSet(bits: Uint8Array, count: number): boolean {
  for (let i = 0; i < count; i++) if (!bitfieldHas(bits, i)) return false;
  return true;
}

function sameManifest(a: Manifest, b: Manifest): boolean {
  return a.size === b.size && a.pieceSize === b.pieceSize && equalBytes(a.chain, b.chain);
}

/** A store that failed to keep a piece (the disk filled up, say) as the error a download fails with. */
function storeError(hash: string, err: unknown): EcdnError {
  if (err instanceof EcdnError) return err;
  const name = (err as { name?: string }).name;
  const code = name === 'QuotaExceededError' ? 'NO_SPACE' : 'STORAGE';
  return new EcdnError(code, `Could not keep the pieces of ${hash}: ${(err as Error).message ?? String(err)}`, { hash, cause: err });
}
