// `node --import tsx bench/profile-summary.ts FILE.cpuprofile [N]`: self time per
// function (and per file) of a V8 CPU profile, heaviest first.
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
const [file, n = '25'] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
};
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const byFn = new Map<string, number>();
const byFile = new Map<string, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const f = byId.get(profile.samples[i]!)!.callFrame;
  const path = f.url
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\//, 'node_modules/')
    .replace(/.*\/work\/main\//, '');
  const fn = `${f.functionName || '(anonymous)'} ${path ? `${path}:${f.lineNumber + 1}` : ''}`.trim();
  const dt = profile.timeDeltas[i] ?? 0;
  byFn.set(fn, (byFn.get(fn) ?? 0) + dt);
  const where = path
    ? path.startsWith('node_modules/')
      ? path.split('/').slice(0, 2).join('/')
      : path.startsWith('node:')
        ? 'node: (core)'
        : path
    : f.functionName;
  byFile.set(where, (byFile.get(where) ?? 0) + dt);
}
const total = (profile.endTime - profile.startTime) / 1000;
const show = (title: string, map: Map<string, number>) => {
  console.log(`\n${title} (${total.toFixed(0)} ms profiled)`);
  for (const [key, us] of [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(n))) {
    console.log(`  ${(us / 1000).toFixed(0).padStart(7)} ms  ${((us / 1000 / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
  }
};
show('self time by file', byFile);
show('self time by function', byFn);
