/**
 * The custom elements: `<ecdn-img>`, `<ecdn-download>` and `<ecdn-seed-drop>`.
 * Importing this module defines them (once, even if the `<script>` bundle
 * already did). They use the page's shared engine, or the one an ancestor
 * provides with {@link provideEngine}.
 * @packageDocumentation
 */
export { EcdnImg } from './ecdn-img/ecdn-img.js';
export { EcdnDownload } from './ecdn-download/ecdn-download.js';
export { EcdnSeedDrop } from './ecdn-seed-drop/ecdn-seed-drop.js';
export { EcdnElement, type EcdnState } from '../internal/ecdn-element.js';
export { provideEngine, engineContext, type EcdnEngine } from '../internal/context.js';
export * from '../events/events.js';
