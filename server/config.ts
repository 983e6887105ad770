import type { ServerOptions } from './create-server.js';

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

/**
 * Reads the server's configuration from environment variables. Every variable is
 * optional; the README lists them with their defaults.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ServerOptions & { port: number; host: string } {
  const heartbeat = integer(env, 'HEARTBEAT_TIMEOUT', 1, 3600);
  const secret = env.ECDN_SECRET;
  if (secret !== undefined && secret.length < 16) {
    throw new ConfigError('ECDN_SECRET must be at least 16 characters long.');
  }
  return {
    port: integer(env, 'PORT', 0, 65535) ?? 8787,
    host: env.HOST || '127.0.0.1',
    heartbeatTimeoutMs: heartbeat === undefined ? undefined : heartbeat * 1000,
    maxPeersReturned: integer(env, 'MAX_PEERS_RETURNED', 1, 1000),
    trustProxy: boolean(env, 'TRUST_PROXY'),
    secret: secret === undefined ? undefined : Buffer.from(secret),
  };
}
