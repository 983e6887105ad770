/**
 * The hashing worker: builds manifests for `seed()` and checks downloaded pieces, off
 * the page's main thread, so that hashing a large file never blocks the page. The
 * page side is {@link WorkerHasher} (hasher.ts); messages are {@link HashRequest} and
 * {@link HashReply}. Requests run one at a time, in order: one SHA-256 stream cannot
 * be split. A manifest is built from slices the page reads and feeds it, so that
 * reading the next slice (a copy, and disk) happens on the page's threads while this
 * one hashes, and pieces to check get their turn between two slices.
 */
import { equalBytes } from './hash.js';
import { ManifestBuilder } from './manifest.js';
import { Sha256Chain } from './sha256-chain.js';
import type { HashReply, HashRequest } from './hasher.js';

interface WorkerScope {
  onmessage: ((event: MessageEvent<HashRequest>) => void) | null;
  postMessage(message: HashReply, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
/** Manifests being built, by request: the page feeds each its slices in order. */
const builders = new Map<number, { builder: Promise<ManifestBuilder>; fed: number }>();
let chain: Promise<Sha256Chain> | undefined;
let queue: Promise<void> = Promise.resolve();

scope.onmessage = ({ data: request }) => {
  if (request.type === 'abort') {
    builders.delete(request.id);
    return;
  }
  queue = queue.then(() => handle(request)).catch(() => {});
};

async function handle(request: Exclude<HashRequest, { type: 'abort' }>): Promise<void> {
  const { id } = request;
  try {
    switch (request.type) {
      case 'manifest': {
        const builder = ManifestBuilder.create(request.size, request.pieceSize);
        builders.set(id, { builder, fed: 0 });
        if (request.size === 0) finish(id, await builder);
        else await builder;
        return;
      }
      case 'slice': {
        const building = builders.get(id);
        // Aborted meanwhile.
        if (!building) return;
        const builder = await building.builder;
        builder.update(new Uint8Array(request.bytes));
        building.fed += request.bytes.byteLength;
        scope.postMessage({ id, type: 'progress', done: building.fed, total: builder.size });
        if (building.fed === builder.size) finish(id, builder);
        return;
      }
      case 'verify': {
        chain ??= Sha256Chain.create();
        const hasher = (await chain).resume(request.previous, request.offset);
        hasher.update(new Uint8Array(request.bytes));
        const reached = request.last ? hasher.digest() : hasher.chainingValue();
        scope.postMessage({ id, type: 'verified', ok: equalBytes(reached, request.expected) });
        return;
      }
    }
  } catch (err) {
    builders.delete(id);
    const { name, message } = err as Error;
    scope.postMessage({ id, type: 'error', name, message, code: (err as { code?: string }).code });
  }
}

function finish(id: number, builder: ManifestBuilder): void {
  builders.delete(id);
  const manifest = builder.finish();
  scope.postMessage(
    { id, type: 'manifest', hash: manifest.hash, size: manifest.size, pieceSize: manifest.pieceSize, chain: manifest.chain },
    [manifest.chain.buffer],
  );
}
