/**
 * Super-seeding for a file this page published: until every piece has left this page
 * once, each piece goes to one peer only, and a peer asking for a piece that another
 * peer is already getting (or got) from here is refused it with `NOT_HAVE`, so that it
 * takes one nobody has yet and gets the others from the peer that has them. A flash
 * crowd then draws about one copy of the file from the publisher and trades the rest.
 *
 * Every peer may claim as many pieces as it asks for: limiting peers to one piece under
 * way each, or to two peers at a time, was measured slower in a crowd of 8 (31 and 42 s
 * against 26 s), as refused peers sat idle. A lone peer is never refused anything.
 *
 * The refusals are taken back with `HAVE` once they no longer save anything: when the
 * first pass is over, when the peer
 * that claimed the piece left, or when it stopped receiving from here for
 * {@link CLAIM_EXPIRY_MS} (a frozen tab must not hold a piece hostage). Pure bookkeeping, no I/O, so that it can be tested without links.
 */

/** A claim on a piece lapses when its peer was served nothing from here for this long. */
export const CLAIM_EXPIRY_MS = 5_000;

/** A piece to announce again to a peer that was refused it. */
export interface Reveal<L> {
  link: L;
  piece: number;
}

/** The first pass over one published file; see the module comment. */
export class FirstPass<L> {
  readonly #pieceLength: (piece: number) => number;
  readonly #owner: Array<L | undefined>;
  /** Bytes of each piece served to its owner. */
  readonly #sent: Float64Array;
  /** Pieces that reached their owner whole. */
  readonly #whole: Uint8Array;
  #wholeCount = 0;
  /** Pieces refused to each link, to announce again later. */
  readonly #refused = new Map<L, Set<number>>();
  /** When each link was last served a block of this file. */
  readonly #lastServed = new Map<L, number>();
  #over = false;

  constructor(pieceCount: number, pieceLength: (piece: number) => number) {
    this.#pieceLength = pieceLength;
    this.#owner = new Array<L | undefined>(pieceCount).fill(undefined);
    this.#sent = new Float64Array(pieceCount);
    this.#whole = new Uint8Array(pieceCount);
    this.#over = pieceCount <= 1;
  }

  /** True once every piece has reached a peer whole: from then on, everything is served to everyone. */
  get over(): boolean {
    return this.#over;
  }

  /** True when some link waits for a piece it was refused. */
  get refusing(): boolean {
    return this.#refused.size > 0;
  }

  /**
   * Whether to serve `link` a block of `piece` now. A piece nobody claimed is claimed
   * by `link`; one claimed by another link is refused (and remembered, to be
   * announced again) while the first pass lasts, unless that claim lapsed.
   */
  admit(link: L, piece: number, now: number): boolean {
    if (this.#over || piece < 0 || piece >= this.#owner.length) return true;
    const owner = this.#owner[piece];
    // A piece that reached its owner whole stays there; a claim under way may lapse.
    if (owner === link) return true;
    const free = owner === undefined || (!this.#whole[piece] && this.#lapsed(owner, now));
    if (free) {
      this.#owner[piece] = link;
      this.#sent[piece] = 0;
      this.#lastServed.set(link, now);
      return true;
    }
    let refused = this.#refused.get(link);
    if (!refused) {
      refused = new Set();
      this.#refused.set(link, refused);
    }
    refused.add(piece);
    return false;
  }

  /** The refusals of pieces nobody claims (any more), to take back. */
  #unclaimedRefusals(): Reveal<L>[] {
    const unclaimed: number[] = [];
    for (let p = 0; p < this.#owner.length; p++) if (this.#owner[p] === undefined) unclaimed.push(p);
    return this.#take(unclaimed);
  }

  /**
   * Records `bytes` of `piece` served to `link`. Returns the refusals to take back
   * when this ended the first pass.
   */
  served(link: L, piece: number, bytes: number, now: number): Reveal<L>[] {
    this.#lastServed.set(link, now);
    if (this.#over || this.#owner[piece] !== link || this.#whole[piece]) return [];
    this.#sent[piece] = this.#sent[piece]! + bytes;
    if (this.#sent[piece]! < this.#pieceLength(piece)) return [];
    this.#whole[piece] = 1;
    if (++this.#wholeCount < this.#owner.length) return [];
    this.#over = true;
    const all: Reveal<L>[] = [];
    for (const [l, pieces] of this.#refused) for (const p of pieces) all.push({ link: l, piece: p });
    this.#refused.clear();
    this.#lastServed.clear();
    return all;
  }

  /**
   * Forgets a link that closed. The pieces it claimed are free again, even those it
   * got whole (its copy left with it); the links refused them may ask again.
   */
  drop(link: L): Reveal<L>[] {
    this.#refused.delete(link);
    this.#lastServed.delete(link);
    if (this.#over) return [];
    for (let p = 0; p < this.#owner.length; p++) {
      if (this.#owner[p] !== link) continue;
      this.#owner[p] = undefined;
      this.#sent[p] = 0;
      if (this.#whole[p]) {
        this.#whole[p] = 0;
        this.#wholeCount--;
      }
    }
    return this.#unclaimedRefusals();
  }

  /** Takes back the refusals of pieces whose claims lapsed by `now`, which become free. */
  expire(now: number): Reveal<L>[] {
    if (this.#over) return [];
    for (let p = 0; p < this.#owner.length; p++) {
      const owner = this.#owner[p];
      if (owner === undefined || this.#whole[p] || !this.#lapsed(owner, now)) continue;
      this.#owner[p] = undefined;
      this.#sent[p] = 0;
    }
    return this.#unclaimedRefusals();
  }

  #lapsed(owner: L, now: number): boolean {
    return now - (this.#lastServed.get(owner) ?? Number.NEGATIVE_INFINITY) > CLAIM_EXPIRY_MS;
  }

  /** Removes and returns the refusals of `pieces`. */
  #take(pieces: number[]): Reveal<L>[] {
    const out: Reveal<L>[] = [];
    if (pieces.length === 0) return out;
    for (const [link, refused] of this.#refused) {
      for (const p of pieces) if (refused.delete(p)) out.push({ link, piece: p });
      if (refused.size === 0) this.#refused.delete(link);
    }
    return out;
  }
}
