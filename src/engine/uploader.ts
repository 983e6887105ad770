import { createLog } from './log.js';
import { HIGH_WATER, type PeerLink } from './peer-link.js';
import { TokenBucket } from './rate.js';
import type { HeldFile } from './held-file.js';
import type { Manifest } from './manifest.js';
import { CLAIM_EXPIRY_MS, FirstPass, type Reveal, TURN_WAIT_MS, Turns } from './super-seed.js';
import { BLOCK_SIZE, MANIFEST_PIECE, type BlockRef, type PieceFrame, type RequestFrame } from './wire.js';

const debug = createLog('ecdn:uploader');

/** Requests queued per link beyond which new ones are rejected as BUSY. */
export const MAX_QUEUED_REQUESTS = 256;

/** What an {@link Uploader} serves from, and whom it tells. */
export interface UploaderHost {
  /** The file this page holds under `hash`, whole or in part. */
  file(hash: string): HeldFile | undefined;
  /** A block of `file` was sent. */
  served(file: HeldFile): void;
  /** Recoverable trouble, such as a file whose manifest could not be computed. */
  warning(err: Error): void;
}

/**
 * Serves what this page holds to the peers that ask: manifests on request, and
 * requested blocks from one queue per link, each drained in order, paced by the
 * channel's backpressure and by the page-wide upload limit. When several links ask at
 * once they are served by turns, a piece each (see {@link Turns}).
 */
export class Uploader {
  /** Payload bytes served since the engine started. */
  bytesUp = 0;

  readonly #host: UploaderHost;
  readonly #queues = new Map<PeerLink, RequestFrame[]>();
  readonly #draining = new WeakSet<PeerLink>();
  #bucket: TokenBucket | undefined;
  /** Super-seeding of the files this page published, until each piece has left once (see super-seed.ts). */
  readonly #firstPasses = new Map<HeldFile, FirstPass<PeerLink>>();
  /** Files whose first pass started (and may be over): a pass is not started twice. */
  readonly #passed = new WeakSet<HeldFile>();
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Whose turn it is to be served: one link, one piece at a time (see {@link Turns}). */
  readonly #turns = new Turns<PeerLink>();
  /** Links waiting for their turn, and how to wake each when it comes. */
  readonly #wakers = new Map<PeerLink, () => void>();
  /** The request each link is being served (out of its queue, waiting for its turn or the bucket). */
  readonly #current = new Map<PeerLink, RequestFrame>();
  /** Requests cancelled while being served: not sent. */
  readonly #cancelled = new WeakSet<RequestFrame>();

  constructor(host: UploaderHost) {
    this.#host = host;
  }

  /** Caps what this page serves, in bytes per second, across all links. `undefined` lifts the cap. */
  setLimit(bytesPerSecond: number | undefined): void {
    if (!bytesPerSecond) this.#bucket = undefined;
    else if (this.#bucket) this.#bucket.setRate(bytesPerSecond);
    else this.#bucket = new TokenBucket(bytesPerSecond, BLOCK_SIZE);
  }

  /**
   * Answers a MANIFEST_REQUEST: the manifest and a BITFIELD of the pieces here,
   * or a REJECT. The link then gets HAVE and LOST news about the file.
   */
  async manifest(link: PeerLink, hash: string): Promise<void> {
    const file = this.#host.file(hash);
    const reject = () => link.send({ type: 'REJECT', hash, piece: MANIFEST_PIECE, offset: 0, length: 0, reason: 'NOT_FOUND' });
    if (!file) return reject();
    let manifest: Manifest;
    try {
      manifest = await file.manifest;
    } catch (err) {
      this.#host.warning(err as Error);
      return reject();
    }
    if (file.destroyed) return reject();
    link.send({ ...manifest.toFrame(), hash });
    link.send({ type: 'BITFIELD', hash, pieceCount: manifest.pieceCount, bits: file.bitfield(manifest.pieceCount) });
    file.interested.add(link);
  }

  /** Queues a request from `link`. */
  request(link: PeerLink, request: RequestFrame): void {
    let queue = this.#queues.get(link);
    if (!queue) {
      queue = [];
      this.#queues.set(link, queue);
      link.on('close', () => {
        this.#queues.delete(link);
        this.#wake(this.#turns.leave(link, Date.now(), true));
        for (const [file, pass] of this.#firstPasses) this.#reveal(file, pass.drop(link));
      });
    }
    if (queue.length >= MAX_QUEUED_REQUESTS) {
      link.send({ ...request, type: 'REJECT', reason: 'BUSY' });
      return;
    }
    queue.push(request);
    if (queue.length === 1) void this.#drain(link, queue);
  }

  /** Drops a queued request that the requester no longer wants. */
  cancel(link: PeerLink, ref: BlockRef): void {
    const queue = this.#queues.get(link);
    if (!queue) return;
    const index = queue.findIndex(
      (r) => r.hash === ref.hash && r.piece === ref.piece && r.offset === ref.offset && r.length === ref.length,
    );
    if (index >= 0) queue.splice(index, 1);
    const current = this.#current.get(link);
    if (
      current &&
      current.hash === ref.hash &&
      current.piece === ref.piece &&
      current.offset === ref.offset &&
      current.length === ref.length
    ) {
      this.#cancelled.add(current);
    }
  }

  /** Drops everything queued for `hash` (the file is no longer held). */
  forget(hash: string): void {
    for (const file of this.#firstPasses.keys()) if (file.hash === hash) this.#firstPasses.delete(file);
    for (const queue of this.#queues.values()) {
      for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.hash === hash) queue.splice(i, 1);
    }
  }

  async #drain(link: PeerLink, queue: RequestFrame[]): Promise<void> {
    if (this.#draining.has(link)) return;
    this.#draining.add(link);
    try {
      while (queue.length > 0 && !link.destroyed) {
        const request = queue.shift()!;
        this.#current.set(link, request);
        try {
          await this.#serve(link, request, queue);
        } catch (err) {
          // A file that can no longer be read (changed or gone on disk: STORAGE) fails
          // this block, not the page: the requester is told and asks elsewhere.
          this.#host.warning(err as Error);
          if (!link.destroyed) link.send({ ...request, type: 'REJECT', reason: 'NOT_HAVE' });
        }
      }
    } finally {
      this.#current.delete(link);
      this.#draining.delete(link);
      this.#wake(this.#turns.idle(link, Date.now()));
    }
  }

  async #serve(link: PeerLink, request: RequestFrame, queue: RequestFrame[]): Promise<void> {
    const file = this.#host.file(request.hash);
    if (!file || file.destroyed) {
      link.send({ ...request, type: 'REJECT', reason: 'NOT_FOUND' });
      return;
    }
    const manifest = await file.manifest;
    const { piece, offset, length } = request;
    if (!file.has(piece) || piece >= manifest.pieceCount || length > BLOCK_SIZE || offset + length > manifest.pieceLength(piece)) {
      link.send({ ...request, type: 'REJECT', reason: 'NOT_HAVE' });
      return;
    }
    const pass = this.#firstPass(file, manifest);
    if (pass?.claimedByOther(link, piece, Date.now())) {
      link.send({ ...request, type: 'REJECT', reason: 'NOT_HAVE' });
      this.#armExpiry();
      return;
    }
    if (!(await this.#turn(link))) {
      // Not served within TURN_WAIT_MS: BUSY, before the requester takes the wait for silence;
      // it asks again and keeps its place in the line.
      link.send({ ...request, type: 'REJECT', reason: 'BUSY' });
      for (const queued of queue.splice(0)) link.send({ ...queued, type: 'REJECT', reason: 'BUSY' });
      return;
    }
    if (link.destroyed || file.destroyed || this.#cancelled.has(request)) return;
    if (pass && !pass.admit(link, piece, Date.now())) {
      link.send({ ...request, type: 'REJECT', reason: 'NOT_HAVE' });
      this.#armExpiry();
      return;
    }
    if (this.#bucket) {
      const wait = this.#bucket.take(length);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    // A full channel (a slow path) must not hold the others back: they take the turn
    // while it drains, and this block still goes when it has.
    if (link.bufferedAmount >= HIGH_WATER) this.#wake(this.#turns.idle(link, Date.now()));
    await link.drained();
    if (link.destroyed || file.destroyed || this.#cancelled.has(request)) return;
    const start = piece * manifest.pieceSize + offset;
    const data = await file.read(start, start + length);
    this.sendPiece(link, { type: 'PIECE', hash: request.hash, piece, offset, data });
    this.bytesUp += length;
    if (pass) {
      this.#reveal(file, pass.served(link, piece, length, Date.now()));
      if (pass.over) this.#firstPasses.delete(file);
    }
    this.#wake(this.#turns.served(link, offset + length >= manifest.pieceLength(piece), Date.now()));
    file.served(link, length);
    this.#host.served(file);
    debug('served %s #%d+%d (%d B) to %s', request.hash.slice(0, 8), piece, offset, length, link.remoteId);
  }

  /**
   * The first pass of a file this page published (held whole from the start, not
   * downloaded), while it lasts. A downloaded copy serves whatever it is asked for:
   * the publisher's pass already spread the pieces.
   */
  #firstPass(file: HeldFile, manifest: Manifest): FirstPass<PeerLink> | undefined {
    let pass = this.#firstPasses.get(file);
    if (pass === undefined && file.complete && !file.store && !this.#passed.has(file)) {
      pass = new FirstPass<PeerLink>(manifest.pieceCount, (i) => manifest.pieceLength(i));
      this.#passed.add(file);
      if (pass.over) return undefined;
      this.#firstPasses.set(file, pass);
    }
    return pass;
  }

  /**
   * Waits for `link`'s turn to be served (see {@link Turns}): true when
   * it came, false after {@link TURN_WAIT_MS} without it or when the link closed.
   */
  async #turn(link: PeerLink): Promise<boolean> {
    if (this.#turns.ask(link, Date.now())) return true;
    const granted = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#wakers.delete(link);
        // A holder that stopped taking blocks (a frozen tab) must not keep everyone waiting.
        const next = this.#turns.stalled(Date.now());
        if (next === link) return resolve(true);
        this.#wake(next);
        this.#turns.leave(link, Date.now());
        resolve(false);
      }, TURN_WAIT_MS);
      this.#wakers.set(link, () => {
        clearTimeout(timer);
        this.#wakers.delete(link);
        resolve(true);
      });
    });
    return granted && !link.destroyed;
  }

  /** Wakes the link just handed the turn. */
  #wake(link: PeerLink | undefined): void {
    if (link) this.#wakers.get(link)?.();
  }

  /** Announces again pieces that were refused, now that they may be served. */
  #reveal(file: HeldFile, reveals: Reveal<PeerLink>[]): void {
    for (const { link, piece } of reveals) if (!link.destroyed) link.send({ type: 'HAVE', hash: file.hash, piece });
  }

  /** Checks for lapsed claims while a link waits for a refused piece (a frozen tab's claim must not hold it forever). */
  #armExpiry(): void {
    if (this.#expiryTimer !== undefined) return;
    this.#expiryTimer = setTimeout(() => {
      this.#expiryTimer = undefined;
      let waiting = false;
      for (const [file, pass] of this.#firstPasses) {
        if (file.destroyed) {
          this.#firstPasses.delete(file);
          continue;
        }
        this.#reveal(file, pass.expire(Date.now()));
        waiting ||= pass.refusing;
      }
      if (waiting) this.#armExpiry();
    }, CLAIM_EXPIRY_MS / 2);
  }

  /** Puts a block on the wire. A seam: the fault suite's corrupting peer overrides it. */
  protected sendPiece(link: PeerLink, frame: PieceFrame): void {
    link.send(frame);
  }
}
