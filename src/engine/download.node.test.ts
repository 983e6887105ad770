// Download through its host interface, with fake peers: blame, manifest
// switching and the give-up decision, in milliseconds instead of browser runs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Download, type DownloadHost } from './download.js';
import { EcdnError } from './errors.js';
import { hexToBytes } from './hash.js';
import { buildManifest, Manifest } from './manifest.js';
import type { PeerLink } from './peer-link.js';
import { MemoryPieceStore } from './piece-store.js';
import type { LookupResult } from './tracker-client.js';
import { encodeBitfield, type Frame } from './wire.js';
import { randomBytes } from '../../test/helpers/random.js';

/** Big enough for pieces of three blocks each, so that a piece can be mixed from two peers. */
const SIZE = 4 * 1024 * 1024;

type Behaviour = 'honest' | 'corrupt' | 'silent';

/**
 * A remote peer as a download sees it: a link that answers MANIFEST_REQUEST and
 * REQUEST frames from `bytes`, described by `manifest`, the way `behaviour` says.
 */
class FakePeer {
  readonly link: PeerLink;
  /** REQUESTs answered so far. */
  served = 0;
  /** Answers only the first this many REQUESTs, then stays silent. */
  answerLimit = Infinity;
  /** The pieces it holds (and says so in its BITFIELD): all of them unless set. */
  holds: (piece: number) => boolean = () => true;
  behaviour: Behaviour;
  #download: Download | undefined;

  constructor(
    readonly id: string,
    readonly bytes: Uint8Array,
    readonly manifest: Manifest,
    behaviour: Behaviour = 'honest',
  ) {
    this.behaviour = behaviour;
    const link = { remoteId: id, destroyed: false, send: (frame: Frame) => queueMicrotask(() => this.#receive(frame)) };
    this.link = link as unknown as PeerLink;
  }

  attach(download: Download): void {
    this.#download = download;
  }

  /** The link closes, as when the peer's tab goes away. */
  close(): void {
    (this.link as { destroyed: boolean }).destroyed = true;
    this.#download?.onLinkClosed(this.link);
  }

  #receive(frame: Frame): void {
    const download = this.#download;
    if (!download || this.link.destroyed) return;
    if (frame.type === 'MANIFEST_REQUEST') {
      download.onFrame(this.link, { ...this.manifest.toFrame(), hash: frame.hash });
      const bits = encodeBitfield(this.holds, this.manifest.pieceCount);
      download.onFrame(this.link, { type: 'BITFIELD', hash: frame.hash, pieceCount: this.manifest.pieceCount, bits });
    } else if (frame.type === 'REQUEST') {
      if (this.behaviour === 'silent' || this.served >= this.answerLimit) return;
      this.served++;
      const start = frame.piece * this.manifest.pieceSize + frame.offset;
      let data = this.bytes.slice(start, start + frame.length);
      if (this.behaviour === 'corrupt') data = data.map((b, i) => (i % 997 === 0 ? b ^ 0xff : b));
      download.onFrame(this.link, { type: 'PIECE', hash: frame.hash, piece: frame.piece, offset: frame.offset, data });
    }
  }
}

/** A host whose tracker knows `peers` (and says `alive` while any is listed) and whose network reaches `reachable`. */
function host(
  peers: FakePeer[],
  options: { alive?: () => boolean; reachable?: (id: string) => boolean } = {},
): DownloadHost & { lookups: number } {
  const h = {
    lookups: 0,
    async lookup(hash: string): Promise<LookupResult> {
      h.lookups++;
      const ids = peers.filter((p) => !p.link.destroyed).map((p) => p.id);
      return { hash, alive: options.alive?.() ?? ids.length > 0, seeders: ids.length, leechers: 0, peers: ids };
    },
    localId: () => 'SELF',
    async connect(peerId: string): Promise<PeerLink> {
      const peer = peers.find((p) => p.id === peerId);
      if (!peer || peer.link.destroyed || options.reachable?.(peerId) === false) {
        throw new EcdnError('NO_PEER_REACHABLE', `${peerId} is out of reach.`);
      }
      return peer.link;
    },
  };
  return h;
}

function start(
  hash: string,
  peers: FakePeer[],
  h: DownloadHost = host(peers),
): { download: Download; bans: Array<{ peerId: string; reason: string }> } {
  const download = new Download(hash, h, { maxPeers: 5, reseed: false, sequential: false });
  for (const peer of peers) peer.attach(download);
  const bans: Array<{ peerId: string; reason: string }> = [];
  download.on('ban', (ban) => bans.push(ban));
  download.join();
  return { download, bans };
}

async function file(seed: number, size = SIZE): Promise<{ bytes: Uint8Array; manifest: Manifest }> {
  const bytes = randomBytes(size, seed);
  return { bytes, manifest: await buildManifest(bytes) };
}

/** A self-consistent manifest of `other` whose chain ends at `hash`: only its last piece gives it away. */
function lyingManifest(hash: string, other: Manifest): Manifest {
  const chain = other.chain.slice();
  hexToBytes(hash, chain, chain.byteLength - 32);
  return Manifest.fromFrame({ ...other.toFrame(), hash, chain });
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** The downloaded bytes: read from the store in a reaction of `done`, before the download lets go of it. */
const completed = (download: Download) => download.done.then((store) => store.bytes());

const failureCode = (download: Download) =>
  download.done.then(
    () => 'completed',
    (err: EcdnError) => err.code,
  );

describe('Download', () => {
  it('fetches different pieces from several peers and verifies the whole file', async () => {
    const { bytes, manifest } = await file(1);
    const peers = ['A', 'B', 'C'].map((id) => new FakePeer(id, bytes, manifest));
    const { download } = start(manifest.hash, peers);
    assert.deepEqual(await completed(download), bytes);
    assert.ok(download.suppliers.size >= 2, `pieces came from ${[...download.suppliers]}`);
  });

  it('bans a peer whose piece fails its hash at once, and completes from the others', async () => {
    const { bytes, manifest } = await file(2);
    const liar = new FakePeer('LIAR', bytes, manifest, 'corrupt');
    const { download, bans } = start(manifest.hash, [liar, new FakePeer('HONEST', bytes, manifest)]);
    assert.deepEqual(await completed(download), bytes);
    assert.deepEqual(bans, [{ peerId: 'LIAR', reason: 'BAD_PIECES', strikes: 1 }]);
    assert.ok(!download.suppliers.has('LIAR'));
  });

  it('convicts a peer dropped between its bad block and the verdict', async () => {
    const { bytes, manifest } = await file(3);
    assert.ok(manifest.blocks(0).length >= 2, 'pieces of several blocks');
    // The liar sends one bad block and leaves; the honest peer finishes that piece,
    // which fails as a mix of both, so blame waits for a good copy to compare.
    const liar = new FakePeer('LIAR', bytes, manifest, 'corrupt');
    liar.answerLimit = 1;
    const honest = new FakePeer('HONEST', bytes, manifest);
    const known = [liar];
    const { download, bans } = start(manifest.hash, known, host(known));
    await until(() => liar.served === 1);
    known.push(honest);
    honest.attach(download);
    liar.close();
    assert.deepEqual(await completed(download), bytes);
    assert.deepEqual(bans, [{ peerId: 'LIAR', reason: 'BAD_PIECES', strikes: 1 }], 'banned although it had left');
  });

  it('switches from a liar manifest to the honest one and says so', async () => {
    const { bytes, manifest } = await file(4);
    const other = await file(5);
    const liar = new FakePeer('LIAR', other.bytes, lyingManifest(manifest.hash, other.manifest));
    const honest = new FakePeer('HONEST', bytes, manifest);
    const { download, bans } = start(manifest.hash, [liar, honest]);
    let restarts = 0;
    download.on('restart', () => restarts++);
    assert.deepEqual(await completed(download), bytes);
    assert.deepEqual(bans, [{ peerId: 'LIAR', reason: 'BAD_PIECES', strikes: 1 }]);
    assert.equal(restarts, 1);
  });

  it('downloads from a link another peer opened to it, though no lookup names that peer', async () => {
    const { bytes, manifest } = await file(12);
    const seed = new FakePeer('SEED', bytes, manifest);
    const neighbour = new FakePeer('NEIGHBOUR', bytes, manifest);
    const known = [seed];
    const { download } = start(manifest.hash, known, host(known));
    neighbour.attach(download);
    download.adoptLink(neighbour.link);
    assert.deepEqual(await completed(download), bytes);
    assert.ok(download.suppliers.has('NEIGHBOUR'), `pieces came from ${[...download.suppliers]}`);
  });

  it('counts a partial holder half towards maxPeers, so that it can gather a crowd of them', async () => {
    const { bytes, manifest } = await file(13);
    // Each peer holds one piece: with maxPeers 5 and whole peers counted, three pieces were never on offer.
    const partials = Array.from({ length: manifest.pieceCount }, (_, i) => {
      const peer = new FakePeer(`P${i}`, bytes, manifest);
      peer.holds = (piece) => piece === i;
      return peer;
    });
    assert.ok(partials.length > 5 && partials.length <= 10, `${partials.length} pieces`);
    const { download } = start(manifest.hash, partials);
    assert.deepEqual(await completed(download), bytes);
    assert.equal(download.suppliers.size, partials.length);
  });

  it('gives up with DEAD when the tracker says nobody holds the file', async () => {
    const { manifest } = await file(6, 1000);
    const { download } = start(manifest.hash, []);
    assert.equal(await failureCode(download), 'DEAD');
  });

  it('gives up with NO_PEER_REACHABLE when holders exist but none can be reached', async () => {
    const { bytes, manifest } = await file(7, 1000);
    const peers = [new FakePeer('A', bytes, manifest), new FakePeer('B', bytes, manifest)];
    const h = host(peers, { reachable: () => false });
    const { download } = start(manifest.hash, peers, h);
    assert.equal(await failureCode(download), 'NO_PEER_REACHABLE');
    assert.ok(h.lookups >= 4, `asked the tracker ${h.lookups} times before giving up`);
  });

  it('gives up with HASH_MISMATCH when every holder lies', async () => {
    const { manifest } = await file(8);
    const other = await file(9);
    const liars = ['L1', 'L2'].map((id) => new FakePeer(id, other.bytes, lyingManifest(manifest.hash, other.manifest)));
    const { download, bans } = start(manifest.hash, liars);
    assert.equal(await failureCode(download), 'HASH_MISMATCH');
    assert.deepEqual(bans.map((b) => b.peerId).sort(), ['L1', 'L2']);
  });

  it('drops a silent peer and completes from another', async () => {
    const { bytes, manifest } = await file(10, 1024 * 1024);
    const { download } = start(manifest.hash, [new FakePeer('SILENT', bytes, manifest, 'silent'), new FakePeer('B', bytes, manifest)]);
    assert.deepEqual(await completed(download), bytes);
    assert.deepEqual([...download.suppliers], ['B']);
  });

  it('stops only when the last of its callers leaves', async () => {
    const { bytes, manifest } = await file(11, 1000);
    const seeder = new FakePeer('A', bytes, manifest, 'silent');
    const { download } = start(manifest.hash, [seeder]);
    download.join();
    download.leave(new EcdnError('ABORTED', 'first caller left'));
    assert.equal(download.destroyed, false, 'one caller left, one still waits');
    seeder.behaviour = 'honest';
    download.leave(new EcdnError('ABORTED', 'second caller left'));
    assert.equal(await failureCode(download), 'ABORTED');
  });

  it("writes pieces to its host's store, and asks peers only for what a resumed store does not hold intact", async () => {
    const { bytes, manifest } = await file(9);
    const peer = new FakePeer('A', bytes, manifest);
    // What an earlier run left: pieces 0 and 2 written, piece 3 written but damaged since.
    const left = new MemoryPieceStore(manifest.size);
    for (const piece of [0, 2, 3]) {
      const [start, end] = manifest.pieceRange(piece);
      await left.write(piece, start, bytes.slice(start, end));
    }
    (await left.read(manifest.pieceRange(3)[0], manifest.pieceRange(3)[0] + 1))[0]! ^= 0xff;
    left.resumed = [0, 2, 3];
    const opened: number[] = [];
    const h = {
      ...host([peer]),
      store: async (m: Manifest) => {
        opened.push(m.pieceCount);
        return left;
      },
    };
    const { download } = start(manifest.hash, [peer], h);
    assert.deepEqual(await completed(download), bytes);
    assert.deepEqual(opened, [manifest.pieceCount]);
    // Every piece but the two intact ones came from the peer: pieces 1, 3 and the rest.
    let expected = 0;
    for (let piece = 0; piece < manifest.pieceCount; piece++) if (piece !== 0 && piece !== 2) expected += manifest.blocks(piece).length;
    assert.equal(peer.served, expected, `${peer.served} blocks requested, ${expected} expected`);
  });

  it('paused (for info()), it adopts a manifest but opens no store and asks for no piece until resumed', async () => {
    const { bytes, manifest } = await file(10);
    const peer = new FakePeer('A', bytes, manifest);
    let opened = 0;
    const h = {
      ...host([peer]),
      store: async (m: Manifest) => {
        opened++;
        return new MemoryPieceStore(m.size);
      },
    };
    const download = new Download(manifest.hash, h, { maxPeers: 5, reseed: false, sequential: false, paused: true });
    peer.attach(download);
    download.join();
    await new Promise<void>((resolve) => download.on('manifest', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(opened, 0, 'no store while paused');
    assert.equal(peer.served, 0, 'no piece asked for while paused');
    download.resume();
    assert.deepEqual(await completed(download), bytes);
    assert.equal(opened, 1);
  });
});
