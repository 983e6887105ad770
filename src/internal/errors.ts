import { isEcdnError } from '../engine/errors.js';
import type { EcdnErrorDetail } from '../events/ecdn-error.js';

/** Turns anything thrown into the detail of an `ecdn-error` event. */
export function errorDetail(hash: string, error: unknown): EcdnErrorDetail {
  return {
    hash,
    code: isEcdnError(error) ? error.code : 'UNKNOWN',
    message: error instanceof Error ? error.message : String(error),
    error,
  };
}

/** True for the error an aborted fetch or seed rejects with. */
export function isAbort(error: unknown): boolean {
  return isEcdnError(error, 'ABORTED') || (error instanceof DOMException && error.name === 'AbortError');
}

/**
 * Words for users about a failure: the text for its code, or the error's own
 * message when the code is `UNKNOWN` (a failed save, an image the browser
 * cannot show), since only that message says what happened.
 */
export function errorMessage(detail: EcdnErrorDetail | undefined): string {
  const code = detail?.code ?? 'UNKNOWN';
  if (code === 'UNKNOWN') return detail?.message ?? errorText(code);
  // Unreachable peers: the engine's diagnosis says why, in words a person can act on.
  const verdict = isEcdnError(detail?.error, 'NO_PEER_REACHABLE') ? detail.error.details?.verdict : undefined;
  return verdict ? `${errorText(code)} ${verdict}` : errorText(code);
}

/** Words for users, by error code. */
export function errorText(code: EcdnErrorDetail['code']): string {
  switch (code) {
    case 'INVALID_HASH':
      return 'This is not a valid file hash.';
    case 'HASH_MISMATCH':
      return 'Peers sent bytes that did not match the file.';
    case 'TIMEOUT':
      return 'The file took too long to arrive.';
    case 'TRACKER_UNREACHABLE':
      return 'The tracker could not be reached.';
    case 'NO_PEER_REACHABLE':
      return 'No peer holding the file could be reached.';
    case 'PROTOCOL':
      return 'A peer sent something unexpected.';
    case 'DESTROYED':
      return 'EphemeralCDN was shut down on this page.';
    case 'ABORTED':
      return 'Cancelled.';
    case 'NO_SPACE':
      return 'There is no room for this file on this device.';
    case 'STORAGE':
      return 'This device could not store the file.';
    case 'DEAD':
      return 'File is dead: nobody is sharing it any more.';
    case 'KEY_REQUIRED':
      return 'This file is private: it opens only with the key in its full share link (the part after #k=).';
    case 'INVALID_KEY':
      return 'The key in this link is damaged: it is not the 22 characters a private share has. Ask for the link again.';
    case 'DECRYPT_FAILED':
      return 'The key in this link does not open this file. Ask for the link again.';
    default:
      return 'Something went wrong.';
  }
}
