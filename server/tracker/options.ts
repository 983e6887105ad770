/**
 * The tracker's options and their defaults. Everything is checked here, once, when
 * the tracker is created, so that a typo in a config fails at start-up.
 */
import { randomBytes } from 'node:crypto';
import { proxyHops, type TrustProxy } from '../address.js';
import { lookupCountry as geoLookupCountry, type CountryLookup } from './geo.js';
import { MemoryStore } from './memory-store.js';
import {
  DEFAULT_HEARTBEAT_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS_PER_IP,
  DEFAULT_MAX_HASHES_PER_CONNECTION,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_MESSAGES_PER_SECOND,
  DEFAULT_MAX_PEERS_RETURNED,
  DEFAULT_MAX_REPORTS_PER_MINUTE,
  DEFAULT_MAX_WATCHES_PER_CONNECTION,
  DEFAULT_MESSAGE_BURST,
  DEFAULT_RATE_LIMIT_STRIKES,
  type TrackerLimits,
} from './protocol.js';
import type { IceServers } from '../ice.js';
import type { SwarmStore } from './store.js';

export interface TrackerOptions {
  /** A connection silent for this long (ms) is evicted and its socket terminated. Default 30,000. */
  heartbeatTimeoutMs?: number | undefined;
  /** Most peer IDs in one `peers` reply. Default 30. */
  maxPeersReturned?: number | undefined;
  /** Largest client frame (bytes); larger gets `MESSAGE_TOO_LARGE` and close 1009. Default 65,536. */
  maxMessageBytes?: number | undefined;
  /** Most hashes one connection may have announced at a time. Default 1,000. */
  maxHashesPerConnection?: number | undefined;
  /** Most hashes one connection may watch at a time. Default 1,000. */
  maxWatchesPerConnection?: number | undefined;
  /**
   * Most connections open at once from one IPv4 address or IPv6 /64; one more gets
   * `TOO_MANY_CONNECTIONS` and close 1013. `Infinity` turns the cap off. Default 64.
   */
  maxConnectionsPerIp?: number | undefined;
  /** Sustained messages per second per connection; beyond, `RATE_LIMITED`. `Infinity` turns it off. Default 50. */
  maxMessagesPerSecond?: number | undefined;
  /** Messages a connection may send at once before `maxMessagesPerSecond` applies. Default 2,500. */
  messageBurst?: number | undefined;
  /** `RATE_LIMITED` refusals within 10 s after which the connection is closed with 1008. Default 100. */
  rateLimitStrikes?: number | undefined;
  /** `report` messages per connection per minute (and burst); beyond, `RATE_LIMITED`. Default 10. */
  maxReportsPerMinute?: number | undefined;
  /**
   * Reverse proxies to trust in front of the server: `true` for one, or a number of hops.
   * The client address is then read from `X-Forwarded-For` (see `clientAddress`). Only behind proxies you run. Default false.
   */
  trustProxy?: TrustProxy | undefined;
  /** Key of the peer tokens (HMAC-SHA256). Default: 32 random bytes, so tokens die with the process. */
  secret?: Buffer | undefined;
  /** Where swarms live. Default a new {@link MemoryStore}. An injected store is not closed by the tracker. */
  store?: SwarmStore | undefined;
  /** Country of an address. Default the GeoLite2 lookup of geo.ts. */
  lookupCountry?: CountryLookup | undefined;
  /** Source of randomness for shuffling equally near peers. Default `Math.random`. */
  random?: (() => number) | undefined;
  /** ICE servers handed to clients in `welcome`, and refreshed before TURN credentials expire. Default none. */
  ice?: IceServers | undefined;
}

/** {@link TrackerOptions} checked and with every default filled in. */
export interface ResolvedTrackerOptions {
  readonly heartbeatTimeoutMs: number;
  /** The limits a client is told in `welcome`. */
  readonly limits: TrackerLimits;
  readonly rateLimitStrikes: number;
  readonly maxReportsPerMinute: number;
  readonly maxConnectionsPerIp: number;
  /** Proxy hops to trust, as `clientAddress` takes them. */
  readonly trustProxy: number;
  readonly secret: Buffer;
  readonly store: SwarmStore;
  readonly lookupCountry: CountryLookup;
  readonly random: () => number;
  readonly ice: IceServers | undefined;
}

/** Checks `options` and fills in the defaults. Throws a `RangeError` for a value out of range. */
export function resolveTrackerOptions(options: TrackerOptions): ResolvedTrackerOptions {
  if (options.secret !== undefined && options.secret.length === 0) throw new RangeError('secret must not be empty');
  return {
    heartbeatTimeoutMs: integerOption('heartbeatTimeoutMs', options.heartbeatTimeoutMs, DEFAULT_HEARTBEAT_TIMEOUT_MS, 1),
    limits: {
      maxMessageBytes: integerOption('maxMessageBytes', options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES, 1),
      maxHashesPerConnection: integerOption('maxHashesPerConnection', options.maxHashesPerConnection, DEFAULT_MAX_HASHES_PER_CONNECTION, 0),
      maxWatchesPerConnection: integerOption(
        'maxWatchesPerConnection',
        options.maxWatchesPerConnection,
        DEFAULT_MAX_WATCHES_PER_CONNECTION,
        0,
      ),
      maxPeersReturned: integerOption('maxPeersReturned', options.maxPeersReturned, DEFAULT_MAX_PEERS_RETURNED, 0),
      maxMessagesPerSecond: rateOption('maxMessagesPerSecond', options.maxMessagesPerSecond, DEFAULT_MAX_MESSAGES_PER_SECOND),
      messageBurst: integerOption('messageBurst', options.messageBurst, DEFAULT_MESSAGE_BURST, 1),
    },
    rateLimitStrikes: integerOption('rateLimitStrikes', options.rateLimitStrikes, DEFAULT_RATE_LIMIT_STRIKES, 0),
    maxReportsPerMinute: rateOption('maxReportsPerMinute', options.maxReportsPerMinute, DEFAULT_MAX_REPORTS_PER_MINUTE),
    maxConnectionsPerIp:
      options.maxConnectionsPerIp === Infinity
        ? Infinity
        : integerOption('maxConnectionsPerIp', options.maxConnectionsPerIp, DEFAULT_MAX_CONNECTIONS_PER_IP, 1),
    trustProxy: proxyHops(options.trustProxy),
    secret: options.secret ?? randomBytes(32),
    store: options.store ?? new MemoryStore(),
    lookupCountry: options.lookupCountry ?? geoLookupCountry,
    random: options.random ?? Math.random,
    ice: options.ice?.enabled ? options.ice : undefined,
  };
}

function rateOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (value !== Infinity && !(Number.isFinite(value) && value > 0))
    throw new RangeError(`${name} must be a positive number or Infinity, got ${value}`);
  return value;
}

function integerOption(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer of at least ${min}, got ${value}`);
  return value;
}
