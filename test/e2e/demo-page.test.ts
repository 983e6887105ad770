import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { closePage, openPage } from '../helpers/browser.js';
import { useSession } from '../helpers/session.js';

// The demo page at / as a user meets it: publish in one tab, fetch in another.

const session = useSession();

test('publish a file in one tab and fetch it in another through the demo page', { timeout: 60_000 }, async () => {
  const content = Buffer.from('name,value\nanswer,42\n'.repeat(5000));
  const publisher = await openPage(session.browser, `${session.server.url}/`);
  await publisher.setInputFiles('#drop input[type=file]', { name: 'results.csv', mimeType: 'text/csv', buffer: content });
  await publisher.waitForSelector('#drop[state=ready]');
  const hash = await publisher.$eval('#drop', (el) => (el as HTMLElement & { hash: string }).hash);
  assert.equal(hash, createHash('sha256').update(content).digest('hex'));

  const consumer = await openPage(session.browser, `${session.server.url}/`);
  await consumer.fill('#fetch-hash', hash);
  await consumer.click('#fetch-form button[value=download]');
  await consumer.waitForSelector('#result ecdn-download');
  const [download] = await Promise.all([consumer.waitForEvent('download'), consumer.click('#result ecdn-download button')]);
  const saved = await readFile((await download.path())!);
  assert.ok(saved.equals(content), 'the saved file has the published bytes');
  await publisher.waitForFunction(() => (document.getElementById('drop') as HTMLElement & { seeders?: number }).seeders === 2);

  await closePage(publisher);
  await closePage(consumer);
  const late = await openPage(session.browser, `${session.server.url}/`);
  await late.fill('#fetch-hash', hash);
  await late.click('#fetch-form button[value=image]');
  await late.waitForSelector('#result ecdn-img[state=dead]');
  await closePage(late);
});

test('"Check my connection" on the demo page says what this network allows', { timeout: 60_000 }, async () => {
  const page = await openPage(session.browser, `${session.server.url}/`);
  await page.click('#diagnose');
  await page.waitForFunction(() => !document.getElementById('diagnosis')!.hidden);
  // The test server hands out no ICE server: the verdict says peers connect within one network only.
  assert.equal(await page.textContent('#verdict'), 'This server hands out no STUN or TURN server: peers connect only within one network.');
  const details = JSON.parse((await page.textContent('#diagnosis'))!) as { tracker: string; signaling: string; stun: string; turn: string };
  assert.deepEqual([details.tracker, details.signaling, details.stun, details.turn], ['ok', 'ok', 'none', 'none']);
  await closePage(page);
});
