/**
 * Several tracker instances on one real redis-server, each with its own RedisStore:
 * lookups and watches see the peers of every instance, and the peers of an instance
 * killed without a goodbye (SIGKILL) leave within the heartbeat timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@redis/client';
import { redisSkip, startRedis, type RunningRedis } from '../../test/helpers/redis.js';
import type { TrackerOptions } from './options.js';
import { createServer } from '../create-server.js';
import { RedisStore } from './redis-store.js';
import { startTracker, TestClient, type TestTracker } from './test-helpers.js';

const H1 = 'a'.repeat(64);
const H2 = 'b'.repeat(64);
const SECRET = 'instances-share-this-secret';
/** The instances' liveness timeout here; the tracker's own connection timeout stays long. */
const INSTANCE_TIMEOUT_MS = 800;

const countries: Record<string, string> = { '81.2.69.10': 'GB', '81.2.69.77': 'GB', '81.2.70.1': 'GB', '9.9.9.9': 'US' };
const lookupCountry = (ip: string) => countries[ip];
const trackerOptions: TrackerOptions = { trustProxy: 1, lookupCountry, secret: Buffer.from(SECRET) };

const skip = redisSkip();

describe('tracker instances sharing one Redis', { skip }, () => {
  let redis: RunningRedis;
  let n = 0;
  let prefix = '';
  const running: Array<{ close(): Promise<void> }> = [];
  /** Every warning of every tracker and store in this process: a test fails on any. */
  const warnings: Error[] = [];

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    // Trackers first (they remove their peers' entries), then their stores.
    for (const item of running.splice(0).reverse()) await item.close();
    assert.deepEqual(warnings.splice(0), []);
  });

  /** A tracker on its own RedisStore; every instance of one test shares `prefix`. */
  async function instance(): Promise<TestTracker & { store: RedisStore }> {
    const store = new RedisStore({ url: redis.url, prefix, heartbeatTimeoutMs: INSTANCE_TIMEOUT_MS });
    store.on('warning', (warning) => warnings.push(warning));
    await store.start();
    running.push(store);
    const t = await startTracker({ ...trackerOptions, store });
    t.tracker.on('warning', (warning) => warnings.push(warning));
    running.push(t);
    return Object.assign(t, { store });
  }

  function newTest(): void {
    prefix = `t${n++}:`;
  }

  async function peerAt(t: { connect: TestTracker['connect'] }, ip: string): Promise<{ client: TestClient; peerId: string }> {
    const client = await t.connect({ 'X-Forwarded-For': ip });
    return { client, peerId: (await client.hello()).peerId };
  }

  it('a lookup on instance 2 lists the holders on instance 1, nearest first', async () => {
    newTest();
    const one = await instance();
    const two = await instance();
    const names: Record<string, string> = {};
    for (const [name, ip, t] of [
      ['far', '9.9.9.9', one],
      ['country', '81.2.70.1', two],
      ['subnet', '81.2.69.77', one],
    ] as const) {
      const { client, peerId } = await peerAt(t, ip);
      names[peerId] = name;
      const ok = await client.request({ type: 'announce', hash: H1, complete: true });
      assert.equal(ok.type, 'ok');
    }
    const asker = (await peerAt(two, '81.2.69.10')).client;
    const reply = await asker.request({ type: 'lookup', hash: H1 });
    assert.equal(reply.seeders, 3);
    assert.deepEqual(
      (reply.peers as string[]).map((id) => names[id]),
      ['subnet', 'country', 'far'],
    );
    assert.deepEqual(await two.tracker.fileStatus(H1), { hash: H1, alive: true, seeders: 3, leechers: 0 });
    assert.deepEqual(await one.tracker.storeStats(), { swarms: 1, peers: 3, entries: 3 });
  });

  it('a watcher on instance 2 sees the counts change and the file die as the peer on instance 1 withdraws, then disconnects', async () => {
    newTest();
    const one = await instance();
    const two = await instance();
    const watcher = (await peerAt(two, '9.9.9.9')).client;
    const first = await watcher.request({ type: 'watch', hash: H1 });
    assert.equal(first.alive, false);

    const seeder = (await peerAt(one, '81.2.69.10')).client;
    await seeder.request({ type: 'announce', hash: H1, complete: false });
    assert.deepEqual(pick(await watcher.nextSwarm(H1)), { alive: false, seeders: 0, leechers: 1 });
    await seeder.request({ type: 'announce', hash: H1, complete: true });
    assert.deepEqual(pick(await watcher.nextSwarm(H1)), { alive: true, seeders: 1, leechers: 0 });
    await seeder.request({ type: 'withdraw', hash: H1 });
    assert.deepEqual(pick(await watcher.nextSwarm(H1)), { alive: false, seeders: 0, leechers: 0 });

    await seeder.request({ type: 'announce', hash: H1, complete: true });
    assert.deepEqual(pick(await watcher.nextSwarm(H1)), { alive: true, seeders: 1, leechers: 0 });
    await seeder.close();
    assert.deepEqual(pick(await watcher.nextSwarm(H1)), { alive: false, seeders: 0, leechers: 0 });
    assert.deepEqual(await two.tracker.storeStats(), { swarms: 0, peers: 0, entries: 0 });
  });

  it('a peer that moves to instance 2 is not removed when instance 1 drops its old connection', async () => {
    newTest();
    const one = await instance();
    const two = await instance();
    const old = await one.connect();
    const { peerId, token } = await old.hello();
    await old.request({ type: 'announce', hash: H1, complete: true });
    // The same peer, reconnected to instance 2 before instance 1 noticed that its old connection is gone.
    const moved = await two.connect();
    await moved.hello({ peerId, token });
    await moved.request({ type: 'announce', hash: H1, complete: true });
    await old.close();
    await waitFor(async () => (await one.tracker.stats()).peers === 0);
    assert.deepEqual(await two.tracker.fileStatus(H1), { hash: H1, alive: true, seeders: 1, leechers: 0 });
    const asker = await two.connect();
    await asker.hello();
    assert.deepEqual((await asker.request({ type: 'lookup', hash: H1 })).peers, [peerId]);
  });

  it('the peers of an instance killed with SIGKILL leave every swarm on the others within the heartbeat timeout', async () => {
    newTest();
    const two = await instance();
    const one = await childInstance(redis.url, prefix);
    running.push(one);

    const watcher = (await peerAt(two, '9.9.9.9')).client;
    await watcher.request({ type: 'watch', hash: H1 });
    const doomed = await TestClient.connect(one.url);
    running.push({ close: async () => void doomed.socket.terminate() });
    await doomed.hello();
    await doomed.request({ type: 'announce', hash: H1, complete: true });
    await doomed.request({ type: 'announce', hash: H2, complete: false });
    assert.deepEqual(pick(await watcher.nextSwarm(H1)), { alive: true, seeders: 1, leechers: 0 });
    const survivor = (await peerAt(two, '81.2.69.10')).client;
    await survivor.request({ type: 'announce', hash: H2, complete: true });

    const killedAt = performance.now();
    one.kill();
    assert.deepEqual(pick(await watcher.nextSwarm(H1, 5_000)), { alive: false, seeders: 0, leechers: 0 });
    const gone = performance.now() - killedAt;
    assert.ok(gone <= INSTANCE_TIMEOUT_MS + 200, `its peers left after ${Math.round(gone)} ms`);
    const asker = await two.connect();
    await asker.hello();
    const lookup = await asker.request({ type: 'lookup', hash: H2 });
    assert.deepEqual(pick(lookup), { alive: true, seeders: 1, leechers: 0 }, "the survivor's entry stays");
    assert.deepEqual(await two.tracker.storeStats(), { swarms: 1, peers: 1, entries: 1 });
  });

  it('leaves no key behind once every instance closed', async () => {
    newTest();
    const one = await instance();
    const two = await instance();
    for (const t of [one, two]) {
      const { client } = await peerAt(t, '9.9.9.9');
      await client.request({ type: 'announce', hash: H1, complete: true });
      await client.request({ type: 'announce', hash: H2, complete: false });
    }
    for (const item of running.splice(0).reverse()) await item.close();
    assert.deepEqual(await keys(redis, `${prefix}*`), [`${prefix}stats`]);
  });
});

describe('createServer with redisUrl', { skip }, () => {
  let redis: RunningRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  it('refuses to build without the secret that every instance shares', () => {
    assert.throws(() => createServer({ redisUrl: 'redis://127.0.0.1:6379' }), /secret/);
  });

  it("two servers on one Redis answer for each other's peers, and close without leaving an entry", async () => {
    const options = { redisUrl: redis.url, secret: Buffer.from(SECRET), lookupCountry: () => undefined, metrics: false };
    const one = createServer(options);
    const two = createServer(options);
    try {
      const url1 = await one.listen(0, '127.0.0.1');
      const url2 = await two.listen(0, '127.0.0.1');
      const client = await TestClient.connect(`${url1.replace(/^http/, 'ws')}/tracker`);
      await client.hello();
      await client.request({ type: 'announce', hash: H1, complete: true });
      const res = await fetch(`${url2}/api/files/${H1}`);
      assert.deepEqual(await res.json(), { hash: H1, alive: true, seeders: 1, leechers: 0 });
    } finally {
      await one.close();
      await two.close();
    }
    assert.deepEqual(await keys(redis, 'ecdn:*'), ['ecdn:stats']);
  });
});

function pick(message: Record<string, unknown>): { alive: unknown; seeders: unknown; leechers: unknown } {
  return { alive: message.alive, seeders: message.seeders, leechers: message.leechers };
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The keys matching `pattern`, sorted. */
async function keys(redis: RunningRedis, pattern: string): Promise<string[]> {
  const client = createClient({ url: redis.url });
  await client.connect();
  try {
    return (await client.keys(pattern)).sort();
  } finally {
    await client.close();
  }
}

/**
 * A tracker instance in a child process, so that it can be killed for real: no
 * goodbye, no heartbeat, its Redis connections cut by the kernel.
 */
async function childInstance(redisUrl: string, prefix: string): Promise<{ url: string; kill(): void; close(): Promise<void> }> {
  const code = `
    const { RedisStore } = await import(${JSON.stringify(new URL('./redis-store.ts', import.meta.url).href)});
    const { startTracker } = await import(${JSON.stringify(new URL('./test-helpers.ts', import.meta.url).href)});
    const store = new RedisStore({ url: ${JSON.stringify(redisUrl)}, prefix: ${JSON.stringify(prefix)}, heartbeatTimeoutMs: ${INSTANCE_TIMEOUT_MS} });
    await store.start();
    const t = await startTracker({ store, secret: Buffer.from(${JSON.stringify(SECRET)}) });
    console.log(t.url);
    setInterval(() => {}, 60_000);
  `;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the child instance exited with ${code}`)));
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return {
    url,
    kill,
    async close() {
      kill();
      await exited;
    },
  };
}
