// A page's own identity against the real server: accepted without `welcome` on the
// PeerServer, said in `hello`, with requests sent right behind it; and what happens
// when the tracker refuses it.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { createServer, type EcdnServer } from '../../server/create-server.js';
import { ownPeerId } from '../../server/tracker/identity.js';
import { makeIdentity, peerIdOf } from './identity.js';
import { TrackerClient, type Identity, type WebSocketConstructor } from './tracker-client.js';

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

/** A WebSocket that logs, in one list, what the client sent and what it received. */
function loggingSocket(log: string[]): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string) {
      super(url);
      this.on('message', (data) => log.push(`in ${(JSON.parse(String(data)) as { type: string }).type}`));
    }
    override send(data: string): void {
      log.push(`out ${(JSON.parse(data) as { type: string }).type}`);
      super.send(data);
    }
  } as unknown as WebSocketConstructor;
}

function client(base: string, identity: Promise<Identity> | undefined, log: string[] = []): TrackerClient {
  const tracker = new TrackerClient({ url: `${base}/tracker`, WebSocket: loggingSocket(log), identity });
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

test('says hello with its own identity and sends a lookup behind it, before welcome', async () => {
  const { base } = await start();
  const seeder = client(base, undefined);
  const hash = randomBytes(32).toString('hex');
  seeder.announce(hash, true);
  await seeder.ready();
  await seeder.lookup(hash);

  const log: string[] = [];
  const made = makeIdentity();
  const tracker = client(base, made, log);
  const identities: Identity[] = [];
  tracker.on('identity', (identity) => identities.push(identity));
  const result = await tracker.lookup(hash);
  assert.deepEqual(result.peers, [seeder.identity!.peerId]);
  assert.deepEqual(identities, [await made], 'its own identity, announced once, before the tracker answered');
  assert.equal(tracker.identity!.peerId, (await made).peerId, 'the tracker accepted it');
  assert.deepEqual(log.slice(0, 4), ['out hello', 'out lookup', 'in welcome', 'in peers']);
});

test('a refused identity: the tracker issues another, and the lookup sent behind the failed hello is sent again', async () => {
  const { base } = await start();
  const hash = randomBytes(32).toString('hex');
  const made = makeIdentity();
  const holder = client(base, made);
  holder.announce(hash, true);
  await holder.lookup(hash);

  // The same identity on a second connection: the tracker says ID_IN_USE.
  const log: string[] = [];
  const twin = client(base, made, log);
  const identities: string[] = [];
  twin.on('identity', (identity) => identities.push(identity.peerId));
  const result = await twin.lookup(hash);
  assert.deepEqual(result.peers, [(await made).peerId]);
  assert.equal(identities.length, 2, 'its own, then an issued one');
  assert.notEqual(identities[1], (await made).peerId);
  assert.equal(twin.identity!.peerId, identities[1]);
  assert.deepEqual(log.slice(0, 4), ['out hello', 'out lookup', 'in error', 'out hello']);
});
