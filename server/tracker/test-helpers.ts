/**
 * Test helpers for the tracker: a real HTTP + WebSocket server on port 0, and a
 * small client that speaks the protocol. Used by the *.test.ts files only.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import type { TrackerWarning } from './events.js';
import type { TrackerOptions } from './options.js';
import { createTracker, type Tracker } from './tracker.js';
import type { Rid, ServerMessage } from './protocol.js';
import type { StoreKind } from '../../test/helpers/stores.js';

/** Warnings a {@link TestTracker} records; later ones are dropped. */
export const MAX_RECORDED_WARNINGS = 10_000;

export interface TestTracker {
  tracker: Tracker;
  url: string;
  /** Every warning the tracker emitted, in order (the first {@link MAX_RECORDED_WARNINGS}). */
  warnings: TrackerWarning[];
  /** Opens a client; `headers` are sent with the upgrade request (e.g. X-Forwarded-For). */
  connect(headers?: Record<string, string>): Promise<TestClient>;
  /** Closes the tracker, every client and the server. */
  close(): Promise<void>;
}

/**
 * Starts a tracker behind a real WebSocket server on an ephemeral port. No country lookup unless given.
 * `recordWarnings: false` leaves {@link TestTracker.warnings} empty.
 */
export async function startTracker(options: TrackerOptions = {}, { recordWarnings = true } = {}): Promise<TestTracker> {
  const tracker = createTracker({ lookupCountry: () => undefined, ...options });
  const warnings: TrackerWarning[] = [];
  // Capped, so that a flood of refused messages does not fill the test's own heap;
  // off for tests that measure the heap.
  if (recordWarnings) {
    tracker.on('warning', (warning) => {
      if (warnings.length < MAX_RECORDED_WARNINGS) warnings.push(warning);
    });
  }
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, req) => tracker.handleConnection(socket, req));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `ws://127.0.0.1:${port}/tracker`;
  const clients: TestClient[] = [];
  return {
    tracker,
    url,
    warnings,
    async connect(headers) {
      const client = await TestClient.connect(url, headers);
      clients.push(client);
      return client;
    },
    async close() {
      await tracker.close();
      for (const client of clients) client.socket.terminate();
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * For a describe whose tests run on stores of `kind`: registers its hooks and returns
 * its `start`, which starts a tracker ({@link startTracker}) on a new, empty store of
 * that kind unless `options.store` is given. After each test the tracker closes, then
 * its store ({@link StoreKind.reset}); after the describe, the kind's redis-server stops.
 */
export function trackersOn(kind: StoreKind): (options?: TrackerOptions, settings?: { recordWarnings?: boolean }) => Promise<TestTracker> {
  let running: TestTracker | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
    await kind.reset();
  });
  after(() => kind.stop());
  return async (options = {}, settings = {}) => {
    running = await startTracker({ ...options, store: options.store ?? (await kind.open()) }, settings);
    return running;
  };
}

type AnyMessage = ServerMessage & Record<string, unknown>;

/** A protocol client that records every message it receives. */
export class TestClient {
  readonly received: AnyMessage[] = [];
  /** Resolves with the close code and reason once the socket is closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<{ match: (m: AnyMessage) => boolean; resolve: (m: AnyMessage) => void }> = [];
  private nextRid = 1;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      if (isBinary) throw new Error('the tracker sent a binary frame');
      const message = JSON.parse(String(data)) as AnyMessage;
      this.received.push(message);
      for (const waiter of [...this.waiters]) {
        if (waiter.match(message)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(message);
          return;
        }
      }
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  static connect(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers });
      socket.once('open', () => resolve(new TestClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends a JSON message as a text frame. */
  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  /** Sends raw data, as a text frame unless `binary`. */
  sendRaw(data: string | Buffer, binary = false): void {
    this.socket.send(data, { binary });
  }

  /**
   * The first received message matching `match` that no earlier wait consumed,
   * or the next one to arrive. Rejects after `timeoutMs`.
   */
  next(match: (m: AnyMessage) => boolean = () => true, timeoutMs = 2_000): Promise<AnyMessage> {
    const index = this.received.findIndex(match);
    if (index >= 0) return Promise.resolve(this.received.splice(index, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no matching message within ${timeoutMs} ms; received ${JSON.stringify(this.received)}`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (m: AnyMessage) => {
          clearTimeout(timer);
          // Consumed: drop it from the record so that later waits do not see it again.
          const i = this.received.indexOf(m);
          if (i >= 0) this.received.splice(i, 1);
          resolve(m);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Sends `message` with a fresh rid and resolves with the reply that echoes it. */
  async request(message: Record<string, unknown>, timeoutMs?: number): Promise<AnyMessage> {
    const rid: Rid = `r${this.nextRid++}`;
    this.send({ ...message, rid });
    return this.next((m) => m.rid === rid, timeoutMs);
  }

  /** Says hello and resolves with the welcome. */
  async hello(extra: Record<string, unknown> = {}): Promise<AnyMessage & { peerId: string; token: string }> {
    const reply = await this.request({ type: 'hello', ...extra });
    if (reply.type !== 'welcome') throw new Error(`hello failed: ${JSON.stringify(reply)}`);
    return reply as AnyMessage & { peerId: string; token: string };
  }

  /** Resolves with the next pushed `swarm` message (one without rid) for `hash`. */
  nextSwarm(hash: string, timeoutMs?: number): Promise<AnyMessage> {
    return this.next((m) => m.type === 'swarm' && m.hash === hash && m.rid === undefined, timeoutMs);
  }

  close(): Promise<{ code: number; reason: string }> {
    this.socket.close();
    return this.closed;
  }
}

/** A valid hash made from a number, for tests that need many distinct ones. */
export function hashOf(n: number): string {
  return n.toString(16).padStart(64, '0');
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export { heapAfterGc, mib } from '../../test/helpers/heap.js';
