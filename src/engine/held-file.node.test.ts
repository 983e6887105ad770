import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildManifest } from './manifest.js';
import { PIECE_CACHE_BYTES, READ_AHEAD_BYTES, HeldFile } from './held-file.js';
import { BLOCK_SIZE } from './wire.js';
import { randomBytes } from '../../test/helpers/random.js';

/** A Blob that counts its slices, which is what a seeder pays for per read. */
class CountingBlob extends Blob {
  slices = 0;
  override slice(start?: number, end?: number, type?: string): Blob {
    this.slices++;
    return super.slice(start, end, type);
  }
}

describe('HeldFile', () => {
  it('serves the blocks of a piece from one read of the whole piece, in any order', async () => {
    const data = randomBytes(6 * 4 * BLOCK_SIZE + 1234, 5);
    const blob = new CountingBlob([data]);
    const manifest = await buildManifest(data);
    const swarm = HeldFile.fromBlob(manifest.hash, blob, Promise.resolve(manifest));
    await swarm.manifest;
    // Last piece first: nobody reads in order, so nothing is read ahead.
    for (let piece = manifest.pieceCount - 1; piece >= 0; piece--) {
      for (const { offset, length } of manifest.blocks(piece)) {
        const start = piece * manifest.pieceSize + offset;
        assert.deepEqual(await swarm.read(start, start + length), data.subarray(start, start + length));
      }
    }
    assert.equal(blob.slices, manifest.pieceCount, 'one Blob read per piece');
    // A range across two pieces is read as it is.
    const across = manifest.pieceSize - 10;
    assert.deepEqual(await swarm.read(across, across + 20), data.subarray(across, across + 20));
  });

  it('reads the next pieces ahead, several in one read, for a peer reading in order', async () => {
    const data = randomBytes(6 * 4 * BLOCK_SIZE + 1234, 7);
    const blob = new CountingBlob([data]);
    const manifest = await buildManifest(data);
    const swarm = HeldFile.fromBlob(manifest.hash, blob, Promise.resolve(manifest));
    await swarm.manifest;
    for (let piece = 0; piece < manifest.pieceCount; piece++) {
      for (const { offset, length } of manifest.blocks(piece)) {
        const start = piece * manifest.pieceSize + offset;
        assert.deepEqual(await swarm.read(start, start + length), data.subarray(start, start + length));
      }
    }
    const run = Math.floor(READ_AHEAD_BYTES / manifest.pieceSize);
    assert.ok(run > 1 && manifest.pieceCount > run + 1, 'the file spans several runs');
    // The first piece alone (nothing says yet that the peer reads in order), then runs.
    assert.equal(blob.slices, 1 + Math.ceil((manifest.pieceCount - 1) / run));
  });

  it(`keeps at most ${PIECE_CACHE_BYTES / 1024 / 1024} MiB of pieces, least recently used out first`, async () => {
    const pieceSize = 4 * BLOCK_SIZE;
    const pieces = Math.ceil(PIECE_CACHE_BYTES / pieceSize) + 4;
    const data = randomBytes(pieces * pieceSize, 6);
    const blob = new CountingBlob([data]);
    const manifest = await buildManifest(data, { pieceSize });
    const swarm = HeldFile.fromBlob(manifest.hash, blob, Promise.resolve(manifest));
    await swarm.manifest;
    for (let piece = 0; piece < pieces; piece++) await swarm.read(piece * pieceSize, piece * pieceSize + 100);
    const afterAll = blob.slices;
    await swarm.read((pieces - 1) * pieceSize, (pieces - 1) * pieceSize + 100);
    assert.equal(blob.slices, afterAll, 'the last piece is still held');
    await swarm.read(0, 100);
    assert.equal(blob.slices, afterAll + 1, 'the first piece was let go');
  });
});
