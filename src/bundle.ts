/**
 * Entry of `/ephemeralcdn.js`, the one-file build for a plain `<script>` tag:
 * defines `window.EphemeralCDN` and the custom elements. By default it talks
 * to the server it was loaded from, so that
 * `<script src="https://cdn.example.org/ephemeralcdn.js">` needs no setup.
 */
import * as EphemeralCDN from './index.js';
import './components/index.js';

const script = typeof document === 'undefined' ? null : (document.currentScript as HTMLScriptElement | null);
if (script?.src) EphemeralCDN.configure({ server: new URL('.', script.src).href });

declare global {
  interface Window {
    /** The EphemeralCDN API, from `/ephemeralcdn.js`. */
    EphemeralCDN: typeof EphemeralCDN;
  }
}

window.EphemeralCDN = EphemeralCDN;
