import type { Download } from './download.js';
import { EcdnError } from './errors.js';
import type { HeldFile } from './held-file.js';

/** What a {@link downloadStream} needs besides the download. */
export interface DownloadStreamOptions {
  /** Settles when this caller's wait for the download ends: the bytes, or its error. */
  done: Promise<unknown>;
  /** Called when the reader cancels the stream: this caller leaves the download. */
  cancel(reason: EcdnError): void;
}

/**
 * A download read as a stream of verified bytes in file order: each piece is
 * enqueued as soon as it and every piece before it are verified. If the
 * download restarts on another manifest after some bytes went out, those bytes
 * were not the file, and the stream errors with `HASH_MISMATCH` instead of
 * closing.
 */
export function downloadStream(download: Download, options: DownloadStreamOptions): ReadableStream<Uint8Array> {
  let sent = 0;
  let offPiece: (() => void) | undefined;
  let offRestart: (() => void) | undefined;
  const stop = () => {
    offPiece?.();
    offRestart?.();
  };
  return new ReadableStream<Uint8Array>({
    start: async (controller) => {
      const flush = (contiguous: number) => {
        for (; sent < contiguous; sent++) controller.enqueue(download.readPiece(sent));
      };
      offPiece = download.on('piece', ({ contiguous }) => flush(contiguous));
      offRestart = download.on('restart', () => {
        if (sent === 0) return;
        stop();
        const hash = download.hash;
        controller.error(
          new EcdnError('HASH_MISMATCH', `A peer's manifest for ${hash} was false; the bytes streamed so far are not the file.`, { hash }),
        );
      });
      try {
        await options.done;
        stop();
        // The last pieces may have been verified in the same turn as completion.
        const pieces = download.manifest?.pieceCount ?? 0;
        if (sent < pieces) flush(pieces);
        controller.close();
      } catch (err) {
        stop();
        controller.error(err);
      }
    },
    cancel: () => {
      stop();
      options.cancel(new EcdnError('ABORTED', 'The stream was cancelled.', { hash: download.hash }));
    },
  });
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
