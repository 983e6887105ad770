// The uploader through its host interface, with a link that records what it sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EcdnError } from './errors.js';
import { HeldFile } from './held-file.js';
import { buildManifest } from './manifest.js';
import type { PeerLink } from './peer-link.js';
import { Uploader } from './uploader.js';
import type { Frame, RequestFrame } from './wire.js';

test('a block that cannot be read is refused with NOT_HAVE and reported as a warning, and the next one is served', async () => {
  const bytes = new Uint8Array(64 * 1024).map((_, i) => i % 251);
  const manifest = await buildManifest(bytes);
  let failNext = true;
  const source = {
    size: bytes.byteLength,
    read: async (start: number, end: number) => {
      if (failNext) {
        failNext = false;
        throw new EcdnError('STORAGE', 'The file changed on disk since it was shared.');
      }
      return bytes.slice(start, end);
    },
  };
  const file = HeldFile.fromSource(manifest.hash, source, Promise.resolve(manifest));
  const warnings: Error[] = [];
  const uploader = new Uploader({ file: () => file, served: () => {}, warning: (err) => warnings.push(err) });
  const sent: Frame[] = [];
  const link = {
    remoteId: 'consumer',
    destroyed: false,
    bufferedAmount: 0,
    send: (frame: Frame) => sent.push(frame),
    on: () => {},
    drained: async () => {},
  } as unknown as PeerLink;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const request = (piece: number): RequestFrame => ({
      type: 'REQUEST',
      hash: manifest.hash,
      piece,
      offset: 0,
      length: manifest.pieceLength(piece),
    });
    uploader.request(link, request(0));
    uploader.request(link, request(1));
    const deadline = Date.now() + 2000;
    while (sent.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  assert.deepEqual(unhandled, []);
  assert.deepEqual(
    sent.map((frame) => [frame.type, (frame as { piece: number }).piece, (frame as { reason?: string }).reason]),
    [
      ['REJECT', 0, 'NOT_HAVE'],
      ['PIECE', 1, undefined],
    ],
  );
  assert.deepEqual(
    warnings.map((err) => (err as EcdnError).code),
    ['STORAGE'],
  );
});
