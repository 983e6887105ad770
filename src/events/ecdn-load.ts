/** What an `ecdn-load` event reports. */
export interface EcdnLoadDetail {
  /** The file, as 64 hex. */
  hash: string;
  /** Its size in bytes. */
  size: number;
  /** Its MIME type, when known (given or sniffed). */
  type?: string;
  /** Its file name, when known. */
  name?: string;
}

/**
 * Fired when an element's file is ready: the image is shown, the download is
 * saved, or the dropped file is seeded.
 */
export class EcdnLoadEvent extends CustomEvent<EcdnLoadDetail> {
  constructor(detail: EcdnLoadDetail) {
    super('ecdn-load', { bubbles: true, composed: true, detail });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ecdn-load': EcdnLoadEvent;
  }
}
