import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from './chromium.js';

/** Launches the machine's Chromium headless, with the flags WebRTC needs here. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
}

/**
 * Launches Chromium with a profile on disk in `userDataDir`, as a user's browser is:
 * unlike a fresh context (an incognito-like one, whose private file system lives in
 * memory), its origin storage is on disk, where a download larger than memory can go.
 */
export function launchChromiumWithProfile(userDataDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, { executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
}

/**
 * Opens a page in a context of its own, as a separate tab of a separate user
 * would be, and fails the run on any uncaught page error.
 */
export async function openPage(browser: Browser | BrowserContext, url: string): Promise<Page> {
  // A browser gives each page a context of its own; a profile's context holds them all.
  const context = 'newContext' in browser ? await browser.newContext() : browser;
  const page = await context.newPage();
  // tsx compiles test files with esbuild's keepNames, which wraps functions in
  // a __name() helper that does not exist in the page they are sent to.
  await page.addInitScript('globalThis.__name = (fn) => fn;');
  page.on('pageerror', (err) => {
    throw new Error(`Uncaught error in page ${url}: ${err.message}`);
  });
  page.on('console', (msg) => {
    if (process.env.ECDN_TEST_CONSOLE) console.log(`[page ${url}] ${msg.type()}: ${msg.text()}`);
  });
  await page.goto(url);
  return page;
}

/** Closes a page the way a user closing the tab would. */
export async function closePage(page: Page): Promise<void> {
  await page.context().close();
}
