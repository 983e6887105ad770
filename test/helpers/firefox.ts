import { existsSync } from 'node:fs';

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
