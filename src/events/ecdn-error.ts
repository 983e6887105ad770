import type { EcdnErrorCode } from '../engine/errors.js';

/** What an `ecdn-error` event reports. */
export interface EcdnErrorDetail {
  /** The file the failure is about; may be empty or invalid (`INVALID_HASH`). */
  hash: string;
  /** The engine's error code, or `UNKNOWN` for anything else (a failed save, a bug). */
  code: EcdnErrorCode | 'UNKNOWN';
  /** A message for developers; show users something based on `code` instead. */
  message: string;
  /** The error itself. */
  error: unknown;
}

/** Fired when an element's work fails for another reason than a dead file. */
export class EcdnErrorEvent extends CustomEvent<EcdnErrorDetail> {
  constructor(detail: EcdnErrorDetail) {
    super('ecdn-error', { bubbles: true, composed: true, detail });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ecdn-error': EcdnErrorEvent;
  }
}
