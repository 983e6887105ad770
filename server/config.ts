import type { ServerOptions } from './create-server.js';
import { isIceUrl, type IceOptions, type IceServer } from './ice.js';
import { DEFAULT_LOG_LEVEL, LOG_LEVELS, type LogLevel } from './logger.js';

/** The built-in STUN responder's port when `STUN_PORT` is unset: the standard one. */
export const DEFAULT_STUN_PORT = 3478;

/** Raised when an environment variable holds something the server cannot use. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function integer(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}.`);
  }
  return value;
}

function boolean(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(raw)}.`);
}

/** TRUST_PROXY: true/false, or the number of proxies in front of the server. */
function trustProxy(env: NodeJS.ProcessEnv): boolean | number | undefined {
  const raw = env.TRUST_PROXY;
  if (raw !== undefined && /^\d+$/.test(raw)) {
    const hops = integer(env, 'TRUST_PROXY', 0, 16);
    return hops === 0 ? false : hops;
  }
  try {
    return boolean(env, 'TRUST_PROXY');
  } catch {
    throw new ConfigError(`TRUST_PROXY must be true, false or a number of proxies from 0 to 16, got ${JSON.stringify(raw)}.`);
  }
}

function logLevel(env: NodeJS.ProcessEnv): LogLevel {
  const raw = env.LOG_LEVEL;
  if (raw === undefined || raw === '') return DEFAULT_LOG_LEVEL;
  const level = raw.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(raw)}.`);
  }
  return level as LogLevel;
}

/** STUN_PORT, TURN_URLS, TURN_SECRET, TURN_TTL and ICE_SERVERS. Secrets stay out of every message. */
function ice(env: NodeJS.ProcessEnv): IceOptions {
  const stunPort = integer(env, 'STUN_PORT', 0, 65534) ?? DEFAULT_STUN_PORT;
  const turnUrls = env.TURN_URLS?.split(',')
    .map((url) => url.trim())
    .filter(Boolean);
  for (const url of turnUrls ?? []) {
    if (!/^turns?:/i.test(url) || !isIceUrl(url)) {
      throw new ConfigError(`TURN_URLS must list turn: or turns: URLs separated by commas, got ${JSON.stringify(url)}.`);
    }
  }
  const turnSecret = env.TURN_SECRET || undefined;
  if (turnUrls?.length && !turnSecret)
    throw new ConfigError("TURN_URLS is set but TURN_SECRET is not: set it to the TURN server's static-auth-secret.");
  if (turnSecret && !turnUrls?.length)
    throw new ConfigError('TURN_SECRET is set but TURN_URLS is not: list the TURN servers that share it.');
  return {
    stunPort: stunPort === 0 ? undefined : stunPort,
    turnUrls: turnUrls?.length ? turnUrls : undefined,
    turnSecret,
    turnTtlSeconds: integer(env, 'TURN_TTL', 10, 30 * 86_400),
    iceServers: iceServers(env),
  };
}

function iceServers(env: NodeJS.ProcessEnv): IceServer[] | undefined {
  const raw = env.ICE_SERVERS;
  if (raw === undefined || raw.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('ICE_SERVERS must be JSON: an array of {"urls", "username", "credential"} objects.');
  }
  const fail = (why: string): never => {
    throw new ConfigError(`ICE_SERVERS ${why}.`);
  };
  if (!Array.isArray(parsed)) fail('must be a JSON array of {"urls", "username", "credential"} objects');
  return (parsed as unknown[]).map((entry, i) => {
    if (typeof entry !== 'object' || entry === null) return fail(`entry ${i} is not an object`);
    const { urls, username, credential } = entry as Record<string, unknown>;
    const list = typeof urls === 'string' ? [urls] : Array.isArray(urls) ? urls : fail(`entry ${i} has no "urls"`);
    for (const url of list) {
      if (typeof url !== 'string' || !isIceUrl(url))
        fail(`entry ${i} has ${JSON.stringify(url)}, which is not a stun:, turn: or turns: URL`);
    }
    if (username !== undefined && typeof username !== 'string') fail(`entry ${i} has a "username" that is not a string`);
    if (credential !== undefined && typeof credential !== 'string') fail(`entry ${i} has a "credential" that is not a string`);
    return {
      urls: urls as string | string[],
      ...(username === undefined ? {} : { username }),
      ...(credential === undefined ? {} : { credential }),
    } as IceServer;
  });
}

/** REDIS_URL: a redis:// or rediss:// URL. Its value is never quoted back, since it may hold a password. */
function redisUrl(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.REDIS_URL?.trim();
  if (!raw) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || !/^rediss?:$/.test(url.protocol) || !url.hostname) {
    throw new ConfigError('REDIS_URL must be a URL such as redis://[user:password@]host[:port][/db] (or rediss:// for TLS).');
  }
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d+$/.test(url.pathname)) {
    throw new ConfigError('REDIS_URL may end with a database number (/0, /1, ...) and nothing else.');
  }
  return raw;
}

/** Everything `server/index.ts` needs: the server's options, where to listen, and the log level. */
export type Config = ServerOptions & { port: number; host: string; logLevel: LogLevel };

/**
 * Reads the server's configuration from environment variables. Every variable is
 * optional; the README lists them with their defaults.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const heartbeat = integer(env, 'HEARTBEAT_TIMEOUT', 1, 3600);
  const secret = env.ECDN_SECRET;
  if (secret !== undefined && secret.length < 16) {
    throw new ConfigError('ECDN_SECRET must be at least 16 characters long.');
  }
  const redis = redisUrl(env);
  if (redis !== undefined && secret === undefined) {
    throw new ConfigError(
      'REDIS_URL is set but ECDN_SECRET is not: every instance sharing the Redis must sign peer tokens with the same ECDN_SECRET.',
    );
  }
  const int = (name: string, min: number, max: number) => integer(env, name, min, max);
  return {
    redisUrl: redis,
    port: integer(env, 'PORT', 0, 65535) ?? 8787,
    host: env.HOST || '127.0.0.1',
    logLevel: logLevel(env),
    metrics: boolean(env, 'METRICS'),
    heartbeatTimeoutMs: heartbeat === undefined ? undefined : heartbeat * 1000,
    maxPeersReturned: int('MAX_PEERS_RETURNED', 1, 1000),
    maxMessageBytes: int('MAX_MESSAGE_BYTES', 1024, 1024 * 1024),
    maxHashesPerConnection: int('MAX_HASHES_PER_CONNECTION', 1, 1_000_000),
    maxWatchesPerConnection: int('MAX_WATCHES_PER_CONNECTION', 1, 1_000_000),
    maxConnectionsPerIp: int('MAX_CONNECTIONS_PER_IP', 1, 1_000_000),
    maxMessagesPerSecond: int('MAX_MESSAGES_PER_SECOND', 1, 1_000_000),
    messageBurst: int('MESSAGE_BURST', 1, 10_000_000),
    rateLimitStrikes: int('RATE_LIMIT_STRIKES', 0, 1_000_000),
    maxReportsPerMinute: int('MAX_REPORTS_PER_MINUTE', 1, 1_000_000),
    maxSignalingClients: int('MAX_SIGNALING_CLIENTS', 1, 10_000_000),
    maxSignalingConnectionsPerIp: int('MAX_SIGNALING_CONNECTIONS_PER_IP', 1, 1_000_000),
    signalingMessagesPerSecond: int('SIGNALING_MESSAGES_PER_SECOND', 1, 1_000_000),
    signalingMessageBurst: int('SIGNALING_MESSAGE_BURST', 1, 10_000_000),
    signalingBytesPerSecond: int('SIGNALING_BYTES_PER_SECOND', 1024, 1024 * 1024 * 1024),
    signalingByteBurst: int('SIGNALING_BYTE_BURST', 65_536, 1024 * 1024 * 1024),
    trustProxy: trustProxy(env),
    secret: secret === undefined ? undefined : Buffer.from(secret),
    ice: ice(env),
  };
}
