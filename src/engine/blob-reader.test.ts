import { expect } from '@open-wc/testing';
import { readBlob } from './blob-reader.js';

// Reads of a seeded Blob in a real browser: in the disk worker, so that this thread
// never waits on Blob.slice, with the bytes the Blob holds.

function bytes(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

describe('readBlob', () => {
  it('reads ranges of several Blobs in a worker, never slicing on this thread', async () => {
    const a = bytes(3 * 1024 * 1024 + 17, 1);
    const b = bytes(1024 * 1024, 2);
    const blobA = new Blob([a]);
    const blobB = new Blob([b]);
    const slice = Blob.prototype.slice;
    let slicedHere = 0;
    Blob.prototype.slice = function (this: Blob, ...args: Parameters<Blob['slice']>) {
      slicedHere++;
      return slice.apply(this, args);
    };
    try {
      const reads = await Promise.all([
        readBlob(blobA, 0, 1024 * 1024),
        readBlob(blobB, 10, 20_000),
        readBlob(blobA, 2 * 1024 * 1024, a.byteLength),
        readBlob(blobB, 0, b.byteLength),
      ]);
      expect(reads[0]).to.deep.equal(a.subarray(0, 1024 * 1024));
      expect(reads[1]).to.deep.equal(b.subarray(10, 20_000));
      expect(reads[2]).to.deep.equal(a.subarray(2 * 1024 * 1024));
      expect(reads[3]).to.deep.equal(b);
      // Each a buffer of its own, for the caller to keep.
      expect(reads.every((r) => r.byteOffset === 0 && r.byteLength === r.buffer.byteLength)).to.equal(true);
    } finally {
      Blob.prototype.slice = slice;
    }
    expect(slicedHere).to.equal(0);
  });

  it('rejects a range past the end of the Blob', async () => {
    const blob = new Blob([bytes(1000, 3)]);
    const err = await readBlob(blob, 500, 2000).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(DOMException);
    expect((err as DOMException).name).to.equal('NotReadableError');
  });
});
