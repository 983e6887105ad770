/**
 * The custom elements: `<ecdn-img>`, `<ecdn-download>`, `<ecdn-seed-drop>` and `<ecdn-file>`.
 * Importing this module defines them (once, even if the `<script>` bundle
 * already did). They use the page's shared engine, or the one an ancestor
 * provides with {@link provideEngine}.
 * @packageDocumentation
 */
export { EcdnImg } from './ecdn-img/ecdn-img.js';
export { EcdnDownload } from './ecdn-download/ecdn-download.js';
export { EcdnSeedDrop, type SharedFile } from './ecdn-seed-drop/ecdn-seed-drop.js';
export { EcdnFile } from './ecdn-file/ecdn-file.js';
export { EcdnElement, type EcdnState } from '../internal/ecdn-element.js';
export { provideEngine, engineContext, type EcdnEngine } from '../internal/context.js';
export * from '../events/events.js';
