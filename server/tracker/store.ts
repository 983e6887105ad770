import type { SwarmCounts } from './protocol.js';

/** Who a peer is and where it connects from: what nearness ordering needs. */
export interface PeerInfo {
  /** The PeerJS ID the tracker issued to the peer. */
  peerId: string;
  /** The peer's public address as the tracker saw it (IPv4 dotted, or IPv6), or '' when unknown. */
  ip: string;
  /** ISO 3166-1 alpha-2 country of `ip`, when known. */
  country?: string | undefined;
}

/** One holder of one file. */
export interface PeerRecord extends PeerInfo {
  /** True when the peer holds the whole file (a seeder), false for verified parts only (a leecher). */
  complete: boolean;
}

/** Size of everything a store holds. */
export interface StoreStats {
  /** Hashes with at least one holder. */
  swarms: number;
  /** Distinct peer IDs holding at least one hash. */
  peers: number;
  /** (hash, peer) pairs. */
  entries: number;
}

/** One entry a tracker holds through its own connections: what a shared store re-writes after it lost its data. */
export interface StoreEntry {
  hash: string;
  peer: PeerInfo;
  complete: boolean;
}

/**
 * What `add` and `remove` resolve: whether the swarm changed, and its counts after the
 * change, so that the tracker answers an announce without asking the store again.
 */
export interface SwarmUpdate extends SwarmCounts {
  /** True when the swarm's holders or their `complete` flags changed. */
  changed: boolean;
}

/** Whether a shared store can be used now, for `/healthz`. */
export interface StoreHealth {
  /** True while the store answers. */
  up: boolean;
  /** Why not, when not: `unreachable` (never reached yet, or lost) or `rebuilding`. */
  reason?: 'unreachable' | 'rebuilding' | undefined;
  /** Times the store re-wrote this instance's entries after it came back. */
  rebuilds: number;
}

/**
 * Rejection of a store method while a shared store is unreachable, after waiting a
 * little for it to come back. The tracker answers it with `STORE_UNAVAILABLE`.
 */
export class StoreUnavailableError extends Error {
  constructor(message = 'The swarm store is unreachable.') {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The interface a store must implement.
 *
 * A store maps each file hash to the peers that hold it, like bittorrent-tracker's
 * `createSwarm()`: {@link MemoryStore} is the default implementation, and a shared
 * store (Redis, say) can replace it to run several tracker processes. Every method
 * is async for that reason.
 *
 * Rules every implementation follows:
 * - A hash with no holder left does not exist: it is deleted at once, so memory
 *   never grows with dead hashes, and `list`/`counts` of it return empty/zero.
 * - A peer holds a hash at most once; `add` of an existing pair replaces its record
 *   (the latest announce wins, so partial -> complete is an upgrade).
 * - Hashes and peer IDs arrive already validated; the store need not check them.
 * - Methods never throw synchronously; failures reject the returned promise.
 */
export interface SwarmStore {
  /**
   * Records that `peer` holds `hash`, fully or partly. Resolves whether the swarm
   * changed and its counts afterwards (in one step, for a remote store).
   */
  add(hash: string, peer: PeerInfo, complete: boolean): Promise<SwarmUpdate>;
  /** Forgets that `peerId` holds `hash`. Resolves `changed` true when it did hold it, and the counts afterwards. */
  remove(hash: string, peerId: string): Promise<SwarmUpdate>;
  /**
   * Forgets `peerId` in the swarms of `hashes`: every hash it announced through this
   * tracker and did not withdraw (the tracker keeps that list per connection anyway,
   * so the store need not index hashes by peer). Resolves the hashes it did hold,
   * whose swarms therefore changed. A store that keeps its own index may use it instead.
   */
  removePeer(peerId: string, hashes: Iterable<string>): Promise<string[]>;
  /** Every holder of `hash`, in no particular order. */
  list(hash: string): Promise<PeerRecord[]>;
  /** How many holders of `hash` are complete (seeders) and partial (leechers). */
  counts(hash: string): Promise<SwarmCounts>;
  /** Size of the whole store. */
  stats(): Promise<StoreStats>;
  /**
   * Optional, for a store that several trackers share: calls `listener` with each hash
   * whose holders changed other than through this store's own methods (through
   * another tracker, or when the store removed a dead tracker's entries), so that
   * the tracker can push the new counts to its watchers. Changes made through this
   * store's methods are not reported: the tracker that made them already knows.
   * Returns a function that stops the calls. A store used by one tracker alone
   * (the default {@link MemoryStore}) leaves it out.
   */
  onChange?(listener: (hash: string) => void): () => void;
  /**
   * Optional, for a shared store that can lose its data (Redis restarted, or away long
   * enough for other instances to take this one for dead): `entries` lists what this
   * tracker's connected peers hold, and the store re-writes them when it comes back.
   */
  setRebuild?(entries: () => Iterable<StoreEntry>): void;
  /** Optional: whether the store answers now. A store without it always does. */
  health?(): StoreHealth;
}
