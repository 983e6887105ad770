/**
 * The disk worker: keeps downloads' pieces in the Origin Private File System through
 * sync access handles, which only a dedicated worker may open and which read and write
 * at any offset at once. The page side is `DiskPieceStore` (disk-piece-store.ts);
 * messages are {@link DiskRequest} and {@link DiskReply}. Every file lives in the
 * directory {@link DISK_DIRECTORY} of the origin's private file system.
 *
 * It also reads Blobs for the page (`readBlob`): `Blob.slice` waits on the browser
 * process, which is busy relaying the traffic being served, and here that wait blocks
 * nobody.
 *
 * Each download has two files: `<name>`, the file itself, and `<name>.state`, one byte
 * per piece (1 once written) followed by the manifest it was downloaded under, so that a
 * page loaded again can take the download up where the last one left it.
 */
import { DISK_DIRECTORY, type DiskReply, type DiskRequest } from './disk-protocol.js';

interface SyncAccessHandle {
  getSize(): number;
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}

interface WorkerScope {
  onmessage: ((event: MessageEvent<DiskRequest>) => void) | null;
  postMessage(message: DiskReply, transfer?: Transferable[]): void;
  navigator: { storage: { getDirectory(): Promise<FileSystemDirectoryHandle> } };
}

interface Open {
  data: SyncAccessHandle;
  state: SyncAccessHandle;
}

const scope = globalThis as unknown as WorkerScope;
/** Open downloads by name. */
const handles = new Map<string, Open>();
/** Blobs the page reads through this worker, by key (the page stops the worker when it is done with them). */
const blobs = new Map<number, Blob>();
/** Downloads written to since their last flush. */
const dirty = new Set<string>();
/** How often written pieces are flushed, so that a reload finds them on disk. */
const FLUSH_MS = 1000;
const WRITTEN = new Uint8Array([1]);
let directory: Promise<FileSystemDirectoryHandle> | undefined;

setInterval(() => {
  for (const name of dirty) {
    const open = handles.get(name);
    open?.data.flush();
    open?.state.flush();
  }
  dirty.clear();
}, FLUSH_MS);

function folder(): Promise<FileSystemDirectoryHandle> {
  directory ??= scope.navigator.storage.getDirectory().then((root) => root.getDirectoryHandle(DISK_DIRECTORY, { create: true }));
  return directory;
}

function handlesOf(name: string): Open {
  const open = handles.get(name);
  if (!open) throw new DOMException(`${name} is not open.`, 'InvalidStateError');
  return open;
}

async function syncHandle(dir: FileSystemDirectoryHandle, name: string): Promise<SyncAccessHandle> {
  const file = await dir.getFileHandle(name, { create: true });
  return (file as unknown as { createSyncAccessHandle(): Promise<SyncAccessHandle> }).createSyncAccessHandle();
}

function close(name: string): void {
  const open = handles.get(name);
  handles.delete(name);
  dirty.delete(name);
  for (const handle of open ? [open.data, open.state] : []) {
    handle.flush();
    handle.close();
  }
}

/**
 * Opens a download's files: fresh, or (with `resume`) as an earlier page left them,
 * provided they are of the same size and manifest. Resolves the written-piece flags.
 */
async function open(request: Extract<DiskRequest, { type: 'open' }>): Promise<Uint8Array> {
  const { name, size, pieceCount, resume } = request;
  const manifest = new Uint8Array(request.manifest);
  const dir = await folder();
  const data = await syncHandle(dir, name);
  const state = await syncHandle(dir, `${name}.state`).catch((err: unknown) => {
    data.close();
    throw err;
  });
  const written = new Uint8Array(pieceCount);
  try {
    if (resume) {
      const saved = new Uint8Array(manifest.byteLength);
      const same =
        data.getSize() === size &&
        state.getSize() === pieceCount + manifest.byteLength &&
        state.read(written, { at: 0 }) === pieceCount &&
        state.read(saved, { at: pieceCount }) === saved.byteLength &&
        saved.every((byte, i) => byte === manifest[i]);
      if (!same) throw new DOMException(`${name} was left by a download of another file or manifest.`, 'InvalidStateError');
    } else {
      // Room for the whole file at once, so that a full disk shows now and not mid-way.
      data.truncate(size);
      state.truncate(0);
      state.write(written, { at: 0 });
      state.write(manifest, { at: pieceCount });
      state.flush();
    }
  } catch (err) {
    data.close();
    state.close();
    throw err;
  }
  handles.set(name, { data, state });
  return written;
}

scope.onmessage = async ({ data: request }) => {
  const { id } = request;
  try {
    switch (request.type) {
      case 'open': {
        const written = await open(request);
        scope.postMessage({ id, type: 'opened', written: written.buffer as ArrayBuffer }, [written.buffer]);
        return;
      }
      case 'write': {
        const bytes = new Uint8Array(request.bytes);
        const { data, state } = handlesOf(request.name);
        const count = data.write(bytes, { at: request.offset });
        if (count !== bytes.byteLength) throw new DOMException(`Wrote ${count} of ${bytes.byteLength} bytes.`, 'QuotaExceededError');
        state.write(WRITTEN, { at: request.index });
        dirty.add(request.name);
        scope.postMessage({ id, type: 'done' });
        return;
      }
      case 'read': {
        const bytes = new Uint8Array(request.end - request.start);
        const count = handlesOf(request.name).data.read(bytes, { at: request.start });
        if (count !== bytes.byteLength) throw new DOMException(`Read ${count} of ${bytes.byteLength} bytes.`, 'NotReadableError');
        scope.postMessage({ id, type: 'read', bytes: bytes.buffer }, [bytes.buffer]);
        return;
      }
      case 'readBlob': {
        if (request.blob) blobs.set(request.key, request.blob);
        const blob = blobs.get(request.key);
        if (!blob) throw new DOMException(`Blob ${request.key} was never sent.`, 'InvalidStateError');
        const bytes = await blob.slice(request.start, request.end).arrayBuffer();
        if (bytes.byteLength !== request.end - request.start)
          throw new DOMException(`Read ${bytes.byteLength} of ${request.end - request.start} bytes.`, 'NotReadableError');
        scope.postMessage({ id, type: 'read', bytes }, [bytes]);
        return;
      }
      case 'close': {
        close(request.name);
        scope.postMessage({ id, type: 'done' });
        return;
      }
      case 'delete': {
        close(request.name);
        const dir = await folder();
        for (const entry of [request.name, `${request.name}.state`]) {
          await dir.removeEntry(entry).catch((err: DOMException) => {
            if (err.name !== 'NotFoundError') throw err;
          });
        }
        scope.postMessage({ id, type: 'done' });
        return;
      }
    }
  } catch (err) {
    const { name, message } = err as Error;
    scope.postMessage({ id, type: 'error', name, message });
  }
};
