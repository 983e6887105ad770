/**
 * Several server instances on one real redis-server, each in a process of its own as
 * an operator runs them, and real Chromium pages spread over them: a swarm across
 * instances, an instance killed with SIGKILL mid-swarm, Redis restarted mid-swarm.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@redis/client';
import type { Browser, Page } from 'playwright-core';
import { closePage, launchChromium } from '../helpers/browser.js';
import { startInstance, type Instance } from '../helpers/instance.js';
import { fetchDigest, openEcdnPage, peerId, recordWatch, seedRandom, sources } from '../helpers/pages.js';
import { redisSkip, startRedis, type RunningRedis } from '../helpers/redis.js';
import { TestClient } from '../../server/tracker/test-helpers.js';

const MiB = 1024 * 1024;
const SECRET = 'every-instance-of-this-deployment-shares-this-secret';

describe('pages spread over instances sharing one Redis', { skip: redisSkip(), timeout: 180_000 }, () => {
  let redis: RunningRedis;
  let browser: Browser;
  const instances: Instance[] = [];
  const pages: Page[] = [];

  before(async () => {
    redis = await startRedis();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await redis?.stop();
  });
  afterEach(async () => {
    for (const page of pages.splice(0)) await closePage(page).catch(() => {});
    await Promise.all(instances.splice(0).map((instance) => instance.close()));
    await redis.restart();
  });

  /** The keys matching `pattern` in Redis, sorted. */
  async function redisKeys(pattern: string): Promise<string[]> {
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      return (await client.keys(pattern)).sort();
    } finally {
      await client.close();
    }
  }

  async function instance(heartbeatTimeoutS: number): Promise<string> {
    const started = await startInstance({ REDIS_URL: redis.url, ECDN_SECRET: SECRET, HEARTBEAT_TIMEOUT: String(heartbeatTimeoutS) });
    instances.push(started);
    await until(async () => (await fetch(`${started.url}/healthz`)).ok, 'the instance reaches Redis');
    return started.url;
  }

  /** A page whose script came from `servers[0]`, and which uses the instances in `servers`, in that order. */
  async function page(servers: string[]): Promise<Page> {
    const opened = await openEcdnPage(browser, servers[0]!);
    pages.push(opened);
    await opened.evaluate((server) => window.EphemeralCDN.configure({ server }), servers);
    return opened;
  }

  it('fetches on instance 2 what a page on instance 1 seeds, and a watcher on instance 2 sees it die when that page closes', async () => {
    const one = await instance(30);
    const two = await instance(30);
    const seeder = await page([one]);
    const hash = await seedRandom(seeder, 2 * MiB);
    const watcher = await page([two]);
    await recordWatch(watcher, hash);
    await watcher.waitForFunction(() => window.watched.at(-1)?.alive === true);

    const fetcher = await page([two]);
    // Not re-seeded, so that the file dies with its one seeder.
    assert.equal(await fetchDigest(fetcher, hash, { reseed: false }), hash);
    assert.deepEqual(await sources(fetcher), [await peerId(seeder)]);

    await closePage(seeder);
    await watcher.waitForFunction(() => window.watched.at(-1)?.alive === false);
  });

  it('an instance killed mid-swarm: its peers leave, its pages move to instance 2, the swarm is whole again and a fetch under way completes', async () => {
    const timeoutS = 3;
    const one = await instance(timeoutS);
    const two = await instance(timeoutS);
    const file = 8 * MiB;
    // Two seeders, one per instance, each capped so that the fetch takes seconds.
    const seederOne = await page([one, two]);
    const hash = await seedRandom(seederOne, file, 7);
    const seederTwo = await page([two, one]);
    assert.equal(await seedRandom(seederTwo, file, 7), hash);
    for (const seeder of [seederOne, seederTwo]) await seeder.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 1_000_000 }));
    // A peer of instance 1 that will not come back: a bare tracker client.
    const ghost = await TestClient.connect(`${one.replace(/^http/, 'ws')}/tracker`);
    const { peerId: ghostId } = await ghost.hello();
    await ghost.request({ type: 'announce', hash, complete: true });
    const asker = await TestClient.connect(`${two.replace(/^http/, 'ws')}/tracker`);
    await asker.hello();
    const holders = async () => ((await asker.request({ type: 'lookup', hash })).peers as string[]).sort();
    const [idOne, idTwo] = [await peerId(seederOne), await peerId(seederTwo)];
    assert.deepEqual(await holders(), [ghostId, idOne, idTwo].sort());

    const fetcher = await page([one, two]);
    const fetched = fetchDigest(fetcher, hash, { reseed: false });
    await fetcher.waitForFunction(() => window.EphemeralCDN.stats().connections.filter((c) => c.bytesDown > 0).length === 2);
    const killedAt = performance.now();
    await instances[0]!.kill();

    await until(async () => !(await holders()).includes(ghostId), "the dead instance's ghost leaves", timeoutS * 1000 + 1000);
    const gone = performance.now() - killedAt;
    assert.ok(gone <= timeoutS * 1000, `its peers left after ${Math.round(gone)} ms, within HEARTBEAT_TIMEOUT`);
    // Its swarm entries (`i:`) and signaling locations (`ai:`) are swept: one index of each is left, instance 2's.
    const indexes = async () => [...(await redisKeys('ecdn:i:*')), ...(await redisKeys('ecdn:ai:*'))].length;
    await until(async () => (await indexes()) === 2, 'nothing of the dead instance is left in Redis');
    assert.equal(await fetched, hash, 'the fetch under way completed');
    // The pages of instance 1 are on instance 2 now, as the same peers.
    assert.deepEqual(await holders(), [idOne, idTwo].sort());
    assert.equal(await peerId(seederOne), idOne);

    // Whole again: a newcomer on instance 2 reaches the moved seeder through instance 2's signaling.
    await seederTwo.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 250_000 }));
    const newcomer = await page([two]);
    assert.equal(await fetchDigest(newcomer, hash, { reseed: false }), hash);
    assert.ok((await sources(newcomer)).includes(idOne), 'the newcomer got pieces from the seeder that moved');
  });

  it('Redis restarted mid-swarm: the swarm is whole again within one heartbeat interval after it returns, and the watcher never hears "dead"', async () => {
    const timeoutS = 9;
    const one = await instance(timeoutS);
    const two = await instance(timeoutS);
    const seeder = await page([one]);
    const hash = await seedRandom(seeder, 1 * MiB);
    const watcher = await page([two]);
    await recordWatch(watcher, hash);
    await watcher.waitForFunction(() => window.watched.at(-1)?.alive === true);

    await redis.kill();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await redis.restart();
    const back = performance.now();
    const status = `${two}/api/files/${hash}`;
    await until(async () => {
      const res = await fetch(status);
      return res.ok && ((await res.json()) as { seeders: number }).seeders === 1;
    }, 'the seeder is listed again');
    const whole = performance.now() - back;
    assert.ok(whole <= (timeoutS * 1000) / 3, `whole again ${Math.round(whole)} ms after Redis returned`);

    const fetcher = await page([two]);
    assert.equal(await fetchDigest(fetcher, hash, { reseed: false }), hash);
    const heard = await watcher.evaluate(() => window.watched.map((status) => status.alive));
    assert.ok(!heard.includes(false), `the watcher heard ${JSON.stringify(heard)}`);
  });
});

declare global {
  interface Window {
    /** Swarm events recorded by recordWatch. */
    watched: Array<{ alive: boolean; seeders: number }>;
  }
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
