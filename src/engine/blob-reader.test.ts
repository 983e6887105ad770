import { expect } from '@open-wc/testing';
import { readBlob, WORKER_MIN_SIZE } from './blob-reader.js';

// Reads of a seeded Blob in a real browser: in the disk worker, so that this thread
// never waits on Blob.slice, with the bytes the Blob holds.

function bytes(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** Runs `body` and counts the `Blob.slice` calls made on this thread meanwhile. */
async function slicesHere(body: () => Promise<void>): Promise<number> {
  const slice = Blob.prototype.slice;
  let count = 0;
  Blob.prototype.slice = function (this: Blob, ...args: Parameters<Blob['slice']>) {
    count++;
    return slice.apply(this, args);
  };
  try {
    await body();
  } finally {
    Blob.prototype.slice = slice;
  }
  return count;
}

describe('readBlob', () => {
  it('reads ranges of several large Blobs in a worker, never slicing on this thread', async () => {
    const a = bytes(WORKER_MIN_SIZE + 2 * 1024 * 1024 + 17, 1);
    const b = bytes(WORKER_MIN_SIZE, 2);
    const blobA = new Blob([a]);
    const blobB = new Blob([b]);
    const slicedHere = await slicesHere(async () => {
      const reads = await Promise.all([
        readBlob(blobA, 0, 1024 * 1024),
        readBlob(blobB, 10, 20_000),
        readBlob(blobA, WORKER_MIN_SIZE, a.byteLength),
        readBlob(blobB, 0, b.byteLength),
      ]);
      expect(reads[0]).to.deep.equal(a.subarray(0, 1024 * 1024));
      expect(reads[1]).to.deep.equal(b.subarray(10, 20_000));
      expect(reads[2]).to.deep.equal(a.subarray(WORKER_MIN_SIZE));
      expect(reads[3]).to.deep.equal(b);
      // Each a buffer of its own, for the caller to keep.
      expect(reads.every((r) => r.byteOffset === 0 && r.byteLength === r.buffer.byteLength)).to.equal(true);
    });
    expect(slicedHere).to.equal(0);
  });

  it('reads a small Blob on this thread, which starts no worker for it', async () => {
    const small = bytes(100_000, 4);
    const slicedHere = await slicesHere(async () => {
      expect(await readBlob(new Blob([small]), 1000, 2000)).to.deep.equal(small.subarray(1000, 2000));
    });
    expect(slicedHere).to.equal(1);
  });

  it('rejects a range past the end of the Blob', async () => {
    const blob = new Blob([bytes(WORKER_MIN_SIZE, 3)]);
    const err = await readBlob(blob, WORKER_MIN_SIZE - 500, WORKER_MIN_SIZE + 1000).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(DOMException);
    expect((err as DOMException).name).to.equal('NotReadableError');
  });
});
