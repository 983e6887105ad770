import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import createDebug from 'debug';
import { NetsimError } from './errors.js';
import { run } from './shell.js';

const debug = createDebug('ecdn:netsim');

/** Long-term TURN credentials as an `RTCIceServer` takes them. */
export interface TurnCredentials {
  username: string;
  credential: string;
}

/** Options for the TURN server, given as `internet({ turn: { ... } })`. */
export interface TurnOptions {
  /** Lowest relay port (default 49152). */
  minPort?: number;
  /** Highest relay port (default 49999). */
  maxPort?: number;
  /** Log every session (coturn's `--verbose`); the log is at `net.turn.logFile`. */
  verbose?: boolean;
}

/** The running coturn, as the tests see it. */
export interface TurnService {
  /** TURN URLs on the public segment, UDP and TCP. */
  readonly urls: string[];
  /** The `static-auth-secret` coturn was started with (random per run). */
  readonly secret: string;
  /** coturn's realm (random per run). */
  readonly realm: string;
  /** coturn's log, for debugging a failed test. */
  readonly logFile: string;
  /** Mints credentials valid for `ttlSeconds` from now, for the peer `name`. */
  credentials(ttlSeconds: number, name: string): TurnCredentials;
}

/**
 * coturn's `use-auth-secret` scheme (the "TURN REST API"): the username is
 * `<unix expiry>:<name>` and the password base64(HMAC-SHA1(secret, username)).
 * A negative `ttlSeconds` gives credentials that have already expired.
 */
export function turnCredentials(secret: string, ttlSeconds: number, name: string, now = Date.now()): TurnCredentials {
  const username = `${Math.floor(now / 1000) + ttlSeconds}:${name}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/** A coturn process started by `startCoturn`. */
export interface Coturn {
  service: TurnService;
  process: ChildProcess;
}

/**
 * Starts Debian's coturn in `namespace`, listening for STUN and TURN on both
 * `addresses` (two addresses let RFC 5780 NAT discovery compare mappings) and
 * relaying from the first, and resolves once both listeners are open.
 */
export async function startCoturn(
  namespace: string,
  addresses: readonly [string, string],
  dir: string,
  options: TurnOptions = {},
): Promise<Coturn> {
  const secret = randomBytes(24).toString('hex');
  const realm = `netsim-${randomBytes(4).toString('hex')}.test`;
  const logFile = join(dir, 'turnserver.log');
  const args = [
    'netns',
    'exec',
    namespace,
    'turnserver',
    '-n',
    '--no-cli',
    `--listening-ip=${addresses[0]}`,
    `--listening-ip=${addresses[1]}`,
    '--listening-port=3478',
    `--relay-ip=${addresses[0]}`,
    `--min-port=${options.minPort ?? 49152}`,
    `--max-port=${options.maxPort ?? 49999}`,
    '--use-auth-secret',
    `--static-auth-secret=${secret}`,
    `--realm=${realm}`,
    '--no-tls',
    '--no-dtls',
    '--fingerprint',
    '--no-multicast-peers',
    // Its own database file, so that it never creates or reads the system's.
    `--userdb=${join(dir, 'turndb')}`,
    `--log-file=${logFile}`,
    '--simple-log',
    '--no-stdout-log',
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    ...(options.verbose ? ['--verbose'] : []),
  ];
  const child = spawn('ip', args, { stdio: 'ignore' });
  let exited: string | null = null;
  child.on('exit', (code, signal) => {
    exited = signal ?? `exit ${code}`;
  });
  child.on('error', (err) => {
    exited = err.message;
  });

  const wanted = addresses.map((address) => `${address}:3478`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited !== null) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      throw new NetsimError('TURN_START_FAILED', `turnserver stopped (${exited}): ${log.slice(-2000)}`);
    }
    const listening = await run('ip', ['netns', 'exec', namespace, 'ss', '-Hlun']);
    if (wanted.every((address) => listening.includes(address))) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new NetsimError('TURN_START_FAILED', `turnserver did not listen on ${wanted.join(' and ')} within 10 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  debug('coturn listening on %s in %s', wanted.join(', '), namespace);

  const service: TurnService = {
    urls: [`turn:${addresses[0]}:3478?transport=udp`, `turn:${addresses[0]}:3478?transport=tcp`],
    secret,
    realm,
    logFile,
    credentials: (ttlSeconds, name) => turnCredentials(secret, ttlSeconds, name),
  };
  return { service, process: child };
}
