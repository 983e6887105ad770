import type { SwarmCounts } from './protocol.js';
import type { PeerInfo, PeerRecord, StoreStats, SwarmStore } from './store.js';

interface Swarm {
  peers: Map<string, PeerRecord>;
  seeders: number;
}

/**
 * The default {@link SwarmStore}: everything in this process's memory.
 *
 * Two indexes are kept in step: hash -> swarm, and peer ID -> hashes, so that
 * evicting a peer costs what it held, not what the whole tracker holds.
 * Empty swarms and peers holding nothing are deleted at once.
 */
export class MemoryStore implements SwarmStore {
  private readonly swarms = new Map<string, Swarm>();
  private readonly byPeer = new Map<string, Set<string>>();
  private entries = 0;

  async add(hash: string, peer: PeerInfo, complete: boolean): Promise<boolean> {
    let swarm = this.swarms.get(hash);
    if (!swarm) {
      swarm = { peers: new Map(), seeders: 0 };
      this.swarms.set(hash, swarm);
    }
    const previous = swarm.peers.get(peer.peerId);
    const record: PeerRecord = { peerId: peer.peerId, ip: peer.ip, country: peer.country, complete };
    swarm.peers.set(peer.peerId, record);
    if (previous) {
      if (previous.complete === complete) return false;
      swarm.seeders += complete ? 1 : -1;
      return true;
    }
    if (complete) swarm.seeders++;
    this.entries++;
    let hashes = this.byPeer.get(peer.peerId);
    if (!hashes) {
      hashes = new Set();
      this.byPeer.set(peer.peerId, hashes);
    }
    hashes.add(hash);
    return true;
  }

  async remove(hash: string, peerId: string): Promise<boolean> {
    if (!this.removeFromSwarm(hash, peerId)) return false;
    const hashes = this.byPeer.get(peerId);
    if (hashes) {
      hashes.delete(hash);
      if (hashes.size === 0) this.byPeer.delete(peerId);
    }
    return true;
  }

  async removePeer(peerId: string): Promise<string[]> {
    const hashes = this.byPeer.get(peerId);
    if (!hashes) return [];
    this.byPeer.delete(peerId);
    for (const hash of hashes) this.removeFromSwarm(hash, peerId);
    return [...hashes];
  }

  async list(hash: string): Promise<PeerRecord[]> {
    const swarm = this.swarms.get(hash);
    return swarm ? [...swarm.peers.values()].map((record) => ({ ...record })) : [];
  }

  async counts(hash: string): Promise<SwarmCounts> {
    const swarm = this.swarms.get(hash);
    if (!swarm) return { seeders: 0, leechers: 0 };
    return { seeders: swarm.seeders, leechers: swarm.peers.size - swarm.seeders };
  }

  async stats(): Promise<StoreStats> {
    return { swarms: this.swarms.size, peers: this.byPeer.size, entries: this.entries };
  }

  private removeFromSwarm(hash: string, peerId: string): boolean {
    const swarm = this.swarms.get(hash);
    const record = swarm?.peers.get(peerId);
    if (!swarm || !record) return false;
    swarm.peers.delete(peerId);
    if (record.complete) swarm.seeders--;
    this.entries--;
    if (swarm.peers.size === 0) this.swarms.delete(hash);
    return true;
  }
}
