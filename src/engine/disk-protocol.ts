/**
 * The messages between a page and its disk worker (disk-worker.ts), and where the
 * files live: shared by both sides, and apart from the page side so that the worker's
 * bundle carries nothing of it.
 */

/** The directory of the origin's private file system where downloads keep their pieces. */
export const DISK_DIRECTORY = 'ecdn-downloads';

/** A message to the disk worker. */
export type DiskRequest =
  | {
      id: number;
      type: 'open';
      name: string;
      size: number;
      pieceCount: number;
      /** The MANIFEST frame the download is under, as bytes: a resumed file must have been left under the same one. */
      manifest: ArrayBuffer;
      /** Open what an earlier page left, rather than a fresh file. */
      resume: boolean;
    }
  | { id: number; type: 'write'; name: string; index: number; offset: number; bytes: ArrayBuffer }
  | { id: number; type: 'read'; name: string; start: number; end: number }
  /**
   * `[start, end)` of a Blob (a file the page seeds), read here so that the page never
   * waits on the read (see blob-reader.ts). The Blob comes with the first read of it and
   * is kept under `key` for the next ones: cloning it for each read also waits on the
   * browser process.
   */
  | { id: number; type: 'readBlob'; key: number; blob?: Blob; start: number; end: number }
  | { id: number; type: 'close'; name: string }
  | { id: number; type: 'delete'; name: string };

/** A message from the disk worker. */
export type DiskReply =
  | { id: number; type: 'done' }
  | { id: number; type: 'opened'; written: ArrayBuffer }
  | { id: number; type: 'read'; bytes: ArrayBuffer }
  | { id: number; type: 'error'; name: string; message: string };
