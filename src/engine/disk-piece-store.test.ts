import { expect } from '@open-wc/testing';
import { DISK_DIRECTORY, DiskWorker, NoDiskError, openDiskStore, sweepLeftovers } from './disk-piece-store.js';

// The disk store in a real browser: pieces written by the disk worker into the
// origin's private file system, read back, served as a File, and deleted.

const HASH = 'ab'.repeat(32);

async function names(): Promise<string[]> {
  const root = await navigator.storage.getDirectory();
  const folder = await root.getDirectoryHandle(DISK_DIRECTORY, { create: true });
  const out: string[] = [];
  for await (const name of (folder as unknown as { keys(): AsyncIterable<string> }).keys()) out.push(name);
  return out.sort();
}

describe('DiskPieceStore', () => {
  let worker: DiskWorker;
  beforeEach(async () => {
    worker = new DiskWorker();
    await sweepLeftovers(worker);
  });
  afterEach(() => worker.destroy());

  it('keeps pieces on disk, reads them back, serves the file from disk, and deletes it when let go', async () => {
    const size = 3 * 65_536 + 100;
    const store = await openDiskStore(worker, HASH, size, 0);
    const release = store.retain();
    expect(store.where).to.equal('disk');
    const bytes = new Uint8Array(size).map((_, i) => (i * 7) & 0xff);
    // Out of order, as pieces verify.
    for (const piece of [2, 0, 3, 1]) {
      const start = piece * 65_536;
      await store.write(piece, start, bytes.slice(start, Math.min(size, start + 65_536)));
    }
    expect(await store.read(65_530, 65_600)).to.deep.equal(bytes.subarray(65_530, 65_600));
    const file = await store.blob();
    expect(file.size).to.equal(size);
    expect(new Uint8Array(await file.arrayBuffer())).to.deep.equal(bytes);
    expect(await store.read(10, 20)).to.deep.equal(bytes.subarray(10, 20));
    expect((await names()).filter((n) => n.startsWith(HASH))).to.have.length(1);

    release();
    expect(store.destroyed).to.equal(true);
    for (let i = 0; i < 50 && (await names()).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await names()).to.deep.equal([]);
  });

  it('refuses a file larger than the quota left, before writing anything', async () => {
    const { quota = 0 } = await navigator.storage.estimate();
    const err = await openDiskStore(worker, HASH, quota + 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(NoDiskError);
    expect(await names()).to.deep.equal([]);
  });

  it('sweeps the files of tabs that are gone, and leaves the ones in use', async () => {
    const inUse = await openDiskStore(worker, HASH, 1000, 0);
    const release = inUse.retain();
    // A leftover: a file nobody holds a lock on, as a closed tab leaves it.
    const root = await navigator.storage.getDirectory();
    const folder = await root.getDirectoryHandle(DISK_DIRECTORY, { create: true });
    await folder.getFileHandle(`${'cd'.repeat(32)}.leftover`, { create: true });
    expect(await names()).to.have.length(2);
    expect(await sweepLeftovers(worker)).to.equal(1);
    const left = await names();
    expect(left).to.have.length(1);
    expect(left[0]!.startsWith(HASH)).to.equal(true);
    release();
  });
});
