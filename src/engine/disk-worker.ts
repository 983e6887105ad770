/**
 * The disk worker: keeps downloads' pieces in the Origin Private File System through
 * sync access handles, which only a dedicated worker may open and which read and write
 * at any offset at once. The page side is {@link DiskPieceStore} (disk-piece-store.ts);
 * messages are {@link DiskRequest} and {@link DiskReply}. Every file lives in the
 * directory {@link DISK_DIRECTORY} of the origin's private file system.
 */
import { DISK_DIRECTORY, type DiskReply, type DiskRequest } from './disk-piece-store.js';

interface SyncAccessHandle {
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

const scope = globalThis as unknown as WorkerScope;
const handles = new Map<string, SyncAccessHandle>();
let directory: Promise<FileSystemDirectoryHandle> | undefined;

function folder(): Promise<FileSystemDirectoryHandle> {
  directory ??= scope.navigator.storage.getDirectory().then((root) => root.getDirectoryHandle(DISK_DIRECTORY, { create: true }));
  return directory;
}

function handleOf(name: string): SyncAccessHandle {
  const handle = handles.get(name);
  if (!handle) throw new DOMException(`${name} is not open.`, 'InvalidStateError');
  return handle;
}

scope.onmessage = async ({ data: request }) => {
  const { id } = request;
  try {
    switch (request.type) {
      case 'open': {
        const file = await (await folder()).getFileHandle(request.name, { create: true });
        const handle = (await (
          file as unknown as { createSyncAccessHandle(): Promise<SyncAccessHandle> }
        ).createSyncAccessHandle()) as SyncAccessHandle;
        handles.set(request.name, handle);
        // Room for the whole file at once, so that a full disk shows now and not mid-way.
        handle.truncate(request.size);
        scope.postMessage({ id, type: 'done' });
        return;
      }
      case 'write': {
        const bytes = new Uint8Array(request.bytes);
        const written = handleOf(request.name).write(bytes, { at: request.offset });
        if (written !== bytes.byteLength) throw new DOMException(`Wrote ${written} of ${bytes.byteLength} bytes.`, 'QuotaExceededError');
        scope.postMessage({ id, type: 'done' });
        return;
      }
      case 'read': {
        const bytes = new Uint8Array(request.end - request.start);
        const read = handleOf(request.name).read(bytes, { at: request.start });
        if (read !== bytes.byteLength) throw new DOMException(`Read ${read} of ${bytes.byteLength} bytes.`, 'NotReadableError');
        scope.postMessage({ id, type: 'read', bytes: bytes.buffer }, [bytes.buffer]);
        return;
      }
      case 'close': {
        const handle = handles.get(request.name);
        handles.delete(request.name);
        handle?.flush();
        handle?.close();
        scope.postMessage({ id, type: 'done' });
        return;
      }
      case 'delete': {
        handles.get(request.name)?.close();
        handles.delete(request.name);
        await (await folder()).removeEntry(request.name).catch((err: DOMException) => {
          if (err.name !== 'NotFoundError') throw err;
        });
        scope.postMessage({ id, type: 'done' });
        return;
      }
    }
  } catch (err) {
    const { name, message } = err as Error;
    scope.postMessage({ id, type: 'error', name, message });
  }
};
