/**
 * The hashing worker: builds manifests for `seed()` and checks downloaded pieces, off
 * the page's main thread, so that hashing a large file never blocks the page. The
 * page side is {@link WorkerHasher} (hasher.ts); messages are {@link HashRequest} and
 * {@link HashReply}. Requests run one at a time, in order: one SHA-256 stream cannot
 * be split, and the worker does nothing else.
 */
import { buildManifest } from './manifest.js';
import { equalBytes } from './hash.js';
import { Sha256Chain } from './sha256-chain.js';
import type { HashReply, HashRequest } from './hasher.js';

interface WorkerScope {
  onmessage: ((event: MessageEvent<HashRequest>) => void) | null;
  postMessage(message: HashReply, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
const aborts = new Map<number, AbortController>();
let chain: Promise<Sha256Chain> | undefined;
let queue: Promise<void> = Promise.resolve();

scope.onmessage = ({ data: request }) => {
  if (request.type === 'abort') {
    aborts.get(request.id)?.abort();
    return;
  }
  // Aborts must overtake the queue; everything else waits its turn.
  if (request.type === 'manifest') aborts.set(request.id, new AbortController());
  queue = queue.then(() => handle(request)).catch(() => {});
};

async function handle(request: Exclude<HashRequest, { type: 'abort' }>): Promise<void> {
  const { id } = request;
  try {
    if (request.type === 'manifest') {
      const signal = aborts.get(id)?.signal;
      let last = 0;
      const manifest = await buildManifest(request.input, {
        pieceSize: request.pieceSize,
        signal,
        onProgress: (done, total) => {
          // A message per slice is plenty for a progress bar.
          if (done !== total && performance.now() - last < 50) return;
          last = performance.now();
          scope.postMessage({ id, type: 'progress', done, total });
        },
      });
      scope.postMessage(
        { id, type: 'manifest', hash: manifest.hash, size: manifest.size, pieceSize: manifest.pieceSize, chain: manifest.chain },
        [manifest.chain.buffer],
      );
    } else {
      chain ??= Sha256Chain.create();
      const hasher = (await chain).resume(request.previous, request.offset);
      hasher.update(new Uint8Array(request.bytes));
      const reached = request.last ? hasher.digest() : hasher.chainingValue();
      scope.postMessage({ id, type: 'verified', ok: equalBytes(reached, request.expected) });
    }
  } catch (err) {
    const { name, message } = err as Error;
    scope.postMessage({ id, type: 'error', name, message, code: (err as { code?: string }).code });
  } finally {
    aborts.delete(id);
  }
}
