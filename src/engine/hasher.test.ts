import { expect } from '@open-wc/testing';
import { isEcdnError } from './errors.js';
import { createHasher, type Hasher } from './hasher.js';
import { buildManifest } from './manifest.js';

// The hashing worker in a real browser: the same answers as hashing on the page. How
// long the main thread is blocked meanwhile is measured in the bench
// (main_thread_longest_task_ms), not here: a timed test on shared cores is noise.

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65_536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65_536)));
  return bytes;
}

describe('the hashing worker', () => {
  let hasher: Hasher;
  const fallbacks: Error[] = [];
  beforeEach(() => (hasher = createHasher((err) => fallbacks.push(err))));
  afterEach(() => {
    hasher.destroy();
    expect(fallbacks.splice(0)).to.deep.equal([]);
  });

  it('builds the manifest the page would, with progress, and checks pieces', async () => {
    const bytes = randomBytes(9 * 1024 * 1024 + 5);
    const progress: number[] = [];
    const manifest = await hasher.manifest(new Blob([bytes as Uint8Array<ArrayBuffer>]), { onProgress: (done) => progress.push(done) });
    expect(hasher.where).to.equal('worker');
    const here = await buildManifest(bytes);
    expect(manifest.hash).to.equal(here.hash);
    expect(manifest.chain).to.deep.equal(here.chain);
    expect(progress.at(-1)).to.equal(bytes.byteLength);
    for (let i = 0; i < manifest.pieceCount; i++) {
      const [start, end] = manifest.pieceRange(i);
      expect(await hasher.verify(manifest, i, bytes.subarray(start, end))).to.equal(true);
    }
    const tampered = bytes.slice(0, manifest.pieceLength(0));
    tampered[7]! ^= 1;
    expect(await hasher.verify(manifest, 0, tampered)).to.equal(false);
    // The caller's bytes stay where they were: the worker got a copy.
    expect(bytes.byteLength).to.equal(9 * 1024 * 1024 + 5);
  });

  it('stops with ABORTED when the signal fires', async () => {
    const abort = new AbortController();
    const work = hasher.manifest(new Blob([randomBytes(64 * 1024 * 1024) as Uint8Array<ArrayBuffer>]), {
      signal: abort.signal,
      onProgress: () => abort.abort(),
    });
    const err = await work.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isEcdnError(err, 'ABORTED'), String(err)).to.equal(true);
  });
});
