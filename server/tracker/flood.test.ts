/**
 * Floods against the tracker: a client announcing 10^6 random hashes as fast as it
 * can, many connections from one address, message rates, reports. Each asserts what
 * the flooder gets back, what the store holds, and how much the heap grew. Those
 * that reach the store run on the in-memory store and on RedisStore (a real
 * redis-server).
 *
 * FLOOD_HASHES sets how many announces the flooder tries (default 10^6).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { memoryKind, storeKinds, wrapStore, type StoreKind } from '../../test/helpers/stores.js';
import type { TrackerOptions } from './options.js';
import type { SwarmStore } from './store.js';
import { TestClient, delay, hashOf, heapAfterGc, mib, trackersOn } from './test-helpers.js';
import type { TrackerEvents } from './events.js';

const FLOOD_HASHES = Number(process.env.FLOOD_HASHES ?? 1_000_000);
/**
 * Announces tried when nothing but the hash cap stops them: every one is answered,
 * at about 10^4 a second here, so the default keeps CI short. FLOOD_UNLIMITED_HASHES=1000000 for the long run.
 */
const FLOOD_UNLIMITED_HASHES = Number(process.env.FLOOD_UNLIMITED_HASHES ?? 100_000);
/**
 * FLOOD_UNLIMITED_HASHES for a store of `kind`. No announce past the cap reaches the
 * store, so a tenth of them shows the same on Redis and keeps its pass short.
 */
const unlimitedHashes = (kind: StoreKind) => (kind.name === 'redis' ? Math.ceil(FLOOD_UNLIMITED_HASHES / 10) : FLOOD_UNLIMITED_HASHES);
/** How much the heap may grow while a flooder is connected or after it left. */
const HEAP_BOUND = 48 * 1024 * 1024;

interface FloodResult {
  sent: number;
  /** Replies by `type`, or by `code` for errors. */
  replies: Record<string, number>;
  /** Close code, when the tracker closed the connection. */
  closeCode: number | undefined;
  /** The last message received. */
  last: Record<string, unknown> | undefined;
  ms: number;
  socket: WebSocket;
}

/**
 * Says hello, then announces up to `count` random hashes as fast as the socket
 * takes them, and waits for the last reply (or the close).
 */
async function floodAnnounces(url: string, count: number, headers: Record<string, string> = {}): Promise<FloodResult> {
  const socket = new WebSocket(url, { headers });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const replies: Record<string, number> = {};
  let closeCode: number | undefined;
  let last: Record<string, unknown> | undefined;
  let sawEnd: () => void = () => {};
  const end = new Promise<void>((resolve) => (sawEnd = resolve));
  let welcome: () => void = () => {};
  const welcomed = new Promise<void>((resolve) => (welcome = resolve));
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string; code?: string; rid?: string };
    last = message;
    const key = message.type === 'error' ? message.code! : message.type;
    replies[key] = (replies[key] ?? 0) + 1;
    if (message.type === 'welcome') welcome();
    if (message.rid === 'end') sawEnd();
  });
  const closed = new Promise<void>((resolve) =>
    socket.on('close', (code) => {
      closeCode = code;
      resolve();
    }),
  );
  socket.on('error', () => {});
  socket.send(JSON.stringify({ type: 'hello' }));
  await welcomed;

  const started = performance.now();
  let sent = 0;
  const random = randomBytes(32 * 4096);
  while (sent < count && socket.readyState === socket.OPEN) {
    randomFill(random);
    for (let i = 0; i < 4096 && sent < count; i++, sent++) {
      socket.send(`{"type":"announce","hash":"${random.toString('hex', i * 32, i * 32 + 32)}"}`);
    }
    // Let the tracker read, and stop queueing once it stops reading (it pauses a client that runs ahead).
    await new Promise((resolve) => setImmediate(resolve));
    while (socket.bufferedAmount > 1024 * 1024 && socket.readyState === socket.OPEN) await delay(1);
  }
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ type: 'ping', rid: 'end' }));
  await Promise.race([end, closed]);
  return { sent, replies, closeCode, last, ms: performance.now() - started, socket };
}

function randomFill(buffer: Buffer): void {
  // randomBytes is slow for 10^6 hashes; a cheap PRNG is random enough to make them distinct.
  const words = new Uint32Array(buffer.buffer, buffer.byteOffset, buffer.byteLength / 4);
  for (let i = 0; i < words.length; i++) words[i] = (Math.random() * 0x1_0000_0000) >>> 0;
}

/** `store`, remembering the most entries it ever held (read after each add). */
function withPeak(store: SwarmStore): SwarmStore & { peak: number } {
  const counted = wrapStore(store, {
    peak: 0,
    add: async (...args) => {
      const changed = await store.add(...args);
      counted.peak = Math.max(counted.peak, (await store.stats()).entries);
      return changed;
    },
  });
  return counted;
}

for (const kind of storeKinds) {
  describe(`floods on the ${kind.name} store`, { skip: kind.skip }, () => {
    const start = trackersOn(kind);
    const unlimited = unlimitedHashes(kind);
    /** A tracker on a new store of this kind that remembers its peak. */
    const startPeak = async (options: TrackerOptions = {}, recordWarnings = true) => {
      const store = withPeak(await kind.open());
      return { store, t: await start({ ...options, store }, { recordWarnings }) };
    };

    describe('one client announcing random hashes as fast as it can', () => {
      it(`with the default limits: cut off by RATE_LIMITED and a 1008 close, the store at most at the hash cap (${FLOOD_HASHES} tried)`, async () => {
        const { store, t } = await startPeak({}, false);
        const evictions: Array<TrackerEvents['evict'][0]> = [];
        t.tracker.on('evict', (event) => evictions.push(event));
        const before = await heapAfterGc();
        const result = await floodAnnounces(t.url, FLOOD_HASHES);
        console.log(`# flood finished after ${result.ms.toFixed(0)} ms`);
        const during = await heapAfterGc();
        console.log(
          `# flood (default limits): sent ${result.sent} of ${FLOOD_HASHES} in ${result.ms.toFixed(0)} ms, replies ${JSON.stringify(result.replies)}, ` +
            `close ${result.closeCode}, store peak ${store.peak} entries, heap +${mib(during - before)}`,
        );
        assert.equal(result.closeCode, 1008, 'the flooder is disconnected for its rate');
        assert.ok(result.sent < FLOOD_HASHES, 'it was cut off before it got through');
        // Refusals still queued when it crossed the line are dropped with it; the last word says why.
        assert.ok((result.replies.RATE_LIMITED ?? 0) >= 1);
        assert.equal(result.last?.code, 'RATE_LIMITED');
        assert.match(String(result.last?.message), /disconnected/);
        assert.ok((result.replies.TOO_MANY_HASHES ?? 0) > 0, 'announces past the cap were refused');
        assert.equal(store.peak, 1_000, 'the store held at most maxHashesPerConnection entries');
        assert.ok(during - before < HEAP_BOUND, `heap grew ${mib(during - before)}`);
        await waitFor(() => evictions.length === 1);
        assert.equal(evictions[0]!.reason, 'rate-limited');
        assert.deepEqual(await store.stats(), { swarms: 0, peers: 0, entries: 0 }, 'its swarms are pruned once it is gone');
        assert.deepEqual(t.tracker.stats(), { connections: 0, peers: 0, swarms: 0, watched: 0 });
      });

      it(`with no rate limit: every announce past the cap gets TOO_MANY_HASHES and the store stays at the cap (${unlimited} tried)`, async () => {
        const { store, t } = await startPeak({ maxMessagesPerSecond: Infinity, maxHashesPerConnection: 1_000 }, false);
        const before = await heapAfterGc();
        const result = await floodAnnounces(t.url, unlimited);
        const during = await heapAfterGc();
        const stats = await store.stats();
        console.log(
          `# flood (no rate limit): sent ${result.sent} in ${result.ms.toFixed(0)} ms (${Math.round(result.sent / (result.ms / 1000))}/s), ` +
            `replies ${JSON.stringify(result.replies)}, store ${JSON.stringify(stats)}, heap +${mib(during - before)}`,
        );
        assert.equal(result.closeCode, undefined, 'still connected: it was only refused');
        assert.equal(result.sent, unlimited);
        assert.equal(result.replies.ok, 1_000);
        assert.equal(result.replies.TOO_MANY_HASHES, unlimited - 1_000);
        assert.deepEqual(stats, { swarms: 1_000, peers: 1, entries: 1_000 });
        assert.equal(store.peak, 1_000);
        assert.ok(during - before < HEAP_BOUND, `heap grew ${mib(during - before)}`);
        result.socket.close();
        await waitFor(async () => (await store.stats()).entries === 0);
        const after = await heapAfterGc();
        assert.ok(after - before < HEAP_BOUND, `heap after it left grew ${mib(after - before)}`);
        assert.deepEqual(t.tracker.stats(), { connections: 0, peers: 0, swarms: 0, watched: 0 });
      });

      it('from many connections of one address: capped at maxConnectionsPerIp x maxHashesPerConnection', async () => {
        const { store, t } = await startPeak({ maxConnectionsPerIp: 8, maxHashesPerConnection: 100, maxMessagesPerSecond: Infinity });
        const results = await Promise.all(Array.from({ length: 8 }, () => floodAnnounces(t.url, 5_000)));
        for (const result of results) assert.equal(result.replies.TOO_MANY_HASHES, 4_900);
        const ninth = await TestClient.connect(t.url);
        assert.deepEqual((await ninth.next()).code, 'TOO_MANY_CONNECTIONS');
        assert.equal((await ninth.closed).code, 1013);
        assert.deepEqual(await store.stats(), { swarms: 800, peers: 8, entries: 800 });
        assert.equal(store.peak, 800);
        for (const result of results) result.socket.close();
        await waitFor(async () => (await store.stats()).entries === 0);
      });
    });

    describe('empty swarms and watches are pruned', () => {
      it('leaves nothing behind after announces, withdraws, watches and disconnects', async () => {
        const { store, t } = await startPeak();
        const clients = await Promise.all(Array.from({ length: 5 }, () => t.connect()));
        for (const client of clients) await client.hello();
        for (let i = 0; i < 50; i++) {
          const client = clients[i % clients.length]!;
          await client.request({ type: 'announce', hash: hashOf(i % 20), complete: i % 2 === 0 });
          await client.request({ type: 'watch', hash: hashOf(100 + (i % 7)) });
          if (i % 3 === 0) await client.request({ type: 'withdraw', hash: hashOf(i % 20) });
          if (i % 5 === 0) await client.request({ type: 'unwatch', hash: hashOf(100 + (i % 7)) });
        }
        assert.ok((await store.stats()).swarms > 0);
        await clients[0]!.request({ type: 'withdraw', hash: hashOf(0) });
        await Promise.all(clients.map((client) => client.close()));
        await waitFor(async () => (await store.stats()).entries === 0 && t.tracker.stats().connections === 0);
        assert.deepEqual(await store.stats(), { swarms: 0, peers: 0, entries: 0 });
        assert.deepEqual(t.tracker.stats(), { connections: 0, peers: 0, swarms: 0, watched: 0 });
      });
    });
  });
}

// Connections, pings and reports never reach the store: these run once, on the default one.
describe('limits before the store', () => {
  const start = trackersOn(memoryKind);

  describe('connections per address', () => {
    it('refuses one over maxConnectionsPerIp with TOO_MANY_CONNECTIONS and 1013, and admits again once one closes', async () => {
      const t = await start({ maxConnectionsPerIp: 3 });
      const clients = [await t.connect(), await t.connect(), await t.connect()];
      assert.equal(t.tracker.admits('127.0.0.1'), false);
      assert.equal(t.tracker.admits('127.0.0.2'), true);
      const fourth = await TestClient.connect(t.url);
      const refused = await fourth.next();
      assert.equal(refused.code, 'TOO_MANY_CONNECTIONS');
      assert.equal((await fourth.closed).code, 1013);
      await clients[0]!.close();
      await waitFor(() => t.tracker.stats().connections === 2);
      const again = await t.connect();
      await again.hello();
      assert.deepEqual(
        t.warnings.map((w) => w.code),
        ['TOO_MANY_CONNECTIONS'],
      );
    });

    it('counts an IPv6 /64 as one address', async () => {
      const t = await start({ maxConnectionsPerIp: 2, trustProxy: true });
      await t.connect({ 'X-Forwarded-For': '2001:db8:1:2::1' });
      await t.connect({ 'X-Forwarded-For': '2001:db8:1:2:ffff::9' });
      const third = await TestClient.connect(t.url, { 'X-Forwarded-For': '2001:db8:1:2:abcd::1' });
      assert.equal((await third.next()).code, 'TOO_MANY_CONNECTIONS');
      const otherNetwork = await t.connect({ 'X-Forwarded-For': '2001:db8:1:3::1' });
      await otherNetwork.hello();
    });
  });

  describe('message rate', () => {
    it('answers RATE_LIMITED (with the rid) beyond the burst, and serves again once the bucket refills', async () => {
      const t = await start({ maxMessagesPerSecond: 20, messageBurst: 5 });
      const client = await t.connect();
      await client.hello(); // 1 token
      for (let i = 0; i < 10; i++) client.send({ type: 'ping', rid: i });
      const replies = [];
      for (let i = 0; i < 10; i++) replies.push(await client.next((m) => m.rid === i));
      assert.deepEqual(
        replies.map((m) => (m.type === 'error' ? m.code : m.type)),
        ['pong', 'pong', 'pong', 'pong', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED'],
      );
      await delay(120); // two tokens
      assert.equal((await client.request({ type: 'ping' })).type, 'pong');
      assert.equal(client.socket.readyState, client.socket.OPEN);
    });

    it('closes with 1008 a connection that keeps going over the limit', async () => {
      const t = await start({ maxMessagesPerSecond: 10, messageBurst: 10, rateLimitStrikes: 20 });
      const reasons: string[] = [];
      t.tracker.on('evict', ({ reason }) => reasons.push(reason));
      const client = await t.connect();
      await client.hello();
      for (let i = 0; i < 100; i++) client.send({ type: 'ping' });
      assert.equal((await client.closed).code, 1008);
      await waitFor(() => reasons.length === 1);
      assert.deepEqual(reasons, ['rate-limited']);
      const last = client.received.at(-1)!;
      assert.equal(last.code, 'RATE_LIMITED');
      assert.match(String(last.message), /disconnected/);
    });

    it('is off with maxMessagesPerSecond: Infinity', async () => {
      const t = await start({ maxMessagesPerSecond: Infinity, messageBurst: 1 });
      const client = await t.connect();
      await client.hello();
      for (let i = 0; i < 50; i++) client.send({ type: 'ping', rid: i });
      for (let i = 0; i < 50; i++) assert.equal((await client.next((m) => m.rid === i)).type, 'pong');
    });
  });

  describe('report', () => {
    it('accepts a valid report, counts repeats once, and rate-limits reports', async () => {
      const t = await start({ maxReportsPerMinute: 3 });
      const reports: Array<TrackerEvents['report'][0]> = [];
      t.tracker.on('report', (event) => reports.push(event));
      const client = await t.connect();
      const me = (await client.hello()).peerId;
      const H = hashOf(7);
      assert.deepEqual(await client.request({ type: 'report', hash: H, peerId: 'liar1', reason: 'BAD_PIECES' }), {
        type: 'ok',
        rid: 'r2',
        hash: H,
      });
      assert.equal((await client.request({ type: 'report', hash: H, peerId: 'liar1', reason: 'BAD_PIECES' })).type, 'ok');
      assert.equal((await client.request({ type: 'report', hash: H, peerId: 'liar2', reason: 'SOMETHING_NEW' })).type, 'ok');
      const limited = await client.request({ type: 'report', hash: H, peerId: 'liar3', reason: 'BAD_MANIFEST' });
      assert.equal(limited.code, 'RATE_LIMITED');
      assert.deepEqual(reports, [
        { hash: H, reporter: me, peerId: 'liar1', reason: 'BAD_PIECES', duplicate: false },
        { hash: H, reporter: me, peerId: 'liar1', reason: 'BAD_PIECES', duplicate: true },
        { hash: H, reporter: me, peerId: 'liar2', reason: 'OTHER', duplicate: false },
      ]);
      assert.equal((await client.request({ type: 'ping' })).type, 'pong', 'other messages are not affected');
    });

    it('refuses malformed reports with typed errors, and needs hello first', async () => {
      const t = await start();
      const client = await t.connect();
      assert.equal((await client.request({ type: 'report', hash: hashOf(1), peerId: 'x', reason: 'BAD_PIECES' })).code, 'HELLO_REQUIRED');
      await client.hello();
      for (const [message, code] of [
        [{ type: 'report', hash: 'ABC', peerId: 'x', reason: 'BAD_PIECES' }, 'INVALID_HASH'],
        [{ type: 'report', peerId: 'x', reason: 'BAD_PIECES' }, 'BAD_MESSAGE'],
        [{ type: 'report', hash: hashOf(1), reason: 'BAD_PIECES' }, 'BAD_MESSAGE'],
        [{ type: 'report', hash: hashOf(1), peerId: 'no/slashes', reason: 'BAD_PIECES' }, 'BAD_MESSAGE'],
        [{ type: 'report', hash: hashOf(1), peerId: 'x', reason: 'bad pieces' }, 'BAD_MESSAGE'],
        [{ type: 'report', hash: hashOf(1), peerId: 'x', reason: 'A'.repeat(33) }, 'BAD_MESSAGE'],
        [{ type: 'report', hash: hashOf(1), peerId: 'x' }, 'BAD_MESSAGE'],
      ] as const) {
        assert.equal((await client.request(message)).code, code, JSON.stringify(message));
      }
    });
  });
});

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(10);
  }
}
