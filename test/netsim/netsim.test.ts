import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { closePage, openPage } from '../helpers/browser.js';
import { internet, type Internet } from './internet.js';
import { installPeer, type PeerReport, type SignalMessage } from './peer-page.js';

// The simulated internet proven with plain WebRTC, no project server: a page
// served from the public segment, one Chromium per home, two
// RTCPeerConnections whose signaling the test relays, and the candidate pair
// that carried the bytes read from getStats() once they have all arrived.
// Run as root inside an isolated network:
//   ../shared/tools/with-isolated-net node --import tsx --test --test-force-exit test/netsim/*.test.ts

const HOMES = { a: 'cone', b: 'cone', c: 'symmetric', d: 'symmetric' } as const;
type HomeName = keyof typeof HOMES;

let net: Internet;
let pageUrl: string;
const browsers = {} as Record<HomeName, Browser>;

before(async () => {
  net = await internet({ homes: { ...HOMES }, turn: true });
  pageUrl = await servePage();
  await Promise.all((Object.keys(HOMES) as HomeName[]).map(async (home) => (browsers[home] = await net.launchChromium(home))));
});
after(async () => {
  await net?.close();
});

/** A tiny HTTP server in the public namespace, on the first public address. */
async function servePage(): Promise<string> {
  const server = net.spawn('pub', process.execPath, [
    '-e',
    `require('node:http')
       .createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<!doctype html><title>netsim</title>'); })
       .listen(0, '198.18.0.1', function () { console.log(this.address().port); });`,
  ]);
  const port = await new Promise<string>((resolve, reject) => {
    server.stdout!.setEncoding('utf8').once('data', (line: string) => resolve(line.trim()));
    server.once('exit', (code) => reject(new Error(`page server exited (${code})`)));
  });
  return `http://198.18.0.1:${port}/`;
}

interface Connection {
  offerer: Page;
  answerer: Page;
  close(): Promise<void>;
}

/** Opens a page in each home and connects them; the offerer sends `bytes` once open. */
async function connect(from: HomeName, to: HomeName, config: RTCConfiguration, bytes: number): Promise<Connection> {
  const [offerer, answerer] = await Promise.all([openPage(browsers[from], pageUrl), openPage(browsers[to], pageUrl)]);
  const relay = (target: Page) => (message: SignalMessage) =>
    // The target may be closing while late candidates still trickle in.
    target.evaluate((m) => window.netsimPeer.deliver(m), message).catch(() => {});
  await offerer.exposeFunction('netsimSignal', relay(answerer));
  await answerer.exposeFunction('netsimSignal', relay(offerer));
  for (const page of [offerer, answerer]) {
    await page.evaluate(installPeer);
    await page.evaluate((c) => window.netsimPeer.start(c), config);
  }
  await offerer.evaluate((n) => window.netsimPeer.sendWhenOpen(n), bytes);
  await offerer.evaluate(() => window.netsimPeer.offer());
  return { offerer, answerer, close: async () => void (await Promise.all([closePage(offerer), closePage(answerer)])) };
}

/** Waits until all `bytes` arrived intact, then reads both sides' selected pair. */
async function transfer(connection: Connection, bytes: number): Promise<[PeerReport, PeerReport]> {
  await connection.answerer.waitForFunction((n) => window.netsimPeer.receivedBytes() >= n || window.netsimPeer.receivedBytes() < 0, bytes, {
    timeout: 30_000,
    polling: 50,
  });
  assert.equal(await connection.answerer.evaluate(() => window.netsimPeer.receivedBytes()), bytes, 'bytes equal');
  return Promise.all([connection.offerer, connection.answerer].map((page) => page.evaluate(() => window.netsimPeer.report()))) as Promise<
    [PeerReport, PeerReport]
  >;
}

function stunOnly(): RTCConfiguration {
  return { iceServers: [{ urls: net.stunUrls }] };
}

function withTurn(name: string, policy: RTCIceTransportPolicy = 'all'): RTCConfiguration {
  return {
    iceServers: [{ urls: net.stunUrls }, { urls: net.turn!.urls, ...net.turn!.credentials(600, name) }],
    iceTransportPolicy: policy,
  };
}

function pairText(report: PeerReport): string {
  return `${report.local?.type} ${report.local?.address} ↔ ${report.remote?.type} ${report.remote?.address}`;
}

const MiB = 1024 * 1024;

test('the routers map as their NAT type says (coturn NAT discovery)', async () => {
  const discover = (home: HomeName) => net.exec(home, 'turnutils_natdiscovery', ['-m', '198.18.0.1']);
  const [cone, symmetric] = await Promise.all([discover('a'), discover('c')]);
  assert.match(cone, /NAT with Endpoint Independent Mapping/);
  assert.match(symmetric, /NAT with Address and Port Dependent Mapping/);
});

test('cone ↔ cone with STUN only connects directly through both NATs (srflx)', async () => {
  const connection = await connect('a', 'b', stunOnly(), 2 * MiB);
  try {
    const [a, b] = await transfer(connection, 2 * MiB);
    for (const [report, self, peer] of [[a, 'a', 'b'], [b, 'b', 'a']] as const) {
      // Which side learns the other's mapping first from a check (prflx) rather
      // than from signaling (srflx) is a race; the addresses are not.
      assert.ok(['srflx', 'prflx'].includes(report.local!.type), `${self}: ${pairText(report)}`);
      assert.ok(['srflx', 'prflx'].includes(report.remote!.type), `${self}: ${pairText(report)}`);
      assert.equal(report.local!.address, net.homes[self]!.publicAddress, `${self}: ${pairText(report)}`);
      assert.equal(report.remote!.address, net.homes[peer]!.publicAddress, `${self}: ${pairText(report)}`);
    }
  } finally {
    await connection.close();
  }
});

test('symmetric ↔ symmetric with TURN connects through the relay', async () => {
  const connection = await connect('c', 'd', withTurn('c-d'), 2 * MiB);
  try {
    const [c, d] = await transfer(connection, 2 * MiB);
    const relayed = [c, d].some((report) => report.local!.type === 'relay' || report.remote!.type === 'relay');
    assert.ok(relayed, `c: ${pairText(c)}; d: ${pairText(d)}`);
  } finally {
    await connection.close();
  }
});

test('symmetric ↔ symmetric with STUN only fails', async () => {
  const connection = await connect('c', 'd', stunOnly(), 1024);
  try {
    // Chromium gives up once every pair has gone 15 s without an answer. It
    // then reports connectionState 'failed' but leaves iceConnectionState at
    // 'disconnected', so the former is the one to watch.
    await connection.offerer.waitForFunction(() => window.netsimPeer.connectionState() === 'failed', undefined, {
      timeout: 30_000,
      polling: 100,
    });
    const report = await connection.offerer.evaluate(() => window.netsimPeer.report());
    assert.ok(!report.iceStates.some((state) => /connected$|completed/.test(state) && !/disconnected/.test(state)), report.iceStates.join(', '));
    assert.equal(await connection.answerer.evaluate(() => window.netsimPeer.receivedBytes()), 0);
  } finally {
    await connection.close();
  }
});

test('relay-only: relay ↔ relay, and neither side sees the other’s own addresses', async () => {
  const connection = await connect('a', 'b', withTurn('relay-only', 'relay'), 1 * MiB);
  try {
    const [a, b] = await transfer(connection, 1 * MiB);
    for (const [report, self, peer] of [[a, 'a', 'b'], [b, 'b', 'a']] as const) {
      assert.equal(report.local!.type, 'relay', `${self}: ${pairText(report)}`);
      assert.equal(report.remote!.type, 'relay', `${self}: ${pairText(report)}`);
      assert.deepEqual(
        report.remoteCandidates.filter((candidate) => candidate.type !== 'relay'),
        [],
        `${self} knows only relay candidates of ${peer}`,
      );
      const seen = report.received.join('\n');
      assert.doesNotMatch(seen, /192\.168\./, `${self} received a private address of ${peer}`);
      assert.ok(!seen.includes(net.homes[peer]!.publicAddress), `${self} received ${peer}'s public address`);
    }
  } finally {
    await connection.close();
  }
});

test('an upload cap slows the sender, and lifting it restores the speed', async () => {
  const rate = async (): Promise<number> => {
    const connection = await connect('a', 'b', stunOnly(), MiB / 2);
    try {
      await transfer(connection, MiB / 2);
      return await connection.answerer.evaluate(() => window.netsimPeer.receiveRateMbit());
    } finally {
      await connection.close();
    }
  };
  await net.capUpload('a', 4);
  const capped = await rate();
  await net.capUpload('a', null);
  const uncapped = await rate();
  // The bucket's burst lets the first 32 KiB through at line rate.
  assert.ok(capped > 2 && capped < 5, `capped at 4 Mbit/s, received at ${capped.toFixed(1)} Mbit/s`);
  assert.ok(uncapped > 3 * capped, `uncapped ${uncapped.toFixed(1)} Mbit/s, capped ${capped.toFixed(1)} Mbit/s`);
});
