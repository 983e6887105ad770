/**
 * Property-based fuzzing of the live tracker over real sockets: FUZZ_RUNS cases
 * (10^4 by default, FUZZ_RUNS=1000000 for a long run), each a burst of 1 to 6
 * frames from fuzz-arbitraries.ts on one of a few connections, with hashes and
 * peer IDs drawn from small pools so that swarms, watches and reports meet. It runs
 * on the in-memory store, then on RedisStore (a real redis-server).
 *
 * Asserts: the tracker never fails (no INTERNAL_ERROR, no uncaught exception),
 * every reply is a known message and every error a known code, the tracker keeps
 * answering, everything is pruned once the clients leave, and the heap stays flat.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { storeKinds } from '../../test/helpers/stores.js';
import { ERROR_CODES } from './protocol.js';
import type { SwarmStore } from './store.js';
import { FUZZ_RUNS, frameArb, type FuzzFrame } from './fuzz-arbitraries.js';
import { delay, hashOf, heapAfterGc, mib, startTracker, type TestTracker } from './test-helpers.js';

const HEAP_BOUND = 48 * 1024 * 1024;
const SERVER_TYPES = new Set(['welcome', 'ok', 'peers', 'swarm', 'pong', 'error']);
const HASHES = Array.from({ length: 8 }, (_, i) => hashOf(i + 1));
const POOL = 4;

/**
 * What a case does besides sending frames: resume another pool client's live
 * identity with its real token (ID_IN_USE), or close the socket right after the
 * burst, while its messages are still being handled.
 */
type Action = { kind: 'frame'; frame: FuzzFrame } | { kind: 'resume'; of: number } | { kind: 'close' };
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 30,
    arbitrary: frameArb({ hashes: HASHES, peerIds: ['PEER0', 'PEER1'], maxBytes: 1_500 }).map(
      (frame): Action => ({ kind: 'frame', frame }),
    ),
  },
  { weight: 1, arbitrary: fc.nat(POOL - 1).map((of): Action => ({ kind: 'resume', of })) },
  { weight: 1, arbitrary: fc.constant<Action>({ kind: 'close' }) },
);

type Json = Record<string, unknown>;

/** One fuzzing connection: records what it receives, and resolves barriers by rid. */
class FuzzClient {
  /** Bursts whose socket closed before the barrier (a close action, an oversize or invalid frame). */
  static cutShort = 0;
  readonly closed: Promise<number>;
  isClosed = false;
  peerId: string | undefined;
  token: string | undefined;
  private readonly barriers = new Map<string, () => void>();

  constructor(
    readonly socket: WebSocket,
    private readonly onMessage: (message: Json) => void,
  ) {
    socket.on('message', (data, isBinary) => {
      assert.equal(isBinary, false, 'the tracker only sends text');
      const message = JSON.parse(String(data)) as Json;
      if (message.type === 'welcome') {
        this.peerId = String(message.peerId);
        this.token = String(message.token);
      }
      this.onMessage(message);
      const barrier = typeof message.rid === 'string' ? this.barriers.get(message.rid) : undefined;
      if (barrier) {
        this.barriers.delete(message.rid as string);
        barrier();
      }
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', (code) => {
        this.isClosed = true;
        resolve(code);
      }),
    );
  }

  static async open(url: string, onMessage: (message: Json) => void): Promise<FuzzClient> {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return new FuzzClient(socket, onMessage);
  }

  send(frame: FuzzFrame): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (Array.isArray(frame.data)) {
      // A fragmented message: the tracker receives it reassembled.
      this.socket.send(frame.data[0]!, { binary: frame.isBinary, fin: false });
      this.socket.send(frame.data[1]!, { binary: frame.isBinary, fin: true });
    } else {
      this.socket.send(frame.data, { binary: frame.isBinary });
    }
  }

  /**
   * Sends a ping with `rid` and resolves once its reply (pong or error) came back,
   * or the socket closed. Counts whether the burst was answered to the end.
   */
  async barrier(rid: string): Promise<void> {
    if (this.socket.readyState !== this.socket.OPEN) {
      FuzzClient.cutShort++;
      return;
    }
    const replied = new Promise<void>((resolve) => this.barriers.set(rid, resolve));
    this.socket.send(JSON.stringify({ type: 'ping', rid }));
    const timeout = delay(5_000).then(() => 'timeout' as const);
    const outcome = await Promise.race([replied, this.closed, timeout]);
    assert.notEqual(outcome, 'timeout', `the tracker did not answer ${rid} within 5 s`);
  }
}

for (const kind of storeKinds) {
  describe(`live tracker fuzz (${kind.name} store, ${FUZZ_RUNS} cases)`, { skip: kind.skip }, () => {
    let t: TestTracker;
    let store: SwarmStore;
    const warningCodes = new Set<string>();
    before(async () => {
      store = await kind.open();
      t = await startTracker(
        { store, maxMessagesPerSecond: Infinity, maxHashesPerConnection: 4, maxWatchesPerConnection: 4, maxMessageBytes: 1_024 },
        { recordWarnings: false },
      );
      t.tracker.on('warning', (warning) => warningCodes.add(warning.code));
    });
    after(async () => {
      await t?.close();
      await kind.reset();
      await kind.stop();
    });

    it('answers every frame with a known message or a typed error, never fails, and prunes everything afterwards', async () => {
      FuzzClient.cutShort = 0;
      const received: Record<string, number> = {};
      const onMessage = (message: Json) => {
        assert.ok(SERVER_TYPES.has(String(message.type)), `unknown message ${JSON.stringify(message).slice(0, 200)}`);
        if (message.type === 'error') {
          assert.ok((ERROR_CODES as readonly string[]).includes(String(message.code)), `unknown code ${String(message.code)}`);
          assert.notEqual(message.code, 'INTERNAL_ERROR', String(message.message));
        }
        const key = message.type === 'error' ? String(message.code) : String(message.type);
        received[key] = (received[key] ?? 0) + 1;
      };
      const closes: Record<number, number> = {};
      const clients: Array<FuzzClient | undefined> = [];
      const clientAt = async (i: number, hello: boolean): Promise<FuzzClient> => {
        let client = clients[i];
        if (client && client.socket.readyState === client.socket.OPEN) return client;
        // A socket closing is waited for, so that every case sends its burst on an open one.
        if (client) {
          const code = await client.closed;
          closes[code] = (closes[code] ?? 0) + 1;
        }
        client = await FuzzClient.open(t.url, onMessage);
        clients[i] = client;
        if (hello) {
          client.send({ data: JSON.stringify({ type: 'hello', rid: 'hello' }), isBinary: false, valid: true });
          await client.barrier(`hello-barrier-${i}`);
        }
        return client;
      };
      for (let i = 0; i < POOL; i++) await clientAt(i, true);

      let run = 0;
      const property = fc.asyncProperty(
        fc.nat(POOL - 1),
        fc.boolean(),
        fc.array(actionArb, { minLength: 1, maxLength: 6 }),
        async (index, hello, actions) => {
          const client = await clientAt(index, hello);
          for (const action of actions) {
            if (action.kind === 'frame') client.send(action.frame);
            else if (action.kind === 'close') client.socket.close();
            else {
              const other = clients[action.of];
              if (other?.peerId)
                client.send({
                  data: JSON.stringify({ type: 'hello', peerId: other.peerId, token: other.token }),
                  isBinary: false,
                  valid: true,
                });
            }
          }
          await client.barrier(`b${run++}`);
        },
      );
      // A warm-up, so that the heap measured after it holds compiled code and buffers already.
      await fc.assert(property, { numRuns: Math.min(1_000, FUZZ_RUNS) });
      const before = await heapAfterGc();
      const started = performance.now();
      await fc.assert(property, { numRuns: FUZZ_RUNS });
      const seconds = (performance.now() - started) / 1000;

      // Still answering.
      const probe = await clientAt(POOL, true);
      assert.ok(probe.peerId, 'a new client still gets a welcome');

      for (const client of clients) client?.socket.close();
      await Promise.all(clients.map((client) => client?.closed));
      const deadline = Date.now() + 5_000;
      while ((await store.stats()).entries > 0 || t.tracker.stats().connections > 0) {
        assert.ok(Date.now() < deadline, `not pruned: ${JSON.stringify(await store.stats())} ${JSON.stringify(t.tracker.stats())}`);
        await delay(10);
      }
      const afterHeap = await heapAfterGc();
      console.log(
        `# live tracker fuzz (${kind.name} store): ${FUZZ_RUNS} cases (${run} bursts, ${FuzzClient.cutShort} closed before the end) in ${seconds.toFixed(1)} s, heap ${mib(afterHeap - before)}, ` +
          `replies ${JSON.stringify(received)}, closes ${JSON.stringify(closes)}, warnings ${[...warningCodes].join(' ')}`,
      );
      assert.deepEqual(await store.stats(), { swarms: 0, peers: 0, entries: 0 });
      assert.deepEqual(t.tracker.stats(), { connections: 0, peers: 0, swarms: 0, watched: 0 });
      assert.ok(!warningCodes.has('INTERNAL_ERROR'), 'the tracker never failed');
      for (const code of warningCodes) assert.ok([...ERROR_CODES, 'SOCKET_ERROR'].includes(code), `warning ${code}`);
      assert.ok(afterHeap - before < HEAP_BOUND, `heap grew ${mib(afterHeap - before)}`);
    });
  });
}
