import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closePage } from '../helpers/browser.js';
import { fetchDigest, openEcdnPage, seedRandom } from '../helpers/pages.js';
import { createNodeEngine } from '../helpers/node-peer.js';
import { useSession } from '../helpers/session.js';

// The engine is plain TypeScript: the same code seeds from Node (WebRTC by
// node-datachannel) to a Chromium page, and fetches from one.

const session = useSession();

test('a Node seeder serves a Chromium page', { timeout: 60_000 }, async () => {
  const engine = createNodeEngine({ server: session.server.url });
  try {
    const bytes = randomBytes(5 * 1024 * 1024 + 77);
    const hash = await engine.seed(bytes);
    assert.equal(hash, createHash('sha256').update(bytes).digest('hex'));
    const page = await openEcdnPage(session.browser, session.server.url);
    assert.equal(await fetchDigest(page, hash), hash);
    assert.ok(engine.stats().bytesUp >= bytes.length);
    await closePage(page);
  } finally {
    engine.destroy();
  }
});

test('a Node consumer fetches from a Chromium page', { timeout: 60_000 }, async () => {
  const page = await openEcdnPage(session.browser, session.server.url);
  const hash = await seedRandom(page, 3 * 1024 * 1024);
  const engine = createNodeEngine({ server: session.server.url, reseed: false });
  try {
    const buffer = await engine.fetch(hash);
    assert.equal(createHash('sha256').update(new Uint8Array(buffer)).digest('hex'), hash);
  } finally {
    engine.destroy();
    await closePage(page);
  }
});
