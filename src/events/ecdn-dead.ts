/** What an `ecdn-dead` event reports. */
export interface EcdnDeadDetail {
  /** The file nobody holds any more, as 64 hex. */
  hash: string;
}

/** Fired when the tracker says no seeder holds the file any more: it is gone for good. */
export class EcdnDeadEvent extends CustomEvent<EcdnDeadDetail> {
  constructor(detail: EcdnDeadDetail) {
    super('ecdn-dead', { bubbles: true, composed: true, detail });
  }
}

declare global {
  interface GlobalEventHandlersEventMap {
    'ecdn-dead': EcdnDeadEvent;
  }
}
