/**
 * Starts the hashing worker (hash-worker.ts) from its module next to this one: what a
 * development server (web-test-runner, Storybook's Vite) and any bundler that knows
 * `new Worker(new URL(…, import.meta.url))` can serve as it is.
 *
 * scripts/build.mjs replaces this module in the built library with one that carries
 * the worker inline and starts it from a `blob:` URL, so that the library is one file
 * to ship and its worker starts on any page, whichever origin served the script.
 */
export function startHashWorker(): Worker {
  return new Worker(new URL('./hash-worker.ts', import.meta.url), { type: 'module', name: 'ecdn-hash' });
}
