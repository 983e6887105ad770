import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { openPage } from '../helpers/browser.js';
import { peerjsScript } from '../helpers/page-scripts.js';
import { useSession } from '../helpers/session.js';

// Two real Chromium pages get their PeerJS IDs through our tracker and our
// PeerServer, then move bytes over a WebRTC data channel with no STUN server.

const session = useSession();

/** Joins the tracker for an identity, then opens PeerJS with it. Resolves with the peer ID. */
async function joinSignaling(page: Page): Promise<string> {
  await page.addScriptTag({ content: await peerjsScript() });
  return page.evaluate(async () => {
    const ws = new WebSocket(`ws://${location.host}/tracker`);
    const welcome = await new Promise<{ peerId: string; token: string }>((resolve, reject) => {
      ws.onopen = () => ws.send(JSON.stringify({ type: 'hello' }));
      ws.onmessage = (event) => resolve(JSON.parse(event.data as string));
      ws.onerror = () => reject(new Error('tracker unreachable'));
    });
    const w = window as unknown as Record<string, any>;
    w.tracker = ws;
    const peer = new w.Peer(welcome.peerId, {
      host: location.hostname,
      port: Number(location.port),
      path: '/peerjs',
      key: 'peerjs',
      token: welcome.token,
      secure: false,
      config: { iceServers: [] },
    });
    w.peer = peer;
    return new Promise<string>((resolve, reject) => {
      peer.on('open', resolve);
      peer.on('error', (err: Error) => reject(err));
    });
  });
}

test('two Chromium pages exchange bytes over a WebRTC data channel', { timeout: 60_000 }, async () => {
  const sender = await openPage(session.browser, `${session.server.url}/healthz`);
  const receiver = await openPage(session.browser, `${session.server.url}/healthz`);
  await joinSignaling(sender);
  const receiverId = await joinSignaling(receiver);

  const received = receiver.evaluate(
    () =>
      new Promise<{ bytes: number; checksum: number }>((resolve) => {
        const w = window as unknown as Record<string, any>;
        w.peer.on('connection', (conn: any) => {
          let bytes = 0;
          let checksum = 0;
          conn.on('data', (data: ArrayBuffer) => {
            const view = new Uint8Array(data);
            for (const byte of view) checksum = (checksum + byte) % 65521;
            bytes += view.byteLength;
            if (bytes >= 4 * 262_144) resolve({ bytes, checksum });
          });
        });
      }),
  );

  const sent = await sender.evaluate(async (remote) => {
    const w = window as unknown as Record<string, any>;
    const conn = w.peer.connect(remote, { serialization: 'raw', reliable: true });
    await new Promise<void>((resolve, reject) => {
      conn.on('open', resolve);
      conn.on('error', reject);
    });
    let checksum = 0;
    for (let i = 0; i < 4; i++) {
      // getRandomValues fills at most 65,536 bytes per call.
      const block = new Uint8Array(262_144);
      for (let j = 0; j < block.length; j += 65_536) crypto.getRandomValues(block.subarray(j, j + 65_536));
      for (const byte of block) checksum = (checksum + byte) % 65521;
      conn.dataChannel.send(block);
    }
    return checksum;
  }, receiverId);

  assert.deepEqual(await received, { bytes: 4 * 262_144, checksum: sent });
});

test('the PeerServer refuses an ID the tracker did not issue', { timeout: 30_000 }, async () => {
  const page = await openPage(session.browser, `${session.server.url}/healthz`);
  await page.addScriptTag({ content: await peerjsScript() });
  const outcome = await page.evaluate(
    () =>
      new Promise<string>((resolve) => {
        const w = window as unknown as Record<string, any>;
        const peer = new w.Peer('madeUpId123', {
          host: location.hostname,
          port: Number(location.port),
          path: '/peerjs',
          key: 'peerjs',
          token: 'forged',
          secure: false,
          config: { iceServers: [] },
        });
        peer.on('open', () => resolve('open'));
        peer.on('error', (err: { type: string }) => resolve(err.type));
        setTimeout(() => resolve('timeout'), 10_000);
      }),
  );
  assert.notEqual(outcome, 'open');
  assert.notEqual(outcome, 'timeout');
});
