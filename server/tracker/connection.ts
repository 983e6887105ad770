/**
 * One tracker connection: what the tracker keeps per socket, the lanes that
 * order its messages, and backpressure (a client sending faster than the store
 * answers stops being read).
 *
 * Messages about one hash are handled one at a time and in order; messages
 * about different hashes run side by side; a message about no hash (`hello`,
 * `ping`, one that does not parse) waits for everything received before it,
 * and everything received after it waits for it. A client with several
 * requests in flight then has them all waiting on the store at once, which a
 * remote store (Redis) answers in one round trip instead of one each.
 *
 * Everything here is per connection and a tracker holds tens of thousands of them,
 * so what most peers never use (watches, reports, strikes) is created on first use.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { RateLimit, StrikeWindow } from '../limits.js';
import type { ParseResult } from './protocol.js';

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
  /** The TCP (or TLS) stream under `socket`, corked while one turn's replies are written. */
  readonly wire: Duplex | undefined;
  /** Messages sent this turn under the wire's cork, which comes off at the end of the turn; 0 when not corked. */
  corked: number;
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
  /** The lanes with messages being handled, by ordering key; undefined when none is pending. */
  lanes: Map<string, Lane> | undefined;
  /** Messages received and not yet handled, those being handled included. */
  pending: number;
  /** Announces of hashes not yet held that are waiting on the store, counted against `maxHashesPerConnection`. */
  announcing: number;
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
export function newConnection(
  socket: WebSocket,
  wire: Duplex | undefined,
  ip: string,
  country: string | undefined,
  rate: RateLimit,
  now: number,
): Connection {
  return {
    socket,
    wire,
    corked: 0,
    ip,
    country,
    peerId: undefined,
    hashes: new Set(),
    watches: undefined,
    lastSeen: now,
    host: undefined,
    iceRefreshAt: undefined,
    lanes: undefined,
    pending: 0,
    announcing: 0,
    closed: false,
    rate,
    strikes: undefined,
    reports: undefined,
    evicted: undefined,
  };
}

/** The lane of messages about no hash, which wait for every message before them, and every later one for them. */
const SERIAL_LANE = '';

/** A message, parsed, as it waits its turn. */
export interface Queued {
  readonly parsed: ParseResult;
  /** Over the rate limit when it arrived. */
  readonly limited: boolean;
}

/** Handles one message; never rejects (trouble is the handler's to report). */
export type MessageHandler = (conn: Connection, message: Queued) => Promise<void>;

/** Messages with one ordering key: the one being handled, and those waiting for it. */
interface Lane {
  /** Settles once the lane is empty. */
  done: Promise<void> | undefined;
  /** Messages waiting for the one being handled, oldest first. Created when one has to wait. */
  inbox: Queued[] | undefined;
}

/**
 * Has `handle` handle a message once those it must wait for are handled (see
 * above), so that replies about one hash go out in request order. `hash` is the
 * hash the message is about, or undefined to order it against every message.
 */
export function receive(conn: Connection, handle: MessageHandler, message: Queued, hash: string | undefined): void {
  conn.pending++;
  if (conn.pending >= PAUSE_AT_PENDING && !conn.socket.isPaused) conn.socket.pause();
  const lanes = (conn.lanes ??= new Map());
  // While a serial message waits, later ones queue behind it whatever they are about.
  const key = hash === undefined || lanes.has(SERIAL_LANE) ? SERIAL_LANE : hash;
  const lane = lanes.get(key);
  if (lane !== undefined) {
    (lane.inbox ??= []).push(message);
    return;
  }
  const fresh: Lane = { done: undefined, inbox: undefined };
  lanes.set(key, fresh);
  fresh.done = drain(conn, handle, key, fresh, message);
}

/**
 * Handles `message`, then the lane's messages that arrived meanwhile, until none
 * is left. One loop per burst rather than a promise chained per message: a burst
 * is what a busy client sends, and chaining would cost several promises per message.
 */
async function drain(conn: Connection, handle: MessageHandler, key: string, lane: Lane, message: Queued): Promise<void> {
  // No lane starts while the serial one exists, so these are all it must wait for.
  if (key === SERIAL_LANE && conn.lanes!.size > 1) await Promise.all(otherLanes(conn.lanes!, lane));
  for (;;) {
    await handle(conn, message);
    conn.pending--;
    if (conn.pending <= RESUME_AT_PENDING && conn.socket.isPaused && !conn.closed) conn.socket.resume();
    const next = lane.inbox?.shift();
    if (next === undefined) break;
    message = next;
  }
  const lanes = conn.lanes!;
  lanes.delete(key);
  if (lanes.size === 0) conn.lanes = undefined;
}

function otherLanes(lanes: Map<string, Lane>, lane: Lane): Array<Promise<void> | undefined> {
  const others = [];
  for (const other of lanes.values()) if (other !== lane) others.push(other.done);
  return others;
}

/** Settles once the messages `conn` received so far are handled. */
export async function idle(conn: Connection): Promise<void> {
  // Read a tick late: a message whose handler is running right now (and is, say,
  // dropping the connection) gets its lane only when `receive` returns.
  await undefined;
  while (conn.lanes !== undefined) await Promise.all(Array.from(conn.lanes.values(), (lane) => lane.done));
}

/**
 * Messages gathered under a cork before they are written at once. Each is two
 * buffers (frame header and text) of one `writev`, and libuv writes at most 1,024
 * buffers of a `writev` at once, leaving the rest for the next loop turn: kept
 * below that, a burst leaves in one system call and is never counted as unread.
 */
const FLUSH_AT_MESSAGES = 256;

/**
 * Sends a text message. Those sent in one turn of the event loop (the replies to
 * every request one store round trip answered, say) leave in one write: the
 * wire is corked at the first and uncorked once the turn's promise jobs are done,
 * or when `FLUSH_AT_MESSAGES` are waiting.
 */
export function sendText(conn: Connection, text: string): void {
  const { wire, socket } = conn;
  if (wire === undefined) {
    socket.send(text);
    return;
  }
  if (conn.corked === 0) {
    wire.cork();
    process.nextTick(uncork, conn);
  }
  socket.send(text);
  if (++conn.corked % FLUSH_AT_MESSAGES === 0) {
    wire.uncork();
    wire.cork();
  }
}

function uncork(conn: Connection): void {
  conn.corked = 0;
  conn.wire!.uncork();
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
