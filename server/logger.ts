/**
 * The operator-facing log: one JSON object per line (pino), with a level set by
 * `LOG_LEVEL`. The `debug('ecdn:*')` namespaces stay for developers; this is what
 * a server in production writes.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { EvictReason, TrackerWarning } from './tracker/events.js';
import type { Tracker } from './tracker/tracker.js';

export type { Logger };

/** The levels `LOG_LEVEL` accepts, most severe first. `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** The level when `LOG_LEVEL` is not set. */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

export interface LoggerOptions {
  /** Least severe level written. Default `info`. */
  level?: LogLevel | undefined;
  /** Where lines go. Default standard output. */
  destination?: DestinationStream | undefined;
}

/**
 * A JSON logger: `{"level":"info","time":"2026-…Z","service":"ephemeralcdn","msg":"…",…}`.
 * The level is written as its name, the time as ISO 8601.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const config = {
    level: options.level ?? DEFAULT_LOG_LEVEL,
    base: { service: 'ephemeralcdn' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

/** A logger that writes nothing: what `createServer` uses unless given one. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Evictions worth an operator's attention; the others are the normal end of a connection. */
const EVICT_LEVEL: Record<EvictReason, 'debug' | 'info' | 'warn'> = {
  close: 'debug',
  shutdown: 'debug',
  timeout: 'info',
  'too-large': 'warn',
  'slow-consumer': 'warn',
  'rate-limited': 'warn',
};

/** The level of a tracker warning: client mistakes are debug, abuse is warn, the tracker's own failures are error. */
function warningLevel(warning: TrackerWarning): 'debug' | 'info' | 'warn' | 'error' {
  switch (warning.code) {
    case 'INTERNAL_ERROR':
      return 'error';
    case 'SLOW_CONSUMER':
    case 'TOO_MANY_CONNECTIONS':
      return 'warn';
    case 'SOCKET_ERROR':
      return 'info';
    default:
      // Bad requests (and single RATE_LIMITED refusals) are the client's business;
      // a rate-limit disconnect is logged as an eviction.
      return 'debug';
  }
}

/**
 * Writes the tracker's warnings, evictions and reports to `log`. Peer tokens are never logged.
 * Returns a function that stops it.
 */
export function logTracker(tracker: Tracker, log: Logger): () => void {
  const onWarning = (warning: TrackerWarning) => {
    const level = warningLevel(warning);
    if (!log.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = { event: 'warning', code: warning.code, peerId: warning.peerId, ip: warning.ip };
    if (warning.cause !== undefined) fields.err = warning.cause;
    log[level](fields, warning.message);
  };
  const onEvict: Parameters<typeof tracker.on<'evict'>>[1] = ({ peerId, ip, reason, hashes }) => {
    log[EVICT_LEVEL[reason]](
      { event: 'evict', peerId, ip, reason, hashes },
      `evicted ${peerId ?? 'a connection without identity'}: ${reason}`,
    );
  };
  const onReport: Parameters<typeof tracker.on<'report'>>[1] = (report) => {
    log.info({ event: 'report', ...report }, `${report.reporter} banned ${report.peerId} (${report.reason})`);
  };
  const onHello: Parameters<typeof tracker.on<'hello'>>[1] = ({ peerId, resumed, ip, country }) => {
    log.debug({ event: 'hello', peerId, resumed, ip, country }, `hello ${peerId}`);
  };
  tracker.on('warning', onWarning);
  tracker.on('evict', onEvict);
  tracker.on('report', onReport);
  tracker.on('hello', onHello);
  return () => {
    tracker.off('warning', onWarning);
    tracker.off('evict', onEvict);
    tracker.off('report', onReport);
    tracker.off('hello', onHello);
  };
}
