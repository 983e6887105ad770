import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Sha256Chain } from './sha256-chain.js';
import { randomBytes } from '../../test/helpers/random.js';

const nodeSha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

describe('Sha256Chain', () => {
  it('computes the known SHA-256 of empty input and "abc"', async () => {
    const chain = await Sha256Chain.create();
    assert.equal(Buffer.from(chain.digest()).toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    chain.reset().update(new TextEncoder().encode('abc'));
    assert.equal(Buffer.from(chain.digest()).toString('hex'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('starts from the standard initial value, which is also what resuming at 0 gives', async () => {
    const chain = await Sha256Chain.create();
    assert.equal(Buffer.from(chain.chainingValue()).toString('hex'), '6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19');
    const data = randomBytes(1000, 1);
    assert.deepEqual(chain.resume(undefined, 0).update(data).digest(), nodeSha(data));
  });

  it("gives Node crypto's digest when a file is cut anywhere on 64-byte boundaries and resumed", async () => {
    const chain = await Sha256Chain.create();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5000 }),
        fc.array(fc.integer({ min: 0, max: 78 }), { maxLength: 4 }),
        fc.integer(),
        async (size, cuts, seed) => {
          const data = randomBytes(size, seed);
          const stops = [...new Set(cuts.map((c) => c * 64).filter((c) => c <= size))].sort((a, b) => a - b);
          let cv: Uint8Array | undefined;
          let at = 0;
          for (const stop of stops) {
            cv = chain.resume(cv, at).update(data.subarray(at, stop)).chainingValue();
            at = stop;
            assert.equal(chain.length, stop);
          }
          assert.deepEqual(chain.resume(cv, at).update(data.subarray(at)).digest(), nodeSha(data));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses to stop or resume off a 64-byte boundary', async () => {
    const chain = await Sha256Chain.create();
    chain.update(new Uint8Array(65));
    assert.throws(() => chain.chainingValue(), RangeError);
    assert.throws(() => chain.resume(undefined, 100), RangeError);
    assert.throws(() => chain.resume(new Uint8Array(31), 64), RangeError);
  });
});
