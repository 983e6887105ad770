// The tracker client across a Redis outage on the server side: a lookup made
// while the swarm store is away is answered once it is back, not failed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { createServer, type EcdnServer } from '../../server/create-server.js';
import { redisSkip, startRedis, type RunningRedis } from '../../test/helpers/redis.js';
import { TrackerClient, type WebSocketConstructor } from './tracker-client.js';

const skip = redisSkip();
let redis: RunningRedis;
let server: EcdnServer;
let trackerUrl: string;

before(async () => {
  if (skip) return;
  redis = await startRedis();
  server = createServer({ redisUrl: redis.url, secret: randomBytes(32), heartbeatTimeoutMs: 6_000 });
  trackerUrl = `${(await server.listen(0, '127.0.0.1')).replace(/^http/, 'ws')}/tracker`;
});
after(async () => {
  await server?.close();
  await redis?.stop();
});

test('a lookup made while Redis is away is answered when it is back, with the seeder still there', { skip, timeout: 60_000 }, async () => {
  const open = () => new TrackerClient({ url: trackerUrl, WebSocket: WebSocket as unknown as WebSocketConstructor });
  const seeder = open();
  const asker = open();
  try {
    const hash = randomBytes(32).toString('hex');
    seeder.announce(hash, true);
    await Promise.all([seeder.ready(), asker.ready()]);
    for (let found = false; !found; ) found = (await asker.lookup(hash)).alive;

    await redis.kill();
    const answer = asker.lookup(hash);
    // Longer than the server waits for Redis (5 s) before answering STORE_UNAVAILABLE.
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    await redis.restart();
    const result = await answer;
    assert.equal(result.alive, true, 'not a false DEAD');
    assert.deepEqual(result.peers, [seeder.identity!.peerId]);
  } finally {
    seeder.destroy();
    asker.destroy();
  }
});
