// `npm run analyze` writes custom-elements.json from the elements' JSDoc;
// `npm run check:manifest` fails when the committed file is stale.
// `packagejson: false`: scripts/manifest.mjs runs the analyzer into a scratch
// folder, and the analyzer would point package.json's `customElements` there.
export default {
  globs: ['src/components/**/*.ts', 'src/internal/**/*.ts', 'src/events/**/*.ts'],
  exclude: ['**/*.styles.ts', '**/*.test.ts', 'src/internal/icons.ts', 'src/internal/test-fixtures.ts'],
  outdir: '.',
  litelement: true,
  packagejson: false,
};
