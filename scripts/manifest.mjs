// Generates custom-elements.json with the analyzer, in a stable order: the
// analyzer lists modules and re-exports in the order the file system returns
// them, which differs between checkouts, so the CI freshness check compared
// orderings instead of contents. `--check` fails when the committed file is stale.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const check = process.argv.includes('--check');
// The analyzer takes --outdir relative to the working directory.
const outdir = join('node_modules', '.cache', `cem-${process.pid}`);
execFileSync('npx', ['cem', 'analyze', '--outdir', outdir], { stdio: ['ignore', 'ignore', 'inherit'] });
const manifest = JSON.parse(readFileSync(join(outdir, 'custom-elements.json'), 'utf8'));
rmSync(outdir, { recursive: true, force: true });
const byName = (a, b) => String(a.name).localeCompare(String(b.name));
manifest.modules.sort((a, b) => a.path.localeCompare(b.path));
for (const module of manifest.modules) module.exports?.sort(byName);
const text = `${JSON.stringify(manifest, null, 2)}\n`;

if (!check) {
  writeFileSync('custom-elements.json', text);
  console.log('wrote custom-elements.json');
} else if (readFileSync('custom-elements.json', 'utf8') !== text) {
  console.error('custom-elements.json is stale: run npm run analyze and commit it');
  process.exit(1);
} else {
  console.log('custom-elements.json is up to date');
}
