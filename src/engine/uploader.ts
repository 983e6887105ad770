import { createLog } from './log.js';
import type { PeerLink } from './peer-link.js';
import { TokenBucket } from './rate.js';
import type { Swarm } from './swarm.js';
import { BLOCK_SIZE, type BlockRef, type RequestFrame } from './wire.js';

const debug = createLog('ecdn:uploader');

/** Requests queued per link beyond which new ones are rejected as BUSY. */
export const MAX_QUEUED_REQUESTS = 256;

/** Faults a test can inject into what this page serves. Never set them in production. */
export interface UploadFaults {
  /** Flip bytes in every block served. */
  corrupt?: boolean;
  /** Accept requests and never answer them. */
  silent?: boolean;
}

/**
 * Serves the blocks other peers request from this page: one queue per link,
 * each drained in order, paced by the channel's backpressure and by the
 * page-wide upload limit.
 */
export class Uploader {
  /** Payload bytes served since the engine started. */
  bytesUp = 0;
  /** Test-only faults. */
  faults: UploadFaults = {};

  readonly #swarms: (hash: string) => Swarm | undefined;
  readonly #queues = new Map<PeerLink, RequestFrame[]>();
  readonly #draining = new WeakSet<PeerLink>();
  #bucket: TokenBucket | undefined;

  constructor(swarms: (hash: string) => Swarm | undefined) {
    this.#swarms = swarms;
  }

  /** Caps what this page serves, in bytes per second, across all links. `undefined` lifts the cap. */
  setLimit(bytesPerSecond: number | undefined): void {
    if (!bytesPerSecond) this.#bucket = undefined;
    else if (this.#bucket) this.#bucket.setRate(bytesPerSecond);
    else this.#bucket = new TokenBucket(bytesPerSecond, BLOCK_SIZE);
  }

  /** Queues a request from `link`. */
  request(link: PeerLink, request: RequestFrame): void {
    if (this.faults.silent) return;
    let queue = this.#queues.get(link);
    if (!queue) {
      queue = [];
      this.#queues.set(link, queue);
      link.on('close', () => this.#queues.delete(link));
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
  }

  /** Drops everything queued for `hash` (the file is no longer held). */
  forget(hash: string): void {
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
        await this.#serve(link, request);
      }
    } finally {
      this.#draining.delete(link);
    }
  }

  async #serve(link: PeerLink, request: RequestFrame): Promise<void> {
    const swarm = this.#swarms(request.hash);
    if (!swarm || swarm.destroyed) {
      link.send({ ...request, type: 'REJECT', reason: 'NOT_FOUND' });
      return;
    }
    const manifest = await swarm.manifest;
    const { piece, offset, length } = request;
    if (!swarm.has(piece) || piece >= manifest.pieceCount || length > BLOCK_SIZE || offset + length > manifest.pieceLength(piece)) {
      link.send({ ...request, type: 'REJECT', reason: 'NOT_HAVE' });
      return;
    }
    if (this.#bucket) {
      const wait = this.#bucket.take(length);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    await link.drained();
    if (link.destroyed || swarm.destroyed) return;
    const start = piece * manifest.pieceSize + offset;
    let data = await swarm.read(start, start + length);
    if (this.faults.corrupt) {
      data = data.slice();
      for (let i = 0; i < data.length; i += 997) data[i] ^= 0xff;
    }
    link.send({ type: 'PIECE', hash: request.hash, piece, offset, data });
    this.bytesUp += length;
    swarm.served(link, length);
    debug('served %s #%d+%d (%d B) to %s', request.hash.slice(0, 8), piece, offset, length, link.remoteId);
  }
}
