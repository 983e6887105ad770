// Builds what the package and the server ship, with esbuild: it bundles
// TypeScript and Lit's decorators in well under a second, so `npm start` and
// `npm test` can always rebuild, and one tool makes both the npm modules and the
// <script>-tag bundle. (Vite's library mode would wrap the same esbuild and
// Rollup for no gain here; Storybook brings its own Vite.)
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';

const root = new URL('..', import.meta.url).pathname;
await rm(`${root}/dist`, { recursive: true, force: true });

const common = {
  absWorkingDir: root,
  bundle: true,
  sourcemap: true,
  target: 'es2022',
  logLevel: 'warning',
  legalComments: 'linked',
};

// The workers (hashing, and the disk for large downloads), each bundled on its own and
// carried inside the library as a string: a page starts one from a blob: URL, which
// works whichever origin served the script, where a separate worker file would have
// to be same-origin. src/engine/start-<name>-worker.ts is replaced by the inline version.
const workers = {};
for (const name of ['hash', 'disk']) {
  const built = await build({
    ...common,
    entryPoints: [`src/engine/${name}-worker.ts`],
    format: 'iife',
    platform: 'browser',
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    write: false,
  });
  workers[name] = built.outputFiles[0].text;
}
const inlineWorkers = {
  name: 'inline-workers',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]engine[\\/]start-(hash|disk)-worker\.ts$/ }, ({ path }) => {
      const name = /start-(hash|disk)-worker\.ts$/.exec(path)[1];
      const start = `start${name[0].toUpperCase()}${name.slice(1)}Worker`;
      return {
        loader: 'js',
        contents: `const source = ${JSON.stringify(workers[name])};
let url;
/** Starts the ${name} worker, carried inline (see scripts/build.mjs). */
export function ${start}() {
  url ??= URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  return new Worker(url, { name: 'ecdn-${name}' });
}
`,
      };
    });
  },
};

await Promise.all([
  // ES modules for `import { fetch } from 'ephemeral-cdn'`: dependencies stay
  // external so that the consumer's bundler dedupes lit and peerjs.
  build({
    ...common,
    entryPoints: { index: 'src/index.ts', components: 'src/components/index.ts' },
    outdir: 'dist',
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    packages: 'external',
    splitting: true,
    plugins: [inlineWorkers],
  }),
  // One file for a plain <script src=".../ephemeralcdn.js">: everything inside,
  // PeerJS and Lit included, defining window.EphemeralCDN and the elements.
  build({
    ...common,
    entryPoints: { ephemeralcdn: 'src/bundle.ts' },
    outdir: 'dist',
    format: 'iife',
    platform: 'browser',
    minify: true,
    plugins: [inlineWorkers],
  }),
]);
console.log('built dist/index.js, dist/components.js, dist/ephemeralcdn.js');
