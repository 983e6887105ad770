import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { closePage } from '../helpers/browser.js';
import { fetchDigest, openEcdnPage as openPageOf, peerId, recordWatch, seedRandom, sources, waitInPage } from '../helpers/pages.js';
import { claim, lieAbout, openFaultyPage } from '../faulty/pages.js';
import { useSession } from '../helpers/session.js';

// Real Chromium pages, each its own browser context, against the real server.

const MiB = 1024 * 1024;
const session = useSession();

/**
 * Every download of these tests goes to disk (the origin's private file system), as
 * files of 32 MiB and more do by default: the swarm's rules must hold on that path,
 * and the memory path is what the element and unit tests use.
 */
const openEcdnPage = (browser: Browser, url: string) => openPageOf(browser, url, { storage: 'disk' });

function fetchError(page: Page, hash: string, options: { timeout?: number } = {}): Promise<string> {
  return page.evaluate(
    ({ hash, options }) =>
      window.EphemeralCDN.fetch(hash, options).then(
        () => 'resolved',
        (err: { code?: string }) => err.code ?? String(err),
      ),
    { hash, options },
  );
}

test('a 4-page swarm: fetch, spread over peers, survive the seeder, then die', { timeout: 120_000 }, async () => {
  const a = await openEcdnPage(session.browser, session.server.url);
  const hash = await seedRandom(a, 8 * MiB);
  const watcher = await openEcdnPage(session.browser, session.server.url);
  await recordWatch(watcher, hash);

  const b = await openEcdnPage(session.browser, session.server.url);
  assert.equal(await fetchDigest(b, hash), hash);

  // Capped seeders keep each fetch long enough (about 1 s) for every peer to join in,
  // however fast the first connection opens.
  const capUploads = (page: Page) => page.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 4_000_000 }));
  await capUploads(a);
  await capUploads(b);
  const c = await openEcdnPage(session.browser, session.server.url);
  assert.equal(await fetchDigest(c, hash), hash);
  const [idA, idB] = [await peerId(a), await peerId(b)];
  assert.deepEqual((await sources(c)).sort(), [idA, idB].sort(), 'C received pieces from both A and B');

  await closePage(a);
  await capUploads(c);
  const d = await openEcdnPage(session.browser, session.server.url);
  assert.equal(await fetchDigest(d, hash), hash);
  const idC = await peerId(c);
  assert.deepEqual((await sources(d)).sort(), [idB, idC].sort(), 'D received pieces from both B and C');

  await closePage(b);
  await closePage(c);
  await closePage(d);
  await watcher.waitForFunction(() => {
    const w = window as unknown as { watched: Array<{ alive: boolean }> };
    return w.watched.at(-1)?.alive === false;
  });
  const seen = await watcher.evaluate(() => (window as unknown as { watched: Array<{ seeders: number }> }).watched);
  assert.ok(
    seen.some((s) => s.seeders >= 3),
    `watch saw the swarm grow: ${JSON.stringify(seen)}`,
  );
  assert.equal(await fetchError(watcher, hash), 'DEAD');
  await closePage(watcher);
});

test('a corrupting seeder among honest ones is banned and the fetch completes', { timeout: 120_000 }, async () => {
  const honest = await openEcdnPage(session.browser, session.server.url);
  const liar = await openFaultyPage(session.browser, session.server.url, { corrupt: true });
  const hash = await seedRandom(honest, 8 * MiB, 1001);
  assert.equal(await seedRandom(liar, 8 * MiB, 1001), hash);
  const consumer = await openEcdnPage(session.browser, session.server.url);
  await consumer.evaluate(() => {
    const w = window as unknown as { bans: unknown[] };
    w.bans = [];
    window.EphemeralCDN.getEngine().on('ban', (ban) => w.bans.push(ban));
  });
  assert.equal(await fetchDigest(consumer, hash), hash);
  const bans = await consumer.evaluate(() => (window as unknown as { bans: Array<{ peerId: string }> }).bans);
  assert.deepEqual(
    bans.map((b) => b.peerId),
    [await peerId(liar)],
  );
  // The ban reaches the operator's metrics through the tracker.
  const metrics = await (await fetch(`${session.server.url}/metrics`)).text();
  assert.match(metrics, /ecdn_tracker_reports_total\{reason="BAD_PIECES"\} 1/);
  for (const page of [honest, liar, consumer]) await closePage(page);
});

/**
 * An honest seeder of 8 MiB from `seed`, stepped away for now so that a consumer
 * meets the liar first, and a liar that serves other bytes of the same size under
 * the real hash, slowly. Call `honestBack()` to have the honest seeder return.
 */
async function honestAndLiar(seed: number) {
  const honest = await openEcdnPage(session.browser, session.server.url);
  const liar = await openFaultyPage(session.browser, session.server.url);
  const hash = await seedRandom(honest, 8 * MiB, seed);
  await honest.evaluate((hash) => window.EphemeralCDN.unseed(hash), hash);
  await liar.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 4_000_000 }));
  await lieAbout(liar, hash, 8 * MiB);
  const honestBack = async () => assert.equal(await seedRandom(honest, 8 * MiB, seed), hash);
  return { honest, liar, hash, honestBack };
}

test('a peer with a self-consistent but false manifest is banned and the fetch completes', { timeout: 120_000 }, async () => {
  const { honest, liar, hash, honestBack } = await honestAndLiar(1003);

  const consumer = await openEcdnPage(session.browser, session.server.url);
  await consumer.evaluate(() => {
    const w = window as unknown as { bans: Array<{ peerId: string; reason: string }> };
    w.bans = [];
    window.EphemeralCDN.getEngine().on('ban', (ban) => w.bans.push(ban));
  });
  const digest = fetchDigest(consumer, hash, { maxPeers: 5 });
  // The consumer has the liar's manifest: it met the liar first.
  await consumer.waitForFunction(() => (window.EphemeralCDN.stats().downloading[0]?.total ?? 0) > 0);
  await honestBack();

  assert.equal(await digest, hash);
  const bans = await consumer.evaluate(() => (window as unknown as { bans: Array<{ peerId: string; reason: string }> }).bans);
  // Its chain ends at the real address, so only its last piece can give it away: a bad piece.
  assert.deepEqual(bans, [{ hash, peerId: await peerId(liar), reason: 'BAD_PIECES', strikes: 1 }]);
  for (const page of [honest, liar, consumer]) await closePage(page);
});

test('when every peer lies, fetch throws HASH_MISMATCH', { timeout: 60_000 }, async () => {
  const liar = await openFaultyPage(session.browser, session.server.url);
  const hash = 'fe'.repeat(32);
  await lieAbout(liar, hash, 2 * MiB);
  const consumer = await openEcdnPage(session.browser, session.server.url);
  await waitInPage(consumer, async (hash) => (await (await fetch(`/api/files/${hash}`)).json()).alive, hash);
  assert.equal(await fetchError(consumer, hash), 'HASH_MISMATCH');
  for (const page of [liar, consumer]) await closePage(page);
});

test('a seeder that leaves mid-transfer: the fetch completes from the others', { timeout: 120_000 }, async () => {
  const a = await openEcdnPage(session.browser, session.server.url);
  const b = await openEcdnPage(session.browser, session.server.url);
  const hash = await seedRandom(a, 24 * MiB, 1002);
  assert.equal(await seedRandom(b, 24 * MiB, 1002), hash);
  // Slow both seeders down so that there is a "middle" to leave in.
  for (const page of [a, b]) await page.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 4_000_000 }));
  const consumer = await openEcdnPage(session.browser, session.server.url);
  const done = fetchDigest(consumer, hash, { maxPeers: 5 });
  await consumer.waitForFunction(() => {
    const download = window.EphemeralCDN.stats().downloading[0];
    return download !== undefined && download.received > download.total * 0.3;
  });
  await closePage(b);
  assert.equal(await done, hash);
  for (const page of [a, consumer]) await closePage(page);
});

test('stream() yields verified bytes in order', { timeout: 60_000 }, async () => {
  const seeder = await openEcdnPage(session.browser, session.server.url);
  const hash = await seedRandom(seeder, 6 * MiB + 12_345);
  const consumer = await openEcdnPage(session.browser, session.server.url);
  const result = await consumer.evaluate(async (hash) => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of window.EphemeralCDN.stream(hash) as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
    const whole = new Uint8Array(await new Blob(chunks as BlobPart[]).arrayBuffer());
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', whole));
    return { chunks: chunks.length, digest: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
  }, hash);
  assert.equal(result.digest, hash);
  assert.ok(result.chunks > 1, `arrived in ${result.chunks} chunks`);
  for (const page of [seeder, consumer]) await closePage(page);
});

test('stream() errors with HASH_MISMATCH, not a close, when the manifest it streamed turns out false', { timeout: 120_000 }, async () => {
  const { honest, liar, hash, honestBack } = await honestAndLiar(1004);
  const consumer = await openEcdnPage(session.browser, session.server.url);
  const outcome = consumer.evaluate(async (hash) => {
    const w = window as unknown as { streamed: number };
    w.streamed = 0;
    try {
      for await (const chunk of window.EphemeralCDN.stream(hash) as unknown as AsyncIterable<Uint8Array>) w.streamed += chunk.byteLength;
      return { code: 'closed', streamed: w.streamed };
    } catch (err) {
      return { code: (err as { code?: string }).code, streamed: w.streamed };
    }
  }, hash);
  // Streams go in file order, so the liar's last piece, the one that gives it away, comes last.
  await consumer.waitForFunction(() => (window as unknown as { streamed?: number }).streamed! > 0);
  await honestBack();
  const { code, streamed } = await outcome;
  assert.equal(code, 'HASH_MISMATCH');
  assert.ok(streamed > 0 && streamed < 8 * MiB, `streamed ${streamed} B first`);
  // The download itself went on with the honest manifest.
  assert.equal(await fetchDigest(consumer, hash), hash);
  for (const page of [honest, liar, consumer]) await closePage(page);
});

test('an aborted fetch rejects with ABORTED', { timeout: 60_000 }, async () => {
  const seeder = await openEcdnPage(session.browser, session.server.url);
  const hash = await seedRandom(seeder, 16 * MiB);
  await seeder.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 2_000_000 }));
  const consumer = await openEcdnPage(session.browser, session.server.url);
  const code = await consumer.evaluate(async (hash) => {
    const controller = new AbortController();
    const fetching = window.EphemeralCDN.fetch(hash, {
      signal: controller.signal,
      onProgress: ({ received }) => {
        if (received > 0) controller.abort();
      },
    });
    return fetching.then(
      () => 'resolved',
      (err: { code?: string }) => err.code,
    );
  }, hash);
  assert.equal(code, 'ABORTED');
  for (const page of [seeder, consumer]) await closePage(page);
});

test('a malformed hash throws INVALID_HASH without touching the network', { timeout: 30_000 }, async () => {
  const page = await openEcdnPage(session.browser, session.server.url);
  const result = await page.evaluate(async () => {
    let sockets = 0;
    const Original = window.WebSocket;
    window.WebSocket = class extends Original {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        sockets++;
      }
    };
    const codes = [];
    for (const bad of ['', 'abc', 'z'.repeat(64), 'a'.repeat(63), 42]) {
      codes.push(
        await window.EphemeralCDN.fetch(bad as string).then(
          () => 'resolved',
          (err: { code?: string }) => err.code,
        ),
      );
    }
    return { codes, sockets };
  });
  assert.deepEqual(result.codes, Array(5).fill('INVALID_HASH'));
  assert.equal(result.sockets, 0);
  await closePage(page);
});

test('info() tells the size and pieces from the first peer without downloading the file, and a fetch after it completes', {
  timeout: 60_000,
}, async () => {
  const seeder = await openEcdnPage(session.browser, session.server.url);
  const size = 6 * MiB + 7;
  const hash = await seedRandom(seeder, size);
  const consumer = await openEcdnPage(session.browser, session.server.url);
  const info = await consumer.evaluate((hash) => window.EphemeralCDN.info(hash), hash);
  assert.deepEqual(info, { hash, size, pieces: 7, seeders: 1, leechers: 0 });
  const down = await consumer.evaluate(() => window.EphemeralCDN.stats().bytesDown);
  assert.ok(down < 64 * 1024, `${down} B downloaded for info()`);
  assert.equal(await fetchDigest(consumer, hash), hash);
  const dead = await consumer.evaluate(
    (hash) =>
      window.EphemeralCDN.info(hash).then(
        () => 'resolved',
        (err: { code?: string }) => err.code,
      ),
    'cd'.repeat(32),
  );
  assert.equal(dead, 'DEAD');
  for (const page of [seeder, consumer]) await closePage(page);
});

test('on disk: fetch, stream and fetchBlob from the private file system, re-seeded from there, and the file deleted when let go', {
  timeout: 90_000,
}, async () => {
  const seeder = await openEcdnPage(session.browser, session.server.url);
  const hash = await seedRandom(seeder, 6 * MiB + 99);
  const onDisk = async () => {
    const page = await openEcdnPage(session.browser, session.server.url);
    await page.evaluate(() => window.EphemeralCDN.configure({ storage: 'disk' }));
    return page;
  };
  const files = (page: Page) =>
    page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const folder = await root.getDirectoryHandle('ecdn-downloads', { create: true });
      const names: string[] = [];
      for await (const name of (folder as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
      // Each download is a file and its `.state` record.
      return names.filter((name) => !name.endsWith('.state'));
    });
  const consumer = await onDisk();
  assert.equal(await fetchDigest(consumer, hash), hash);
  assert.equal((await files(consumer)).length, 1, 'kept on disk while re-seeded');

  const blobPage = await onDisk();
  const fromBlob = await blobPage.evaluate(async (hash) => {
    const blob = await window.EphemeralCDN.fetchBlob(hash, 'application/octet-stream', { reseed: false });
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
    return { type: blob.type, digest: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
  }, hash);
  assert.deepEqual(fromBlob, { type: 'application/octet-stream', digest: hash });

  // The seeder leaves: the next page streams from the consumer, which serves from disk.
  await closePage(seeder);
  const streamer = await onDisk();
  const streamed = await streamer.evaluate(async (hash) => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of window.EphemeralCDN.stream(hash, { reseed: false }) as unknown as AsyncIterable<Uint8Array>)
      chunks.push(chunk);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await new Blob(chunks as BlobPart[]).arrayBuffer()));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  }, hash);
  assert.equal(streamed, hash);
  // Not re-seeded and read to its end: its file is gone.
  assert.deepEqual(await files(streamer), []);

  await consumer.evaluate((hash) => window.EphemeralCDN.unseed(hash), hash);
  for (let i = 0; (await files(consumer)).length > 0; i++) {
    assert.ok(i < 100, 'the file is deleted once unseeded');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const page of [consumer, blobPage, streamer]) await closePage(page);
});

test("what a closed tab left on disk is deleted by the site's next page once its resume window is over", { timeout: 60_000 }, async () => {
  const seeder = await openEcdnPage(session.browser, session.server.url);
  const hash = await seedRandom(seeder, 2 * MiB);
  // Tabs of one user: one context, one private file system.
  const context = await session.browser.newContext();
  const downloads = (page: Page) =>
    page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const folder = await root.getDirectoryHandle('ecdn-downloads', { create: true });
      let count = 0;
      for await (const _ of (folder as unknown as { keys(): AsyncIterable<string> }).keys()) count++;
      return count;
    });
  const first = await openEcdnPage(context as unknown as Browser, session.server.url);
  assert.equal(await fetchDigest(first, hash), hash);
  assert.equal(await downloads(first), 2, 'the file and its record, kept while re-seeded');
  await first.close();

  const next = await openEcdnPage(context as unknown as Browser, session.server.url);
  const started = Date.now();
  await next.evaluate(() => window.EphemeralCDN.stats());
  assert.equal(await downloads(next), 2, 'kept for a while, for a reload to resume');
  while ((await downloads(next)) > 0) {
    assert.ok(Date.now() - started < 30_000, 'the leftover is gone within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  console.log(`the leftover was deleted ${Date.now() - started} ms after the next page's engine started`);
  await context.close();
  await closePage(seeder);
});

test('a file that fits neither on disk nor in memory fails at once with NO_SPACE, before any piece is asked for', {
  timeout: 60_000,
}, async () => {
  const holder = await openFaultyPage(session.browser, session.server.url);
  // Larger than this site's quota in a fresh context (10 GiB here) and than memory.
  const hash = '5a'.repeat(32);
  await claim(holder, hash, 64 * 1024 ** 3);
  for (const storage of ['auto', 'memory'] as const) {
    const consumer = await openPageOf(session.browser, session.server.url, { storage });
    const outcome = await consumer.evaluate(
      (hash) =>
        window.EphemeralCDN.fetch(hash).then(
          () => ({ code: 'resolved', message: '' }),
          (err: { code?: string; message: string }) => ({ code: err.code ?? String(err), message: err.message }),
        ),
      hash,
    );
    assert.equal(outcome.code, 'NO_SPACE', outcome.message);
    assert.match(outcome.message, storage === 'auto' ? /quota/ : /storage is set to memory/);
    assert.ok((await consumer.evaluate(() => window.EphemeralCDN.stats().bytesDown)) < 64 * 1024, 'no piece was downloaded');
    await closePage(consumer);
  }
  await closePage(holder);
});

test('a timeout rejects with TIMEOUT, and an unknown hash with DEAD', { timeout: 60_000 }, async () => {
  const seeder = await openEcdnPage(session.browser, session.server.url);
  const hash = await seedRandom(seeder, 8 * MiB);
  await seeder.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 1_000_000 }));
  const consumer = await openEcdnPage(session.browser, session.server.url);
  assert.equal(await fetchError(consumer, hash, { timeout: 500 }), 'TIMEOUT');
  assert.equal(await fetchError(consumer, 'ab'.repeat(32)), 'DEAD');
  for (const page of [seeder, consumer]) await closePage(page);
});

test('consumers serve the pieces they have verified before they finish', { timeout: 120_000 }, async () => {
  const a = await openEcdnPage(session.browser, session.server.url);
  const hash = await seedRandom(a, 16 * MiB);
  await a.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 4_000_000 }));
  const watcher = await openEcdnPage(session.browser, session.server.url);
  await recordWatch(watcher, hash);

  const b = await openEcdnPage(session.browser, session.server.url);
  const bDone = b.evaluate(async (hash) => {
    await window.EphemeralCDN.fetch(hash);
    // What B had served by the time its own download completed.
    return window.EphemeralCDN.stats().bytesUp;
  }, hash);
  await watcher.waitForFunction(() => (window as unknown as { watched: Array<{ leechers: number }> }).watched.some((s) => s.leechers >= 1));
  const c = await openEcdnPage(session.browser, session.server.url);
  const cDigest = fetchDigest(c, hash);
  const servedWhilePartial = await bDone;
  assert.equal(await cDigest, hash);
  assert.ok(servedWhilePartial > 0, 'B uploaded to C before its own download finished');
  assert.ok((await sources(c)).includes(await peerId(b)));
  for (const page of [a, b, c, watcher]) await closePage(page);
});

test('uploadLimit caps what a page serves', { timeout: 60_000 }, async () => {
  const limit = 2_000_000;
  const seeder = await openEcdnPage(session.browser, session.server.url);
  const hash = await seedRandom(seeder, 8 * MiB);
  await seeder.evaluate((limit) => window.EphemeralCDN.configure({ uploadLimit: limit }), limit);
  const consumer = await openEcdnPage(session.browser, session.server.url);
  const started = Date.now();
  assert.equal(await fetchDigest(consumer, hash), hash);
  const rate = (8 * MiB) / ((Date.now() - started) / 1000);
  assert.ok(rate <= limit * 1.1, `served at ${(rate / 1e6).toFixed(2)} MB/s under a ${limit / 1e6} MB/s limit`);
  assert.ok(rate >= limit * 0.6, `served at only ${(rate / 1e6).toFixed(2)} MB/s`);
  for (const page of [seeder, consumer]) await closePage(page);
});
