/** What an `ecdn-progress` event reports. */
export interface EcdnProgressDetail {
  /** The file, as 64 hex; empty while a dropped file is still being hashed. */
  hash: string;
  /** What is under way: `download` (bytes from peers) or `hash` (a dropped file being hashed). */
  phase: 'download' | 'hash';
  /** Bytes done: verified bytes received, or bytes hashed. */
  received: number;
  /** Bytes in all; 0 until the file's size is known. */
  total: number;
  /** Peers sending bytes (0 while hashing). */
  peers: number;
  /** Recent download speed in bytes per second (0 while hashing). */
  bytesPerSecond: number;
}

/** Fired as a download or a hash makes progress, at most every 100 ms. */
export class EcdnProgressEvent extends CustomEvent<EcdnProgressDetail> {
  constructor(detail: EcdnProgressDetail) {
    super('ecdn-progress', { bubbles: true, composed: true, detail });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ecdn-progress': EcdnProgressEvent;
  }
}
