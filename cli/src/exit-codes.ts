/**
 * The exit status of every outcome, one per error code, so that a script can tell a
 * dead file from a network it cannot get through. docs/cli.md lists them for users;
 * keep the two in step. The numbers are part of the interface: never reuse one.
 */
import { type EcdnErrorCode, isEcdnError } from 'ephemeral-cdn';
import { CliError, type CliErrorCode } from './cli-error.js';

/** The exit status of each error code, and of success. */
export const EXIT_CODES: Readonly<Record<'OK' | 'INTERNAL' | 'STDOUT_CLOSED' | CliErrorCode | EcdnErrorCode, number>> = {
  OK: 0,
  /** Anything unexpected: a bug. The message says what. */
  INTERNAL: 1,
  USAGE: 2,
  INVALID_HASH: 3,
  INPUT: 4,
  OUTPUT_EXISTS: 5,
  OUTPUT: 6,
  DEAD: 10,
  HASH_MISMATCH: 11,
  NO_PEER_REACHABLE: 12,
  TIMEOUT: 13,
  TRACKER_UNREACHABLE: 14,
  PROTOCOL: 15,
  NO_SPACE: 16,
  STORAGE: 17,
  DESTROYED: 18,
  // A warning only: hashing without a worker. Never the reason a command ends.
  WORKER_UNAVAILABLE: 19,
  // Private shares: the CLI fetches them as they travel (ciphertext) only with the library's `raw`.
  KEY_REQUIRED: 20,
  INVALID_KEY: 21,
  DECRYPT_FAILED: 22,
  // Ctrl-C or SIGTERM, as shells report a command ended by SIGINT (128 + 2).
  ABORTED: 130,
  // `fetch -o -` whose reader closed the pipe (`| head`), as shells report SIGPIPE (128 + 13).
  STDOUT_CLOSED: 141,
};

/** The code of anything thrown: an error's own, or `INTERNAL`. */
export function codeOf(err: unknown): keyof typeof EXIT_CODES {
  const own = unwrap(err);
  if (own instanceof CliError || isEcdnError(own)) return own.code;
  return 'INTERNAL';
}

/** What to tell a person about anything thrown, on one line. */
export function messageOf(err: unknown): string {
  const own = unwrap(err);
  const message = own instanceof Error ? own.message : String(own);
  return message.replace(/\s*\n\s*/g, ' ');
}

/**
 * The error that says what happened: a download wraps what its store threw in a
 * `STORAGE` error, which hides a {@link CliError} of ours (the output appeared meanwhile).
 */
function unwrap(err: unknown): unknown {
  return isEcdnError(err, 'STORAGE') && err.cause instanceof CliError ? err.cause : err;
}

/** The exit status for anything thrown. */
export function exitCodeOf(err: unknown): number {
  return EXIT_CODES[codeOf(err)];
}
