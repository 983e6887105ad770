import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isEcdnError } from './errors.js';
import { HASH_SLICE_SIZE, bytesToHex, hashBlob, hexToBytes, sha256Hex, toBlob } from './hash.js';
import { randomBytes } from '../../test/helpers/random.js';

const MiB = 1024 * 1024;
const nodeHex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('hash', () => {
  it('computes the known SHA-256 of empty input and "abc"', async () => {
    assert.equal(await sha256Hex(new Uint8Array(0)), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(await sha256Hex(new TextEncoder().encode('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(await hashBlob(new Blob([])), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('converts hashes between hex and bytes', () => {
    const bytes = randomBytes(32, 1);
    const hex = bytesToHex(bytes);
    assert.equal(hex, Buffer.from(bytes).toString('hex'));
    assert.deepEqual(hexToBytes(hex), bytes);
    assert.deepEqual(hexToBytes(hex.toUpperCase()), bytes);
    const out = new Uint8Array(40);
    hexToBytes(hex, out, 8);
    assert.deepEqual(out.subarray(8), bytes);
    for (const bad of ['', hex.slice(1), `${hex}0`, `${hex.slice(0, 63)}g`, ` ${hex.slice(1)}`]) {
      assert.throws(() => hexToBytes(bad), (e: unknown) => isEcdnError(e, 'INVALID_HASH'), JSON.stringify(bad));
    }
  });

  it('matches Node crypto for Blobs, ArrayBuffers and Uint8Arrays of many sizes', async () => {
    const sizes = [0, 1, 63, 64, 65, 1000, HASH_SLICE_SIZE - 1, HASH_SLICE_SIZE, HASH_SLICE_SIZE + 1, 2 * HASH_SLICE_SIZE + 12_345];
    for (const size of sizes) {
      const data = randomBytes(size, size + 1);
      const expected = nodeHex(data);
      assert.equal(await hashBlob(new Blob([data])), expected, `Blob of ${size}`);
      assert.equal(await hashBlob(data), expected, `Uint8Array of ${size}`);
      assert.equal(await hashBlob(data.slice().buffer), expected, `ArrayBuffer of ${size}`);
      assert.equal(await hashBlob(toBlob(data)), expected, `toBlob of ${size}`);
      assert.equal(await sha256Hex(data), expected, `sha256Hex of ${size}`);
    }
  });

  it('hashes a view into a larger buffer, not the whole buffer', async () => {
    const big = randomBytes(10_000, 9);
    const view = big.subarray(1234, 5678);
    assert.equal(await hashBlob(view, { sliceSize: 1000 }), nodeHex(view));
    assert.equal(await sha256Hex(view), nodeHex(view));
  });

  it('reports progress slice by slice, ending at the total, with odd slice sizes', async () => {
    const data = randomBytes(10_007, 3);
    const seen: Array<[number, number]> = [];
    const hex = await hashBlob(new Blob([data]), { sliceSize: 1000, onProgress: (done, total) => seen.push([done, total]) });
    assert.equal(hex, nodeHex(data));
    assert.equal(seen.length, 11);
    assert.deepEqual(seen.at(-1), [10_007, 10_007]);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]![0] > seen[i - 1]![0]);
  });

  it('throws ABORTED when the signal fires before or during hashing', async () => {
    const data = randomBytes(3 * MiB, 4);
    await assert.rejects(hashBlob(new Blob([data]), { signal: AbortSignal.abort() }), (e: unknown) => isEcdnError(e, 'ABORTED'));
    const ctrl = new AbortController();
    let calls = 0;
    await assert.rejects(
      hashBlob(new Blob([data]), {
        sliceSize: 256 * 1024,
        signal: ctrl.signal,
        onProgress: () => {
          if (++calls === 2) ctrl.abort();
        },
      }),
      (e: unknown) => isEcdnError(e, 'ABORTED'),
    );
    assert.equal(calls, 2, 'stopped right after the abort');
    // The hasher is not left in a broken state for the next call.
    assert.equal(await hashBlob(data), nodeHex(data));
  });

  it('hashes concurrently without mixing states', async () => {
    const inputs = [1, 2, 3, 4].map((k) => randomBytes(k * 700_000, k));
    const results = await Promise.all(inputs.map((d) => hashBlob(new Blob([d]), { sliceSize: 100_000 })));
    assert.deepEqual(results, inputs.map(nodeHex));
  });
});
