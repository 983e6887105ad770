// One Chromium with a profile on disk, for the scenarios whose tabs keep files in
// their origin's private file system: a fresh context keeps that file system in
// memory, and a second browser on two cores halves any transfer between them, so
// every tab runs in this one browser, as one user's tabs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../../test/helpers/chromium.js';
import { PAGE_HELPERS } from './browser.js';

export interface ProfileBrowser {
  /** A temporary directory, removed by `close()`: the profile lives in it, and a scenario may put its files there too. */
  readonly dir: string;
  readonly context: BrowserContext;
  /** A tab with the bundle loaded from `serverUrl` and the engine configured with no ICE servers and `storage`. */
  openPage(serverUrl: string, storage: 'auto' | 'disk' | 'memory'): Promise<Page>;
  /** Closes the browser and removes `dir`. */
  close(): Promise<void>;
}

export async function launchProfileBrowser(name: string): Promise<ProfileBrowser> {
  const dir = await mkdtemp(join(tmpdir(), `ecdn-bench-${name}-`));
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: chromiumPath(),
    args: CHROMIUM_ARGS,
    headless: true,
  });
  return {
    dir,
    context,
    async openPage(serverUrl, storage) {
      const page = await context.newPage();
      await page.addInitScript(PAGE_HELPERS);
      await page.goto(`${serverUrl}/healthz`);
      await page.addScriptTag({ url: `${serverUrl}/ephemeralcdn.js` });
      await page.evaluate((storage) => window.EphemeralCDN.configure({ iceServers: [], storage }), storage);
      return page;
    },
    async close() {
      await context.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
