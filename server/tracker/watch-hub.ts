/**
 * Watches: a connection that sends `watch` for a hash is pushed a `swarm` message
 * whenever that hash's counts change, until it sends `unwatch` or goes away.
 *
 * Per hash, reading the counts and pushing them run one at a time, so a push never
 * goes back in time; the `watch` reply is sent by the same loop as the pushes, so
 * it is never older than a push either. Counts a watcher was already sent are not
 * sent again.
 */
import type { Connection } from './connection.js';
import { ProtocolError, ridOf, swarmStatus, type Rid, type ServerMessage, type SwarmCounts } from './protocol.js';

/** What the hub needs from the tracker. */
export interface WatchHubHost {
  /** The store's counts of `hash`. */
  counts(hash: string): Promise<SwarmCounts>;
  send(conn: Connection, message: ServerMessage): void;
  /** Reading the counts failed; the watchers waiting on a reply are then sent `INTERNAL_ERROR`. */
  countsFailed(hash: string, err: unknown): void;
}

/** A hash somebody watches. */
interface WatchedHash {
  /** Each watcher with the counts it was last sent, or undefined while its `watch` reply is pending. */
  readonly watchers: Map<Connection, string | undefined>;
  readonly replies: Array<{ conn: Connection; rid: Rid | undefined; done: () => void }>;
  dirty: boolean;
  running: boolean;
}

/** Every watch of one tracker. */
export class WatchHub {
  /** True once {@link WatchHub.close} was called: nothing more is pushed. */
  destroyed = false;

  private readonly watched = new Map<string, WatchedHash>();

  /** @param maxPerConnection most hashes one connection may watch at a time */
  constructor(
    private readonly host: WatchHubHost,
    private readonly maxPerConnection: number,
  ) {}

  /** Distinct hashes watched. */
  get size(): number {
    return this.watched.size;
  }

  /**
   * Adds `conn` as a watcher of `hash`; resolves once it was sent the counts.
   * Throws `TOO_MANY_WATCHES` when it already watches as many hashes as it may.
   */
  async watch(conn: Connection, hash: string, rid: Rid | undefined): Promise<void> {
    if (!conn.watches?.has(hash)) {
      if ((conn.watches?.size ?? 0) >= this.maxPerConnection) {
        throw new ProtocolError(
          'TOO_MANY_WATCHES',
          `A connection may watch at most ${this.maxPerConnection} hashes; unwatch one first.`,
          rid,
        );
      }
      (conn.watches ??= new Set()).add(hash);
    }
    let watched = this.watched.get(hash);
    if (!watched) {
      watched = { watchers: new Map(), replies: [], dirty: false, running: false };
      this.watched.set(hash, watched);
    }
    const entry = watched;
    entry.watchers.set(conn, undefined);
    await new Promise<void>((done) => {
      entry.replies.push({ conn, rid, done });
      void this.refresh(hash, entry);
    });
  }

  /** Stops pushing `hash` to `conn`. */
  unwatch(conn: Connection, hash: string): void {
    if (conn.watches?.delete(hash) && conn.watches.size === 0) conn.watches = undefined;
    this.removeWatcher(conn, hash);
  }

  /** Stops every push to `conn`, which is going away. */
  forget(conn: Connection): void {
    if (conn.watches) for (const hash of conn.watches) this.removeWatcher(conn, hash);
    conn.watches = undefined;
  }

  /** Call after any change to the membership of `hash`'s swarm. */
  changed(hash: string): void {
    const watched = this.watched.get(hash);
    if (!watched || this.destroyed) return;
    watched.dirty = true;
    void this.refresh(hash, watched);
  }

  /** Stops all pushes; replies already being read still go out. */
  close(): void {
    this.destroyed = true;
  }

  /** Reads the counts and sends them to whoever has not seen them, until nothing is left to do. */
  private async refresh(hash: string, watched: WatchedHash): Promise<void> {
    if (watched.running) return;
    watched.running = true;
    try {
      while (watched.dirty || watched.replies.length > 0) {
        watched.dirty = false;
        const replies = watched.replies.splice(0);
        try {
          const status = swarmStatus(hash, await this.host.counts(hash));
          const key = `${status.seeders}/${status.leechers}`;
          for (const { conn, rid } of replies) {
            if (!watched.watchers.has(conn)) continue;
            watched.watchers.set(conn, key);
            this.host.send(conn, { type: 'swarm', ...ridOf(rid), ...status });
          }
          for (const [conn, last] of watched.watchers) {
            // `undefined`: a reply is queued for this watcher and will carry fresh counts.
            if (last === undefined || last === key) continue;
            watched.watchers.set(conn, key);
            this.host.send(conn, { type: 'swarm', ...status });
          }
        } catch (err) {
          this.host.countsFailed(hash, err);
          for (const { conn, rid } of replies) {
            this.host.send(conn, {
              type: 'error',
              ...ridOf(rid),
              code: 'INTERNAL_ERROR',
              message: 'The tracker failed to read the counts; retry later.',
            });
          }
        } finally {
          for (const { done } of replies) done();
        }
      }
    } finally {
      watched.running = false;
      if (watched.watchers.size === 0 && this.watched.get(hash) === watched) this.watched.delete(hash);
    }
  }

  private removeWatcher(conn: Connection, hash: string): void {
    const watched = this.watched.get(hash);
    if (!watched) return;
    watched.watchers.delete(conn);
    if (watched.watchers.size === 0 && !watched.running) this.watched.delete(hash);
  }
}
