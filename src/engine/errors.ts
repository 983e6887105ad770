/**
 * Every way an EphemeralCDN call can fail, as a string users can `switch` on.
 *
 * - `DEAD`: the tracker says no seeder holds the file any more. It is gone for good.
 * - `INVALID_HASH`: the argument is not 64 hexadecimal characters. Nothing touched the network.
 * - `HASH_MISMATCH`: the bytes did not hash to what was asked for, from every peer tried.
 * - `TIMEOUT`: the `timeout` option ran out before the file was complete.
 * - `ABORTED`: the caller's `AbortSignal` fired.
 * - `TRACKER_UNREACHABLE`: the tracker could not be reached, so nobody could be asked who holds the file.
 * - `NO_PEER_REACHABLE`: seeders exist but none of them could be connected to over WebRTC.
 * - `PROTOCOL`: a peer or the tracker sent something this engine cannot understand.
 * - `DESTROYED`: the engine was destroyed while the call was under way.
 * - `NO_SPACE`: the file fits neither in the disk space this site may use nor in memory. Checked before downloading.
 * - `STORAGE`: the disk refused to keep a piece, or gave it back unreadable.
 * - `KEY_REQUIRED`: the file is a private share (its bytes say so) and the call gave no `key`; pass the
 *   key from its link (`#k=`), or `raw: true` for the ciphertext as it travels.
 * - `INVALID_KEY`: the `key` given is not 22 characters of base64url (128 bits). Nothing touched the network.
 * - `DECRYPT_FAILED`: the bytes, verified against their hash, did not decrypt with the key given: it is
 *   not this file's key (or the file is not a private share). No plaintext was handed out.
 * - `WORKER_UNAVAILABLE` (in a `warning` event only): no worker could start on this page,
 *   so hashing runs on its main thread. Everything still works, with the page busier.
 */
export type EcdnErrorCode =
  | 'DEAD'
  | 'INVALID_HASH'
  | 'HASH_MISMATCH'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'TRACKER_UNREACHABLE'
  | 'NO_PEER_REACHABLE'
  | 'PROTOCOL'
  | 'DESTROYED'
  | 'NO_SPACE'
  | 'STORAGE'
  | 'KEY_REQUIRED'
  | 'INVALID_KEY'
  | 'DECRYPT_FAILED'
  | 'WORKER_UNAVAILABLE';

import type { Diagnosis } from './diagnose.js';

/** The one error class EphemeralCDN throws. Read `code`, not `message`. */
export class EcdnError extends Error {
  /** What went wrong, stable across versions. */
  readonly code: EcdnErrorCode;
  /** The file the failing call was about, when there was one. */
  readonly hash: string | undefined;
  /**
   * For `NO_PEER_REACHABLE`: what `diagnose()` found about this network, with a
   * `verdict` to show a person ("Your network blocks direct connections…").
   */
  readonly details: Diagnosis | undefined;

  constructor(code: EcdnErrorCode, message: string, options: { hash?: string; cause?: unknown; details?: Diagnosis } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EcdnError';
    this.code = code;
    this.hash = options.hash;
    this.details = options.details;
  }
}

/** True when `err` is an {@link EcdnError}, optionally with the given code. */
export function isEcdnError(err: unknown, code?: EcdnErrorCode): err is EcdnError {
  return err instanceof EcdnError && (code === undefined || err.code === code);
}

const HASH_RE = /^[0-9a-f]{64}$/;

/**
 * Normalises a SHA-256 given as hex to lowercase, or throws `INVALID_HASH`.
 * Runs before any network access so that a typo fails fast and offline.
 */
export function parseHash(hash: unknown): string {
  if (typeof hash === 'string') {
    const lower = hash.trim().toLowerCase();
    if (HASH_RE.test(lower)) return lower;
  }
  const shown = typeof hash === 'string' ? JSON.stringify(hash.length > 80 ? `${hash.slice(0, 80)}…` : hash) : typeof hash;
  throw new EcdnError('INVALID_HASH', `Expected a SHA-256 as 64 hexadecimal characters, got ${shown}.`);
}
