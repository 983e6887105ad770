import { existsSync } from 'node:fs';
import type { Browser as FirefoxBrowser, Page as FirefoxPage } from 'puppeteer-core';

/**
 * Firefox preferences for test runs on a closed network.
 *
 * Firefox, like Chromium, hides host candidates behind `<uuid>.local` mDNS
 * names by default; nothing here resolves them, so two pages never connect.
 * Puppeteer already sets its own prefs that stop Firefox dialling Mozilla's
 * services (updates, telemetry, captive-portal checks).
 */
export const FIREFOX_PREFS: Record<string, unknown> = {
  'media.peerconnection.ice.obfuscate_host_addresses': false,
};

const CANDIDATES = ['/usr/bin/firefox-esr', '/usr/bin/firefox'];

/**
 * Finds a Firefox binary: `FIREFOX_PATH` first, then the usual Debian paths.
 * Returns undefined when there is none; a `FIREFOX_PATH` naming a missing
 * file throws, because that is a typo rather than a machine without Firefox.
 */
export function firefoxPath(): string | undefined {
  const fromEnv = process.env.FIREFOX_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`FIREFOX_PATH is set to ${fromEnv}, but no file is there.`);
    return fromEnv;
  }
  return CANDIDATES.find((path) => existsSync(path));
}

/** Why no Firefox was found, and how to get one. */
export const NO_FIREFOX =
  `No Firefox found (looked at FIREFOX_PATH, ${CANDIDATES.join(', ')}). ` +
  'Install one (Debian: `apt-get install -y firefox-esr`) or set FIREFOX_PATH to its binary.';

/**
 * Options for `puppeteer.launch` (puppeteer-core, over WebDriver BiDi: the
 * only way to drive Debian's stock Firefox here, as Playwright needs its own
 * patched build and no geckodriver can be installed).
 */
export function firefoxLaunchOptions(executablePath: string) {
  return {
    browser: 'firefox' as const,
    executablePath,
    headless: true,
    extraPrefsFirefox: FIREFOX_PREFS,
  };
}

/**
 * Firefox's message for a WebSocket that cannot connect. Puppeteer over BiDi
 * reports it as a page error even when the page handles the failure, as the
 * tracker client does while the server restarts: it is expected, not a bug.
 */
const WEBSOCKET_REFUSED = /can(?:'|’)t establish a connection to the server at wss?:\/\//;

/**
 * Opens a Firefox page in a context of its own, as a separate tab of a separate
 * user would be, and fails the run on any uncaught page error but a refused
 * WebSocket (see above).
 */
export async function openFirefoxPage(browser: FirefoxBrowser, url: string): Promise<{ page: FirefoxPage; close(): Promise<void> }> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    const message = err instanceof Error ? err.message : String(err);
    if (WEBSOCKET_REFUSED.test(message)) return;
    throw new Error(`Uncaught error in Firefox page ${url}: ${message}`);
  });
  await page.goto(url);
  return { page, close: () => context.close() };
}
