/**
 * Starts the disk worker (disk-worker.ts) from its module next to this one, as
 * start-hash-worker.ts does the hashing worker; scripts/build.mjs replaces this module
 * in the built library with one that carries the worker inline.
 */
export function startDiskWorker(): Worker {
  return new Worker(new URL('./disk-worker.ts', import.meta.url), { type: 'module', name: 'ecdn-disk' });
}
