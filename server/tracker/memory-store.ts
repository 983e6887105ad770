import type { SwarmCounts } from './protocol.js';
import type { PeerInfo, PeerRecord, StoreStats, SwarmStore, SwarmUpdate } from './store.js';

/**
 * A peer as the store keeps it: one object however many swarms hold it, so that
 * a swarm entry costs one map slot (this object and the `complete` flag) and the
 * peer's identity is not repeated per hash.
 */
interface Holder {
  readonly peerId: string;
  ip: string;
  country: string | undefined;
  /** Swarms this peer is in; the holder is forgotten when it drops to 0. */
  held: number;
}

/** One hash's holders, each with its `complete` flag, and how many of them are complete. */
class Swarm extends Map<Holder, boolean> {
  seeders = 0;
}

/**
 * The default {@link SwarmStore}: everything in this process's memory.
 *
 * It keeps hash -> swarm, and peer ID -> {@link Holder}. It does not index hashes
 * by peer: `removePeer` is given the peer's hashes by the tracker, which keeps them
 * per connection anyway, so evicting a peer costs what it held, not what the whole
 * tracker holds. Empty swarms and peers holding nothing are deleted at once.
 */
export class MemoryStore implements SwarmStore {
  private readonly swarms = new Map<string, Swarm>();
  private readonly holders = new Map<string, Holder>();
  private entries = 0;

  add(hash: string, peer: PeerInfo, complete: boolean): Promise<SwarmUpdate> {
    let holder = this.holders.get(peer.peerId);
    if (!holder) {
      holder = { peerId: peer.peerId, ip: peer.ip, country: peer.country, held: 0 };
      this.holders.set(peer.peerId, holder);
    } else {
      // The latest announce wins, for every swarm of the peer: a peer ID is at one address at a time.
      holder.ip = peer.ip;
      holder.country = peer.country;
    }
    let swarm = this.swarms.get(hash);
    if (!swarm) {
      swarm = new Swarm();
      this.swarms.set(hash, swarm);
    }
    const previous = swarm.get(holder);
    if (previous === complete) return updated(false, swarm);
    swarm.set(holder, complete);
    if (previous !== undefined) {
      swarm.seeders += complete ? 1 : -1;
    } else {
      if (complete) swarm.seeders++;
      holder.held++;
      this.entries++;
    }
    return updated(true, swarm);
  }

  remove(hash: string, peerId: string): Promise<SwarmUpdate> {
    const holder = this.holders.get(peerId);
    const changed = holder !== undefined && this.removeFromSwarm(hash, holder);
    return updated(changed, this.swarms.get(hash));
  }

  async removePeer(peerId: string, hashes: Iterable<string>): Promise<string[]> {
    const holder = this.holders.get(peerId);
    const removed: string[] = [];
    if (!holder) return removed;
    for (const hash of hashes) if (this.removeFromSwarm(hash, holder)) removed.push(hash);
    return removed;
  }

  /** Returns copies, so callers cannot corrupt the store. */
  async list(hash: string): Promise<PeerRecord[]> {
    const swarm = this.swarms.get(hash);
    const records: PeerRecord[] = [];
    if (!swarm) return records;
    for (const [holder, complete] of swarm) records.push({ peerId: holder.peerId, ip: holder.ip, country: holder.country, complete });
    return records;
  }

  async counts(hash: string): Promise<SwarmCounts> {
    const swarm = this.swarms.get(hash);
    if (!swarm) return { seeders: 0, leechers: 0 };
    return { seeders: swarm.seeders, leechers: swarm.size - swarm.seeders };
  }

  async stats(): Promise<StoreStats> {
    return { swarms: this.swarms.size, peers: this.holders.size, entries: this.entries };
  }

  /** Removes `holder` from `hash`'s swarm; false when it was not in it. */
  private removeFromSwarm(hash: string, holder: Holder): boolean {
    const swarm = this.swarms.get(hash);
    const complete = swarm?.get(holder);
    if (!swarm || complete === undefined) return false;
    swarm.delete(holder);
    if (complete) swarm.seeders--;
    this.entries--;
    if (swarm.size === 0) this.swarms.delete(hash);
    if (--holder.held === 0) this.holders.delete(holder.peerId);
    return true;
  }
}

/** The answer of `add` and `remove`: the promise the interface asks for, and the counts it knows at once. */
function updated(changed: boolean, swarm: Swarm | undefined): Promise<SwarmUpdate> {
  const seeders = swarm?.seeders ?? 0;
  return Promise.resolve({ changed, seeders, leechers: (swarm?.size ?? 0) - seeders });
}
