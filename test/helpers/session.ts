import { after, before } from 'node:test';
import type { Browser } from 'playwright-core';
import type { ServerOptions } from '../../server/create-server.js';
import { launchChromium } from './browser.js';
import { startServer, type RunningServer } from './server.js';

/** The real server and a Chromium, shared by the tests of one file. */
export interface Session {
  readonly server: RunningServer;
  readonly browser: Browser;
}

/**
 * Starts the server and Chromium before the file's tests and closes both after
 * them. Read `server` and `browser` inside tests: they exist once `before` ran.
 */
export function useSession(options: ServerOptions = {}): Session {
  const session = {} as { server: RunningServer; browser: Browser };
  before(async () => {
    session.server = await startServer(options);
    session.browser = await launchChromium();
  });
  after(async () => {
    await session.browser?.close();
    await session.server?.close();
  });
  return session;
}
