/**
 * The elements' events. Each bubbles and crosses shadow roots, and is typed in
 * `GlobalEventHandlersEventMap`, so `el.addEventListener('ecdn-load', (e) => e.detail.hash)` type-checks.
 * @packageDocumentation
 */
export { EcdnProgressEvent, type EcdnProgressDetail } from './ecdn-progress.js';
export { EcdnLoadEvent, type EcdnLoadDetail } from './ecdn-load.js';
export { EcdnDeadEvent, type EcdnDeadDetail } from './ecdn-dead.js';
export { EcdnErrorEvent, type EcdnErrorDetail } from './ecdn-error.js';
export { EcdnUnseedEvent, type EcdnUnseedDetail } from './ecdn-unseed.js';
