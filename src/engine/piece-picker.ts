/**
 * Decides which block to ask which peer for next.
 *
 * Pure bookkeeping, no I/O: the caller tells it what peers hold and what landed, and asks
 * it what to request. The policy, in order, for a peer with free capacity:
 *
 * 1. blocks still needed in pieces this peer already works on, so a piece usually comes
 *    from one peer and a piece that fails its hash blames exactly one peer;
 * 2. blocks of started pieces that nobody is fetching any more (their peer left or refused);
 * 3. a new piece the peer holds and we lack: the rarest one (random tie-break), or the
 *    lowest-indexed one with `sequential`; each peer starts its own piece, so several
 *    peers still work in parallel;
 * 4. blocks still needed in pieces other peers work on;
 * 5. endgame: when nothing above is left for this peer, duplicates of blocks in flight at
 *    other peers, oldest request first, at most `endgameMaxRequests` requests per block.
 *    When one copy lands, {@link PiecePicker.onBlock} lists the other requests to CANCEL.
 *
 * A peer that supplied a piece that failed its hash is not given that piece again while
 * a peer that has not failed it holds it.
 */
import type { Block } from './manifest.js';
import type { Clock } from './rate.js';
import { bitfieldHas } from './wire.js';

/** What the picker needs to know about a file; a {@link Manifest} fits. */
export interface PieceSource {
  readonly pieceCount: number;
  pieceLength(i: number): number;
  /** The blocks covering piece `i` exactly, sorted by offset. */
  blocks(i: number): Block[];
}

/** Options of {@link PiecePicker}. */
export interface PiecePickerOptions {
  /** Start new pieces in index order (for in-order streaming) instead of rarest first. */
  sequential?: boolean;
  /** Uniform random number in [0, 1) for tie-breaks. Default `Math.random`. */
  random?: () => number;
  /** Time source in ms for request ages. Default `performance.now()`. */
  now?: Clock;
  /** Most concurrent requests for one block in endgame (the first plus duplicates). Default 2. */
  endgameMaxRequests?: number;
}

/** A block of a piece, as requested with a REQUEST frame. */
export interface BlockRequest {
  piece: number;
  /** Offset inside the piece. */
  offset: number;
  length: number;
}

/** A block requested from a given peer. */
export interface PeerBlockRequest extends BlockRequest {
  peerId: string;
}

/** A block in flight at a peer, with when it was requested. */
export interface InFlightRequest extends BlockRequest {
  /** Clock time of the request, in ms. */
  requestedAt: number;
}

/** What {@link PiecePicker.onBlock} concluded about a block that landed. */
export interface BlockOutcome {
  /** False when the block is not needed (a duplicate, a piece we have, an unknown range): drop its bytes. */
  accepted: boolean;
  /** True when this block was the last one missing: verify the piece now. */
  pieceComplete: boolean;
  /** Requests for the same block at other peers, now pointless: send them CANCEL. */
  cancels: PeerBlockRequest[];
}

/** Why a request was dropped; see {@link PiecePicker.onRejected}. */
export type DropReason = 'NOT_FOUND' | 'NOT_HAVE' | 'BUSY' | 'TIMEOUT';

const MISSING = 0;
const ACTIVE = 1;
const VERIFYING = 2;
const HAVE = 3;

const NEEDED = 0;
const REQUESTED = 1;
const RECEIVED = 2;

/** Block index bits in a request key; 2^20 blocks of 262 KB is far beyond a 32-bit piece. */
const BLOCK_BITS = 2 ** 20;

interface Req {
  peerId: string;
  piece: number;
  block: number;
  at: number;
}

interface Peer {
  has: Uint8Array;
  inflight: Map<number, Req>;
}

interface Progress {
  blocks: Block[];
  state: Uint8Array;
  requests: Req[][];
  /** Blocks in state NEEDED. */
  needed: number;
  received: number;
  /** Requests in flight over all blocks. */
  inflight: number;
  /** Peers given blocks of this piece since it was (re)started. */
  workers: Set<string>;
  /** Peers whose blocks were accepted, for blame. */
  suppliers: Set<string>;
}

/** Tracks pieces, peers and requests of one download and picks what to request next. */
export class PiecePicker {
  /** Number of pieces of the file. */
  readonly pieceCount: number;

  readonly #source: PieceSource;
  readonly #sequential: boolean;
  readonly #random: () => number;
  readonly #now: Clock;
  readonly #maxRequests: number;
  readonly #status: Uint8Array;
  readonly #availability: Uint32Array;
  readonly #peers = new Map<string, Peer>();
  readonly #progress = new Map<number, Progress>();
  readonly #failedFrom = new Map<number, Set<string>>();
  #haveCount = 0;

  constructor(source: PieceSource, opts: PiecePickerOptions = {}) {
    this.#source = source;
    this.pieceCount = source.pieceCount;
    this.#sequential = opts.sequential ?? false;
    this.#random = opts.random ?? Math.random;
    this.#now = opts.now ?? (() => performance.now());
    this.#maxRequests = Math.max(1, opts.endgameMaxRequests ?? 2);
    this.#status = new Uint8Array(this.pieceCount);
    this.#availability = new Uint32Array(this.pieceCount);
  }

  // --- what peers hold ----------------------------------------------------------------

  /**
   * Sets everything `peerId` holds, from a BITFIELD's bits (or `'all'` for a seeder,
   * `'none'` for a peer that has nothing yet), adding the peer if it is new.
   * Requests already in flight at it are kept.
   */
  setAvailability(peerId: string, bits: Uint8Array | 'all' | 'none'): void {
    const peer = this.#peer(peerId);
    for (let i = 0; i < this.pieceCount; i++) {
      const has = bits === 'all' ? true : bits === 'none' ? false : bitfieldHas(bits, i);
      this.#setHas(peer, i, has);
    }
  }

  /** Records a HAVE: `peerId` now holds piece `i`. Adds the peer if it is new. */
  addHave(peerId: string, i: number): void {
    if (i >= 0 && i < this.pieceCount) this.#setHas(this.#peer(peerId), i, true);
  }

  /** Forgets a peer: its pieces no longer count and its blocks in flight go back to the pool. */
  removePeer(peerId: string): void {
    const peer = this.#peers.get(peerId);
    if (!peer) return;
    for (const req of [...peer.inflight.values()]) this.#release(req);
    for (let i = 0; i < this.pieceCount; i++) if (peer.has[i]) this.#availability[i]!--;
    for (const prog of this.#progress.values()) prog.workers.delete(peerId);
    this.#peers.delete(peerId);
  }

  #peer(peerId: string): Peer {
    let peer = this.#peers.get(peerId);
    if (!peer) {
      peer = { has: new Uint8Array(this.pieceCount), inflight: new Map() };
      this.#peers.set(peerId, peer);
    }
    return peer;
  }

  #setHas(peer: Peer, i: number, has: boolean): void {
    if (!!peer.has[i] === has) return;
    peer.has[i] = has ? 1 : 0;
    if (has) this.#availability[i]!++;
    else this.#availability[i]!--;
  }

  // --- what we hold -------------------------------------------------------------------

  /** True when piece `i` is verified. */
  has(i: number): boolean {
    return this.#status[i] === HAVE;
  }

  /** True when every piece is verified (at once for a 0-byte file). */
  isComplete(): boolean {
    return this.#haveCount === this.pieceCount;
  }

  /**
   * Records that piece `i` passed its hash (or was held from the start). Returns requests
   * still out for it, which only exist when it was obtained some other way: CANCEL them.
   */
  onPieceVerified(i: number): PeerBlockRequest[] {
    if (!(i >= 0 && i < this.pieceCount) || this.#status[i] === HAVE) return [];
    const cancels = this.#dropProgress(i);
    this.#status[i] = HAVE;
    this.#haveCount++;
    this.#failedFrom.delete(i);
    return cancels;
  }

  /**
   * Records that piece `i` failed its hash. Its blocks go back to the pool and the
   * peers that supplied them are returned, for the caller to count against them
   * (it bans a peer after 3 failures). From then on, a supplier is given this piece
   * again only when no peer that has not failed it holds it. Requests still in flight for the
   * piece, if any, are forgotten.
   */
  onPieceFailed(i: number): string[] {
    const prog = this.#progress.get(i);
    if (!prog || this.#status[i] === HAVE) return [];
    const suppliers = [...prog.suppliers];
    let failed = this.#failedFrom.get(i);
    if (!failed) {
      failed = new Set();
      this.#failedFrom.set(i, failed);
    }
    for (const id of suppliers) failed.add(id);
    this.#dropProgress(i);
    this.#status[i] = MISSING;
    return suppliers;
  }

  /**
   * Peers whose blocks make up piece `i` so far, while it is downloading or being
   * verified (empty once verified): call it before {@link onPieceVerified} to credit them.
   */
  suppliers(i: number): string[] {
    return [...(this.#progress.get(i)?.suppliers ?? [])];
  }

  #dropProgress(i: number): PeerBlockRequest[] {
    const prog = this.#progress.get(i);
    const cancels: PeerBlockRequest[] = [];
    if (!prog) return cancels;
    for (const reqs of prog.requests) {
      for (const req of reqs) {
        this.#peers.get(req.peerId)?.inflight.delete(keyOf(req.piece, req.block));
        cancels.push(this.#toPeerRequest(req, prog));
      }
    }
    this.#progress.delete(i);
    return cancels;
  }

  // --- requests -----------------------------------------------------------------------

  /** Blocks in flight at `peerId`, oldest first (to CANCEL them when dropping the peer, say). */
  requestsOf(peerId: string): InFlightRequest[] {
    const peer = this.#peers.get(peerId);
    if (!peer) return [];
    const out: InFlightRequest[] = [];
    for (const req of peer.inflight.values()) {
      const block = this.#progress.get(req.piece)!.blocks[req.block]!;
      out.push({ piece: req.piece, offset: block.offset, length: block.length, requestedAt: req.at });
    }
    return out.sort((a, b) => a.requestedAt - b.requestedAt);
  }

  /** Number of blocks in flight at `peerId`. */
  inFlight(peerId: string): number {
    return this.#peers.get(peerId)?.inflight.size ?? 0;
  }

  /**
   * Up to `maxBlocks` new blocks to request from `peerId` now. The caller keeps a
   * pipeline per peer: `maxBlocks = capacity − inFlight(peerId)`, with the capacity from
   * `pipelineCapacity` in rate.ts. Returns an empty list when the peer is unknown or holds
   * nothing we need. The returned blocks count as in flight from this call on.
   */
  next(peerId: string, maxBlocks: number): BlockRequest[] {
    const peer = this.#peers.get(peerId);
    const out: BlockRequest[] = [];
    if (!peer) return out;
    let free = Math.floor(maxBlocks);
    if (!(free > 0) || this.isComplete()) return out;
    const take = (piece: number, prog: Progress): void => {
      for (let b = 0; b < prog.blocks.length && free > 0 && prog.needed > 0; b++) {
        if (prog.state[b] !== NEEDED) continue;
        out.push(this.#assign(peerId, peer, piece, prog, b));
        free--;
      }
    };
    const started = [...this.#progress.keys()].sort((a, b) => a - b);
    const open = (i: number, prog: Progress): boolean => this.#status[i] === ACTIVE && prog.needed > 0 && peer.has[i] === 1;

    // 1. Pieces this peer already works on.
    for (const i of started) {
      if (free <= 0) return out;
      const prog = this.#progress.get(i)!;
      if (open(i, prog) && prog.workers.has(peerId)) take(i, prog);
    }
    // 2. Started pieces nobody is fetching any more.
    for (const i of started) {
      if (free <= 0) return out;
      const prog = this.#progress.get(i)!;
      if (open(i, prog) && prog.inflight === 0 && this.#allowed(peerId, i)) take(i, prog);
    }
    // 3. New pieces.
    while (free > 0) {
      const i = this.#choosePiece(peerId, peer);
      if (i < 0) break;
      take(i, this.#start(i));
    }
    // 4. Pieces other peers work on.
    for (const i of started) {
      if (free <= 0) return out;
      const prog = this.#progress.get(i);
      if (prog && open(i, prog) && this.#allowed(peerId, i)) take(i, prog);
    }
    // 5. Endgame duplicates, oldest request first.
    if (free > 0) {
      const candidates: Array<{ piece: number; prog: Progress; block: number; oldest: number }> = [];
      for (const [i, prog] of this.#progress) {
        if (this.#status[i] !== ACTIVE || peer.has[i] !== 1 || !this.#allowed(peerId, i)) continue;
        for (let b = 0; b < prog.blocks.length; b++) {
          const reqs = prog.requests[b]!;
          if (prog.state[b] !== REQUESTED || reqs.length >= this.#maxRequests || reqs.some((r) => r.peerId === peerId)) continue;
          candidates.push({ piece: i, prog, block: b, oldest: Math.min(...reqs.map((r) => r.at)) });
        }
      }
      candidates.sort((a, b) => a.oldest - b.oldest || a.piece - b.piece || a.block - b.block);
      for (const c of candidates.slice(0, free)) out.push(this.#assign(peerId, peer, c.piece, c.prog, c.block));
    }
    return out;
  }

  /** A peer that supplied a failed copy of piece `i` gets it again only if no untainted peer holds it. */
  #allowed(peerId: string, i: number): boolean {
    const failed = this.#failedFrom.get(i);
    if (!failed?.has(peerId)) return true;
    for (const [id, peer] of this.#peers) if (peer.has[i] === 1 && !failed.has(id)) return false;
    return true;
  }

  #choosePiece(peerId: string, peer: Peer): number {
    let best = -1;
    let bestAvailability = Infinity;
    let ties = 0;
    for (let i = 0; i < this.pieceCount; i++) {
      if (this.#status[i] !== MISSING || peer.has[i] !== 1 || !this.#allowed(peerId, i)) continue;
      if (this.#sequential) return i;
      const a = this.#availability[i]!;
      if (a < bestAvailability) {
        best = i;
        bestAvailability = a;
        ties = 1;
      } else if (a === bestAvailability && this.#random() * ++ties < 1) {
        // Reservoir sampling: each of the k equally rare pieces ends up chosen with probability 1/k.
        best = i;
      }
    }
    return best;
  }

  #start(i: number): Progress {
    const blocks = this.#source.blocks(i);
    if (blocks.length === 0 || blocks.length >= BLOCK_BITS) throw new RangeError(`Piece ${i} has ${blocks.length} blocks.`);
    const prog: Progress = {
      blocks,
      state: new Uint8Array(blocks.length),
      requests: blocks.map(() => []),
      needed: blocks.length,
      received: 0,
      inflight: 0,
      workers: new Set(),
      suppliers: new Set(),
    };
    this.#progress.set(i, prog);
    this.#status[i] = ACTIVE;
    return prog;
  }

  #assign(peerId: string, peer: Peer, piece: number, prog: Progress, b: number): BlockRequest {
    const req: Req = { peerId, piece, block: b, at: this.#now() };
    if (prog.state[b] === NEEDED) {
      prog.state[b] = REQUESTED;
      prog.needed--;
    }
    prog.requests[b]!.push(req);
    prog.inflight++;
    prog.workers.add(peerId);
    peer.inflight.set(keyOf(piece, b), req);
    const block = prog.blocks[b]!;
    return { piece, offset: block.offset, length: block.length };
  }

  /** Takes one request out of the books; its block is needed again if nobody else is fetching it. */
  #release(req: Req): void {
    this.#peers.get(req.peerId)?.inflight.delete(keyOf(req.piece, req.block));
    const prog = this.#progress.get(req.piece);
    if (!prog) return;
    const reqs = prog.requests[req.block]!;
    const at = reqs.indexOf(req);
    if (at < 0) return;
    reqs.splice(at, 1);
    prog.inflight--;
    if (reqs.length === 0 && prog.state[req.block] === REQUESTED) {
      prog.state[req.block] = NEEDED;
      prog.needed++;
    }
  }

  #toPeerRequest(req: Req, prog: Progress): PeerBlockRequest {
    const block = prog.blocks[req.block]!;
    return { peerId: req.peerId, piece: req.piece, offset: block.offset, length: block.length };
  }

  #find(peerId: string, piece: number, offset: number): { peer: Peer | undefined; prog: Progress | undefined; block: number } {
    const peer = this.#peers.get(peerId);
    const prog = this.#progress.get(piece);
    return { peer, prog, block: prog ? findBlock(prog.blocks, offset) : -1 };
  }

  /**
   * Records a block that landed from `peerId`. Accepts it when its piece is being
   * downloaded, the block is still missing, and it was requested from `peerId`; then all
   * requests for it are settled and the ones at other peers are returned to CANCEL.
   * Unrequested blocks are refused so that a peer cannot slip its bytes into a piece
   * that others are supplying (blame would still be exact, but slower and costlier).
   */
  onBlock(peerId: string, piece: number, offset: number, length: number): BlockOutcome {
    const { peer, prog, block } = this.#find(peerId, piece, offset);
    const rejected: BlockOutcome = { accepted: false, pieceComplete: false, cancels: [] };
    if (!prog || block < 0 || this.#status[piece] !== ACTIVE || prog.blocks[block]!.length !== length) {
      // Still settle this peer's own request, so a bad answer frees its capacity.
      const own = block < 0 ? undefined : peer?.inflight.get(keyOf(piece, block));
      if (own) this.#release(own);
      return rejected;
    }
    const own = peer?.inflight.get(keyOf(piece, block));
    if (!own) return rejected;
    if (prog.state[block] === RECEIVED) {
      this.#release(own);
      return rejected;
    }
    const cancels: PeerBlockRequest[] = [];
    for (const req of prog.requests[block]!) {
      this.#peers.get(req.peerId)?.inflight.delete(keyOf(piece, block));
      if (req.peerId !== peerId) cancels.push(this.#toPeerRequest(req, prog));
    }
    prog.inflight -= prog.requests[block]!.length;
    prog.requests[block] = [];
    if (prog.state[block] === NEEDED) prog.needed--;
    prog.state[block] = RECEIVED;
    prog.received++;
    prog.suppliers.add(peerId);
    const pieceComplete = prog.received === prog.blocks.length;
    if (pieceComplete) this.#status[piece] = VERIFYING;
    return { accepted: true, pieceComplete, cancels };
  }

  /**
   * Drops the request for a block at `peerId`: the peer refused it (a REJECT frame fits
   * `block`), or the caller gave up on it (`reason: 'TIMEOUT'`, after sending CANCEL).
   * The block is needed again unless another peer is fetching it. `'NOT_HAVE'` also
   * records that the peer lacks the piece; `'NOT_FOUND'` (the peer lacks the whole file)
   * removes the peer.
   */
  onRejected(peerId: string, block: { piece: number; offset: number; reason?: DropReason }): void {
    const { piece, offset, reason } = block;
    if (reason === 'NOT_FOUND') {
      this.removePeer(peerId);
      return;
    }
    const { peer, block: index } = this.#find(peerId, piece, offset);
    if (!peer) return;
    if (reason === 'NOT_HAVE' && piece >= 0 && piece < this.pieceCount) this.#setHas(peer, piece, false);
    if (index < 0) return;
    const own = peer.inflight.get(keyOf(piece, index));
    if (own) this.#release(own);
  }
}

function keyOf(piece: number, block: number): number {
  return piece * BLOCK_BITS + block;
}

function findBlock(blocks: Block[], offset: number): number {
  let lo = 0;
  let hi = blocks.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const o = blocks[mid]!.offset;
    if (o === offset) return mid;
    if (o < offset) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
