/**
 * A page that misbehaves as a peer, for the fault tests: a real engine whose
 * seams (its uploader, and which files it holds) are filled with faults. None of
 * this ships; the library has the seams only.
 */
import { SwarmEngine } from '../../src/engine/engine.js';
import { hexToBytes, toBlob, type HashInput } from '../../src/engine/hash.js';
import { HeldFile } from '../../src/engine/held-file.js';
import { buildManifest, choosePieceSize, Manifest } from '../../src/engine/manifest.js';
import type { PeerLink } from '../../src/engine/peer-link.js';
import { Uploader, type UploaderHost } from '../../src/engine/uploader.js';
import { pieceCountFor, type PieceFrame, type RequestFrame } from '../../src/engine/wire.js';

/** How a {@link FaultyEngine} misbehaves when serving. */
export interface UploadFaults {
  /** Flip bytes in every block served. */
  corrupt?: boolean;
  /** Accept requests and never answer them. */
  silent?: boolean;
}

class FaultyUploader extends Uploader {
  readonly #faults: () => UploadFaults;

  constructor(host: UploaderHost, faults: () => UploadFaults) {
    super(host);
    this.#faults = faults;
  }

  override request(link: PeerLink, request: RequestFrame): void {
    if (!this.#faults().silent) super.request(link, request);
  }

  protected override sendPiece(link: PeerLink, frame: PieceFrame): void {
    let data = frame.data;
    if (this.#faults().corrupt) {
      data = data.slice();
      for (let i = 0; i < data.length; i += 997) data[i]! ^= 0xff;
    }
    super.sendPiece(link, { ...frame, data });
  }
}

/** An engine that serves with {@link UploadFaults} and can hold a file under a false name. */
export class FaultyEngine extends SwarmEngine {
  /** How it serves; changeable while seeding. */
  faults: UploadFaults = {};

  protected override createUploader(host: UploaderHost): Uploader {
    // Runs in the base constructor, before `faults` exists: read it when serving.
    return new FaultyUploader(host, () => this.faults);
  }

  /**
   * Claims to hold `hash` and serves `data` under its name, with the strongest
   * lie: a manifest of `data` that is self-consistent and whose chain ends at
   * `hash`, so that only its last piece can give it away.
   */
  async lie(hash: string, data: HashInput): Promise<void> {
    const blob = toBlob(data);
    const real = await buildManifest(blob);
    const chain = real.chain.slice();
    if (real.pieceCount > 0) hexToBytes(hash, chain, chain.byteLength - 32);
    const false_ = Manifest.fromFrame({ ...real.toFrame(), hash, chain });
    this.hold(HeldFile.fromBlob(hash, blob, Promise.resolve(false_)));
  }

  /**
   * Claims to hold a file of `size` bytes (any size, terabytes included) under `hash`,
   * with a consistent manifest and no bytes: for what a consumer decides from the
   * manifest alone, before it asks for a piece.
   */
  claim(hash: string, size: number): void {
    const pieceSize = choosePieceSize(size);
    const chain = new Uint8Array(pieceCountFor(size, pieceSize) * 32);
    hexToBytes(hash, chain, chain.byteLength - 32);
    const manifest = new Manifest({ hash, size, pieceSize, chain });
    this.hold(HeldFile.fromBlob(hash, new Blob([]), Promise.resolve(manifest)));
  }
}
