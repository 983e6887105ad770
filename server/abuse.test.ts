/**
 * The whole server under abuse: connections per address on both WebSocket
 * endpoints, the PeerServer's message rate, and identity (only the tracker's IDs
 * and IDs a peer derived from its own token, only with their token, and no
 * spoofed sender in signaling).
 */
import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { storeKinds } from '../test/helpers/stores.js';
import { createServer, type EcdnServer, type ServerOptions } from './create-server.js';
import { delay } from './tracker/test-helpers.js';

const sockets: WebSocket[] = [];

for (const kind of storeKinds) {
  describe(`the server under abuse (${kind.name} store)`, { skip: kind.skip }, () => {
    let server: EcdnServer | undefined;
    afterEach(async () => {
      for (const socket of sockets.splice(0)) socket.terminate();
      await server?.close();
      server = undefined;
      await kind.reset();
    });
    after(() => kind.stop());

    /** The whole server, making its own store of this kind as a deployment would; resolves its ws:// base URL. */
    async function start(options: ServerOptions = {}): Promise<string> {
      server = createServer({ ...(await kind.serverOptions()), ...options });
      const url = await server.listen(0, '127.0.0.1');
      return url.replace(/^http/, 'ws');
    }

    describe('connections per address', () => {
      it('refuses a tracker upgrade over maxConnectionsPerIp with 429 TOO_MANY_CONNECTIONS, counting it in /metrics', async () => {
        const base = await start({ maxConnectionsPerIp: 2 });
        await open(`${base}/tracker`);
        await open(`${base}/tracker`);
        const refused = await refusal(`${base}/tracker`);
        assert.equal(refused.status, 429);
        assert.equal(refused.body.error, 'TOO_MANY_CONNECTIONS');
        const metrics = await (await fetch(`${base.replace(/^ws/, 'http')}/metrics`)).text();
        assert.match(metrics, /ecdn_connections_refused_total\{endpoint="tracker",reason="too_many_per_ip"\} 1/);
      });

      it('refuses a PeerServer upgrade over maxSignalingConnectionsPerIp with 429, and admits again once one closes', async () => {
        const base = await start({ maxSignalingConnectionsPerIp: 2 });
        const ids = [await identity(base), await identity(base), await identity(base)];
        const first = await open(peerjs(base, ids[0]!.peerId, ids[0]!.token));
        assert.equal((await first.next()).type, 'OPEN');
        const second = await open(peerjs(base, ids[1]!.peerId, ids[1]!.token));
        assert.equal((await second.next()).type, 'OPEN');
        assert.equal(server!.signalingConnections(), 2);
        const refused = await refusal(peerjs(base, ids[2]!.peerId, ids[2]!.token));
        assert.equal(refused.status, 429);
        assert.equal(refused.body.error, 'TOO_MANY_CONNECTIONS');
        first.ws.close();
        await first.closed;
        await waitFor(() => server!.signalingConnections() === 1);
        const third = await open(peerjs(base, ids[2]!.peerId, ids[2]!.token));
        assert.equal((await third.next()).type, 'OPEN');
      });
    });

    describe('PeerServer message rate', () => {
      it('relays messages within the rate and closes with 1008 a client that floods', async () => {
        const base = await start({ signalingMessagesPerSecond: 10, signalingMessageBurst: 20, rateLimitStrikes: 50 });
        const a = await identity(base);
        const b = await identity(base);
        const sa = await open(peerjs(base, a.peerId, a.token));
        const sb = await open(peerjs(base, b.peerId, b.token));
        await sa.next();
        await sb.next();
        sa.ws.send(JSON.stringify({ type: 'OFFER', dst: b.peerId, payload: { sdp: 'x' } }));
        const relayed = await sb.next();
        assert.deepEqual([relayed.type, relayed.src], ['OFFER', a.peerId]);
        for (let i = 0; i < 500; i++) sa.ws.send(JSON.stringify({ type: 'CANDIDATE', dst: b.peerId, payload: { i } }));
        assert.equal(await sa.closed, 1008);
        // B got at most the burst, not the flood.
        await delay(50);
        let got = 0;
        sb.ws.removeAllListeners('message');
        for (;;) {
          const message = await Promise.race([sb.next(), delay(50).then(() => undefined)]);
          if (!message) break;
          got++;
        }
        assert.ok(got <= 20, `B received ${got} of the flood`);
        const metrics = await (await fetch(`${base.replace(/^ws/, 'http')}/metrics`)).text();
        assert.match(metrics, /ecdn_signaling_rate_limit_disconnects_total 1/);
      });

      it('limits bytes as well as messages', async () => {
        const base = await start({ signalingBytesPerSecond: 1024, signalingByteBurst: 64 * 1024, rateLimitStrikes: 5 });
        const a = await identity(base);
        const sa = await open(peerjs(base, a.peerId, a.token));
        await sa.next();
        const big = JSON.stringify({ type: 'HEARTBEAT', pad: 'x'.repeat(30_000) });
        for (let i = 0; i < 20; i++) sa.ws.send(big);
        assert.equal(await sa.closed, 1008);
      });
    });

    describe('identity', () => {
      it("accepts an ID with its tracker token, and refuses another peer's ID, a forged token and a made-up ID with 403", async () => {
        const base = await start();
        const mine = await identity(base);
        const theirs = await identity(base);
        for (const [id, token] of [
          [theirs.peerId, mine.token],
          [mine.peerId, 'A'.repeat(32)],
          [mine.peerId, ''],
          ['someone', 'x'],
        ] as const) {
          const refused = await refusal(peerjs(base, id, token));
          assert.equal(refused.status, 403, `${id} / ${token}`);
          assert.equal(refused.body.error, 'INVALID_TOKEN');
        }
        const accepted = await open(peerjs(base, mine.peerId, mine.token));
        assert.equal((await accepted.next()).type, 'OPEN');
      });

      it('accepts an ID a peer made itself only with the token it was derived from, on the PeerServer before the tracker and then on the tracker', async () => {
        const base = await start();
        const token = 'own-token-of-at-least-22-chars';
        const peerId = createHash('sha256').update(token).digest('hex').slice(0, 32);
        for (const [id, forged] of [
          [peerId, `${token}x`],
          [peerId, 'short'],
          [createHash('sha256').update('short').digest('hex').slice(0, 32), 'short'],
        ] as const) {
          assert.equal((await refusal(peerjs(base, id, forged))).status, 403, `${id} / ${forged}`);
        }
        const signaling = await open(peerjs(base, peerId, token));
        assert.equal((await signaling.next()).type, 'OPEN', 'no hello needed first');
        const tracker = await open(`${base}/tracker`);
        tracker.ws.send(JSON.stringify({ type: 'hello', peerId, token }));
        const welcome = await tracker.next();
        assert.equal(welcome.type, 'welcome');
        assert.equal(welcome.peerId, peerId);
        assert.equal(welcome.token, token);
        const thief = await open(`${base}/tracker`);
        thief.ws.send(JSON.stringify({ type: 'hello', peerId, token: `${token}x` }));
        assert.equal((await thief.next()).code, 'INVALID_TOKEN');
      });

      it('stamps the sender on every relayed message, so that nobody can speak as another peer', async () => {
        const base = await start();
        const a = await identity(base);
        const b = await identity(base);
        const c = await identity(base);
        const sa = await open(peerjs(base, a.peerId, a.token));
        const sc = await open(peerjs(base, c.peerId, c.token));
        await sa.next();
        await sc.next();
        sa.ws.send(JSON.stringify({ type: 'OFFER', src: b.peerId, dst: c.peerId, payload: { sdp: 'forged' } }));
        const relayed = await sc.next();
        assert.equal(relayed.src, a.peerId, 'the PeerServer writes the real sender over a forged src');
      });

      it("does not let a tracker client resume an ID with another ID's token", async () => {
        const base = await start();
        const theirs = await identity(base);
        const tracker = await open(`${base}/tracker`);
        const forged = await identity(base);
        tracker.ws.send(JSON.stringify({ type: 'hello', peerId: theirs.peerId, token: forged.token }));
        assert.equal((await tracker.next()).code, 'INVALID_TOKEN');
      });
    });
  });
}

type Json = Record<string, unknown>;

/** Opens a WebSocket; resolves with it and a queue of its JSON messages, or rejects with the HTTP status of a refused upgrade. */
function open(url: string): Promise<{ ws: WebSocket; next: () => Promise<Json>; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    sockets.push(ws);
    const inbox: Json[] = [];
    const waiting: Array<(m: Json) => void> = [];
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as Json;
      const waiter = waiting.shift();
      if (waiter) waiter(message);
      else inbox.push(message);
    });
    const closed = new Promise<number>((done) => ws.on('close', (code) => done(code)));
    const next = () => (inbox.length > 0 ? Promise.resolve(inbox.shift()!) : new Promise<Json>((done) => waiting.push(done)));
    ws.once('open', () => resolve({ ws, next, closed }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += String(chunk)));
      res.on('end', () =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body: JSON.parse(body || '{}') })),
      );
    });
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

async function refusal(url: string): Promise<{ status: number; body: Json }> {
  try {
    await open(url);
  } catch (err) {
    const { status, body } = err as { status?: number; body?: Json };
    if (status !== undefined) return { status, body: body ?? {} };
    throw err;
  }
  throw new Error(`${url} was accepted`);
}

/** An identity from the tracker. */
async function identity(base: string): Promise<{ peerId: string; token: string }> {
  const tracker = await open(`${base}/tracker`);
  tracker.ws.send(JSON.stringify({ type: 'hello' }));
  const welcome = await tracker.next();
  return { peerId: String(welcome.peerId), token: String(welcome.token) };
}

const peerjs = (base: string, id: string, token: string) =>
  `${base}/peerjs/peerjs?key=peerjs&id=${encodeURIComponent(id)}&token=${encodeURIComponent(token)}`;

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(10);
  }
}
