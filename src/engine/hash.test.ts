import { expect } from '@open-wc/testing';
import { bytesToHex } from './hash.js';
import { buildManifest } from './manifest.js';

// Hashing in Chromium: the hash-wasm chain must agree with crypto.subtle's one-shot digest.

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65_536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65_536)));
  return bytes;
}

const subtleHex = async (bytes: Uint8Array) =>
  bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));

describe('hashing in the browser', () => {
  for (const size of [0, 1, 65_537, 4 * 1024 * 1024 + 3, 9 * 1024 * 1024]) {
    it(`buildManifest addresses ${size} bytes as crypto.subtle does, and every piece verifies`, async () => {
      const bytes = randomBytes(size);
      const progress: number[] = [];
      const manifest = await buildManifest(new Blob([bytes as Uint8Array<ArrayBuffer>]), { onProgress: (done) => progress.push(done) });
      expect(manifest.hash).to.equal(await subtleHex(bytes));
      if (size > 0) expect(progress.at(-1)).to.equal(size);
      for (let i = 0; i < manifest.pieceCount; i++) {
        const [start, end] = manifest.pieceRange(i);
        expect(await manifest.verifyPiece(i, bytes.subarray(start, end))).to.equal(true);
      }
      if (manifest.pieceCount > 0) {
        const tampered = bytes.slice(0, manifest.pieceLength(0));
        tampered[0]! ^= 1;
        expect(await manifest.verifyPiece(0, tampered)).to.equal(false);
      }
    });
  }
});
