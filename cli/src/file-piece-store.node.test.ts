// The CLI's disk stores under a real Download (the engine's, through its host
// interface, with fake peers): pieces land in a partial file, which takes the
// output's name only when complete, and a stopped download resumes from it.
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EcdnError, type PieceStorage } from 'ephemeral-cdn';
import { Download, type DownloadHost } from '../../src/engine/download.js';
import { buildManifest, type Manifest } from '../../src/engine/manifest.js';
import type { PeerLink } from '../../src/engine/peer-link.js';
import { encodeBitfield, type Frame } from '../../src/engine/wire.js';
import { randomBytes } from '../../test/helpers/random.js';
import { CliError } from './cli-error.js';
import { OutputFileStorage, ScratchFileStorage } from './file-piece-store.js';

/** Six pieces of three blocks. */
const SIZE = 4 * 1024 * 1024;

/** A peer holding the whole file, answering the first `limit` block requests and then nothing. */
class FakePeer {
  readonly link: PeerLink;
  requests = 0;
  download: Download | undefined;

  constructor(
    readonly bytes: Uint8Array,
    readonly manifest: Manifest,
    readonly limit = Infinity,
  ) {
    this.link = {
      remoteId: 'PEER',
      destroyed: false,
      send: (frame: Frame) => queueMicrotask(() => this.#receive(frame)),
    } as unknown as PeerLink;
  }

  #receive(frame: Frame): void {
    const download = this.download!;
    if (frame.type === 'MANIFEST_REQUEST') {
      download.onFrame(this.link, { ...this.manifest.toFrame(), hash: frame.hash });
      const bits = encodeBitfield(() => true, this.manifest.pieceCount);
      download.onFrame(this.link, { type: 'BITFIELD', hash: frame.hash, pieceCount: this.manifest.pieceCount, bits });
    } else if (frame.type === 'REQUEST') {
      if (this.requests >= this.limit) return;
      this.requests++;
      const start = frame.piece * this.manifest.pieceSize + frame.offset;
      download.onFrame(this.link, {
        type: 'PIECE',
        hash: frame.hash,
        piece: frame.piece,
        offset: frame.offset,
        data: this.bytes.slice(start, start + frame.length),
      });
    }
  }
}

function download(peer: FakePeer, storage: PieceStorage): Download {
  const host: DownloadHost = {
    lookup: async (hash) => ({ hash, alive: true, seeders: 1, leechers: 0, peers: ['PEER'] }),
    localId: () => 'SELF',
    connect: async () => peer.link,
    store: (manifest) => storage.open(manifest),
  };
  const d = new Download(peer.manifest.hash, host, { maxPeers: 1, reseed: false, sequential: false });
  peer.download = d;
  d.join();
  return d;
}

/** What a caller does with a finished download: takes the file (which moves it into place). */
const finished = (d: Download) => d.done.then((store) => store.blob());

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecdn-cli-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('OutputFileStorage', () => {
  it('writes pieces into a partial file, which takes the output name only once complete', async () => {
    const bytes = randomBytes(SIZE, 1);
    const manifest = await buildManifest(bytes);
    const out = join(dir, 'out.bin');
    const storage = new OutputFileStorage(out, { overwrite: false });
    const peer = new FakePeer(bytes, manifest);
    const d = download(peer, storage);
    let sawPartialOnly = false;
    d.on('piece', () => {
      void readdir(dir).then((names) => {
        if (!names.includes('out.bin') && names.includes(`out.bin.${manifest.hash.slice(0, 12)}.part`)) sawPartialOnly = true;
      });
    });
    const blob = await finished(d);
    assert.equal(blob.size, SIZE);
    assert.deepEqual(new Uint8Array(await readFile(out)), bytes);
    assert.ok(sawPartialOnly, 'while downloading, only the partial file existed');
    assert.deepEqual(await readdir(dir), ['out.bin'], 'the partial file and its state are gone');
  });

  it('resumes a stopped download from its partial file and asks the peer only for the rest', async () => {
    const bytes = randomBytes(SIZE, 2);
    const manifest = await buildManifest(bytes);
    const out = join(dir, 'out.bin');
    const blocksPerPiece = manifest.blocks(0).length;
    // The first run gets three pieces' worth of blocks, then its peer goes quiet and it is stopped.
    const first = new OutputFileStorage(out, { overwrite: false });
    const quiet = new FakePeer(bytes, manifest, 3 * blocksPerPiece);
    const d1 = download(quiet, first);
    const verified: number[] = [];
    d1.on('piece', ({ index }) => verified.push(index));
    while (verified.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    d1.fail(new EcdnError('ABORTED', 'Ctrl-C'));
    await first.store!.closed();
    assert.deepEqual((await readdir(dir)).sort(), [
      `out.bin.${manifest.hash.slice(0, 12)}.part`,
      `out.bin.${manifest.hash.slice(0, 12)}.part.state`,
    ]);

    const second = new OutputFileStorage(out, { overwrite: false });
    const peer = new FakePeer(bytes, manifest);
    await finished(download(peer, second));
    assert.deepEqual(second.store!.resumed.slice().sort(), verified.slice().sort(), 'the pieces the first run wrote');
    let rest = 0;
    for (let piece = 0; piece < manifest.pieceCount; piece++) if (!verified.includes(piece)) rest += manifest.blocks(piece).length;
    assert.equal(peer.requests, rest, 'blocks asked of the peer: only those of the missing pieces');
    assert.deepEqual(new Uint8Array(await readFile(out)), bytes);
  });

  it('starts afresh from a partial file whose state is of another file', async () => {
    const bytes = randomBytes(SIZE, 3);
    const manifest = await buildManifest(bytes);
    const out = join(dir, 'out.bin');
    const partial = OutputFileStorage.partialPathOf(out, manifest.hash);
    await writeFile(partial, new Uint8Array(SIZE));
    await writeFile(`${partial}.state`, 'ECDNPRT1 and then something else');
    const storage = new OutputFileStorage(out, { overwrite: false });
    const peer = new FakePeer(bytes, manifest);
    await finished(download(peer, storage));
    assert.deepEqual(storage.store!.resumed, []);
    assert.deepEqual(new Uint8Array(await readFile(out)), bytes);
  });

  it('never replaces a file that appeared at the output meanwhile, unless told to', async () => {
    const bytes = randomBytes(SIZE, 4);
    const manifest = await buildManifest(bytes);
    const out = join(dir, 'out.bin');
    await writeFile(out, 'precious');
    const refused = download(new FakePeer(bytes, manifest), new OutputFileStorage(out, { overwrite: false }));
    await assert.rejects(finished(refused), (err: unknown) => err instanceof CliError && err.code === 'OUTPUT_EXISTS');
    assert.equal(await readFile(out, 'utf8'), 'precious');

    await finished(download(new FakePeer(bytes, manifest), new OutputFileStorage(out, { overwrite: true })));
    assert.deepEqual(new Uint8Array(await readFile(out)), bytes);
  });
});

describe('ScratchFileStorage', () => {
  it('keeps a large download in a temporary file, deleted once let go of', async () => {
    const bytes = randomBytes(SIZE, 5);
    const manifest = await buildManifest(bytes);
    const storage = new ScratchFileStorage({ dir, threshold: 1024 });
    const d = download(new FakePeer(bytes, manifest), storage);
    const store = await d.done;
    const release = store.retain();
    assert.equal(store.where, 'disk');
    assert.deepEqual(await store.read(0, SIZE), bytes);
    assert.equal((await readdir(dir)).length, 1);
    release();
    await storage.store!.closed();
    assert.deepEqual(await readdir(dir), []);
  });

  it('keeps a small one in memory', async () => {
    const bytes = randomBytes(1000, 6);
    const store = await new ScratchFileStorage({ dir }).open(await buildManifest(bytes));
    assert.equal(store.where, 'memory');
  });
});
