import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { IceServers } from '../ice.js';
import type { TrackerEvents } from './events.js';
import { createTracker } from './tracker.js';
import type { SwarmStore } from './store.js';
import { storeKinds, wrapStore } from '../../test/helpers/stores.js';
import { TestClient, delay, hashOf, startTracker, trackersOn, type TestTracker } from './test-helpers.js';

const H1 = hashOf(1);
const H2 = hashOf(2);

for (const kind of storeKinds) {
  describe(`tracker (${kind.name} store)`, { skip: kind.skip }, () => {
    const start = trackersOn(kind);

    describe('hello', () => {
      it('issues a PeerJS-valid identity with a token, the heartbeat interval and the limits', async () => {
        const t = await start({ heartbeatTimeoutMs: 3_000, maxPeersReturned: 7 });
        const client = await t.connect();
        const welcome = await client.hello();
        assert.equal(welcome.type, 'welcome');
        assert.match(welcome.peerId, /^[A-Za-z0-9]{20}$/);
        assert.equal(welcome.token.length, 32);
        assert.equal(welcome.heartbeatInterval, 1_000);
        assert.deepEqual(welcome.limits, {
          maxMessageBytes: 65_536,
          maxHashesPerConnection: 1_000,
          maxWatchesPerConnection: 1_000,
          maxPeersReturned: 7,
          maxMessagesPerSecond: 50,
          messageBurst: 2_500,
        });
        assert.equal(t.tracker.verifyPeerToken(welcome.peerId, welcome.token), true);
        const other = await (await t.connect()).hello();
        assert.notEqual(other.peerId, welcome.peerId);
        assert.deepEqual(t.tracker.stats(), { connections: 2, peers: 2, swarms: 0, watched: 0 });
        assert.deepEqual(warningCodes(t), []);
      });

      it('requires hello first and only once', async () => {
        const t = await start();
        const client = await t.connect();
        for (const message of [
          { type: 'ping' },
          { type: 'lookup', hash: H1 },
          { type: 'announce', hash: H1 },
          { type: 'watch', hash: H1 },
        ]) {
          const reply = await client.request(message);
          assert.equal(reply.type, 'error');
          assert.equal(reply.code, 'HELLO_REQUIRED', message.type);
        }
        await client.hello();
        const again = await client.request({ type: 'hello' });
        assert.equal(again.code, 'ALREADY_HELLO');
        assert.equal((await client.request({ type: 'ping' })).type, 'pong');
        assert.deepEqual(warningCodes(t), ['HELLO_REQUIRED', 'HELLO_REQUIRED', 'HELLO_REQUIRED', 'HELLO_REQUIRED', 'ALREADY_HELLO']);
      });

      it('echoes string and numeric rids, and omits rid when none was sent', async () => {
        const t = await start();
        const client = await t.connect();
        await client.hello();
        client.send({ type: 'ping', rid: 42 });
        assert.deepEqual(await client.next(), { type: 'pong', rid: 42 });
        client.send({ type: 'ping' });
        assert.deepEqual(await client.next(), { type: 'pong' });
        client.send({ type: 'ping', rid: 'abc' });
        assert.deepEqual(await client.next(), { type: 'pong', rid: 'abc' });
      });
    });

    describe('announce, withdraw, lookup', () => {
      it('tracks holders and counts, and excludes the asker from the peers it returns', async () => {
        const t = await start();
        const a = await t.connect();
        const b = await t.connect();
        const c = await t.connect();
        const idA = (await a.hello()).peerId;
        const idB = (await b.hello()).peerId;
        await c.hello();

        assert.deepEqual(await a.request({ type: 'announce', hash: H1 }), {
          type: 'ok',
          rid: 'r2',
          hash: H1,
          alive: true,
          seeders: 1,
          leechers: 0,
        });
        assert.deepEqual(await b.request({ type: 'announce', hash: H1 }), {
          type: 'ok',
          rid: 'r2',
          hash: H1,
          alive: true,
          seeders: 2,
          leechers: 0,
        });

        const forC = await c.request({ type: 'lookup', hash: H1 });
        assert.equal(forC.type, 'peers');
        assert.deepEqual(
          { ...forC, peers: [...(forC.peers as string[])].sort() },
          {
            type: 'peers',
            rid: 'r2',
            hash: H1,
            alive: true,
            seeders: 2,
            leechers: 0,
            peers: [idA, idB].sort(),
          },
        );
        const forA = await a.request({ type: 'lookup', hash: H1 });
        assert.deepEqual(forA.peers, [idB]);
        assert.equal(forA.seeders, 2, 'counts include the asker');

        const unknown = await c.request({ type: 'lookup', hash: H2 });
        assert.deepEqual(unknown, { type: 'peers', rid: 'r3', hash: H2, alive: false, seeders: 0, leechers: 0, peers: [] });

        assert.deepEqual(await a.request({ type: 'withdraw', hash: H1 }), {
          type: 'ok',
          rid: 'r4',
          hash: H1,
          alive: true,
          seeders: 1,
          leechers: 0,
        });
        assert.deepEqual((await c.request({ type: 'lookup', hash: H1 })).peers, [idB]);
        assert.deepEqual(await b.request({ type: 'withdraw', hash: H1 }), {
          type: 'ok',
          rid: 'r3',
          hash: H1,
          alive: false,
          seeders: 0,
          leechers: 0,
        });
        assert.deepEqual(
          await b.request({ type: 'withdraw', hash: H1 }),
          { type: 'ok', rid: 'r4', hash: H1, alive: false, seeders: 0, leechers: 0 },
          'withdrawing twice is harmless',
        );
        assert.deepEqual(await t.tracker.fileStatus(H1), { hash: H1, alive: false, seeders: 0, leechers: 0 });
        assert.deepEqual(t.tracker.stats(), { connections: 3, peers: 3, swarms: 0, watched: 0 });
        assert.deepEqual(warningCodes(t), []);
      });

      it('emits counter-friendly events', async () => {
        const t = await start();
        const events: string[] = [];
        for (const name of ['hello', 'announce', 'withdraw', 'lookup', 'evict'] as const) {
          t.tracker.on(name, (event: TrackerEvents[typeof name][0]) =>
            events.push(`${name}:${JSON.stringify(event, ['changed', 'complete', 'reason', 'hashes', 'returned', 'resumed'])}`),
          );
        }
        const a = await t.connect();
        await a.hello();
        await a.request({ type: 'announce', hash: H1 });
        await a.request({ type: 'announce', hash: H1 });
        await a.request({ type: 'lookup', hash: H1 });
        await a.request({ type: 'withdraw', hash: H1 });
        await a.request({ type: 'announce', hash: H2, complete: false });
        await a.close();
        await waitFor(() => events.length === 7);
        assert.deepEqual(events, [
          'hello:{"resumed":false}',
          'announce:{"changed":true,"complete":true}',
          'announce:{"changed":false,"complete":true}',
          'lookup:{"returned":0}',
          'withdraw:{"changed":true}',
          'announce:{"changed":true,"complete":false}',
          'evict:{"reason":"close","hashes":1}',
        ]);
      });

      it('caps the peers returned by min(max, maxPeersReturned)', async () => {
        const t = await start({ maxPeersReturned: 3 });
        for (let i = 0; i < 5; i++) {
          const seeder = await t.connect();
          await seeder.hello();
          await seeder.request({ type: 'announce', hash: H1 });
        }
        const asker = await t.connect();
        await asker.hello();
        assert.equal(((await asker.request({ type: 'lookup', hash: H1 })).peers as string[]).length, 3);
        assert.equal(((await asker.request({ type: 'lookup', hash: H1, max: 2 })).peers as string[]).length, 2);
        assert.equal(((await asker.request({ type: 'lookup', hash: H1, max: 1e300 })).peers as string[]).length, 3);
        const statusOnly = await asker.request({ type: 'lookup', hash: H1, max: 0 });
        assert.deepEqual([statusOnly.peers, statusOnly.seeders], [[], 5]);
      });

      it('tells partial holders from complete ones, and upgrades on re-announce', async () => {
        const t = await start();
        const leecher = await t.connect();
        const seeder = await t.connect();
        const asker = await t.connect();
        const idL = (await leecher.hello()).peerId;
        const idS = (await seeder.hello()).peerId;
        await asker.hello();

        const partial = await leecher.request({ type: 'announce', hash: H1, complete: false });
        assert.deepEqual([partial.alive, partial.seeders, partial.leechers], [false, 0, 1]);
        const onlyPartial = await asker.request({ type: 'lookup', hash: H1 });
        assert.deepEqual(
          [onlyPartial.alive, onlyPartial.peers],
          [false, [idL]],
          'partial holders are listed, but do not make a file alive',
        );
        assert.deepEqual(await t.tracker.fileStatus(H1), { hash: H1, alive: false, seeders: 0, leechers: 1 });

        await seeder.request({ type: 'announce', hash: H1 });
        const both = await asker.request({ type: 'lookup', hash: H1 });
        assert.deepEqual(
          [both.alive, both.seeders, both.leechers, both.peers],
          [true, 1, 1, [idS, idL]],
          'complete before partial at equal nearness',
        );

        const upgraded = await leecher.request({ type: 'announce', hash: H1 });
        assert.deepEqual([upgraded.seeders, upgraded.leechers], [2, 0]);
        assert.deepEqual(await t.tracker.fileStatus(H1), { hash: H1, alive: true, seeders: 2, leechers: 0 });
      });
    });

    describe('nearness over the wire', () => {
      const countries: Record<string, string> = { '81.2.69.10': 'GB', '81.2.69.77': 'GB', '81.2.70.1': 'GB', '9.9.9.9': 'US' };
      const lookupCountry = (ip: string) => countries[ip];

      it('orders peers by the X-Forwarded-For address when the proxy is trusted', async () => {
        const t = await start({ trustProxy: 2, lookupCountry });
        const ids: Record<string, string> = {};
        for (const [name, ip] of [
          ['far', '9.9.9.9'],
          ['country', '81.2.70.1'],
          ['subnet', '81.2.69.77'],
          ['same-ip', '81.2.69.10'],
        ] as const) {
          const client = await t.connect({ 'X-Forwarded-For': `${ip}, 10.0.0.1` });
          ids[(await client.hello()).peerId] = name;
          await client.request({ type: 'announce', hash: H1 });
        }
        const asker = await t.connect({ 'X-Forwarded-For': '::ffff:81.2.69.10' });
        await asker.hello();
        for (let i = 0; i < 5; i++) {
          const reply = await asker.request({ type: 'lookup', hash: H1 });
          assert.deepEqual(
            (reply.peers as string[]).map((id) => ids[id]),
            ['same-ip', 'subnet', 'country', 'far'],
          );
        }
        const two = await asker.request({ type: 'lookup', hash: H1, max: 2 });
        assert.deepEqual(
          (two.peers as string[]).map((id) => ids[id]),
          ['same-ip', 'subnet'],
        );
      });

      it('ignores X-Forwarded-For unless trustProxy is set', async () => {
        const seen: string[] = [];
        const t = await start({
          lookupCountry: (ip) => {
            seen.push(ip);
            return undefined;
          },
        });
        const client = await t.connect({ 'X-Forwarded-For': '9.9.9.9' });
        await client.hello();
        assert.deepEqual(seen, ['127.0.0.1']);
      });
    });

    describe('watch', () => {
      it('replies with the counts at once, pushes every change without duplicates, and alive:false when the last seeder leaves', async () => {
        const t = await start();
        const watcher = await t.connect();
        const seeder = await t.connect();
        const leecher = await t.connect();
        await watcher.hello();
        await seeder.hello();
        await leecher.hello();

        assert.deepEqual(await watcher.request({ type: 'watch', hash: H1 }), {
          type: 'swarm',
          rid: 'r2',
          hash: H1,
          alive: false,
          seeders: 0,
          leechers: 0,
        });

        await seeder.request({ type: 'announce', hash: H1 });
        assert.deepEqual(await watcher.nextSwarm(H1), { type: 'swarm', hash: H1, alive: true, seeders: 1, leechers: 0 });
        await leecher.request({ type: 'announce', hash: H1, complete: false });
        assert.deepEqual(await watcher.nextSwarm(H1), { type: 'swarm', hash: H1, alive: true, seeders: 1, leechers: 1 });

        // Nothing changes: no push. A ping afterwards proves nothing was queued before its pong.
        await seeder.request({ type: 'announce', hash: H1 });
        await leecher.request({ type: 'withdraw', hash: H2 });
        await seeder.request({ type: 'lookup', hash: H1 });
        assert.deepEqual(await watcher.request({ type: 'ping' }), { type: 'pong', rid: 'r3' });
        assert.deepEqual(watcher.received, []);

        await seeder.close();
        assert.deepEqual(await watcher.nextSwarm(H1), { type: 'swarm', hash: H1, alive: false, seeders: 0, leechers: 1 });
        await leecher.request({ type: 'withdraw', hash: H1 });
        assert.deepEqual(await watcher.nextSwarm(H1), { type: 'swarm', hash: H1, alive: false, seeders: 0, leechers: 0 });

        assert.deepEqual(await watcher.request({ type: 'unwatch', hash: H1 }), { type: 'ok', rid: 'r4', hash: H1 });
        await leecher.request({ type: 'announce', hash: H1 });
        assert.deepEqual(await watcher.request({ type: 'ping' }), { type: 'pong', rid: 'r5' });
        assert.deepEqual(watcher.received, [], 'no pushes after unwatch');
        assert.deepEqual(warningCodes(t), []);
      });

      it('only pushes for the watched hash, and a repeated watch replies again', async () => {
        const t = await start();
        const watcher = await t.connect();
        const seeder = await t.connect();
        await watcher.hello();
        await seeder.hello();
        await watcher.request({ type: 'watch', hash: H1 });
        await seeder.request({ type: 'announce', hash: H2 });
        await seeder.request({ type: 'announce', hash: H1 });
        assert.deepEqual(await watcher.nextSwarm(H1), { type: 'swarm', hash: H1, alive: true, seeders: 1, leechers: 0 });
        const again = await watcher.request({ type: 'watch', hash: H1 });
        assert.deepEqual([again.type, again.seeders], ['swarm', 1]);
        assert.equal(watcher.received.filter((m) => m.hash === H2).length, 0);
      });

      it('limits watches per connection with TOO_MANY_WATCHES', async () => {
        const t = await start({ maxWatchesPerConnection: 3 });
        const client = await t.connect();
        await client.hello();
        for (let i = 0; i < 3; i++) assert.equal((await client.request({ type: 'watch', hash: hashOf(i) })).type, 'swarm');
        assert.equal((await client.request({ type: 'watch', hash: hashOf(0) })).type, 'swarm', 'watching again is not one more');
        assert.equal((await client.request({ type: 'watch', hash: hashOf(3) })).code, 'TOO_MANY_WATCHES');
        await client.request({ type: 'unwatch', hash: hashOf(1) });
        assert.equal((await client.request({ type: 'watch', hash: hashOf(3) })).type, 'swarm');
        assert.deepEqual(warningCodes(t), ['TOO_MANY_WATCHES']);
      });
    });

    describe('liveness', () => {
      it('evicts a peer that stops sending heartbeats, and keeps one that pings', async () => {
        const t = await start({ heartbeatTimeoutMs: 300 });
        const evictions: string[] = [];
        t.tracker.on('evict', (e) => evictions.push(`${e.reason}:${e.hashes}`));
        const silent = await t.connect();
        const pinger = await t.connect();
        const silentId = (await silent.hello()).peerId;
        const pingerId = (await pinger.hello()).peerId;
        await silent.request({ type: 'announce', hash: H1 });
        await pinger.request({ type: 'announce', hash: H2 });
        await pinger.request({ type: 'watch', hash: H1 });

        const pinging = setInterval(() => pinger.send({ type: 'ping' }), 50);
        try {
          const pushed = await pinger.nextSwarm(H1, 1_000);
          assert.deepEqual(pushed, { type: 'swarm', hash: H1, alive: false, seeders: 0, leechers: 0 });
          const closed = await silent.closed;
          assert.equal(closed.code, 1006, 'the silent socket was terminated');
          assert.deepEqual(evictions, ['timeout:1']);

          await delay(500); // well past the timeout again
          assert.equal(pinger.socket.readyState, pinger.socket.OPEN);
          const lookup = await pinger.request({ type: 'lookup', hash: H2 });
          assert.deepEqual([lookup.alive, lookup.seeders], [true, 1]);
          assert.deepEqual(await t.tracker.fileStatus(H1), { hash: H1, alive: false, seeders: 0, leechers: 0 });
          assert.deepEqual(t.tracker.stats(), { connections: 1, peers: 1, swarms: 1, watched: 1 });
          assert.equal(t.tracker.verifyPeerToken(silentId, 'x'.repeat(32)), false);
          assert.ok(pingerId);
        } finally {
          clearInterval(pinging);
        }
        assert.deepEqual(warningCodes(t), []);
      });

      it('evicts a connection that never gets an identity, even if it keeps sending', async () => {
        const t = await start({ heartbeatTimeoutMs: 200 });
        const silent = await t.connect();
        const failing = await t.connect();
        const sending = setInterval(() => {
          failing.send({ type: 'hello', peerId: 'abc', token: 'x'.repeat(32) });
          failing.send({ type: 'ping' });
          failing.sendRaw('garbage');
        }, 20);
        try {
          assert.equal((await silent.closed).code, 1006);
          assert.equal((await failing.closed).code, 1006);
        } finally {
          clearInterval(sending);
        }
        assert.ok(warningCodes(t).includes('INVALID_TOKEN'));
        assert.deepEqual(t.tracker.stats(), { connections: 0, peers: 0, swarms: 0, watched: 0 });
      });

      it('evicts at once when the socket closes', async () => {
        const t = await start();
        const a = await t.connect();
        const b = await t.connect();
        await a.hello();
        await b.hello();
        await a.request({ type: 'announce', hash: H1 });
        await a.request({ type: 'announce', hash: H2, complete: false });
        a.socket.terminate();
        await waitFor(async () => (await t.tracker.fileStatus(H2)).leechers === 0);
        const reply = await b.request({ type: 'lookup', hash: H1 });
        assert.deepEqual([reply.alive, reply.peers], [false, []]);
        assert.deepEqual(t.tracker.stats(), { connections: 1, peers: 1, swarms: 0, watched: 0 });
      });

      it('does not keep an announce that was still being stored when its peer left', async () => {
        // Removing is quicker than adding, so a removal started at once would finish first.
        const store = slowed(await kind.open(), 60, 1);
        const t = await start({ store });
        const a = await t.connect();
        await a.hello();
        a.send({ type: 'announce', hash: H1 });
        await delay(10); // the announce is now waiting on the store
        a.socket.terminate();
        await delay(150);
        assert.deepEqual(await store.stats(), { swarms: 0, peers: 0, entries: 0 });
        assert.deepEqual(t.tracker.stats(), { connections: 0, peers: 0, swarms: 0, watched: 0 });
      });
    });

    describe('identity', () => {
      it('binds a peer ID to one connection: others cannot withdraw, announce for or take it', async () => {
        const t = await start();
        const owner = await t.connect();
        const thief = await t.connect();
        const asker = await t.connect();
        const { peerId, token } = await owner.hello();
        await asker.hello();
        await owner.request({ type: 'announce', hash: H1 });

        // Without a token, with a wrong one, and with the right one while the owner is connected.
        assert.equal((await thief.request({ type: 'hello', peerId })).code, 'BAD_MESSAGE');
        assert.equal((await thief.request({ type: 'hello', peerId, token: 'A'.repeat(32) })).code, 'INVALID_TOKEN');
        assert.equal((await thief.request({ type: 'hello', peerId: 'someoneElse', token })).code, 'INVALID_TOKEN');
        assert.equal((await thief.request({ type: 'hello', peerId, token })).code, 'ID_IN_USE');
        assert.equal((await thief.request({ type: 'withdraw', hash: H1 })).code, 'HELLO_REQUIRED');

        const thiefId = (await thief.hello()).peerId;
        assert.notEqual(thiefId, peerId);
        const withdrawn = await thief.request({ type: 'withdraw', hash: H1 });
        assert.deepEqual([withdrawn.seeders, withdrawn.alive], [1, true], "withdrawing withdraws one's own ID only");
        await thief.request({ type: 'announce', hash: H2 });
        assert.deepEqual((await asker.request({ type: 'lookup', hash: H1 })).peers, [peerId]);
        assert.deepEqual((await asker.request({ type: 'lookup', hash: H2 })).peers, [thiefId]);
        assert.deepEqual(warningCodes(t), ['BAD_MESSAGE', 'INVALID_TOKEN', 'INVALID_TOKEN', 'ID_IN_USE', 'HELLO_REQUIRED']);
      });

      it('lets a peer resume its ID with its token once the old connection is gone, with nothing announced', async () => {
        const t = await start();
        const first = await t.connect();
        const { peerId, token } = await first.hello();
        await first.request({ type: 'announce', hash: H1 });
        await first.close();
        const again = await t.connect();
        const welcome = await again.hello({ peerId, token });
        assert.deepEqual([welcome.peerId, welcome.token], [peerId, token]);
        assert.deepEqual(await t.tracker.fileStatus(H1), { hash: H1, alive: false, seeders: 0, leechers: 0 });
      });

      it('waits for the old connection to be evicted before resuming, so the resumed peer keeps its announces', async () => {
        const store = slowed(await kind.open(), 40);
        const t = await start({ store });
        const first = await t.connect();
        const { peerId, token } = await first.hello();
        await first.request({ type: 'announce', hash: H1 });
        const again = await t.connect();
        first.socket.terminate();
        await delay(10); // the old connection is closed; its eviction waits on the store
        const welcome = await again.hello({ peerId, token });
        assert.equal(welcome.peerId, peerId);
        await again.request({ type: 'announce', hash: H2 });
        await delay(100);
        assert.deepEqual(await t.tracker.fileStatus(H2), { hash: H2, alive: true, seeders: 1, leechers: 0 });
        assert.deepEqual(await t.tracker.fileStatus(H1), { hash: H1, alive: false, seeders: 0, leechers: 0 });
      });

      it('verifyPeerToken accepts only tokens made with the same secret for the same ID', async () => {
        const secret = randomBytes(32);
        const t = await start({ secret });
        const { peerId, token } = await (await t.connect()).hello();
        assert.equal(t.tracker.verifyPeerToken(peerId, token), true);
        assert.equal(t.tracker.verifyPeerToken(peerId, `${token.slice(0, 31)}${token[31] === 'A' ? 'B' : 'A'}`), false);
        assert.equal(t.tracker.verifyPeerToken(`${peerId}x`, token), false);
        assert.equal(t.tracker.verifyPeerToken(peerId, ''), false);
        assert.equal(t.tracker.verifyPeerToken(peerId, `${token}extra`), false);
        assert.equal(t.tracker.verifyPeerToken(undefined as unknown as string, token), false);
        assert.equal(t.tracker.verifyPeerToken(peerId, null as unknown as string), false);

        const sameSecret = createTracker({ secret, lookupCountry: () => undefined });
        const otherSecret = createTracker({ lookupCountry: () => undefined });
        try {
          assert.equal(sameSecret.verifyPeerToken(peerId, token), true, 'a restarted tracker with the same secret still knows the ID');
          assert.equal(otherSecret.verifyPeerToken(peerId, token), false);
        } finally {
          await sameSecret.close();
          await otherSecret.close();
        }
      });
    });

    describe('bad input', () => {
      it('answers each malformed request with its error code and carries on', async () => {
        const t = await start();
        const client = await t.connect();
        client.sendRaw('not json');
        assert.equal((await client.next()).code, 'BAD_JSON');
        client.sendRaw(Buffer.from('{"type":"ping"}'), true);
        assert.equal((await client.next()).code, 'BAD_MESSAGE');
        await client.hello();
        assert.equal((await client.request({ type: 'teleport' })).code, 'UNKNOWN_TYPE');
        assert.equal((await client.request({ type: 'announce', hash: 'ABC' })).code, 'INVALID_HASH');
        assert.equal((await client.request({ type: 'lookup', hash: 'A'.repeat(64) })).code, 'INVALID_HASH');
        const missing = await client.request({ type: 'announce' });
        assert.deepEqual([missing.code, /"hash"/.test(String(missing.message))], ['BAD_MESSAGE', true]);
        const wrongType = await client.request({ type: 'announce', hash: H1, complete: 'yes' });
        assert.deepEqual([wrongType.code, /"complete"/.test(String(wrongType.message))], ['BAD_MESSAGE', true]);
        assert.equal((await client.request({ type: 'ping' })).type, 'pong');
        assert.deepEqual(warningCodes(t), [
          'BAD_JSON',
          'BAD_MESSAGE',
          'UNKNOWN_TYPE',
          'INVALID_HASH',
          'INVALID_HASH',
          'BAD_MESSAGE',
          'BAD_MESSAGE',
        ]);
      });

      it('answers an oversize message with MESSAGE_TOO_LARGE and closes with 1009', async () => {
        const t = await start({ maxMessageBytes: 1_024 });
        const client = await t.connect();
        await client.hello();
        client.send({ type: 'ping', pad: 'x'.repeat(2_000) });
        const error = await client.next();
        assert.deepEqual([error.type, error.code], ['error', 'MESSAGE_TOO_LARGE']);
        assert.equal((await client.closed).code, 1009);
        const next = await t.connect();
        assert.equal((await next.hello()).type, 'welcome', 'the tracker is still up');
        assert.deepEqual(t.tracker.stats().connections, 1);
      });

      it('keeps the store at the cap when 2,000 announces go beyond maxHashesPerConnection', async () => {
        const store = await kind.open();
        const t = await start({ maxHashesPerConnection: 50, store });
        const client = await t.connect();
        await client.hello();
        const total = 2_050;
        for (let i = 0; i < total; i++) client.send({ type: 'announce', rid: i, hash: hashOf(i) });
        const replies = await Promise.all(Array.from({ length: total }, (_, i) => client.next((m) => m.rid === i, 10_000)));
        assert.equal(replies.filter((m) => m.type === 'ok').length, 50);
        assert.equal(replies.filter((m) => m.code === 'TOO_MANY_HASHES').length, 2_000);
        assert.ok(
          replies.slice(0, 50).every((m) => m.type === 'ok'),
          'the first 50 are accepted',
        );
        assert.deepEqual(await store.stats(), { swarms: 50, peers: 1, entries: 50 });
        assert.equal(t.tracker.stats().swarms, 50);
        // Re-announcing a held hash is no new hash; withdrawing one makes room.
        assert.equal((await client.request({ type: 'announce', hash: hashOf(0), complete: false })).type, 'ok');
        assert.equal((await client.request({ type: 'withdraw', hash: hashOf(0) })).type, 'ok');
        assert.equal((await client.request({ type: 'announce', hash: hashOf(9_999) })).type, 'ok');
        assert.equal((await client.request({ type: 'announce', hash: hashOf(10_000) })).code, 'TOO_MANY_HASHES');
        assert.deepEqual(await store.stats(), { swarms: 50, peers: 1, entries: 50 });
      });

      it('survives garbage: random bytes, invalid UTF-8, deep JSON, huge numbers', async () => {
        const t = await start();
        const client = await t.connect();
        await client.hello();
        for (let i = 0; i < 50; i++) client.sendRaw(randomBytes(1 + i * 20), true);
        for (let i = 0; i < 50; i++) client.sendRaw(randomBytes(1 + i * 20).toString('base64'));
        const garbage = await Promise.all(Array.from({ length: 100 }, () => client.next((m) => m.type === 'error')));
        assert.ok(garbage.every((m) => m.code === 'BAD_MESSAGE' || m.code === 'BAD_JSON'));

        client.sendRaw('['.repeat(30_000) + ']'.repeat(30_000));
        assert.equal((await client.next()).code, 'BAD_MESSAGE');
        client.sendRaw(`{"type":"announce","hash":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}`);
        assert.equal((await client.next()).code, 'BAD_MESSAGE');
        client.sendRaw(`{"type":"lookup","hash":"${H1}","max":1e999}`);
        assert.equal((await client.next()).code, 'BAD_MESSAGE');
        client.sendRaw(`{"type":"ping","rid":${'9'.repeat(500)}}`);
        assert.equal((await client.next()).code, 'BAD_MESSAGE');
        client.sendRaw(`{"type":"lookup","rid":1,"hash":"${H1}","max":${'9'.repeat(300)}}`);
        assert.deepEqual((await client.next()).type, 'peers');
        client.sendRaw('{"type":"announce","hash":"__proto__","__proto__":{"complete":false}}');
        assert.equal((await client.next()).code, 'INVALID_HASH');
        assert.equal((await client.request({ type: 'ping' })).type, 'pong', 'the connection still works');

        // Invalid UTF-8 in a text frame: ws itself closes that connection (1007); the tracker stays up.
        const rude = await t.connect();
        rude.sendRaw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
        assert.equal((await rude.closed).code, 1007);
        assert.equal((await client.request({ type: 'ping' })).type, 'pong');
        assert.ok(warningCodes(t).includes('SOCKET_ERROR'));
        assert.deepEqual(t.tracker.stats(), { connections: 1, peers: 1, swarms: 0, watched: 0 });
      });
    });

    describe('per-connection state created on first use', () => {
      it('watches again after unwatching everything, and still caps watches', async () => {
        const t = await start({ maxWatchesPerConnection: 1 });
        const watcher = await t.connect();
        await watcher.hello();
        assert.equal((await watcher.request({ type: 'watch', hash: H1 })).type, 'swarm');
        assert.equal((await watcher.request({ type: 'unwatch', hash: H1 })).type, 'ok');
        assert.equal((await watcher.request({ type: 'unwatch', hash: H1 })).type, 'ok', 'unwatching what is not watched is harmless');
        assert.deepEqual(await watcher.request({ type: 'watch', hash: H2 }), {
          type: 'swarm',
          rid: 'r5',
          hash: H2,
          alive: false,
          seeders: 0,
          leechers: 0,
        });
        assert.equal((await watcher.request({ type: 'watch', hash: H1 })).code, 'TOO_MANY_WATCHES');
        const seeder = await t.connect();
        await seeder.hello();
        await seeder.request({ type: 'announce', hash: H2 });
        assert.deepEqual(await watcher.nextSwarm(H2), { type: 'swarm', hash: H2, alive: true, seeders: 1, leechers: 0 });
        await watcher.close();
        await waitFor(() => t.tracker.stats().watched === 0);
      });

      it('rate-limits reports and tells duplicates from the first report', async () => {
        const t = await start({ maxReportsPerMinute: 2 });
        const reports: Array<TrackerEvents['report'][0]> = [];
        t.tracker.on('report', (e) => reports.push(e));
        const client = await t.connect();
        await client.hello();
        assert.equal((await client.request({ type: 'ping' })).type, 'pong');
        const report = { type: 'report', hash: H1, peerId: 'someone', reason: 'BAD_PIECES' };
        assert.equal((await client.request(report)).type, 'ok');
        assert.equal((await client.request(report)).type, 'ok');
        assert.equal((await client.request(report)).code, 'RATE_LIMITED');
        assert.deepEqual(
          reports.map((e) => e.duplicate),
          [false, true],
        );
      });

      it('closes a connection that keeps going over its rate limit', async () => {
        const t = await start({ maxMessagesPerSecond: 1, messageBurst: 1, rateLimitStrikes: 3 });
        const client = await t.connect();
        await client.hello();
        for (let i = 0; i < 10; i++) client.send({ type: 'ping' });
        assert.equal((await client.closed).code, 1008);
      });

      it('writes the announce and withdraw replies byte for byte as documented', async () => {
        const t = await start();
        const client = await t.connect();
        await client.hello();
        const frames: string[] = [];
        client.socket.on('message', (data) => frames.push(String(data)));
        await client.request({ type: 'announce', hash: H1 });
        client.send({ type: 'announce', hash: H1, complete: false });
        await client.next((m) => m.type === 'ok' && m.rid === undefined);
        await client.request({ type: 'withdraw', hash: H1 });
        assert.deepEqual(frames, [
          `{"type":"ok","rid":"r2","hash":"${H1}","alive":true,"seeders":1,"leechers":0}`,
          `{"type":"ok","hash":"${H1}","alive":false,"seeders":0,"leechers":1}`,
          `{"type":"ok","rid":"r3","hash":"${H1}","alive":false,"seeders":0,"leechers":0}`,
        ]);
      });

      for (const [name, store] of [
        ['the store itself', () => kind.open()],
        ['the store answering 2 ms later', async () => slowed(await kind.open(), 2)],
      ] as const) {
        it(`answers pipelined requests in order, with ${name}`, async () => {
          const t = await start({ store: await store() });
          const other = await t.connect();
          const { peerId: otherId } = await other.hello();
          await other.request({ type: 'announce', hash: H1 });
          const client = await t.connect();
          // Nothing is awaited: hello and watch wait on the tracker, the rest could be answered at once.
          const requests = [
            { type: 'hello' },
            { type: 'announce', hash: H1, complete: false },
            { type: 'lookup', hash: H1 },
            { type: 'watch', hash: H1 },
            { type: 'ping' },
            { type: 'withdraw', hash: H1 },
            { type: 'announce', hash: H2 },
            { type: 'unwatch', hash: H1 },
            { type: 'lookup', hash: H2 },
          ];
          for (const [i, message] of requests.entries()) client.send({ ...message, rid: i });
          const replies = [];
          for (let i = 0; i < requests.length; i++) replies.push(await client.next((m) => m.rid !== undefined));
          assert.deepEqual(
            replies.map((m) => m.rid),
            requests.map((_, i) => i),
          );
          assert.deepEqual(
            replies.map((m) => m.type),
            ['welcome', 'ok', 'peers', 'swarm', 'pong', 'ok', 'ok', 'ok', 'peers'],
          );
          assert.deepEqual([replies[1]!.seeders, replies[1]!.leechers], [1, 1]);
          assert.deepEqual(replies[2]!.peers, [otherId]);
          assert.deepEqual([replies[3]!.seeders, replies[3]!.leechers], [1, 1]);
          assert.deepEqual([replies[5]!.seeders, replies[5]!.leechers], [1, 0]);
          assert.deepEqual(replies[8]!.peers, []);
          assert.deepEqual(warningCodes(t), []);
        });
      }

      it('handles requests about different hashes side by side, those about one hash in order, and has ping wait for all before it', async () => {
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        const base = await kind.open();
        const store = wrapStore(base, {
          add: async (hash, peer, complete) => {
            if (hash === H1) await gate;
            return base.add(hash, peer, complete);
          },
        });
        const t = await start({ store });
        const client = await t.connect();
        await client.hello();
        for (const [rid, type, hash] of [
          ['a1', 'announce', H1],
          ['l1', 'lookup', H1],
          ['a2', 'announce', H2],
          ['p', 'ping', undefined],
          ['l2', 'lookup', H2],
        ] as const) {
          client.send({ type, hash, rid });
        }
        assert.equal((await client.next((m) => m.rid === 'a2')).type, 'ok', 'H2 does not wait for the store to answer about H1');
        await delay(20);
        assert.deepEqual(
          client.received.map((m) => m.rid),
          [],
          'the store holds H1; ping waits for it, and everything after ping waits for ping',
        );
        release();
        const rest = [];
        for (let i = 0; i < 4; i++) rest.push(await client.next((m) => m.rid !== undefined));
        assert.deepEqual(
          rest.map((m) => [m.rid, m.type]),
          [
            ['a1', 'ok'],
            ['l1', 'peers'],
            ['p', 'pong'],
            ['l2', 'peers'],
          ],
        );
        assert.deepEqual([rest[1]!.seeders, rest[3]!.seeders], [1, 1], 'each lookup saw the announce sent before it');
      });
    });

    describe('fileStatus, stats and close', () => {
      it('fileStatus reports counts and rejects bad hashes with INVALID_HASH', async () => {
        const t = await start();
        const client = await t.connect();
        await client.hello();
        assert.deepEqual(await t.tracker.fileStatus(H1), { hash: H1, alive: false, seeders: 0, leechers: 0 });
        await client.request({ type: 'announce', hash: H1, complete: false });
        assert.deepEqual(await t.tracker.fileStatus(H1), { hash: H1, alive: false, seeders: 0, leechers: 1 });
        await client.request({ type: 'announce', hash: H1 });
        assert.deepEqual(await t.tracker.fileStatus(H1), { hash: H1, alive: true, seeders: 1, leechers: 0 });
        await assert.rejects(t.tracker.fileStatus('nope'), { code: 'INVALID_HASH' });
      });

      it('close() closes every socket with 1001, evicts everything and refuses new connections', async () => {
        const store = await kind.open();
        const t = await start({ store });
        const evictions: string[] = [];
        t.tracker.on('evict', (e) => evictions.push(e.reason));
        const a = await t.connect();
        const b = await t.connect();
        await a.hello();
        await a.request({ type: 'announce', hash: H1 });
        await t.tracker.close();
        assert.equal(t.tracker.destroyed, true);
        assert.deepEqual([(await a.closed).code, (await b.closed).code], [1001, 1001]);
        assert.deepEqual(evictions.sort(), ['shutdown', 'shutdown']);
        assert.deepEqual(await store.stats(), { swarms: 0, peers: 0, entries: 0 });
        assert.deepEqual(t.tracker.stats(), { connections: 0, peers: 0, swarms: 0, watched: 0 });
        const late = await TestClient.connect(t.url);
        assert.equal((await late.closed).code, 1001);
        await t.tracker.close(); // twice is harmless
      });

      it('terminateSockets cuts every socket at once, and its peer is evicted', async () => {
        const t = await start();
        const evictions: string[] = [];
        t.tracker.on('evict', (e) => evictions.push(e.reason));
        const client = await t.connect();
        await client.hello();
        await client.request({ type: 'announce', hash: H1 });
        t.tracker.terminateSockets();
        assert.equal((await client.closed).code, 1006);
        await waitFor(() => evictions.length === 1);
        assert.deepEqual(evictions, ['close']);
        assert.deepEqual(t.tracker.stats(), { connections: 0, peers: 0, swarms: 0, watched: 0 });
      });
    });
  });
}

/** The codes of the warnings emitted so far. */
const warningCodes = (t: TestTracker) => t.warnings.map((w) => w.code);

/**
 * `store`, with `add` and `removePeer` taking `addMs` and `removeMs` longer, like a
 * remote store under load.
 */
function slowed(store: SwarmStore, addMs: number, removeMs = addMs): SwarmStore {
  return wrapStore(store, {
    add: async (...args) => {
      await delay(addMs);
      return store.add(...args);
    },
    removePeer: async (...args) => {
      await delay(removeMs);
      return store.removePeer(...args);
    },
  });
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 2_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await delay(5);
  }
}

// A welcome's ICE servers never reach the store: once is enough.
describe('ICE servers in welcome', () => {
  it('hands out STUN at the host the client used and TURN credentials for its peer ID, and refreshes them before they expire', async () => {
    const ice = new IceServers({ stunPort: 3478, turnUrls: ['turn:127.0.0.1:3478'], turnSecret: 'secret', turnTtlSeconds: 4 });
    const t = await startTracker({ ice, heartbeatTimeoutMs: 8_000 });
    try {
      const client = await t.connect();
      const welcome = await client.hello();
      const servers = welcome.iceServers as Array<{ urls: unknown; username?: string; credential?: string }>;
      assert.equal(servers[0]?.urls, 'stun:127.0.0.1:3478');
      assert.match(servers[1]?.username ?? '', new RegExp(`^\\d+:${welcome.peerId}$`));
      assert.deepEqual(welcome.natProbe, ['stun:127.0.0.1:3478', 'stun:127.0.0.1:3479']);
      // A quarter of the lifetime before expiry: 3 s in, within a sweep (2 s).
      const refresh = await client.next((m) => m.type === 'ice', 10_000);
      const fresh = refresh.iceServers as Array<{ username?: string }>;
      assert.ok(Number(fresh[1]?.username?.split(':')[0]) > Number(servers[1]?.username?.split(':')[0]), 'a later expiry');
    } finally {
      await t.close();
    }
  });

  it('says nothing about ICE when nothing is configured', async () => {
    const t = await startTracker({});
    try {
      const welcome = await (await t.connect()).hello();
      assert.equal('iceServers' in welcome, false);
    } finally {
      await t.close();
    }
  });
});

// The options are checked before any store is used: once is enough.
describe('options', () => {
  it('rejects invalid options', () => {
    assert.throws(() => createTracker({ heartbeatTimeoutMs: 0 }), RangeError);
    assert.throws(() => createTracker({ maxPeersReturned: -1 }), RangeError);
    assert.throws(() => createTracker({ maxMessageBytes: Number.NaN }), RangeError);
    assert.throws(() => createTracker({ secret: Buffer.alloc(0) }), RangeError);
    assert.throws(() => createTracker({ maxConnectionsPerIp: 0 }), RangeError);
    assert.throws(() => createTracker({ maxMessagesPerSecond: 0 }), RangeError);
    assert.throws(() => createTracker({ maxMessagesPerSecond: Number.NaN }), RangeError);
    assert.throws(() => createTracker({ messageBurst: 0.5 }), RangeError);
    assert.throws(() => createTracker({ maxReportsPerMinute: -1 }), RangeError);
    // Infinity turns the rate limits and the per-address cap off.
    void createTracker({ maxMessagesPerSecond: Infinity, maxReportsPerMinute: Infinity, maxConnectionsPerIp: Infinity }).close();
  });
});
