import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { closePage, openPage } from '../helpers/browser.js';
import { fetchDigest, seedRandom } from '../helpers/pages.js';
import { internet, startEcdnServer, type Internet } from './index.js';

// Delay and loss on a home's uplink (delay-forwarder.py and an nftables rule):
// a probe checks the round trip it adds, then EphemeralCDN moves a file over a
// long, lossy path and the bytes are checked.

const MiB = 1024 * 1024;
const skip = process.getuid?.() === 0 ? false : 'needs root (network namespaces, nftables)';

let net: Internet;
let server: string;
const browsers = {} as Record<'a' | 'b', Browser>;

before(async () => {
  if (skip) return;
  // Only b's uplink is delayed, so that a path between the homes carries b's delay alone.
  net = await internet({ homes: { a: 'cone', b: 'cone' }, paths: { b: { delayMs: 25 } } });
  server = await startEcdnServer(net, 8787, { STUN_PORT: '3480' });
  const secure = [`--unsafely-treat-insecure-origin-as-secure=${server}`];
  browsers.a = await net.launchChromium('a', { args: secure });
  browsers.b = await net.launchChromium('b', { args: secure });
});
after(async () => {
  await net?.close();
});

/** A UDP echo on the public segment, answering whatever comes to 198.18.0.1:7777. */
const ECHO = `const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => s.send(m, r.port, r.address));
s.bind(7777, '198.18.0.1', () => console.log('up'));`;

/**
 * Sends `count` numbered datagrams to the echo, one every 5 ms, and prints the
 * round trip of each one answered (ms, sorted) as JSON, 1.5 s after the last.
 */
const PROBE = `const s = require('node:dgram').createSocket('udp4');
const count = Number(process.argv[1]), sent = new Map(), rtts = [];
s.on('message', (m) => rtts.push(Number(process.hrtime.bigint() - sent.get(m.readUInt32BE(0))) / 1e6));
let i = 0;
const timer = setInterval(() => {
  if (i === count) {
    clearInterval(timer);
    setTimeout(() => { console.log(JSON.stringify(rtts.sort((x, y) => x - y))); process.exit(0); }, 1500);
    return;
  }
  const b = Buffer.alloc(64);
  b.writeUInt32BE(i);
  sent.set(i++, process.hrtime.bigint());
  s.send(b, 7777, '198.18.0.1');
}, 5);`;

async function probe(count: number): Promise<number[]> {
  return JSON.parse(await net.exec('b', process.execPath, ['-e', PROBE, String(count)]));
}

test('the forwarder adds the round trip asked for, changes it mid-test, and the loss rule drops its share', {
  skip,
  timeout: 30_000,
}, async (t) => {
  const echo = net.spawn('pub', process.execPath, ['-e', ECHO]);
  await new Promise((resolve) => echo.stdout!.once('data', resolve));
  // The first datagrams wait for ARP on both sides of the forwarder, a round trip each.
  await probe(5);
  const at = (rtts: number[], q: number) => rtts[Math.min(rtts.length - 1, Math.floor(rtts.length * q))]!;
  const show = (rtts: number[]) =>
    `n ${rtts.length}, min ${rtts[0]!.toFixed(1)}, p50 ${at(rtts, 0.5).toFixed(1)}, p99 ${at(rtts, 0.99).toFixed(1)} ms`;

  // Medians within a few ms: the forwarder wakes on select(), and a busy machine schedules it late now and then.
  const at25 = await probe(200);
  t.diagnostic(`25 ms each way: ${show(at25)}`);
  assert.equal(at25.length, 200, 'no loss asked, none seen');
  assert.ok(at25[0]! >= 50, show(at25));
  assert.ok(at(at25, 0.5) < 55, show(at25));

  await net.setPath('b', { delayMs: 50, jitterMs: 4 });
  const at50 = await probe(200);
  t.diagnostic(`50 ms each way, 4 ms jitter: ${show(at50)}`);
  assert.ok(at50[0]! >= 100, show(at50));
  assert.ok(at(at50, 0.5) < 110, show(at50));

  // 10 % each way: about 19 % of round trips lost; 400 probes put 3 sigma at ±6 %.
  await net.setPath('b', { delayMs: 25, lossPercent: 10 });
  const lossy = await probe(400);
  const lost = 1 - lossy.length / 400;
  t.diagnostic(`10 % loss each way: ${(lost * 100).toFixed(1)} % of round trips lost`);
  assert.ok(lost > 0.12 && lost < 0.26, `lost ${lost}`);
  echo.kill();
});

test('EphemeralCDN over 25 ms each way with 1 % loss: the link opens its lanes and the bytes arrive intact', {
  skip,
  timeout: 60_000,
}, async (t) => {
  await net.setPath('b', { delayMs: 25, lossPercent: 1 });
  const seeder = await openPage(browsers.a, `${server}/healthz`);
  const consumer = await openPage(browsers.b, `${server}/healthz`);
  // Counts the consumer's peer connections: on a path this long its link opens lanes.
  await consumer.evaluate(() => {
    const Native = RTCPeerConnection;
    const made = { count: 0 };
    globalThis.RTCPeerConnection = class extends Native {
      constructor(config?: RTCConfiguration) {
        super(config);
        made.count++;
      }
    };
    (globalThis as unknown as { __peerConnections: () => number }).__peerConnections = () => made.count;
  });
  for (const page of [seeder, consumer]) await page.addScriptTag({ url: `${server}/ephemeralcdn.js` });
  const hash = await seedRandom(seeder, 2 * MiB, 4001);
  const count = () => consumer.evaluate(() => (globalThis as unknown as { __peerConnections: () => number }).__peerConnections());
  // PeerJS makes one on load, to see what the browser supports.
  const before = await count();
  const cpu = net.forwarderCpuSeconds('b')!;
  const started = Date.now();
  assert.equal(await fetchDigest(consumer, hash), hash);
  const seconds = (Date.now() - started) / 1000;
  t.diagnostic(`2 MiB in ${seconds.toFixed(1)} s; forwarder CPU ${(net.forwarderCpuSeconds('b')! - cpu).toFixed(2)} s`);
  assert.equal((await count()) - before, 4, 'one link and its three lanes');
  for (const page of [seeder, consumer]) await closePage(page);
});
