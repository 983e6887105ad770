import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { closePage, launchChromium, openPage } from '../helpers/browser.js';
import { startServer, type RunningServer } from '../helpers/server.js';

// An embedding site on another origin includes the bundle with one plain
// <script src> and nothing else: the bundle finds its server from its own URL.

let server: RunningServer;
let site: http.Server;
let siteUrl: string;
let browser: Browser;

before(async () => {
  server = await startServer();
  // "localhost" rather than 127.0.0.1 makes this a different origin; both are secure contexts.
  const bundleUrl = `${server.url.replace('127.0.0.1', 'localhost')}/ephemeralcdn.js`;
  site = http.createServer((_req, res) => {
    res.setHeader('Content-Type', 'text/html');
    res.end(`<!doctype html><title>someone else's page</title><script src="${bundleUrl}"></script>`);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
  site?.close();
});

test('one <script src> on another origin is enough to seed and fetch', { timeout: 60_000 }, async () => {
  const a = await openPage(browser, siteUrl);
  const b = await openPage(browser, siteUrl);
  const hash = await a.evaluate(() => window.EphemeralCDN.seed(new TextEncoder().encode('hello from another origin')));
  const text = await b.evaluate((hash) => window.EphemeralCDN.fetchText(hash), hash);
  assert.equal(text, 'hello from another origin');
  const origin = await b.evaluate(() => location.origin);
  assert.notEqual(new URL(server.url).origin, origin);
  for (const page of [a, b]) await closePage(page);
});
