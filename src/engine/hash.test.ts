import { expect } from '@open-wc/testing';
import { hashBlob, sha256Hex } from './hash.js';
import { buildManifest } from './manifest.js';

// Hashing in Chromium, where the incremental hash-wasm path must agree with
// crypto.subtle's one-shot digest.

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65_536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65_536)));
  return bytes;
}

describe('hashing in the browser', () => {
  for (const size of [0, 1, 65_537, 4 * 1024 * 1024 + 3, 9 * 1024 * 1024]) {
    it(`hashBlob matches crypto.subtle for ${size} bytes`, async () => {
      const bytes = randomBytes(size);
      const progress: number[] = [];
      const hash = await hashBlob(new Blob([bytes as Uint8Array<ArrayBuffer>]), { onProgress: (done) => progress.push(done) });
      expect(hash).to.equal(await sha256Hex(bytes));
      if (size > 0) expect(progress.at(-1)).to.equal(size);
    });
  }

  it('builds a manifest whose pieces verify', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 5);
    const hash = await sha256Hex(bytes);
    const manifest = await buildManifest(new Blob([bytes as Uint8Array<ArrayBuffer>]), hash);
    for (let i = 0; i < manifest.pieceCount; i++) {
      const [start, end] = manifest.pieceRange(i);
      expect(await manifest.verifyPiece(i, bytes.subarray(start, end))).to.equal(true);
    }
    const tampered = bytes.slice(0, manifest.pieceLength(0));
    tampered[7] ^= 1;
    expect(await manifest.verifyPiece(0, tampered)).to.equal(false);
  });
});
