/**
 * Redis trouble, with a real redis-server stopped and started again on its port:
 * an instance that starts while Redis is down serves once it is up, and a Redis
 * restarted mid-swarm (empty) gets the swarm back from the instances' connected peers,
 * without a watcher or a lookup ever hearing that a file with a connected seeder is dead.
 */
import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@redis/client';
import { freePort, redisSkip, startRedis, type RunningRedis } from '../../test/helpers/redis.js';
import { createServer, type EcdnServer } from '../create-server.js';
import { RedisStore } from './redis-store.js';
import { delay, startTracker, TestClient, type TestTracker } from './test-helpers.js';

const H1 = 'a'.repeat(64);
const H2 = 'b'.repeat(64);
const SECRET = Buffer.from('instances-share-this-secret');
/** The tracker's default heartbeat timeout: clients ping every third of it. */
const HEARTBEAT_INTERVAL_MS = 30_000 / 3;

type Json = Record<string, unknown>;

const skip = redisSkip();

describe('Redis trouble', { skip }, () => {
  const running: Array<{ close(): Promise<void> }> = [];
  const redises: RunningRedis[] = [];
  let n = 0;

  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.close();
  });
  after(async () => {
    for (const redis of redises) await redis.stop();
  });

  async function healthz(base: string): Promise<{ status: number; body: Json }> {
    const res = await fetch(`${base}/healthz`);
    return { status: res.status, body: (await res.json()) as Json };
  }

  async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
      await delay(50);
    }
  }

  it('starts while Redis is down: /healthz 503, then 200 and announces work once Redis is up', async () => {
    const port = await freePort();
    const server: EcdnServer = createServer({ redisUrl: `redis://127.0.0.1:${port}`, secret: SECRET, metrics: true });
    running.push(server);
    const started = Date.now();
    const base = await server.listen(0, '127.0.0.1');
    assert.ok(Date.now() - started < 1000, 'listen() does not wait for Redis');

    const down = await healthz(base);
    assert.equal(down.status, 503);
    assert.equal(down.body.ok, false);
    assert.equal(down.body.redis, 'unreachable');
    const metricsDown = await (await fetch(`${base}/metrics`)).text();
    assert.match(metricsDown, /^ecdn_store_up 0$/m);

    const url = `${base.replace(/^http/, 'ws')}/tracker`;
    const seeder = await TestClient.connect(url);
    await seeder.hello();
    // Answered late, once Redis is up, rather than failed: Redis comes back within the store's wait.
    const announced = seeder.request({ type: 'announce', hash: H1, complete: true }, 10_000);
    await delay(300);
    const redis = await startRedis(port);
    redises.push(redis);
    assert.equal((await announced).type, 'ok');

    await until('healthz 200', 5000, async () => ((await healthz(base)).status === 200 ? true : undefined));
    const up = await healthz(base);
    assert.equal(up.body.ok, true);
    assert.equal(up.body.redis, 'up');
    const leecher = await TestClient.connect(url);
    await leecher.hello();
    const reply = await leecher.request({ type: 'lookup', hash: H1 });
    assert.equal(reply.alive, true);
    assert.equal((reply.peers as string[]).length, 1);
    assert.match(await (await fetch(`${base}/metrics`)).text(), /^ecdn_store_up 1$/m);
    await seeder.close();
    await leecher.close();
  });

  it('fails a request with STORE_UNAVAILABLE when Redis stays away, and keeps the connection', async () => {
    const port = await freePort();
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, unavailableWaitMs: 300 });
    const warnings: Error[] = [];
    store.on('warning', (warning) => warnings.push(warning));
    void store.start();
    running.push(store);
    const t = await startTracker({ store, secret: SECRET });
    running.push(t);
    const client = await t.connect();
    await client.hello();
    const failed = await client.request({ type: 'lookup', hash: H1 });
    assert.deepEqual([failed.type, failed.code], ['error', 'STORE_UNAVAILABLE']);
    const announce = await client.request({ type: 'announce', hash: H1, complete: true });
    assert.equal(announce.code, 'STORE_UNAVAILABLE');
    assert.equal((await client.request({ type: 'ping' })).type, 'pong');
    assert.deepEqual(store.health(), { up: false, reason: 'unreachable', rebuilds: 0 });
    assert.ok(warnings.length > 0, 'the store reports that Redis is unreachable');
    assert.ok(t.warnings.every((warning) => warning.code === 'STORE_UNAVAILABLE'));

    // The announce that failed is written once Redis answers.
    const redis = await startRedis(port);
    redises.push(redis);
    await store.start();
    const other = await t.connect();
    await other.hello();
    const reply = await other.request({ type: 'lookup', hash: H1 });
    assert.equal(reply.seeders, 1);
  });

  it('a Redis that stops answering (SIGSTOP): a request fails with STORE_UNAVAILABLE instead of hanging, and the store serves again once Redis answers', async () => {
    const redis = await startRedis();
    redises.push(redis);
    const store = new RedisStore({ url: redis.url, prefix: `stall${n++}:`, unavailableWaitMs: 1000 });
    const warnings: Error[] = [];
    store.on('warning', (warning) => warnings.push(warning));
    await store.start();
    running.push(store);
    const t = await startTracker({ store, secret: SECRET });
    running.push(t);
    const seeder = await t.connect();
    await seeder.hello();
    assert.equal((await seeder.request({ type: 'announce', hash: H1, complete: true })).type, 'ok');

    // The connection stays open, and the command is written: only an answer never comes.
    redis.process.kill('SIGSTOP');
    try {
      const started = Date.now();
      const reply = await seeder.request({ type: 'announce', hash: H2, complete: true }, 10_000);
      const elapsed = Date.now() - started;
      assert.equal(reply.code, 'STORE_UNAVAILABLE');
      assert.ok(elapsed < 3000, `answered after ${elapsed} ms`);
      assert.equal(store.health().up, false);
      assert.ok(
        warnings.some((warning) => /answered none/.test(warning.message)),
        warnings.map((warning) => warning.message).join('; '),
      );
    } finally {
      redis.process.kill('SIGCONT');
    }
    await until('the store up again', 10_000, async () => (store.health().up ? true : undefined));
    // The announce that failed was kept, and written back with the other when the store reconnected.
    assert.equal(store.health().rebuilds, 1);
    assert.deepEqual(await t.tracker.storeStats(), { swarms: 2, peers: 1, entries: 2 });
    assert.equal((await seeder.request({ type: 'lookup', hash: H2 })).seeders, 1);
  });

  it('connections to a Redis that kept its data drop: the entries are written back once, not counted twice', async () => {
    const redis = await startRedis();
    redises.push(redis);
    const store = new RedisStore({ url: redis.url, prefix: `blip${n++}:` });
    store.on('warning', () => {});
    await store.start();
    running.push(store);
    const t = await startTracker({ store, secret: SECRET });
    running.push(t);
    const seeder = await t.connect();
    await seeder.hello();
    await seeder.request({ type: 'announce', hash: H1, complete: true });
    await seeder.request({ type: 'announce', hash: H2, complete: false });

    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes']);
    await admin.close();
    await until('the entries written back', 5000, async () => (store.health().rebuilds === 1 && store.health().up ? true : undefined));
    assert.deepEqual(await t.tracker.storeStats(), { swarms: 2, peers: 1, entries: 2 });
    assert.deepEqual(await t.tracker.fileStatus(H2), { hash: H2, alive: false, seeders: 0, leechers: 1 });
    assert.equal((await seeder.request({ type: 'lookup', hash: H1 })).seeders, 1);
  });

  it('Redis restarted mid-swarm: the swarm is whole again within one heartbeat interval, and no watcher hears "dead"', async () => {
    const redis = await startRedis();
    redises.push(redis);
    const prefix = `restart${n++}:`;
    const instances: Array<TestTracker & { store: RedisStore }> = [];
    for (let i = 0; i < 2; i++) {
      const store = new RedisStore({ url: redis.url, prefix, heartbeatTimeoutMs: 3000 });
      store.on('warning', () => {});
      await store.start();
      running.push(store);
      const t = await startTracker({ store, secret: SECRET });
      running.push(t);
      instances.push(Object.assign(t, { store }));
    }
    const [one, two] = instances as [(typeof instances)[0], (typeof instances)[0]];

    const seeder = await one.connect();
    const { peerId: seederId } = await seeder.hello();
    await seeder.request({ type: 'announce', hash: H1, complete: true });
    const leecher = await one.connect();
    const { peerId: leecherId } = await leecher.hello();
    await leecher.request({ type: 'announce', hash: H1, complete: false });
    // Gone while Redis is away: its entries must not come back.
    const leaver = await one.connect();
    await leaver.hello();
    await leaver.request({ type: 'announce', hash: H2, complete: true });

    const watcher = await two.connect();
    await watcher.hello();
    const pushed: Json[] = [];
    watcher.socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as Json;
      if (message.type === 'swarm') pushed.push(message);
    });
    assert.equal((await watcher.request({ type: 'watch', hash: H1 })).alive, true);
    const asker = await two.connect();
    await asker.hello();

    await redis.kill();
    await leaver.close();
    // A lookup during the outage is answered late or refused, never "dead".
    const during = asker.request({ type: 'lookup', hash: H1 }, 15_000);
    await delay(1000);
    assert.equal(one.store.health().up, false);
    await redis.restart();
    const back = Date.now();

    const duringReply = await during;
    assert.notEqual(duringReply.alive, false, JSON.stringify(duringReply));
    const reply = await until('the swarm whole again on instance 2', HEARTBEAT_INTERVAL_MS, async () => {
      const r = await asker.request({ type: 'lookup', hash: H1 }, 10_000);
      const peers = r.peers as string[] | undefined;
      return peers?.includes(seederId) && peers.includes(leecherId) ? r : undefined;
    });
    const elapsed = Date.now() - back;
    assert.ok(elapsed < HEARTBEAT_INTERVAL_MS, `whole again after ${elapsed} ms`);
    assert.deepEqual([reply.seeders, reply.leechers], [1, 1]);
    assert.equal((await asker.request({ type: 'lookup', hash: H2 }, 10_000)).alive, false);
    assert.equal(one.store.health().rebuilds, 1);
    assert.equal(two.store.health().rebuilds, 1);
    assert.deepEqual(await two.tracker.storeStats(), { swarms: 1, peers: 2, entries: 2 });
    await delay(200);
    assert.deepEqual(
      pushed.filter((message) => message.alive !== true),
      [],
    );
  });
});
