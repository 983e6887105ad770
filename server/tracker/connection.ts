/**
 * One tracker connection: what the tracker keeps per socket, the queue that
 * handles its messages one at a time and in order, and backpressure (a client
 * sending faster than the store answers stops being read).
 *
 * Everything here is per connection and a tracker holds tens of thousands of them,
 * so what most peers never use (watches, reports, strikes) is created on first use.
 */
import type { WebSocket } from 'ws';
import type { RateLimit, StrikeWindow } from '../limits.js';
import type { RawData } from './protocol.js';

/** Messages queued on one connection before the tracker stops reading from its socket. */
const PAUSE_AT_PENDING = 32;
/** Queue length at which reading resumes. */
const RESUME_AT_PENDING = 8;
/** How long sockets get to complete the close handshake before being cut. */
export const SHUTDOWN_GRACE_MS = 1_000;

/** What one connection's `report`s are checked against. */
export interface Reports {
  /** `report` rate limit. */
  readonly rate: RateLimit;
  /** `hash peerId` pairs already reported on this connection, oldest first. */
  readonly seen: Set<string>;
}

/** What the tracker keeps per WebSocket. */
export interface Connection {
  readonly socket: WebSocket;
  readonly ip: string;
  readonly country: string | undefined;
  /** Set by `hello`. */
  peerId: string | undefined;
  /** Hashes this connection announced and has not withdrawn. */
  readonly hashes: Set<string>;
  /** Hashes this connection watches. Created by its first `watch`, since most peers never watch. */
  watches: Set<string> | undefined;
  lastSeen: number;
  /** The Host header the client connected with, kept only when ICE servers are handed out (a STUN URL names it). */
  host: string | undefined;
  /** When to hand out fresh TURN credentials (ms since the epoch); undefined without TURN. */
  iceRefreshAt: number | undefined;
  /** Settles once the messages received so far are handled; undefined when none is pending. */
  queue: Promise<void> | undefined;
  /** Messages waiting for the one being handled, oldest first. Created when one has to wait. */
  inbox: Queued[] | undefined;
  /** Messages received and not yet handled, the one being handled included. */
  pending: number;
  closed: boolean;
  /** Message rate limit. */
  readonly rate: RateLimit;
  /** Refusals for rate, counted to close connections that keep going. Created at the first refusal. */
  strikes: StrikeWindow | undefined;
  /** Created by the first `report`, since most peers never report. */
  reports: Reports | undefined;
  /** Settles once the connection's swarm entries are removed. */
  evicted: Promise<void> | undefined;
}

/** A new connection, with no identity and nothing pending. */
export function newConnection(socket: WebSocket, ip: string, country: string | undefined, rate: RateLimit, now: number): Connection {
  return {
    socket,
    ip,
    country,
    peerId: undefined,
    hashes: new Set(),
    watches: undefined,
    lastSeen: now,
    host: undefined,
    iceRefreshAt: undefined,
    queue: undefined,
    inbox: undefined,
    pending: 0,
    closed: false,
    rate,
    strikes: undefined,
    reports: undefined,
    evicted: undefined,
  };
}

/** Handles one message; never rejects (trouble is the handler's to report). */
export type MessageHandler = (conn: Connection, data: RawData, isBinary: boolean, limited: boolean) => Promise<void>;

/** A message waiting its turn. */
interface Queued {
  readonly data: RawData;
  readonly isBinary: boolean;
  /** Over the rate limit when it arrived. */
  readonly limited: boolean;
}

/**
 * Has `handle` handle a message once those received before it are handled, so
 * that replies go out in request order. With nothing pending it starts at once.
 */
export function receive(conn: Connection, handle: MessageHandler, data: RawData, isBinary: boolean, limited: boolean): void {
  conn.pending++;
  if (conn.pending >= PAUSE_AT_PENDING && !conn.socket.isPaused) conn.socket.pause();
  if (conn.queue === undefined) conn.queue = drain(conn, handle, data, isBinary, limited);
  else (conn.inbox ??= []).push({ data, isBinary, limited });
}

/**
 * Handles `data`, then the messages that arrived meanwhile, until none is left.
 * One loop per burst rather than a promise chained per message: a burst is what
 * a busy client sends, and chaining would cost several promises per message.
 */
async function drain(conn: Connection, handle: MessageHandler, data: RawData, isBinary: boolean, limited: boolean): Promise<void> {
  for (;;) {
    await handle(conn, data, isBinary, limited);
    conn.pending--;
    if (conn.pending <= RESUME_AT_PENDING && conn.socket.isPaused && !conn.closed) conn.socket.resume();
    const next = conn.inbox?.shift();
    if (next === undefined) {
      conn.inbox = undefined;
      conn.queue = undefined;
      return;
    }
    ({ data, isBinary, limited } = next);
  }
}

/** Settles once the messages `conn` received so far are handled. */
export async function idle(conn: Connection): Promise<void> {
  // Read a tick late: a message whose handler is running right now (and is, say,
  // dropping the connection) becomes the queue only when `receive` returns.
  await undefined;
  await conn.queue;
}

/**
 * Closes a socket the tracker has dropped. A socket paused for backpressure is
 * resumed so that the client's close frame can be read (what arrives before it is
 * ignored), and one that does not finish the handshake in time is cut.
 */
export function closeSocket(socket: WebSocket, code: number, reason: string): void {
  socket.close(code, reason);
  if (socket.isPaused) socket.resume();
  setTimeout(() => {
    if (socket.readyState !== socket.CLOSED) socket.terminate();
  }, SHUTDOWN_GRACE_MS).unref();
}
