/** What an `ecdn-unseed` event reports. */
export interface EcdnUnseedDetail {
  /** The file this page stopped serving, as 64 hex. */
  hash: string;
}

/** Fired when `<ecdn-seed-drop>` stops seeding its file (the stop button, or `stop()`). */
export class EcdnUnseedEvent extends CustomEvent<EcdnUnseedDetail> {
  constructor(detail: EcdnUnseedDetail) {
    super('ecdn-unseed', { bubbles: true, composed: true, detail });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ecdn-unseed': EcdnUnseedEvent;
  }
}
