// Firefox pages for the bench, driven by puppeteer-core over WebDriver BiDi
// (the only way to drive Debian's stock Firefox here; see docs/browsers.md).
import type { Page } from 'playwright-core';
import puppeteer, { type Browser as FirefoxBrowser } from 'puppeteer-core';
import { firefoxLaunchOptions } from '../../test/helpers/firefox.js';
import { PAGE_HELPERS, pageErrors } from './browser.js';
import { log } from './stats.js';

export type { FirefoxBrowser };
export { firefoxPath, NO_FIREFOX } from '../../test/helpers/firefox.js';

/** Launches Firefox (about 2.7 s here): once per bench run. */
export function launchFirefox(executablePath: string): Promise<FirefoxBrowser> {
  return puppeteer.launch(firefoxLaunchOptions(executablePath));
}

/**
 * A Firefox tab in a browser context of its own, with the bench's page helpers,
 * seen as the two members of a Playwright `Page` the scenario helpers use:
 * `evaluate(fn, arg)` and `context().close()` (so `closePage` closes it).
 * Both libraries serialize `fn` and one argument the same way, so
 * `bareRun`, `ecdnSeed` and `ecdnFetchIn` run in Firefox unchanged.
 */
export async function openFirefoxPage(browser: FirefoxBrowser, url: string): Promise<Page> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.on('pageerror', (err) => {
    const message = err instanceof Error ? err.message : String(err);
    pageErrors.push(`firefox ${url}: ${message}`);
    if (process.env.BENCH_VERBOSE) log(`page error (firefox) ${url}: ${message}`);
  });
  page.on('console', (msg) => {
    if (process.env.BENCH_CONSOLE) log(`[firefox page] ${msg.type()}: ${msg.text()}`);
  });
  await page.goto(url);
  await page.evaluate(PAGE_HELPERS);
  const tab = {
    evaluate: (fn: (arg: unknown) => unknown, arg?: unknown) => page.evaluate(fn, arg),
    context: () => ({ close: () => context.close() }),
  };
  return tab as unknown as Page;
}

/** A Firefox tab with the server's `/ephemeralcdn.js` loaded, no ICE server, engine not yet connected. */
export async function openFirefoxEcdnPage(browser: FirefoxBrowser, serverUrl: string): Promise<Page> {
  const page = await openFirefoxPage(browser, `${serverUrl}/healthz`);
  await page.evaluate(
    (src) =>
      new Promise<void>((resolve, reject) => {
        const script = document.createElement('script');
        script.src = src;
        script.onload = () => resolve();
        script.onerror = () => reject(new Error(`could not load ${src}`));
        document.head.append(script);
      }),
    `${serverUrl}/ephemeralcdn.js`,
  );
  await page.evaluate(() => window.EphemeralCDN.configure({ iceServers: [] }));
  return page;
}
