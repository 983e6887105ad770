import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isEcdnError } from './errors.js';
import { bytesToHex, hexToBytes, inputSize, readRange, toBlob } from './hash.js';
import { randomBytes } from '../../test/helpers/random.js';

describe('hash helpers', () => {
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
      assert.throws(
        () => hexToBytes(bad),
        (e: unknown) => isEcdnError(e, 'INVALID_HASH'),
        JSON.stringify(bad),
      );
    }
  });

  it('reads the same ranges from Blobs, ArrayBuffers, Uint8Arrays and views', async () => {
    const big = randomBytes(10_000, 9);
    const view = big.subarray(1234, 5678);
    for (const input of [new Blob([view]), view, view.slice().buffer, toBlob(view)]) {
      assert.equal(inputSize(input), view.byteLength);
      assert.deepEqual(await readRange(input, 100, 2000), view.subarray(100, 2000));
    }
  });
});
