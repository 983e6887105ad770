// The tracker client with several instances to choose from: it moves on when one
// cannot be reached or goes away, keeps its identity and re-announces there.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { createServer, type EcdnServer } from '../../server/create-server.js';
import { freePort } from '../../test/helpers/redis.js';
import { TrackerClient, type WebSocketConstructor } from './tracker-client.js';

const secret = randomBytes(32);
const servers: EcdnServer[] = [];
const clients: TrackerClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  for (const server of servers.splice(0)) await server.close();
});

/** An instance; instances of one deployment share the secret, so each accepts the others' identities. */
async function instance(): Promise<{ server: EcdnServer; tracker: string }> {
  const server = createServer({ secret });
  servers.push(server);
  return { server, tracker: `${(await server.listen(0, '127.0.0.1')).replace(/^http/, 'ws')}/tracker` };
}

function client(url: string[]): TrackerClient {
  const tracker = new TrackerClient({ url, WebSocket: WebSocket as unknown as WebSocketConstructor, minBackoffMs: 20, maxBackoffMs: 200 });
  clients.push(tracker);
  return tracker;
}

test('connects to the first instance that answers, in the order given', async () => {
  const nobody = `ws://127.0.0.1:${await freePort()}/tracker`;
  const one = await instance();
  const two = await instance();
  const tracker = client([nobody, one.tracker, two.tracker]);
  await tracker.ready();
  assert.equal(tracker.url, one.tracker);
});

test('moves to the next instance when its own goes away, as the same peer, and announces there what it holds', async () => {
  const one = await instance();
  const two = await instance();
  const tracker = client([one.tracker, two.tracker]);
  const connects: string[] = [];
  tracker.on('connect', ({ url }) => connects.push(url));
  const hash = randomBytes(32).toString('hex');
  tracker.announce(hash, true);
  await tracker.ready();
  const { peerId } = tracker.identity!;
  await until(async () => (await one.server.tracker.fileStatus(hash)).seeders === 1, 'announced on the first instance');

  await one.server.close();
  servers.splice(servers.indexOf(one.server), 1);
  await until(async () => (await two.server.tracker.fileStatus(hash)).seeders === 1, 'announced on the second instance');
  assert.equal(tracker.identity!.peerId, peerId, 'resumed its identity');
  assert.deepEqual(connects, [one.tracker, two.tracker]);
  const asker = client([two.tracker]);
  assert.deepEqual((await asker.lookup(hash)).peers, [peerId]);
});

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
