/**
 * The contract of a {@link SwarmStore} (store.ts), run against every store: the
 * in-memory default and RedisStore on a real redis-server (skipped, with one line
 * saying so, where redis-server is not installed).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { redisSkip, startRedis, type RunningRedis } from '../../test/helpers/redis.js';
import { MemoryStore } from './memory-store.js';
import { RedisStore } from './redis-store.js';
import type { SwarmStore } from './store.js';

const H1 = '1'.repeat(64);
const H2 = '2'.repeat(64);
const peer = (peerId: string, ip = '1.2.3.4', country?: string) => ({ peerId, ip, country });

/** Runs the contract against the stores `open` makes, one per case. */
function storeContract(name: string, open: () => Promise<SwarmStore>): void {
  describe(name, () => {
    it('counts seeders and leechers and lists holders', async () => {
      const store = await open();
      // add resolves whether the swarm changed and its counts after the change.
      assert.deepEqual(await store.add(H1, peer('a', '1.1.1.1', 'US'), true), { changed: true, seeders: 1, leechers: 0 });
      assert.deepEqual(await store.add(H1, peer('b'), false), { changed: true, seeders: 1, leechers: 1 });
      assert.deepEqual(await store.add(H1, peer('c'), true), { changed: true, seeders: 2, leechers: 1 });
      assert.deepEqual(await store.counts(H1), { seeders: 2, leechers: 1 });
      const list = await store.list(H1);
      assert.deepEqual(
        list.sort((x, y) => x.peerId.localeCompare(y.peerId)),
        [
          { peerId: 'a', ip: '1.1.1.1', country: 'US', complete: true },
          { peerId: 'b', ip: '1.2.3.4', country: undefined, complete: false },
          { peerId: 'c', ip: '1.2.3.4', country: undefined, complete: true },
        ],
      );
      assert.deepEqual(await store.stats(), { swarms: 1, peers: 3, entries: 3 });
    });

    it('answers the lookups of one turn each with its own swarm (a remote store reads them together)', async () => {
      const store = await open();
      await Promise.all([store.add(H1, peer('a'), true), store.add(H1, peer('b', '5.6.7.8'), false), store.add(H2, peer('c'), true)]);
      const ids = (records: Array<{ peerId: string }>) => records.map((r) => r.peerId).sort();
      const [one, two, none, again] = await Promise.all([store.list(H1), store.list(H2), store.list('3'.repeat(64)), store.list(H1)]);
      assert.deepEqual([ids(one), ids(two), ids(none), ids(again)], [['a', 'b'], ['c'], [], ['a', 'b']]);
      assert.deepEqual(
        one.find((r) => r.peerId === 'b'),
        { peerId: 'b', ip: '5.6.7.8', country: undefined, complete: false },
      );
    });

    it('upgrades partial to complete (and the latest announce wins), counting each peer once', async () => {
      const store = await open();
      await store.add(H1, peer('a'), false);
      assert.deepEqual(await store.counts(H1), { seeders: 0, leechers: 1 });
      assert.deepEqual(await store.add(H1, peer('a'), true), { changed: true, seeders: 1, leechers: 0 });
      assert.deepEqual(await store.counts(H1), { seeders: 1, leechers: 0 });
      assert.deepEqual(await store.add(H1, peer('a'), true), { changed: false, seeders: 1, leechers: 0 }, 'a repeat changes nothing');
      assert.deepEqual(await store.add(H1, peer('a'), false), { changed: true, seeders: 0, leechers: 1 });
      assert.deepEqual(await store.counts(H1), { seeders: 0, leechers: 1 });
      assert.deepEqual(await store.stats(), { swarms: 1, peers: 1, entries: 1 });
    });

    it('deletes empty swarms and peers at once', async () => {
      const store = await open();
      await store.add(H1, peer('a'), true);
      await store.add(H2, peer('a'), true);
      await store.add(H2, peer('b'), false);
      // remove resolves whether the peer held the hash and the counts left.
      assert.deepEqual(await store.remove(H2, 'b'), { changed: true, seeders: 1, leechers: 0 });
      assert.deepEqual(await store.add(H2, peer('b'), false), { changed: true, seeders: 1, leechers: 1 });
      assert.deepEqual(await store.remove(H1, 'a'), { changed: true, seeders: 0, leechers: 0 });
      assert.deepEqual(await store.remove(H1, 'a'), { changed: false, seeders: 0, leechers: 0 });
      assert.deepEqual(await store.remove(H1, 'zzz'), { changed: false, seeders: 0, leechers: 0 });
      assert.deepEqual(await store.list(H1), []);
      assert.deepEqual(await store.counts(H1), { seeders: 0, leechers: 0 });
      assert.deepEqual(await store.stats(), { swarms: 1, peers: 2, entries: 2 });
      // removePeer is given the hashes the peer announced; it returns those it still held.
      assert.deepEqual(await store.removePeer('a', [H1, H2]), [H2]);
      assert.deepEqual(await store.removePeer('a', [H1, H2]), []);
      assert.deepEqual(await store.removePeer('b', [H2]), [H2]);
      assert.deepEqual(await store.stats(), { swarms: 0, peers: 0, entries: 0 });
    });

    it('keeps one identity per peer across its swarms, the latest announce winning', async () => {
      const store = await open();
      await store.add(H1, peer('a', '1.1.1.1', 'US'), true);
      await store.add(H2, peer('a', '2.2.2.2', 'DE'), false);
      assert.deepEqual(await store.list(H1), [{ peerId: 'a', ip: '2.2.2.2', country: 'DE', complete: true }]);
      assert.deepEqual(await store.list(H2), [{ peerId: 'a', ip: '2.2.2.2', country: 'DE', complete: false }]);
      assert.deepEqual(await store.stats(), { swarms: 2, peers: 1, entries: 2 });
      assert.equal((await store.remove(H1, 'a')).changed, true);
      assert.deepEqual(await store.stats(), { swarms: 1, peers: 1, entries: 1 }, 'a peer is kept while it holds something');
      assert.deepEqual(await store.removePeer('a', [H2]), [H2]);
      assert.deepEqual(await store.stats(), { swarms: 0, peers: 0, entries: 0 });
    });

    it('returns copies, so callers cannot corrupt it', async () => {
      const store = await open();
      await store.add(H1, peer('a'), true);
      const [record] = await store.list(H1);
      record!.complete = false;
      assert.deepEqual(await store.counts(H1), { seeders: 1, leechers: 0 });
      assert.equal((await store.list(H1))[0]!.complete, true);
    });

    it('stays small under churn', async () => {
      const store = await open();
      for (let i = 0; i < 5_000; i++) {
        const hash = i.toString(16).padStart(64, '0');
        await store.add(hash, peer(`p${i % 7}`), i % 2 === 0);
        await store.remove(hash, `p${i % 7}`);
      }
      assert.deepEqual(await store.stats(), { swarms: 0, peers: 0, entries: 0 });
    });
  });
}

storeContract('MemoryStore', async () => new MemoryStore());

const skip = redisSkip();
describe('RedisStore on a real redis-server', { skip }, () => {
  let redis: RunningRedis;
  const stores: RedisStore[] = [];
  let n = 0;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await redis?.stop();
  });
  storeContract('RedisStore', async () => {
    // A prefix per case: each starts from an empty store.
    const store = new RedisStore({ url: redis.url, prefix: `contract${n++}:` });
    stores.push(store);
    await store.start();
    return store;
  });
});
