// `npm run analyze` writes custom-elements.json from the elements' JSDoc;
// `npm run check:manifest` fails when the committed file is stale.
export default {
  globs: ['src/components/**/*.ts', 'src/internal/**/*.ts', 'src/events/**/*.ts'],
  exclude: ['**/*.styles.ts', '**/*.test.ts', 'src/internal/icons.ts', 'src/internal/test-fixtures.ts'],
  outdir: '.',
  litelement: true,
};
