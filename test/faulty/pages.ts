import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { openPage } from '../helpers/browser.js';
import type { FaultyEngine, UploadFaults } from './faulty-engine.js';

let bundle: Promise<string> | undefined;

/** The faulty page's script, built once per process from the sources. */
function faultyBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [new URL('./faulty-page.ts', import.meta.url).pathname],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'warning',
  }).then((result) => result.outputFiles[0]!.text);
  return bundle;
}

/**
 * Opens a page whose `window.EphemeralCDN` (seed, unseed, fetch, configure, stats,
 * getEngine) runs on a {@link FaultyEngine} serving with `faults`. Its engine's
 * `faults` and `lie()` are reachable through `getEngine()`.
 */
export async function openFaultyPage(browser: Browser, serverUrl: string, faults: UploadFaults = {}): Promise<Page> {
  const page = await openPage(browser, `${serverUrl}/healthz`);
  await page.addScriptTag({ content: await faultyBundle() });
  await page.evaluate((faults) => {
    (window.EphemeralCDN.getEngine() as FaultyEngine).faults = faults;
  }, faults);
  return page;
}

/**
 * Has a faulty page claim to hold `hash` and serve `size` other pseudo-random
 * bytes under it (see {@link FaultyEngine.lie}); resolves once the tracker
 * offers it.
 */
export function lieAbout(page: Page, hash: string, size: number): Promise<void> {
  return page.evaluate(
    async ({ hash, size }) => {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536));
      await (window.EphemeralCDN.getEngine() as FaultyEngine).lie(hash, bytes);
      // Resolve once the tracker offers this page for the hash, as seed() does
      // once announced: by then the page has its peer ID too.
      while (!(await (await fetch(`/api/files/${hash}`)).json()).alive) await new Promise((r) => setTimeout(r, 50));
    },
    { hash, size },
  );
}

/** Makes the faulty page claim to hold a file of `size` bytes under `hash`, without its bytes (see FaultyEngine.claim). */
export function claim(page: Page, hash: string, size: number): Promise<void> {
  return page.evaluate(
    async ({ hash, size }) => {
      (window.EphemeralCDN.getEngine() as FaultyEngine).claim(hash, size);
      while (!(await (await fetch(`/api/files/${hash}`)).json()).alive) await new Promise((r) => setTimeout(r, 50));
    },
    { hash, size },
  );
}
