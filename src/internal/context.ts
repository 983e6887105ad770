import { ContextProvider, createContext } from '@lit/context';
import type { SwarmEngine } from '../engine/engine.js';

/**
 * The part of {@link SwarmEngine} the elements use. A page's real engine is
 * one; a story or a test can provide a small fake with the same methods.
 */
export type EcdnEngine = Pick<
  SwarmEngine,
  'config' | 'fetch' | 'fetchBlob' | 'stream' | 'info' | 'seed' | 'unseed' | 'watch' | 'stats' | 'on' | 'diagnose'
>;

/**
 * The context that carries the page's engine to every EphemeralCDN element
 * below its provider. The key is a string, not a symbol, so that two copies
 * of this module (the `<script>` bundle and an npm import) still match.
 */
export const engineContext = createContext<EcdnEngine>('ecdn-engine');

/**
 * Gives `engine` to the EphemeralCDN elements inside `element` (which may be
 * any element, a plain `<div>` or `document.body`). Without a provider the
 * elements use the page's shared engine, `getEngine()`.
 *
 * ```js
 * provideEngine(document.body, new SwarmEngine({ server: 'https://cdn.example.org' }));
 * ```
 */
export function provideEngine(element: HTMLElement, engine: EcdnEngine): ContextProvider<typeof engineContext> {
  const provider = new ContextProvider(element, { context: engineContext, initialValue: engine });
  // A plain element has no controller lifecycle: start listening now. Elements
  // already connected below it asked before it existed; announce it to them.
  provider.hostConnected();
  return provider;
}
