/**
 * Super-seeding for a file this page published: until every piece has left this page
 * once, each piece goes to one peer only, and a peer asking for a piece that another
 * peer is already getting (or got) from here is refused it with `NOT_HAVE`, so that it
 * takes one nobody has yet and gets the others from the peer that has them. A flash
 * crowd then draws about one copy of the file from the publisher and trades the rest.
 *
 * Every peer may claim as many pieces as it asks for: limiting peers to one piece under
 * way each, or to two peers at a time, was measured slower in a crowd of 8 (31 and 42 s
 * against 26 s), as peers refused with `NOT_HAVE` sat idle until a `HAVE` took it back.
 * Who is served when is {@link Turns}' business, which makes the others wait and answers
 * `BUSY`. A lone peer is never refused anything.
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

  /**
   * Whether {@link admit} would refuse `link` `piece` now (it is another link's), recording
   * the refusal as {@link admit} does; a free piece is not claimed. For a request that must
   * wait before being served: it learns at once that it should ask elsewhere.
   */
  claimedByOther(link: L, piece: number, now: number): boolean {
    if (this.#over || piece < 0 || piece >= this.#owner.length) return false;
    const owner = this.#owner[piece];
    if (owner === undefined || owner === link || (!this.#whole[piece] && this.#lapsed(owner, now))) return false;
    return !this.admit(link, piece, now);
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

/**
 * A waiting link is answered `BUSY` after this long without its turn, so that it is never
 * silent long enough for the requester to drop it (`SILENT_AFTER_MS`, 4 s, in download.ts);
 * it asks again about 200 ms later and keeps its place in the line.
 */
export const TURN_WAIT_MS = 2_500;
/** A turn passes on after this long even mid-piece, so that a slow link does not hold it. */
export const TURN_MAX_MS = 2_000;

/**
 * Whose turn it is to be served by this page: one link at a time, for one piece, then
 * the link that has waited longest. Split eight ways, a 1 MB/s publisher gets every
 * consumer's first 1 MiB piece to it after 8 s, all at once, and the consumers have
 * nothing to trade until then (and the last pieces of the file come as late, all at once);
 * served one after the other, the first piece is whole after 1 s, the next after 2 s, and
 * each is traded from then on. The same holds for a consumer passing on a piece it has:
 * the first peer it served can pass it on after 1 s instead of 7. A lone link always
 * has the turn, so it is never slowed.
 *
 * Pure bookkeeping: the uploader holds the waiting requests and wakes the link handed the turn.
 */
export class Turns<L> {
  #holder: L | undefined;
  /** When the holder got the turn, and when it was last served. */
  #since = 0;
  #lastServed = 0;
  /** Links waiting now, with when each began waiting (kept across its BUSY answers, until it is served). */
  readonly #waiting = new Set<L>();
  readonly #waitingSince = new Map<L, number>();

  /** The link whose turn it is, if any. */
  get holder(): L | undefined {
    return this.#holder;
  }

  /**
   * Whether `link` may be served now. A link asking with nobody holding the turn gets it;
   * otherwise it joins the line (see {@link handOver}) and must wait to be handed the turn.
   */
  ask(link: L, now: number): boolean {
    if (this.#holder === link) return true;
    if (this.#holder === undefined) {
      this.#give(link, now);
      return true;
    }
    this.#waiting.add(link);
    if (!this.#waitingSince.has(link)) this.#waitingSince.set(link, now);
    return false;
  }

  /**
   * Records a block served to `link`. When it was the holder and finished a piece
   * (`pieceEnd`) or held the turn for {@link TURN_MAX_MS}, the turn passes to the link
   * waiting longest, which is returned to be woken.
   */
  served(link: L, pieceEnd: boolean, now: number): L | undefined {
    this.#waitingSince.delete(link);
    if (this.#holder !== link) return undefined;
    this.#lastServed = now;
    if (!pieceEnd && now - this.#since < TURN_MAX_MS) return undefined;
    return this.#next(now);
  }

  /**
   * The holder has nothing more to ask for now: the turn passes to the link waiting
   * longest, or to whoever asks next (a link that finished must not hold it).
   */
  idle(link: L, now: number): L | undefined {
    if (this.#holder !== link) return undefined;
    this.#holder = undefined;
    return this.#next(now);
  }

  /**
   * `link` stops waiting (it was answered BUSY; it keeps its place in the line) or
   * left for good (`gone`). A holder that leaves hands the turn on.
   */
  leave(link: L, now: number, gone = false): L | undefined {
    this.#waiting.delete(link);
    if (gone) this.#waitingSince.delete(link);
    if (this.#holder !== link) return undefined;
    this.#holder = undefined;
    return this.#next(now);
  }

  /** A holder served nothing for {@link TURN_MAX_MS} while others wait (a stalled link): the turn passes on. */
  stalled(now: number): L | undefined {
    if (this.#holder === undefined || now - Math.max(this.#since, this.#lastServed) < TURN_MAX_MS) return undefined;
    return this.#next(now);
  }

  /** Hands the turn to the link waiting longest, if one waits now; the holder keeps it otherwise. */
  #next(now: number): L | undefined {
    let best: L | undefined;
    let bestSince = Number.POSITIVE_INFINITY;
    for (const link of this.#waiting) {
      const since = this.#waitingSince.get(link) ?? now;
      if (since < bestSince) {
        best = link;
        bestSince = since;
      }
    }
    if (best === undefined) return undefined;
    this.#give(best, now);
    return best;
  }

  #give(link: L, now: number): void {
    this.#holder = link;
    this.#since = now;
    this.#lastServed = now;
    this.#waiting.delete(link);
  }
}
