import { equalBytes } from './hash.js';
import type { Block } from './manifest.js';

/**
 * Bad pieces that get a peer banned from a download. One is enough: a piece counts
 * against a peer only when that peer provably sent wrong bytes (it sent the whole piece,
 * or its blocks differ from the verified copy), and data channels run over DTLS, so
 * bytes cannot change on the way. Tolerating a few, as BitTorrent clients do, only makes
 * sense when blame is a guess.
 */
export const MAX_STRIKES = 1;

/** A peer that reached {@link MAX_STRIKES}. */
export interface Verdict {
  peerId: string;
  /** Proven bad pieces it sent. */
  strikes: number;
}

/**
 * Who sent what, and who is proven to have lied: the bookkeeping behind bans.
 *
 * Blame is certain or absent. A piece that fails its hash counts against its
 * sender only when one peer sent all of it. A piece mixed from several peers
 * (after an endgame or a dropped peer) is kept aside until a good copy verifies;
 * then the blocks that differ name the liars. Strikes are kept by peer ID, so a
 * peer dropped between its bad piece and the verdict is still convicted.
 */
export class Blame {
  /** Proven bad pieces per peer. */
  readonly #strikes = new Map<string, number>();
  /** Who sent each accepted block of the pieces not yet verified: piece → offset → peer. */
  readonly #senders = new Map<number, Map<number, string>>();
  /** Failed pieces mixed from several peers, with who sent each block. */
  readonly #suspects = new Map<number, { bytes: Uint8Array; senders: Map<number, string> }>();

  /** Records that `peerId` sent the accepted block at `offset` of `piece`. */
  sent(piece: number, offset: number, peerId: string): void {
    let senders = this.#senders.get(piece);
    if (!senders) {
      senders = new Map();
      this.#senders.set(piece, senders);
    }
    senders.set(offset, peerId);
  }

  /**
   * `piece` failed its hash with these `bytes`. Returns the peers convicted now:
   * the sole sender of the piece, if it reached {@link MAX_STRIKES}. A mixed piece
   * is copied aside for {@link verified} to judge.
   */
  failed(piece: number, bytes: Uint8Array): Verdict[] {
    const senders = this.#senders.get(piece);
    this.#senders.delete(piece);
    if (!senders) return [];
    const peers = new Set(senders.values());
    if (peers.size === 1) return this.#strike([...peers]);
    this.#suspects.set(piece, { bytes: bytes.slice(), senders });
    return [];
  }

  /**
   * `piece` verified as `good`, laid out in `blocks`. If an earlier copy of it
   * failed, returns the peers convicted by the blocks that differ.
   */
  verified(piece: number, good: Uint8Array, blocks: readonly Block[]): Verdict[] {
    this.#senders.delete(piece);
    const suspect = this.#suspects.get(piece);
    if (!suspect) return [];
    this.#suspects.delete(piece);
    const guilty = new Set<string>();
    for (const { offset, length } of blocks) {
      const peerId = suspect.senders.get(offset);
      if (peerId === undefined || guilty.has(peerId)) continue;
      if (!equalBytes(suspect.bytes.subarray(offset, offset + length), good.subarray(offset, offset + length))) guilty.add(peerId);
    }
    return this.#strike([...guilty]);
  }

  /** Proven bad pieces `peerId` sent. */
  strikes(peerId: string): number {
    return this.#strikes.get(peerId) ?? 0;
  }

  /**
   * Forgets who sent what (the download switched to another manifest, so its
   * pieces start over). Strikes stay: a proven liar stays one.
   */
  restart(): void {
    this.#senders.clear();
    this.#suspects.clear();
  }

  #strike(peers: string[]): Verdict[] {
    const verdicts: Verdict[] = [];
    for (const peerId of peers) {
      const strikes = this.strikes(peerId) + 1;
      this.#strikes.set(peerId, strikes);
      if (strikes >= MAX_STRIKES) verdicts.push({ peerId, strikes });
    }
    return verdicts;
  }
}
