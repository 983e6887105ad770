import type { Download } from './download.js';
import { EcdnError } from './errors.js';
import type { HeldFile } from './held-file.js';
import type { PieceStore } from './piece-store.js';

/** A finished download's store, held for one caller until it calls `release`. */
export interface Retained {
  store: PieceStore;
  release(): void;
}

/** What a {@link downloadStream} needs besides the download. */
export interface DownloadStreamOptions {
  /** Settles when this caller's wait for the download ends: the store it retained for this caller, or its error. */
  done: Promise<Retained>;
  /** Called when the reader cancels the stream: this caller leaves the download. */
  cancel(reason: EcdnError): void;
}

/**
 * A download read as a stream of verified bytes in file order. A piece is read from
 * the download's store when the reader asks for it and it and every piece before it
 * are verified, so a slow reader holds back nothing but the store. If the download
 * restarts on another manifest after some bytes went out, those bytes were not the
 * file, and the stream errors with `HASH_MISMATCH` instead of closing.
 */
export function downloadStream(download: Download, options: DownloadStreamOptions): ReadableStream<Uint8Array> {
  let sent = 0;
  let finished: Retained | undefined;
  let failed: unknown;
  let restarted = false;
  /** Wakes a pull waiting for the next piece, the end, or a failure. */
  let wake: (() => void) | undefined;
  const changed = () => {
    wake?.();
    wake = undefined;
  };
  const offPiece = download.on('piece', changed);
  const offRestart = download.on('restart', () => {
    if (sent === 0) return;
    restarted = true;
    changed();
  });
  const stop = () => {
    offPiece();
    offRestart();
    finished?.release();
  };
  options.done.then(
    (retained) => {
      finished = retained;
      changed();
    },
    (err: unknown) => {
      failed = err;
      changed();
    },
  );
  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        for (;;) {
          if (restarted) {
            stop();
            const hash = download.hash;
            controller.error(
              new EcdnError('HASH_MISMATCH', `A peer's manifest for ${hash} was false; the bytes streamed so far are not the file.`, {
                hash,
              }),
            );
            return;
          }
          if (failed !== undefined) {
            stop();
            controller.error(failed);
            return;
          }
          const manifest = download.manifest;
          if (finished && manifest && sent >= manifest.pieceCount) {
            stop();
            controller.close();
            return;
          }
          if (manifest && (finished || sent < download.contiguous)) {
            const [start, end] = manifest.pieceRange(sent);
            // From the store once the download is over: it keeps no store for readers after that.
            const bytes = finished ? await finished.store.readCopy(start, end) : await download.readPiece(sent);
            sent++;
            controller.enqueue(bytes);
            return;
          }
          await new Promise<void>((resolve) => (wake = resolve));
        }
      },
      cancel: () => {
        stop();
        options.cancel(new EcdnError('ABORTED', 'The stream was cancelled.', { hash: download.hash }));
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * A file this page holds whole, as a stream: one piece per pull, so that a
 * slow reader never makes the whole file sit in memory.
 */
export function heldFileStream(file: HeldFile): ReadableStream<Uint8Array> {
  let piece = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        const manifest = await file.manifest;
        if (piece >= manifest.pieceCount) {
          controller.close();
          return;
        }
        const [start, end] = manifest.pieceRange(piece++);
        // read() may return a view of a cached piece: hand the reader its own copy.
        controller.enqueue((await file.read(start, end)).slice());
      },
    },
    { highWaterMark: 0 },
  );
}
