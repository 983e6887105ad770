import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closePage } from '../helpers/browser.js';
import { fetchDigest, openEcdnPage, seedRandom } from '../helpers/pages.js';
import { useSession } from '../helpers/session.js';

// A flash crowd (issue 15): consumers that all start at once get the file mostly from
// each other, not from the publisher. Every page's upload is capped, as real peers'
// are, so that the publisher cannot simply serve everybody in time; the bench's
// 'crowd' scenario measures the same thing at size.

const MiB = 1024 * 1024;
const session = useSession();

test('a crowd of 4 capped consumers: every one gets the right bytes, the publisher uploads under 2 copies', {
  timeout: 90_000,
}, async (t) => {
  // About 4 s for one consumer alone: long enough for the cap to bind and for connection
  // set-up (about a second) not to dominate, short for a test. With 4 MiB (2 s alone) the
  // publisher, serving at its cap until the last consumer finished, sent 1.7 to 1.8 copies.
  const size = 8 * MiB;
  const cap = 2_000_000;
  const capped = async (page: Awaited<ReturnType<typeof openEcdnPage>>) => {
    await page.evaluate((cap) => window.EphemeralCDN.configure({ uploadLimit: cap }), cap);
    return page;
  };
  const publisher = await capped(await openEcdnPage(session.browser, session.server.url));
  const consumers = await Promise.all([0, 1, 2, 3].map(async () => capped(await openEcdnPage(session.browser, session.server.url))));
  try {
    const hash = await seedRandom(publisher, size);
    const started = Date.now();
    const digests = await Promise.all(consumers.map((page) => fetchDigest(page, hash)));
    const ms = Date.now() - started;
    assert.deepEqual(digests, [hash, hash, hash, hash]);
    const up = await publisher.evaluate(() => window.EphemeralCDN.stats().bytesUp);
    const fromPeers = await Promise.all(consumers.map((page) => page.evaluate(() => window.EphemeralCDN.stats().bytesUp)));
    t.diagnostic(
      `crowd of 4 in ${ms} ms; publisher uploaded ${(up / size).toFixed(2)} copies, consumers ${fromPeers.map((b) => (b / size).toFixed(2)).join('/')}`,
    );
    assert.ok(up < 2 * size, `the publisher uploaded ${(up / size).toFixed(2)} copies of the file`);
  } finally {
    for (const page of [publisher, ...consumers]) await closePage(page);
  }
});
