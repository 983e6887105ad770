import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { axeViolations, describeViolations } from '../helpers/axe.js';
import { makePng } from '../helpers/png.js';
import { closePage } from '../helpers/browser.js';
import { openEcdnPage, openTab, peerId, sources, waitInPage } from '../helpers/pages.js';
import { openFaultyPage } from '../faulty/pages.js';
import { useSession } from '../helpers/session.js';

// Private shares across real Chromium pages and the real server: the swarm moves the
// ciphertext, only pages given the key read the file.

const MiB = 1024 * 1024;
const session = useSession();

interface Seeded {
  hash: string;
  key: string;
  /** SHA-256 of the plaintext, computed in the seeding page. */
  plain: string;
}

/** Seeds `size` random bytes privately in `page`, named `name`. */
function seedPrivately(page: Page, size: number, name: string, type: string): Promise<Seeded> {
  return page.evaluate(
    async ({ size, name, type }) => {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i += 65_536) crypto.getRandomValues(bytes.subarray(i, i + 65_536));
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
      const share = await window.EphemeralCDN.seed(new File([bytes], name, { type }), { encrypt: true });
      return { hash: share.hash, key: share.key, plain: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
    },
    { size, name, type },
  );
}

/**
 * What `page` gets of `hash` with `options`: the SHA-256 of the bytes from `fetch`,
 * or the error's code.
 */
function fetchOutcome(page: Page, hash: string, options: { key?: string; raw?: boolean }): Promise<string> {
  return page.evaluate(
    async ({ hash, options }) => {
      try {
        const buffer = await window.EphemeralCDN.fetch(hash, options);
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer));
        return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
      } catch (err) {
        return `error ${(err as { code?: string }).code ?? String(err)}`;
      }
    },
    { hash, options },
  );
}

/** The SHA-256 of what this page holds of `hash`, read from its own store as it would serve it. */
function heldDigest(page: Page, hash: string): Promise<string> {
  return page.evaluate(async (hash) => {
    const blob = await window.EphemeralCDN.fetchBlob(hash, '', { raw: true });
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  }, hash);
}

test('a private share: B reads it with the key, C relays it without, D reads it from C', { timeout: 60_000 }, async () => {
  const a = await openEcdnPage(session.browser, session.server.url);
  const share = await seedPrivately(a, 3 * MiB, 'bug report.png', 'image/png');
  assert.match(share.key, /^[A-Za-z0-9_-]{22}$/);
  assert.notEqual(share.hash, share.plain, 'the address is the hash of the ciphertext');

  const b = await openEcdnPage(session.browser, session.server.url);
  assert.equal(await fetchOutcome(b, share.hash, { key: share.key }), share.plain);
  // A File named and typed by the encrypted header, and a stream: the same plaintext.
  const file = await b.evaluate(
    async ({ hash, key }) => {
      const file = (await window.EphemeralCDN.fetchBlob(hash, '', { key })) as File;
      const reader = window.EphemeralCDN.stream(hash, { key }).getReader();
      const chunks: Uint8Array[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
      const streamed = await new Blob(chunks as BlobPart[]).arrayBuffer();
      const hex = async (buffer: ArrayBuffer) =>
        Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', buffer)), (b) => b.toString(16).padStart(2, '0')).join('');
      return { name: file.name, type: file.type, digest: await hex(await file.arrayBuffer()), streamed: await hex(streamed) };
    },
    { hash: share.hash, key: share.key },
  );
  assert.deepEqual(file, { name: 'bug report.png', type: 'image/png', digest: share.plain, streamed: share.plain });

  // The wrong key, no key, a malformed key.
  const wrong = share.key.startsWith('A') ? `B${share.key.slice(1)}` : `A${share.key.slice(1)}`;
  assert.equal(await fetchOutcome(b, share.hash, { key: wrong }), 'error DECRYPT_FAILED');
  assert.equal(await fetchOutcome(b, share.hash, {}), 'error KEY_REQUIRED');
  assert.equal(await fetchOutcome(b, share.hash, { key: 'not-a-key' }), 'error INVALID_KEY');
  const streamedWithout = await b.evaluate(async (hash) => {
    try {
      await window.EphemeralCDN.stream(hash).getReader().read();
      return 'read';
    } catch (err) {
      return (err as { code?: string }).code;
    }
  }, share.hash);
  assert.equal(streamedWithout, 'KEY_REQUIRED');

  // C has no key: it fetches the ciphertext as it travels, and holds nothing else.
  const c = await openEcdnPage(session.browser, session.server.url);
  assert.equal(await fetchOutcome(c, share.hash, { raw: true }), share.hash);
  assert.equal(await heldDigest(c, share.hash), share.hash, "C's stored pieces are the ciphertext");
  assert.equal(await heldDigest(a, share.hash), share.hash, 'as the seeder serves it');

  // Only C is left to serve it; D has the key.
  await closePage(a);
  await closePage(b);
  const d = await openEcdnPage(session.browser, session.server.url);
  assert.equal(await fetchOutcome(d, share.hash, { key: share.key }), share.plain);
  assert.deepEqual(await sources(d), [await peerId(c)]);
  await closePage(c);
  await closePage(d);
});

test('a private share with a corrupting relay: its pieces fail their hash and it is banned', { timeout: 60_000 }, async () => {
  const honest = await openEcdnPage(session.browser, session.server.url);
  const share = await seedPrivately(honest, 8 * MiB, 'results.csv', 'text/csv');
  // The liar relays the ciphertext (no key), then turns to flipping bytes of what it serves.
  const liar = await openFaultyPage(session.browser, session.server.url);
  assert.equal(await fetchOutcome(liar, share.hash, { raw: true }), share.hash);
  await liar.evaluate(() => {
    (window.EphemeralCDN.getEngine() as unknown as { faults: { corrupt: boolean } }).faults = { corrupt: true };
  });
  // The honest seeder steps away, so that the consumer meets the liar alone first, keeping
  // the ciphertext to seed again (a new private seed would draw a new salt, so a new hash).
  await honest.evaluate(async (hash) => {
    (window as unknown as { ciphertext: Blob }).ciphertext = await window.EphemeralCDN.fetchBlob(hash, '', { raw: true });
    window.EphemeralCDN.unseed(hash);
  }, share.hash);

  const consumer = await openEcdnPage(session.browser, session.server.url);
  await consumer.evaluate(
    ({ hash, key }) => {
      const w = window as unknown as { bans: unknown[]; outcome: Promise<string> };
      w.bans = [];
      window.EphemeralCDN.getEngine().on('ban', (ban) => w.bans.push(ban));
      w.outcome = window.EphemeralCDN.fetch(hash, { key }).then(
        async (buffer) =>
          Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', buffer)), (b) => b.toString(16).padStart(2, '0')).join(''),
        (err: { code?: string }) => `error ${err.code}`,
      );
    },
    { hash: share.hash, key: share.key },
  );
  await waitInPage(consumer, () => (window as unknown as { bans: unknown[] }).bans.length > 0, '');
  // Back before the consumer's retries run out (about 3 s).
  const again = await honest.evaluate(() => window.EphemeralCDN.seed((window as unknown as { ciphertext: Blob }).ciphertext));
  assert.equal(again, share.hash);
  assert.equal(await consumer.evaluate(() => (window as unknown as { outcome: Promise<string> }).outcome), share.plain);
  const bans = await consumer.evaluate(() => (window as unknown as { bans: Array<{ peerId: string; reason: string }> }).bans);
  assert.deepEqual(
    bans.map((ban) => [ban.peerId, ban.reason]),
    [[await peerId(liar), 'BAD_PIECES']],
  );
  for (const page of [honest, liar, consumer]) await closePage(page);
});

test('the private switch of the demo page gives a /f/<hash>#k=<key> link, which opens, names and previews the file', {
  timeout: 60_000,
}, async () => {
  const png = makePng(320, 200);
  const publisher = await openTab(session.browser, `${session.server.url}/`);
  await publisher.page.locator('#drop [part~=private-switch] input').check();
  await publisher.page.setInputFiles('#drop input[type=file]', [{ name: 'build graph.png', mimeType: 'image/png', buffer: png }]);
  await publisher.page.waitForFunction(() => document.querySelector('ecdn-seed-drop')!.files[0]?.seeders === 1, null, { timeout: 15_000 });
  const link = await publisher.page.locator('#drop [part~=link]').getAttribute('href');
  const [, hash, key] = /\/f\/([0-9a-f]{64})#k=([A-Za-z0-9_-]{22})$/.exec(link ?? '') ?? [];
  assert.ok(hash && key, `a private link: ${link}`);
  assert.ok(!link!.includes('graph'), 'the name is not in the link');
  const violations = await axeViolations(publisher.page);
  assert.equal(violations.length, 0, `axe-core on the demo page with the private switch:\n${describeViolations(violations)}`);

  const viewer = await openTab(session.browser, link!);
  assert.equal(await viewer.page.title(), 'A private file · EphemeralCDN');
  assert.equal(await viewer.page.locator('ecdn-file [part~=name]').textContent(), 'Private file');
  const [download] = await Promise.all([
    viewer.page.waitForEvent('download'),
    viewer.page.locator('ecdn-file [part~=download-button]').click(),
  ]);
  assert.equal(download.suggestedFilename(), 'build graph.png', 'named by the encrypted header');
  assert.ok((await readFile((await download.path())!)).equals(png), 'the saved file has the shared bytes');
  await viewer.page.waitForFunction(() => document.querySelector('ecdn-file')!.state === 'ready');
  assert.equal(await viewer.page.locator('ecdn-file [part~=preview] img').evaluate((img: HTMLImageElement) => img.naturalWidth), 320);
  assert.equal(await viewer.page.title(), 'build graph.png · EphemeralCDN');

  // <ecdn-img> and <ecdn-download> given the link as their src.
  const fromSrc = await viewer.page.evaluate(async (link) => {
    const img = Object.assign(document.createElement('ecdn-img'), { src: link, alt: 'graph' });
    document.body.append(img);
    await new Promise((resolve) => img.addEventListener('ecdn-load', resolve, { once: true }));
    const width = img.shadowRoot!.querySelector('img')!.naturalWidth;
    const button = Object.assign(document.createElement('ecdn-download'), { src: link });
    document.body.append(button);
    await button.updateComplete;
    return { width, hash: button.hash, key: button.key };
  }, link!);
  assert.deepEqual(fromSrc, { width: 320, hash, key });
  assert.deepEqual(viewer.errors, [], 'no console error on the share page');

  // The link without its key: the page says the file is private.
  const keyless = await openTab(session.browser, `${session.server.url}/f/${hash}`);
  await keyless.page.locator('ecdn-file [part~=preview-button]').click();
  await keyless.page.waitForFunction(() => document.querySelector('ecdn-file')!.state === 'error', null, { timeout: 15_000 });
  assert.match((await keyless.page.locator('ecdn-file [part~=error]').textContent()) ?? '', /This file is private/);

  // Pasted into the demo page's form, the link opens with its key.
  await publisher.page.fill('#fetch-hash', link!);
  await Promise.all([publisher.page.waitForURL(link!), publisher.page.press('#fetch-hash', 'Enter')]);
  for (const tab of [publisher, viewer, keyless]) await tab.close();
});
