import { existsSync } from 'node:fs';

/**
 * Flags for headless Chromium on a closed network. The mDNS feature must be off,
 * or host candidates are `<uuid>.local` names nothing resolves and tabs never
 * connect; the background-networking flags stop Chromium dialling its own services.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** Finds a Chromium binary: `CHROME_PATH` first, then the usual Debian paths. */
export function chromiumPath(): string {
  const fromEnv = process.env.CHROME_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROME_PATH is set to ${fromEnv}, but no file is there.`);
    return fromEnv;
  }
  const found = CANDIDATES.find((path) => existsSync(path));
  if (!found) {
    throw new Error(
      `No Chromium found (looked at ${CANDIDATES.join(', ')}). ` +
        'Install one (Debian: `apt-get install -y chromium`) or set CHROME_PATH to its binary.',
    );
  }
  return found;
}
