/**
 * The swarm stores that the tracker suites run against: the in-memory default and
 * RedisStore on a real redis-server. A suite runs once per kind:
 *
 *     for (const kind of storeKinds) {
 *       describe(`tracker (${kind.name} store)`, { skip: kind.skip }, () => {
 *         const start = trackersOn(kind); // server/tracker/test-helpers.ts
 *         it('…', async () => { const t = await start(); … });
 *       });
 *     }
 *
 * Without `trackersOn`: open a store with {@link StoreKind.open}, call
 * {@link StoreKind.reset} after each test once its tracker closed, and
 * {@link StoreKind.stop} after the last.
 *
 * The Redis kind starts one redis-server on first use and keeps it until
 * {@link StoreKind.stop}. Each store it opens has a key prefix of its own, and
 * {@link StoreKind.reset} empties the database, so that no test sees another's
 * entries. Without redis-server the Redis kind's `skip` says why, unless
 * `ECDN_REQUIRE_REDIS=1`, where importing this module throws (see redis.ts).
 */
import assert from 'node:assert/strict';
import { createClient, type RedisClientType } from '@redis/client';
import type { ServerOptions } from '../../server/create-server.js';
import { MemoryStore } from '../../server/tracker/memory-store.js';
import { RedisStore } from '../../server/tracker/redis-store.js';
import type { SwarmStore } from '../../server/tracker/store.js';
import { redisSkip, startRedis, type RunningRedis } from './redis.js';

export interface StoreKind {
  /** For test titles. */
  readonly name: 'memory' | 'redis';
  /** Why this kind's tests are skipped (redis-server missing), or false; for `describe(…, { skip })`. */
  readonly skip: string | false;
  /** A new, empty store, started and ready; closed by {@link StoreKind.reset}. */
  open(): Promise<SwarmStore>;
  /** What `createServer` needs to make a store of this kind itself: nothing, or `redisUrl` and `secret`. */
  serverOptions(): Promise<Pick<ServerOptions, 'redisUrl' | 'secret'>>;
  /**
   * Closes the stores opened since the last reset and empties Redis. Call it after
   * the trackers using them closed. Fails the test if a store warned meanwhile.
   */
  reset(): Promise<void>;
  /** Stops redis-server, if it was started. Call it once, after the kind's last test. */
  stop(): Promise<void>;
}

/** The in-memory store, also alone, for tests that never reach the store. */
export const memoryKind: StoreKind = {
  name: 'memory',
  skip: false,
  open: async () => new MemoryStore(),
  serverOptions: async () => ({}),
  reset: async () => {},
  stop: async () => {},
};

/** The secret that createServer needs with `redisUrl`; any will do for one instance. */
const SERVER_SECRET = Buffer.from('stores-test-secret');

function redisKind(): StoreKind {
  let redis: Promise<RunningRedis> | undefined;
  let admin: RedisClientType | undefined;
  let opened: RedisStore[] = [];
  let warnings: string[] = [];
  let n = 0;
  const running = () => (redis ??= startRedis());
  return {
    name: 'redis',
    skip: redisSkip(),
    async open() {
      const store = new RedisStore({ url: (await running()).url, prefix: `test${n++}:` });
      store.on('warning', (warning) => warnings.push(warning.message));
      opened.push(store);
      await store.start();
      return store;
    },
    async serverOptions() {
      return { redisUrl: (await running()).url, secret: SERVER_SECRET };
    },
    async reset() {
      await Promise.all(opened.map((store) => store.close()));
      opened = [];
      if (redis) {
        if (!admin) {
          admin = createClient({ url: (await redis).url }) as RedisClientType;
          await admin.connect();
        }
        await admin.flushDb();
      }
      const seen = warnings;
      warnings = [];
      assert.deepEqual(seen, [], 'the Redis store warned');
    },
    async stop() {
      await Promise.all(opened.map((store) => store.close()));
      opened = [];
      if (admin) await admin.close();
      admin = undefined;
      if (redis) await (await redis).stop();
      redis = undefined;
    },
  };
}

/** The in-memory store, then RedisStore. */
export const storeKinds: readonly StoreKind[] = [memoryKind, redisKind()];

/**
 * `store` with the methods in `replace` swapped in: every other method, including
 * the optional ones a shared store has (so whether it rebuilds), is `store`'s.
 */
export function wrapStore<T extends Partial<SwarmStore>>(store: SwarmStore, replace: T): SwarmStore & T {
  return {
    add: (hash, peer, complete) => store.add(hash, peer, complete),
    remove: (hash, peerId) => store.remove(hash, peerId),
    removePeer: (peerId, hashes) => store.removePeer(peerId, hashes),
    list: (hash) => store.list(hash),
    counts: (hash) => store.counts(hash),
    stats: () => store.stats(),
    onChange: store.onChange?.bind(store),
    setRebuild: store.setRebuild?.bind(store),
    health: store.health?.bind(store),
    ...replace,
  };
}
