/**
 * Signaling across instances: two servers on one real redis-server, PeerJS clients
 * on either, and the messages between them forwarded through Redis.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@redis/client';
import { redisSkip, startRedis, type RunningRedis } from '../test/helpers/redis.js';
import { createServer, type EcdnServer } from './create-server.js';
import { TestClient } from './tracker/test-helpers.js';

const SECRET = Buffer.from('instances-share-this-secret');

describe('signaling between instances sharing one Redis', { skip: redisSkip() }, () => {
  let redis: RunningRedis;
  const servers: EcdnServer[] = [];
  const sockets: TestClient[] = [];

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.socket.terminate();
    for (const server of servers.splice(0)) await server.close();
  });

  async function instance(): Promise<string> {
    const server = createServer({ redisUrl: redis.url, secret: SECRET, lookupCountry: () => undefined });
    servers.push(server);
    const url = await server.listen(0, '127.0.0.1');
    // Serving before Redis answers is the point of /healthz; these tests want it up.
    await until(async () => (await fetch(`${url}/healthz`)).ok);
    return url.replace(/^http/, 'ws');
  }

  /** A peer with a tracker identity from `tracker`, whose PeerServer connection is on `signaling`. */
  async function peer(tracker: string, signaling = tracker): Promise<{ id: string; token: string; socket: TestClient }> {
    const hello = await TestClient.connect(`${tracker}/tracker`);
    sockets.push(hello);
    const { peerId: id, token } = await hello.hello();
    const socket = await openSignaling(signaling, id, token);
    return { id, token, socket };
  }

  async function openSignaling(base: string, id: string, token: string): Promise<TestClient> {
    const socket = await TestClient.connect(`${base}/peerjs/peerjs?key=peerjs&id=${id}&token=${token}`);
    sockets.push(socket);
    assert.equal((await socket.next()).type, 'OPEN');
    return socket;
  }

  it('an offer from a peer on instance 1 reaches a peer on instance 2 as its sender, and the answer comes back', async () => {
    const one = await instance();
    const two = await instance();
    const a = await peer(one);
    const b = await peer(two);
    a.socket.send({ type: 'OFFER', dst: b.id, src: 'someone-else', payload: { sdp: 'offer' } });
    assert.deepEqual(await b.socket.next(), { type: 'OFFER', dst: b.id, src: a.id, payload: { sdp: 'offer' } });
    b.socket.send({ type: 'ANSWER', dst: a.id, payload: { sdp: 'answer' } });
    assert.deepEqual(await a.socket.next(), { type: 'ANSWER', dst: a.id, src: b.id, payload: { sdp: 'answer' } });
    const metrics = await (await fetch(`${one.replace(/^ws/, 'http')}/metrics`)).text();
    assert.match(metrics, /ecdn_signaling_forwarded_total\{direction="out"\} 1\n/);
    assert.match(metrics, /ecdn_signaling_forwarded_total\{direction="in"\} 1\n/);
  });

  it("keeps one sender's messages in order, to peers here and elsewhere alike", async () => {
    const one = await instance();
    const two = await instance();
    const a = await peer(one);
    const far = await peer(two);
    const near = await peer(one);
    for (let i = 0; i < 50; i++) {
      a.socket.send({ type: 'CANDIDATE', dst: far.id, payload: { i } });
      a.socket.send({ type: 'CANDIDATE', dst: near.id, payload: { i } });
    }
    for (const to of [far, near]) {
      for (let i = 0; i < 50; i++) assert.deepEqual((await to.socket.next()).payload, { i });
    }
  });

  it('follows a peer whose PeerServer connection moved to another instance', async () => {
    const one = await instance();
    const two = await instance();
    const a = await peer(one);
    const b = await peer(two);
    b.socket.socket.close();
    await b.socket.closed;
    const moved = await openSignaling(one, b.id, b.token);
    const c = await peer(two);
    c.socket.send({ type: 'OFFER', dst: b.id, payload: 'from c' });
    a.socket.send({ type: 'OFFER', dst: b.id, payload: 'from a' });
    const got = [await moved.next(), await moved.next()].map((m) => `${m.src as string}:${m.payload as string}`).sort();
    assert.deepEqual(got, [`${a.id}:from a`, `${c.id}:from c`].sort());
  });

  it('answers EXPIRE, as one instance does, for a message to a peer that no instance holds', async () => {
    const one = await instance();
    await instance();
    const a = await peer(one);
    const nobody = await peer(one);
    nobody.socket.socket.close();
    await nobody.socket.closed;
    a.socket.send({ type: 'OFFER', dst: nobody.id, payload: {} });
    // The PeerServer expires queued messages after 5 s and checks every second.
    const expired = await a.socket.next(() => true, 8000);
    assert.deepEqual(expired, { type: 'EXPIRE', src: nobody.id, dst: a.id });
  });

  it("forgets every connection's location once the instances close", async () => {
    const one = await instance();
    const two = await instance();
    await peer(one);
    await peer(two, one);
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      assert.equal(await client.hLen('ecdn:at'), 2);
      for (const server of servers.splice(0)) await server.close();
      assert.deepEqual((await client.keys('ecdn:a*')).sort(), []);
    } finally {
      await client.close();
    }
  });
});

async function until(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
