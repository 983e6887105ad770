import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { closePage, openPage } from '../helpers/browser.js';
import { fetchDigest, seedRandom } from '../helpers/pages.js';
import type { LinkRoute } from '../../src/index.js';
import { internet, startEcdnServer, type Internet } from './index.js';

// EphemeralCDN across the simulated internet: the real server in the public
// segment handing out its STUN (and, for some servers, coturn's TURN), real
// Chromium in homes behind real NATs, and the candidate pair that carried the
// bytes read from getStats() at the end of each transfer.

const MiB = 1024 * 1024;
const HOMES = { a: 'cone', b: 'cone', c: 'symmetric', d: 'symmetric' } as const;
type HomeName = keyof typeof HOMES;
const skip = process.getuid?.() === 0 ? false : 'needs root (network namespaces, nftables)';

let net: Internet;
const browsers = {} as Record<HomeName, Browser>;
/** Servers: STUN only, and STUN plus coturn's TURN with credentials that live 20 s. */
const servers = {} as Record<'stunOnly' | 'withTurn', string>;

before(async () => {
  if (skip) return;
  net = await internet({ homes: { ...HOMES }, turn: true });
  const turn = net.turn!;
  // coturn holds 3478 on both public addresses; the built-in STUN takes 3480 and 3481.
  servers.stunOnly = await startEcdnServer(net, 8787, { STUN_PORT: '3480' });
  servers.withTurn = await startEcdnServer(net, 8788, {
    STUN_PORT: '3482',
    TURN_URLS: turn.urls.join(','),
    TURN_SECRET: turn.secret,
    TURN_TTL: '20',
    HEARTBEAT_TIMEOUT: '8',
  });
  // A real deployment is HTTPS; here the servers' plain-HTTP origins stand in for
  // secure ones, so that pages get crypto.subtle as they would there.
  const secure = [`--unsafely-treat-insecure-origin-as-secure=${servers.stunOnly},${servers.withTurn}`];
  await Promise.all(
    (Object.keys(HOMES) as HomeName[]).map(async (home) => {
      browsers[home] = await net.launchChromium(home, { args: secure });
    }),
  );
});
after(async () => {
  await net?.close();
});

/** A page in `home` with the server's bundle, using the ICE servers the server hands out. */
async function openHomePage(home: HomeName, server: string, config: Record<string, unknown> = {}): Promise<Page> {
  const page = await openPage(browsers[home], `${server}/healthz`);
  await page.addScriptTag({ url: `${server}/ephemeralcdn.js` });
  await page.evaluate((config) => window.EphemeralCDN.configure(config), config);
  return page;
}

type Route = LinkRoute & { peerId: string };

/** The routes of `page`'s open links, read now. */
function routes(page: Page): Promise<Route[]> {
  return page.evaluate(() => window.EphemeralCDN.getEngine().routes());
}

const describe = (r: Route) => `${r.local?.type} ${r.local?.address} ↔ ${r.remote?.type} ${r.remote?.address}`;

test('cone ↔ cone with the server’s built-in STUN only: a direct, server-reflexive path', { skip, timeout: 60_000 }, async (t) => {
  const seeder = await openHomePage('a', servers.stunOnly);
  const consumer = await openHomePage('b', servers.stunOnly);
  const hash = await seedRandom(seeder, 2 * MiB, 3001);
  assert.equal(await fetchDigest(consumer, hash), hash);
  const [route] = await routes(consumer);
  assert.ok(route, 'one link');
  t.diagnostic(describe(route));
  assert.equal(route.local?.type, 'srflx', describe(route));
  assert.ok(route.remote?.type === 'srflx' || route.remote?.type === 'prflx', describe(route));
  for (const page of [seeder, consumer]) await closePage(page);
});

test('symmetric ↔ symmetric with TURN: through the relay, bytes intact', { skip, timeout: 60_000 }, async (t) => {
  const seeder = await openHomePage('c', servers.withTurn);
  const consumer = await openHomePage('d', servers.withTurn);
  const hash = await seedRandom(seeder, 2 * MiB, 3002);
  assert.equal(await fetchDigest(consumer, hash), hash);
  const [route] = await routes(consumer);
  assert.ok(route, 'one link');
  t.diagnostic(describe(route));
  assert.ok(route.local?.type === 'relay' || route.remote?.type === 'relay', describe(route));
  for (const page of [seeder, consumer]) await closePage(page);
});

test('symmetric ↔ symmetric without TURN: NO_PEER_REACHABLE, and the diagnosis says why', { skip, timeout: 90_000 }, async () => {
  const seeder = await openHomePage('c', servers.stunOnly);
  const consumer = await openHomePage('d', servers.stunOnly, { connectTimeout: 3_000 });
  const hash = await seedRandom(seeder, 256 * 1024, 3003);
  const failure = await consumer.evaluate(
    (hash) =>
      window.EphemeralCDN.fetch(hash).then(
        () => undefined,
        (err: { code: string; details?: unknown }) => ({ code: err.code, details: err.details }),
      ),
    hash,
  );
  assert.equal(failure?.code, 'NO_PEER_REACHABLE');
  const details = failure.details as { nat: string; turn: string; verdict: string; candidates: { srflx: number } };
  assert.equal(details.nat, 'symmetric', JSON.stringify(details));
  assert.equal(details.turn, 'none');
  assert.equal(details.verdict, 'Your network (a symmetric NAT) blocks direct connections and this server has no relay configured.');
  for (const page of [seeder, consumer]) await closePage(page);
});

test('diagnose() tells a cone from a symmetric NAT and sees the relay work', { skip, timeout: 60_000 }, async () => {
  const cone = await openHomePage('a', servers.withTurn);
  const symmetric = await openHomePage('c', servers.withTurn);
  const [fromCone, fromSymmetric] = await Promise.all([cone, symmetric].map((page) => page.evaluate(() => window.EphemeralCDN.diagnose())));
  assert.deepEqual(
    [fromCone?.tracker, fromCone?.signaling, fromCone?.nat, fromCone?.turn],
    ['ok', 'ok', 'cone', 'ok'],
    JSON.stringify(fromCone),
  );
  assert.deepEqual([fromSymmetric?.nat, fromSymmetric?.turn], ['symmetric', 'ok'], JSON.stringify(fromSymmetric));
  assert.match(fromSymmetric!.verdict, /relay, which works/);
  for (const page of [cone, symmetric]) await closePage(page);
});

test('relay-only: every pair is relay ↔ relay, and neither side learns the other’s addresses', { skip, timeout: 60_000 }, async (t) => {
  const relayOnly = { iceTransportPolicy: 'relay' };
  const seeder = await openHomePage('a', servers.withTurn, relayOnly);
  const consumer = await openHomePage('b', servers.withTurn, relayOnly);
  const hash = await seedRandom(seeder, 2 * MiB, 3004);
  assert.equal(await fetchDigest(consumer, hash), hash);
  for (const [page, self, peer] of [
    [consumer, 'b', 'a'],
    [seeder, 'a', 'b'],
  ] as const) {
    const [route] = await routes(page);
    assert.ok(route, `${self} has a link`);
    t.diagnostic(`${self}: ${describe(route)}`);
    assert.equal(route.local?.type, 'relay', describe(route));
    assert.ok(route.remote?.type === 'relay' || route.remote?.type === 'prflx', describe(route));
    const seen = route.remoteCandidates.map((c) => `${c.type} ${c.address}`);
    assert.ok(
      route.remoteCandidates.every((c) => c.type === 'relay' || c.type === 'prflx'),
      `${self} saw only relay candidates of ${peer}: ${seen}`,
    );
    for (const address of [net.homes[peer]!.hostAddress, net.homes[peer]!.publicAddress]) {
      assert.ok(!seen.some((s) => s.endsWith(` ${address}`)), `${self} saw ${peer}'s address ${address}: ${seen}`);
    }
  }
  for (const page of [seeder, consumer]) await closePage(page);
});

test('a swarm across four homes: the consumer gets pieces from two cone and one symmetric seeder', { skip, timeout: 90_000 }, async () => {
  const seeders = await Promise.all((['a', 'b', 'c'] as const).map((home) => openHomePage(home, servers.withTurn)));
  const consumer = await openHomePage('d', servers.withTurn);
  let hash = '';
  for (const page of seeders) {
    hash = await seedRandom(page, 6 * MiB, 3005);
    // Capped (6 MiB at 3 × 0.5 MB/s is about 4 s), so that no seeder finishes the file before the
    // others' links open; the symmetric seeder's goes through TURN and opens last.
    await page.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 500_000 }));
  }
  assert.equal(await fetchDigest(consumer, hash, { maxPeers: 5 }), hash);
  const seederIds = await Promise.all(seeders.map((page) => page.evaluate(() => window.EphemeralCDN.stats().peerId!)));
  const sources = await consumer.evaluate(() =>
    window.EphemeralCDN.stats()
      .connections.filter((c) => c.bytesDown > 0)
      .map((c) => c.peerId),
  );
  assert.deepEqual([...sources].sort(), [...seederIds].sort(), 'pieces came from all three seeders');
  for (const page of [...seeders, consumer]) await closePage(page);
});

test('TURN credentials are refreshed before they expire, and a long seed keeps working across the refresh', {
  skip,
  timeout: 90_000,
}, async (t) => {
  // Relay-only, so that the seeder can answer a connection only through a TURN
  // allocation of its own, made with whatever credentials it holds by then.
  const seeder = await openHomePage('c', servers.withTurn, { iceTransportPolicy: 'relay' });
  const firstExpiry = Date.now() + 20_000;
  const hash = await seedRandom(seeder, 1 * MiB, 3006);
  // The credentials the seeder got at welcome (20 s) expire: coturn refuses them from then on.
  await new Promise((resolve) => setTimeout(resolve, firstExpiry - Date.now() + 2_000));
  const consumer = await openHomePage('d', servers.withTurn);
  const started = Date.now();
  assert.equal(await fetchDigest(consumer, hash), hash);
  t.diagnostic(`fetched through the relay ${Math.round((Date.now() - started) / 100) / 10} s after the first credentials expired`);
  const [route] = await routes(seeder);
  assert.equal(route?.local?.type, 'relay', route && describe(route));
  for (const page of [seeder, consumer]) await closePage(page);
});
