import { expect } from '@open-wc/testing';
import { DISK_DIRECTORY, DiskWorker, NoDiskError, openDiskStore, sweepLeftovers } from './disk-piece-store.js';
import { bytesToHex } from './hash.js';
import { buildManifest, choosePieceSize, Manifest } from './manifest.js';
import { encodeFrame, pieceCountFor } from './wire.js';

// The disk store in a real browser: pieces written by the disk worker into the
// origin's private file system, read back, served as a File, resumed, and deleted.

async function folder(): Promise<FileSystemDirectoryHandle> {
  return (await navigator.storage.getDirectory()).getDirectoryHandle(DISK_DIRECTORY, { create: true });
}

async function names(): Promise<string[]> {
  const out: string[] = [];
  for await (const name of ((await folder()) as unknown as { keys(): AsyncIterable<string> }).keys()) out.push(name);
  return out.sort();
}

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100 && !(await check()); i++) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** Writes a file into the store's directory as a page closed mid-download would have left it. */
async function leave(name: string, bytes: Uint8Array): Promise<void> {
  const file = await (await folder()).getFileHandle(name, { create: true });
  const writable = await file.createWritable();
  await writable.write(bytes as Uint8Array<ArrayBuffer>);
  await writable.close();
}

const SIZE = 3 * 65_536 + 100;
const bytes = new Uint8Array(SIZE).map((_, i) => (i * 7) & 0xff);

describe('DiskPieceStore', () => {
  let worker: DiskWorker;
  let manifest: Manifest;
  beforeEach(async () => {
    worker = new DiskWorker();
    await sweepLeftovers();
    manifest = await buildManifest(bytes, { pieceSize: 65_536 });
  });
  afterEach(async () => {
    worker.destroy();
    await sweepLeftovers();
  });

  it('keeps pieces on disk, reads them back, serves the file from disk, and deletes it when let go', async () => {
    const store = await openDiskStore(worker, manifest, 0);
    const release = store.retain();
    expect(store.where).to.equal('disk');
    expect(store.resumed).to.deep.equal([]);
    // Out of order, as pieces verify.
    for (const piece of [2, 0, 3, 1]) {
      const [start, end] = manifest.pieceRange(piece);
      await store.write(piece, start, bytes.slice(start, end));
    }
    expect(await store.read(65_530, 65_600)).to.deep.equal(bytes.subarray(65_530, 65_600));
    const file = await store.blob();
    expect(file.size).to.equal(SIZE);
    expect(new Uint8Array(await file.arrayBuffer())).to.deep.equal(bytes);
    expect(await store.read(10, 20)).to.deep.equal(bytes.subarray(10, 20));
    expect((await names()).filter((n) => n.startsWith(manifest.hash))).to.have.length(2);

    release();
    expect(store.destroyed).to.equal(true);
    await eventually(async () => (await names()).length === 0);
    expect(await names()).to.deep.equal([]);
  });

  it('takes up a download an earlier page left under the same manifest, and starts afresh from one under another', async () => {
    const name = `${manifest.hash}.earlier`;
    const frame = encodeFrame(manifest.toFrame());
    const state = new Uint8Array(manifest.pieceCount + frame.byteLength);
    state.set([1, 0, 1, 0]);
    state.set(frame, manifest.pieceCount);
    await leave(name, bytes);
    await leave(`${name}.state`, state);

    const resumed = await openDiskStore(worker, manifest, 0);
    expect(resumed.resumed).to.deep.equal([0, 2]);
    expect(await resumed.read(0, 100)).to.deep.equal(bytes.subarray(0, 100));
    resumed.retain()();
    await eventually(async () => (await names()).length === 0);

    // The same hash under another piece size: not the download that was left.
    const other = await buildManifest(bytes, { pieceSize: 16_384 });
    await leave(name, bytes);
    await leave(`${name}.state`, state);
    const fresh = await openDiskStore(worker, other, 0);
    expect(fresh.resumed).to.deep.equal([]);
    expect((await names()).filter((n) => n.startsWith(`${name}`))).to.deep.equal([]);
    fresh.retain()();
  });

  it('refuses a file larger than the quota left, before writing anything', async () => {
    const { quota = 0 } = await navigator.storage.estimate();
    const size = quota + 1;
    const pieceSize = choosePieceSize(size);
    // A consistent manifest of a file too big to exist: its chain ends at its (made-up) hash.
    const chain = new Uint8Array(pieceCountFor(size, pieceSize) * 32);
    const huge = new Manifest({ hash: bytesToHex(chain.subarray(chain.byteLength - 32)), size, pieceSize, chain });
    const err = await openDiskStore(worker, huge).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(NoDiskError);
    expect(await names()).to.deep.equal([]);
  });

  it('sweeps the downloads of tabs that are gone, and leaves the ones in use', async () => {
    const inUse = await openDiskStore(worker, manifest, 0);
    const release = inUse.retain();
    // A leftover: files nobody holds a lock on, as a closed tab leaves them.
    await leave(`${'cd'.repeat(32)}.gone`, new Uint8Array(10));
    await leave(`${'cd'.repeat(32)}.gone.state`, new Uint8Array(10));
    expect(await names()).to.have.length(4);
    expect(await sweepLeftovers()).to.equal(1);
    expect((await names()).every((n) => n.startsWith(manifest.hash))).to.equal(true);
    release();
  });
});
