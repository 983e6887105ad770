/**
 * The tracker's wire protocol: JSON text frames over WebSocket.
 *
 * This module holds the message types for both directions, the error codes,
 * the limits' defaults, and {@link parseClientMessage}, which turns a received
 * frame into a typed message or a typed {@link ProtocolError}. Pure: no I/O.
 *
 * docs/protocol.md is the client implementer's reference for all of this.
 */
import type { IceServer } from '../ice.js';

/** How long a connection may stay silent before it is evicted, in ms. */
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 30_000;
/** Most peer IDs one `peers` reply carries. */
export const DEFAULT_MAX_PEERS_RETURNED = 30;
/** Largest client frame accepted, in bytes. Larger closes the connection with 1009. */
export const DEFAULT_MAX_MESSAGE_BYTES = 65_536;
/** Most distinct hashes one connection may have announced at a time. */
export const DEFAULT_MAX_HASHES_PER_CONNECTION = 1_000;
/** Most distinct hashes one connection may watch at a time. */
export const DEFAULT_MAX_WATCHES_PER_CONNECTION = 1_000;
/** Most tracker connections open at once from one IPv4 address or one IPv6 /64. */
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 64;
/** Messages per second one connection may send, sustained (the token bucket's refill rate). */
export const DEFAULT_MAX_MESSAGES_PER_SECOND = 50;
/**
 * Messages one connection may send at once (the token bucket's size). Large enough
 * for a client that reconnects to re-announce and re-watch everything the caps allow.
 */
export const DEFAULT_MESSAGE_BURST = 2_500;
/** Refused (`RATE_LIMITED`) messages within {@link RATE_LIMIT_WINDOW_MS} after which the connection is closed with 1008. */
export const DEFAULT_RATE_LIMIT_STRIKES = 100;
/** The window over which rate-limit strikes are counted, in ms. */
export const RATE_LIMIT_WINDOW_MS = 10_000;
/** `report` messages one connection may send per minute (burst of as many). */
export const DEFAULT_MAX_REPORTS_PER_MINUTE = 10;

/** Longest `rid` string a client may send (numbers are always fine if finite). */
export const MAX_RID_LENGTH = 64;
/** Longest `peerId` accepted in `hello`. Issued IDs are {@link ISSUED_PEER_ID_LENGTH} long. */
export const MAX_PEER_ID_LENGTH = 64;
/** Length of the peer IDs the tracker issues (base62). */
export const ISSUED_PEER_ID_LENGTH = 20;
/** Length of the tokens the tracker issues (base64url of an HMAC-SHA256, truncated). */
export const TOKEN_LENGTH = 32;
/** Length of a peer ID a peer made itself: hex digits of its token's SHA-256 (128 bits). */
export const OWN_PEER_ID_LENGTH = 32;
/** Shortest token an own peer ID is accepted with; it must carry at least 128 random bits. */
export const MIN_OWN_TOKEN_LENGTH = 22;
/** Longest `token` accepted in `hello`; anything longer cannot be one the tracker issued. */
export const MAX_TOKEN_LENGTH = 64;

/**
 * Most bytes the tracker lets pile up unread on one connection. A client that
 * reads its socket slower than that is disconnected with close code 1008.
 */
export const MAX_SEND_BUFFER_BYTES = 4 * 1024 * 1024;

/** WebSocket close code sent after `MESSAGE_TOO_LARGE`. */
export const CLOSE_MESSAGE_TOO_LARGE = 1009;
/** WebSocket close code sent when the tracker shuts down. */
export const CLOSE_GOING_AWAY = 1001;
/** WebSocket close code sent to a client that does not read its replies fast enough, or keeps sending over its rate limit. */
export const CLOSE_POLICY_VIOLATION = 1008;
/** WebSocket close code sent after `TOO_MANY_CONNECTIONS`: the address has too many connections open. */
export const CLOSE_TRY_AGAIN_LATER = 1013;

/**
 * Why a client banned a peer, as sent in `report`. A report with another reason
 * (upper-case letters and `_`, at most {@link MAX_REPORT_REASON_LENGTH}) is accepted and counted as `OTHER`.
 *
 * - `BAD_PIECES`: the peer sent pieces that failed their hash.
 * - `BAD_MANIFEST`: the peer sent a piece manifest that does not describe the file.
 * - `PROTOCOL`: the peer sent malformed wire frames.
 */
export const REPORT_REASONS = ['BAD_PIECES', 'BAD_MANIFEST', 'PROTOCOL'] as const;
export type ReportReason = (typeof REPORT_REASONS)[number] | 'OTHER';
/** Longest `reason` accepted in `report`. */
export const MAX_REPORT_REASON_LENGTH = 32;
const REPORT_REASON_RE = /^[A-Z][A-Z0-9_]*$/;

const HASH_RE = /^[0-9a-f]{64}$/;
/** What PeerJS itself accepts as a peer ID. */
const PEER_ID_RE = /^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/;

/** True when `hash` is a SHA-256 written as 64 lowercase hexadecimal characters. */
export function isValidHash(hash: unknown): hash is string {
  return typeof hash === 'string' && HASH_RE.test(hash);
}

/** True when `id` is a string PeerJS would accept as a peer ID, at most {@link MAX_PEER_ID_LENGTH} long. */
export function isValidPeerId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && id.length <= MAX_PEER_ID_LENGTH && PEER_ID_RE.test(id);
}

/**
 * Every error the tracker sends, as a string a client can `switch` on.
 *
 * - `BAD_JSON`: the frame is not valid UTF-8 JSON.
 * - `BAD_MESSAGE`: the JSON is not an object, or a field is missing or has the wrong type (the message names it), or the frame was binary.
 * - `UNKNOWN_TYPE`: `type` is a string but not a message this tracker knows.
 * - `INVALID_HASH`: `hash` is a string but not 64 lowercase hexadecimal characters.
 * - `MESSAGE_TOO_LARGE`: the frame is over `maxMessageBytes`; the connection is then closed with 1009.
 * - `TOO_MANY_HASHES`: announcing one more hash would exceed `maxHashesPerConnection`.
 * - `TOO_MANY_WATCHES`: watching one more hash would exceed `maxWatchesPerConnection`.
 * - `HELLO_REQUIRED`: a message other than `hello` came before a successful `hello`.
 * - `ALREADY_HELLO`: a second `hello` on a connection that already has an identity.
 * - `INVALID_TOKEN`: the `token` in `hello` does not belong to the `peerId`.
 * - `ID_IN_USE`: another live connection holds the `peerId` given in `hello`.
 * - `RATE_LIMITED`: the connection sent messages (or `report`s) faster than its limit; the message was dropped. Persistent abuse closes the connection with 1008.
 * - `TOO_MANY_CONNECTIONS`: the client's address already has `maxConnectionsPerIp` tracker connections; the connection is then closed with 1013.
 * - `STORE_UNAVAILABLE`: the shared swarm store (Redis) is unreachable for now; retry in a few seconds.
 * - `INTERNAL_ERROR`: the tracker failed (e.g. its store); the request may be retried.
 */
export type ErrorCode =
  | 'BAD_JSON'
  | 'BAD_MESSAGE'
  | 'UNKNOWN_TYPE'
  | 'INVALID_HASH'
  | 'MESSAGE_TOO_LARGE'
  | 'TOO_MANY_HASHES'
  | 'TOO_MANY_WATCHES'
  | 'HELLO_REQUIRED'
  | 'ALREADY_HELLO'
  | 'INVALID_TOKEN'
  | 'ID_IN_USE'
  | 'RATE_LIMITED'
  | 'TOO_MANY_CONNECTIONS'
  | 'STORE_UNAVAILABLE'
  | 'INTERNAL_ERROR';

/** All error codes, for tests and documentation. */
export const ERROR_CODES: readonly ErrorCode[] = [
  'BAD_JSON',
  'BAD_MESSAGE',
  'UNKNOWN_TYPE',
  'INVALID_HASH',
  'MESSAGE_TOO_LARGE',
  'TOO_MANY_HASHES',
  'TOO_MANY_WATCHES',
  'HELLO_REQUIRED',
  'ALREADY_HELLO',
  'INVALID_TOKEN',
  'ID_IN_USE',
  'RATE_LIMITED',
  'TOO_MANY_CONNECTIONS',
  'STORE_UNAVAILABLE',
  'INTERNAL_ERROR',
];

/** A request identifier chosen by the client and echoed in the reply. */
export type Rid = string | number;

/** A protocol failure: what goes out as an `error` message. Read `code`, not `message`. */
export class ProtocolError extends Error {
  /** What went wrong, stable across versions. */
  readonly code: ErrorCode;
  /** The request's `rid`, when the request carried a valid one. */
  readonly rid: Rid | undefined;

  constructor(code: ErrorCode, message: string, rid?: Rid) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.rid = rid;
  }
}

// ---------------------------------------------------------------------------
// Client -> server

/** First message on every connection: get a fresh identity, or resume one with its token. */
export interface HelloMessage {
  type: 'hello';
  rid?: Rid;
  peerId?: string;
  token?: string;
}

/** "I hold this file" (complete) or "I hold verified parts of it" (partial). */
export interface AnnounceMessage {
  type: 'announce';
  rid?: Rid;
  hash: string;
  complete: boolean;
}

/** "I no longer hold this file." */
export interface WithdrawMessage {
  type: 'withdraw';
  rid?: Rid;
  hash: string;
}

/** "Who holds this file?" */
export interface LookupMessage {
  type: 'lookup';
  rid?: Rid;
  hash: string;
  max?: number;
}

/** Subscribe to a file's counts. */
export interface WatchMessage {
  type: 'watch';
  rid?: Rid;
  hash: string;
}

/** Unsubscribe from a file's counts. */
export interface UnwatchMessage {
  type: 'unwatch';
  rid?: Rid;
  hash: string;
}

/** Heartbeat. Any other valid message counts as one too. */
export interface PingMessage {
  type: 'ping';
  rid?: Rid;
}

/**
 * "I banned this peer": sent by a client that caught a peer lying. The tracker
 * only counts reports (for operators); it does not act on them, since a report
 * is an unproven claim by one peer about another.
 */
export interface ReportMessage {
  type: 'report';
  rid?: Rid;
  /** The file the peer was banned from. */
  hash: string;
  /** The banned peer's ID. */
  peerId: string;
  /** Why; see {@link REPORT_REASONS}. */
  reason: string;
}

export type ClientMessage =
  | HelloMessage
  | AnnounceMessage
  | WithdrawMessage
  | LookupMessage
  | WatchMessage
  | UnwatchMessage
  | PingMessage
  | ReportMessage;

export type ClientMessageType = ClientMessage['type'];

/** All client message types, for tests and documentation. */
export const CLIENT_MESSAGE_TYPES: readonly ClientMessageType[] = [
  'hello',
  'announce',
  'withdraw',
  'lookup',
  'watch',
  'unwatch',
  'ping',
  'report',
];

// ---------------------------------------------------------------------------
// Server -> client

/** The limits a client must respect, sent in `welcome`. */
export interface TrackerLimits {
  maxMessageBytes: number;
  maxHashesPerConnection: number;
  maxWatchesPerConnection: number;
  maxPeersReturned: number;
  /** Sustained messages per second; see {@link DEFAULT_MAX_MESSAGES_PER_SECOND}. */
  maxMessagesPerSecond: number;
  /** Messages that may be sent at once before the sustained rate applies. */
  messageBurst: number;
}

/** Reply to `hello`: the identity to use with PeerJS and to resume with later. */
export interface WelcomeMessage {
  type: 'welcome';
  rid?: Rid;
  peerId: string;
  token: string;
  /** Send something at least this often (ms); a third of the heartbeat timeout. */
  heartbeatInterval: number;
  limits: TrackerLimits;
  /** ICE servers to use for every peer connection, when the server hands any out. */
  iceServers?: IceServer[];
  /** Two STUN URLs on one host, different ports: `diagnose()` compares the mappings they see. */
  natProbe?: string[];
}

/** Fresh ICE servers (new TURN credentials), pushed before the previous ones expire. */
export interface IceMessage {
  type: 'ice';
  iceServers?: IceServer[];
  natProbe?: string[];
}

/** A file's holder counts. `alive` is `seeders > 0`. */
export interface SwarmCounts {
  seeders: number;
  leechers: number;
}

export interface SwarmStatus extends SwarmCounts {
  hash: string;
  alive: boolean;
}

/** Reply to `announce` and `withdraw` (with the swarm's status after the change), and to `unwatch` and `report` (hash only). */
export interface OkMessage {
  type: 'ok';
  rid?: Rid;
  hash?: string;
  alive?: boolean;
  seeders?: number;
  leechers?: number;
}

/** Reply to `lookup`. `peers` excludes the asker and is ordered nearest first. */
export interface PeersMessage extends SwarmStatus {
  type: 'peers';
  rid?: Rid;
  peers: string[];
}

/** Reply to `watch` (with its `rid`), then pushed (without `rid`) on every count change. */
export interface SwarmMessage extends SwarmStatus {
  type: 'swarm';
  rid?: Rid;
}

export interface PongMessage {
  type: 'pong';
  rid?: Rid;
}

export interface ErrorMessage {
  type: 'error';
  rid?: Rid;
  code: ErrorCode;
  message: string;
}

export type ServerMessage = WelcomeMessage | IceMessage | OkMessage | PeersMessage | SwarmMessage | PongMessage | ErrorMessage;

/** The counted reason of a reported `reason`: itself when known, else `OTHER`. */
export function reportReason(reason: string): ReportReason {
  return (REPORT_REASONS as readonly string[]).includes(reason) ? (reason as ReportReason) : 'OTHER';
}

/** Builds a {@link SwarmStatus} from counts. */
export function swarmStatus(hash: string, counts: SwarmCounts): SwarmStatus {
  return { hash, alive: counts.seeders > 0, seeders: counts.seeders, leechers: counts.leechers };
}

/** `{ rid }` to spread into a reply, or nothing when the request had no rid. */
export function ridOf(rid: Rid | undefined): { rid?: Rid } {
  return rid === undefined ? {} : { rid };
}

/** Builds the `error` message for a {@link ProtocolError}. */
export function errorMessage(err: ProtocolError): ErrorMessage {
  const msg: ErrorMessage = { type: 'error', code: err.code, message: err.message };
  if (err.rid !== undefined) msg.rid = err.rid;
  return msg;
}

// ---------------------------------------------------------------------------
// Parsing

/** What `ws` hands to a 'message' listener. */
export type RawData = string | Buffer | ArrayBuffer | Buffer[];

export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; error: ProtocolError };

/** Size in bytes of a received frame, without copying it. */
export function rawByteLength(data: RawData): number {
  if (typeof data === 'string') return Buffer.byteLength(data, 'utf8');
  if (Array.isArray(data)) return data.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  return data.byteLength;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A received frame as text; throws on invalid UTF-8. */
export function rawText(data: RawData): string {
  if (typeof data === 'string') return data;
  if (Array.isArray(data)) return utf8.decode(Buffer.concat(data));
  return utf8.decode(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
}

/** Shows a client-supplied string in an error message without echoing a huge one back. */
function shown(value: string): string {
  return JSON.stringify(value.length > 32 ? `${value.slice(0, 32)}…` : value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function isRid(value: unknown): value is Rid {
  return (typeof value === 'string' && value.length <= MAX_RID_LENGTH) || (typeof value === 'number' && Number.isFinite(value));
}

/**
 * Parses one received frame into a typed client message.
 *
 * Checks, in order: size (`MESSAGE_TOO_LARGE`), frame kind (binary is `BAD_MESSAGE`),
 * UTF-8 and JSON (`BAD_JSON`), shape (`BAD_MESSAGE`), `type` (`UNKNOWN_TYPE`),
 * then each field (`BAD_MESSAGE` naming the field, or `INVALID_HASH`).
 * Fields a message does not define are ignored, so that clients can be newer than the tracker.
 * When the request carried a valid `rid`, the error carries it too.
 */
export function parseClientMessage(data: RawData, isBinary: boolean, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES): ParseResult {
  const size = rawByteLength(data);
  if (size > maxMessageBytes) {
    return fail('MESSAGE_TOO_LARGE', `Message is ${size} bytes; the limit is ${maxMessageBytes}.`);
  }
  if (isBinary) return fail('BAD_MESSAGE', 'Binary frames are not accepted; send JSON as a text frame.');

  let value: unknown;
  try {
    value = JSON.parse(rawText(data));
  } catch {
    return fail('BAD_JSON', 'Message is not valid UTF-8 JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('BAD_MESSAGE', `Message must be a JSON object, got ${typeName(value)}.`);
  }
  const obj = value as Record<string, unknown>;

  // The rid is read first so that every later error can echo it.
  let rid: Rid | undefined;
  if (obj.rid !== undefined) {
    if (!isRid(obj.rid)) {
      return fail('BAD_MESSAGE', `Field "rid" must be a string of at most ${MAX_RID_LENGTH} characters or a finite number.`);
    }
    rid = obj.rid;
  }
  const type = obj.type;
  if (typeof type !== 'string') return bad('BAD_MESSAGE', `Field "type" must be a string, got ${typeName(type)}.`, rid);

  switch (type) {
    case 'hello': {
      const { peerId, token } = obj;
      if (peerId === undefined && token === undefined) return withRid<HelloMessage>({ type }, rid);
      if (peerId === undefined) return bad('BAD_MESSAGE', 'Field "peerId" is required when "token" is given.', rid);
      if (!isValidPeerId(peerId)) {
        return bad(
          'BAD_MESSAGE',
          `Field "peerId" must be a PeerJS ID (letters and digits) of at most ${MAX_PEER_ID_LENGTH} characters.`,
          rid,
        );
      }
      if (token === undefined) return bad('BAD_MESSAGE', 'Field "token" is required when "peerId" is given.', rid);
      if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) {
        return bad('BAD_MESSAGE', `Field "token" must be a string of at most ${MAX_TOKEN_LENGTH} characters.`, rid);
      }
      return withRid<HelloMessage>({ type, peerId, token }, rid);
    }
    case 'announce': {
      const hash = hashField(obj, rid);
      if (typeof hash !== 'string') return hash;
      const complete = obj.complete ?? true;
      if (typeof complete !== 'boolean')
        return bad('BAD_MESSAGE', `Field "complete" must be a boolean, got ${typeName(obj.complete)}.`, rid);
      return withRid<AnnounceMessage>({ type, hash, complete }, rid);
    }
    case 'lookup': {
      const hash = hashField(obj, rid);
      if (typeof hash !== 'string') return hash;
      const max = obj.max;
      if (max === undefined) return withRid<LookupMessage>({ type, hash }, rid);
      if (typeof max !== 'number' || !Number.isInteger(max) || max < 0) {
        return bad('BAD_MESSAGE', 'Field "max" must be a non-negative integer.', rid);
      }
      return withRid<LookupMessage>({ type, hash, max }, rid);
    }
    case 'withdraw':
    case 'watch':
    case 'unwatch': {
      const hash = hashField(obj, rid);
      if (typeof hash !== 'string') return hash;
      return withRid({ type, hash }, rid);
    }
    case 'ping':
      return withRid<PingMessage>({ type }, rid);
    case 'report': {
      const hash = hashField(obj, rid);
      if (typeof hash !== 'string') return hash;
      const { peerId, reason } = obj;
      if (!isValidPeerId(peerId)) {
        return bad(
          'BAD_MESSAGE',
          `Field "peerId" must be a PeerJS ID (letters and digits) of at most ${MAX_PEER_ID_LENGTH} characters.`,
          rid,
        );
      }
      if (typeof reason !== 'string' || reason.length > MAX_REPORT_REASON_LENGTH || !REPORT_REASON_RE.test(reason)) {
        return bad(
          'BAD_MESSAGE',
          `Field "reason" must be upper-case letters, digits and "_", at most ${MAX_REPORT_REASON_LENGTH} characters, such as "BAD_PIECES".`,
          rid,
        );
      }
      return withRid<ReportMessage>({ type, hash, peerId, reason }, rid);
    }
    default:
      return bad('UNKNOWN_TYPE', `Unknown message type ${shown(type)}.`, rid);
  }
}

function fail(code: ErrorCode, message: string): ParseResult {
  return { ok: false, error: new ProtocolError(code, message) };
}

// The helpers below are module functions rather than closures over `rid` and `obj`
// in parseClientMessage: that runs once per message, and per-call closures (each
// wrapped in a naming helper when run through tsx) showed up in the server's profile.

/** A parsed message, carrying the request's `rid` when it had one. */
function withRid<T extends ClientMessage>(message: T, rid: Rid | undefined): ParseResult {
  if (rid !== undefined) message.rid = rid;
  return { ok: true, message };
}

/** A failed parse whose error echoes the request's `rid`. */
function bad(code: ErrorCode, message: string, rid: Rid | undefined): ParseResult {
  return { ok: false, error: new ProtocolError(code, message, rid) };
}

/** The message's `hash` field when it is a valid hash, else the failed parse to return. */
function hashField(obj: Record<string, unknown>, rid: Rid | undefined): string | ParseResult {
  const hash = obj.hash;
  if (typeof hash !== 'string') return bad('BAD_MESSAGE', `Field "hash" must be a string, got ${typeName(hash)}.`, rid);
  if (!isValidHash(hash))
    return bad('INVALID_HASH', `Field "hash" must be a SHA-256 as 64 lowercase hexadecimal characters, got ${shown(hash)}.`, rid);
  return hash;
}
