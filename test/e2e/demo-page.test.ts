import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { closePage, launchChromium, openPage } from '../helpers/browser.js';
import { startServer, type RunningServer } from '../helpers/server.js';

// The demo page at / as a user meets it: publish in one tab, fetch in another.

let server: RunningServer;
let browser: Browser;
before(async () => {
  server = await startServer();
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('publish a file in one tab and fetch it in another through the demo page', { timeout: 60_000 }, async () => {
  const content = Buffer.from('name,value\nanswer,42\n'.repeat(5000));
  const publisher = await openPage(browser, `${server.url}/`);
  await publisher.setInputFiles('#file', { name: 'results.csv', mimeType: 'text/csv', buffer: content });
  await publisher.waitForSelector('#published:not([hidden])');
  const hash = (await publisher.textContent('#hash'))!.trim();
  assert.equal(hash, createHash('sha256').update(content).digest('hex'));
  await publisher.waitForFunction(() => /1 seeder online/.test(document.getElementById('publish-status')!.textContent!));

  const consumer = await openPage(browser, `${server.url}/`);
  await consumer.fill('#fetch-hash', hash);
  await consumer.click('#fetch-form button');
  await consumer.waitForFunction(() => /^Verified/.test(document.getElementById('fetch-status')!.textContent!));
  const link = await consumer.getAttribute('#result a', 'href');
  const fetched = await consumer.evaluate(async (url) => new Uint8Array(await (await fetch(url!)).arrayBuffer()).length, link);
  assert.equal(fetched, content.length);
  await publisher.waitForFunction(() => /2 seeders online/.test(document.getElementById('publish-status')!.textContent!));

  await closePage(publisher);
  await closePage(consumer);
  const gone = await openPage(browser, `${server.url}/`);
  await gone.fill('#fetch-hash', hash);
  await gone.click('#fetch-form button');
  await gone.waitForFunction(() => /dead/.test(document.getElementById('fetch-status')!.textContent!));
  await closePage(gone);
});
