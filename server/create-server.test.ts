import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import WebSocket from 'ws';
import { configFromEnv } from './config.js';
import { createServer, type EcdnServer } from './create-server.js';

let server: EcdnServer;
let url: string;
before(async () => {
  server = createServer();
  url = await server.listen(0, '127.0.0.1');
});
after(() => server.close());

const HASH = 'c0ffee'.padEnd(64, '0');

test('GET /api/files/:hash answers live counts, with CORS open', async () => {
  const res = await fetch(`${url}/api/files/${HASH}`, { headers: { Origin: 'https://elsewhere.example' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.deepEqual(await res.json(), { hash: HASH, alive: false, seeders: 0, leechers: 0 });
});

test('GET /api/files/:hash refuses what is not a SHA-256, naming the problem', async () => {
  for (const bad of ['abc', HASH.toUpperCase(), `${HASH}0`, 'g'.repeat(64)]) {
    const res = await fetch(`${url}/api/files/${bad}`);
    assert.equal(res.status, 400, bad);
    const body = await res.json();
    assert.equal(body.error, 'INVALID_HASH');
    assert.match(body.message, /64 lowercase hexadecimal/);
  }
});

test('an announce over /tracker shows in the API, with the peer in a lookup over HTTP', async () => {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/tracker`);
  const replies: Array<Record<string, unknown>> = [];
  const next = () => new Promise<Record<string, unknown>>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(JSON.stringify({ type: 'hello' }));
  replies.push(await next());
  ws.send(JSON.stringify({ type: 'announce', hash: HASH, rid: 1 }));
  replies.push(await next());
  assert.equal(replies[0]!.type, 'welcome');
  const res = await fetch(`${url}/api/files/${HASH}`);
  assert.deepEqual(await res.json(), { hash: HASH, alive: true, seeders: 1, leechers: 0 });
  const withPeers = await fetch(`${url}/api/files/${HASH}?peers=5`);
  assert.deepEqual(await withPeers.json(), { hash: HASH, alive: true, seeders: 1, leechers: 0, peers: [replies[0]!.peerId] });
  const none = await fetch(`${url}/api/files/${HASH}?peers=0`);
  assert.deepEqual((await none.json()).peers, []);
  for (const bad of ['-1', '1.5', 'many']) {
    const refused = await fetch(`${url}/api/files/${HASH}?peers=${bad}`);
    assert.equal(refused.status, 400, bad);
    assert.equal((await refused.json()).error, 'BAD_MESSAGE');
  }
  ws.close();
});

test('lookups over HTTP are rate-limited per address, with 429 RATE_LIMITED; plain status is not', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 30; i++) statuses.push((await fetch(`${url}/api/files/${HASH}?peers=1`)).status);
  assert.ok(statuses.filter((status) => status === 200).length >= 15, statuses.join(' '));
  const refused = await fetch(`${url}/api/files/${HASH}?peers=1`);
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('retry-after'), '1');
  assert.equal((await refused.json()).error, 'RATE_LIMITED');
  assert.equal((await fetch(`${url}/api/files/${HASH}`)).status, 200);
});

test('/healthz, the demo page and the bundle are served', async () => {
  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200);
  assert.equal((await health.json()).ok, true);
  const page = await fetch(`${url}/`);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  const html = await page.text();
  for (const heading of ['Share files', 'Got a link or a hash?', 'Embed in your own page']) assert.ok(html.includes(heading), heading);
  const bundle = await fetch(`${url}/ephemeralcdn.js`);
  // npm test builds first; a bare checkout answers 503 with a hint instead.
  assert.ok(bundle.status === 200 || bundle.status === 503);
  if (bundle.status === 200) assert.match(bundle.headers.get('content-type') ?? '', /javascript/);
});

test('the PeerServer answers on the same port, and refuses IDs the tracker did not issue', async () => {
  const info = await fetch(`${url}/peerjs/`);
  assert.equal((await info.json()).name, 'PeerJS Server');
  const ws = new WebSocket(`${url.replace('http', 'ws')}/peerjs/peerjs?key=peerjs&id=someone&token=forged`);
  const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
  assert.equal(status, 403);
});

test('a WebSocket to an unknown path is refused with 404', async () => {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/nowhere`);
  const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
  assert.equal(status, 404);
});

test("npm start's defaults exposed on HOST=0.0.0.0 hand out the built-in STUN server at the host name the client used, and it answers", async () => {
  const {
    port: _port,
    host,
    logLevel: _level,
    ...options
  } = configFromEnv({ HOST: '0.0.0.0', STUN_PORT: String(40_000 + Math.floor(Math.random() * 20_000)) });
  const exposed = createServer(options);
  const base = await exposed.listen(0, host);
  try {
    const port = new URL(base).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/tracker`, { headers: { Host: `cdn.example.org:${port}` } });
    await new Promise((resolve) => ws.once('open', resolve));
    const welcome = new Promise<Record<string, unknown>>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
    ws.send(JSON.stringify({ type: 'hello' }));
    const stunPort = options.ice!.stunPort!;
    assert.deepEqual((await welcome).iceServers, [{ urls: `stun:cdn.example.org:${stunPort}` }]);
    ws.close();
    // Both STUN ports answer a binding request.
    for (const stun of [stunPort, stunPort + 1]) {
      const client = createSocket('udp4');
      const request = Buffer.alloc(20);
      request.writeUInt16BE(0x0001, 0);
      request.writeUInt32BE(0x2112a442, 4);
      const reply = new Promise<Buffer>((resolve) => client.once('message', resolve));
      client.send(request, stun, '127.0.0.1');
      assert.equal((await reply).readUInt16BE(0), 0x0101, `port ${stun} answers`);
      client.close();
    }
  } finally {
    await exposed.close();
  }
});

test('a STUN port in use stops the start with a message that names STUN_PORT', async () => {
  const taken = createSocket('udp4');
  await new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', resolve));
  const blocked = createServer({ ice: { stunPort: taken.address().port } });
  await assert.rejects(blocked.listen(0, '127.0.0.1'), /STUN_PORT/);
  await blocked.close();
  taken.close();
});
