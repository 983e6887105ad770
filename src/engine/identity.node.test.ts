// A page's own identity against the real server: accepted without `welcome` on the
// PeerServer, sent with a lookup over HTTP before the tracker's socket opens, said
// in `hello` with requests right behind it; and what happens when the tracker
// refuses it.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { createServer, type EcdnServer } from '../../server/create-server.js';
import { ownPeerId } from '../../server/tracker/identity.js';
import { makeIdentity, peerIdOf } from './identity.js';
import { TrackerClient, type Identity, type LookupResult, type WebSocketConstructor } from './tracker-client.js';

const servers: EcdnServer[] = [];
const clients: TrackerClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  for (const server of servers.splice(0)) await server.close();
});

async function start(): Promise<{ server: EcdnServer; base: string }> {
  const server = createServer({});
  servers.push(server);
  return { server, base: (await server.listen(0, '127.0.0.1')).replace(/^http/, 'ws') };
}

/**
 * A WebSocket that logs, in one list, what the client sent and what it received;
 * `behindHello` runs just after `hello` went out, when a request may follow it.
 */
function loggingSocket(log: string[], behindHello?: () => void): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string) {
      super(url);
      this.on('message', (data) => log.push(`in ${(JSON.parse(String(data)) as { type: string }).type}`));
    }
    override send(data: string): void {
      const { type } = JSON.parse(data) as { type: string };
      log.push(`out ${type}`);
      super.send(data);
      if (type === 'hello' && behindHello) queueMicrotask(behindHello);
    }
  } as unknown as WebSocketConstructor;
}

function client(base: string, identity: Promise<Identity> | undefined, log: string[] = [], behindHello?: () => void): TrackerClient {
  const tracker = new TrackerClient({ url: `${base}/tracker`, WebSocket: loggingSocket(log, behindHello), identity });
  clients.push(tracker);
  return tracker;
}

test('makes a random token and derives the ID the server derives from it', async () => {
  const one = await makeIdentity();
  const two = await makeIdentity();
  assert.match(one.token, /^[0-9a-f]{48}$/);
  assert.match(one.peerId, /^[0-9a-f]{32}$/);
  assert.notEqual(one.token, two.token);
  assert.equal(one.peerId, ownPeerId(one.token));
  assert.equal(await peerIdOf(two.token), ownPeerId(two.token));
});

test('the PeerServer takes an own identity before the tracker has seen it', async () => {
  const { base } = await start();
  const { peerId, token } = await makeIdentity();
  const socket = new WebSocket(`${base}/peerjs/peerjs?key=peerjs&id=${peerId}&token=${token}`);
  const first = await new Promise<{ type: string }>((resolve, reject) => {
    socket.once('message', (data) => resolve(JSON.parse(String(data)) as { type: string }));
    socket.once('error', reject);
  });
  socket.close();
  assert.equal(first.type, 'OPEN');
});

test('a lookup before the socket opens goes over HTTP, with our identity, and brings the ICE servers', async () => {
  const server = createServer({ ice: { iceServers: [{ urls: 'stun:stun.example.test:3478' }] } });
  servers.push(server);
  const base = (await server.listen(0, '127.0.0.1')).replace(/^http/, 'ws');
  const seeder = client(base, undefined);
  const hash = randomBytes(32).toString('hex');
  seeder.announce(hash, true);
  await seeder.lookup(hash);

  const log: string[] = [];
  const made = makeIdentity();
  const tracker = client(base, made, log);
  const identities: Identity[] = [];
  tracker.on('identity', (identity) => identities.push(identity));
  await made;
  const result = await tracker.lookup(hash, 5);
  assert.deepEqual(result.peers, [seeder.identity!.peerId]);
  assert.deepEqual(tracker.ice?.iceServers, [{ urls: ['stun:stun.example.test:3478'] }], 'from the HTTP answer');
  assert.ok(!log.includes('out lookup'), `not over the WebSocket: ${log.join(', ')}`);
  await tracker.ready();
  assert.deepEqual(identities, [await made], 'its own identity, announced once');
  assert.equal(tracker.identity!.peerId, (await made).peerId, 'the tracker accepted it');
});

test('a lookup once hello is out goes right behind it, before welcome', async () => {
  const { base } = await start();
  const seeder = client(base, undefined);
  const hash = randomBytes(32).toString('hex');
  seeder.announce(hash, true);
  await seeder.lookup(hash);

  const log: string[] = [];
  let asked: Promise<LookupResult> | undefined;
  const tracker: TrackerClient = client(base, makeIdentity(), log, () => (asked = tracker.lookup(hash)));
  await tracker.ready();
  assert.deepEqual((await asked!).peers, [seeder.identity!.peerId]);
  assert.deepEqual(log.slice(0, 4), ['out hello', 'out lookup', 'in welcome', 'in peers']);
});

test('a refused identity: the tracker issues another, and the lookup sent behind the failed hello is sent again', async () => {
  const { base } = await start();
  const hash = randomBytes(32).toString('hex');
  const made = makeIdentity();
  const holder = client(base, made);
  holder.announce(hash, true);
  await holder.ready();
  await holder.lookup(hash);

  // The same identity on a second connection: the tracker says ID_IN_USE.
  const log: string[] = [];
  let asked: Promise<LookupResult> | undefined;
  const twin: TrackerClient = client(base, made, log, () => (asked ??= twin.lookup(hash)));
  const identities: string[] = [];
  twin.on('identity', (identity) => identities.push(identity.peerId));
  await until(() => asked !== undefined);
  assert.deepEqual((await asked!).peers, [(await made).peerId]);
  assert.equal(identities.length, 2, 'its own, then an issued one');
  assert.notEqual(identities[1], (await made).peerId);
  assert.equal(twin.identity!.peerId, identities[1]);
  assert.deepEqual(log.slice(0, 4), ['out hello', 'out lookup', 'in error', 'out hello']);
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
