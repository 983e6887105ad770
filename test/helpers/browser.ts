import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from './chromium.js';

/** Launches the machine's Chromium headless, with the flags WebRTC needs here. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
}

/**
 * Opens a page in a context of its own, as a separate tab of a separate user
 * would be, and fails the run on any uncaught page error.
 */
export async function openPage(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext();
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
