// `node --import tsx bench/profile.ts [MiB]` (under with-isolated-net here):
// one EphemeralCDN fetch between two tabs with the CDP Profiler running in both,
// then the self time per function of each page, heaviest first. The raw
// .cpuprofile files (open them in Chromium's DevTools) go to bench/results/profiles/.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { createServer } from '../server/create-server.js';
import { build } from 'esbuild';
import { closePage, launchBrowser, openPage } from './lib/browser.js';
import { ecdnFetchIn, ecdnSeed } from './scenarios/transfer.js';
import { MiB, mbps } from './lib/stats.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const size = Number(process.argv[2] ?? 64) * MiB;
const server = createServer({});
const url = await server.listen(0, '127.0.0.1');
const browser = await launchBrowser();
// The engine unminified, so that the profile names its functions.
const bundle = (
  await build({
    entryPoints: ['src/bundle.ts'],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: false,
    keepNames: false,
  })
).outputFiles[0]!.text;
async function openEcdnPage(b: typeof browser, serverUrl: string): Promise<Page> {
  const page = await openPage(b, `${serverUrl}/healthz`);
  // Count what crypto.subtle.digest is asked to do, and how long its calls take on this thread.
  await page.evaluate(() => {
    const subtle = crypto.subtle;
    const digest = subtle.digest.bind(subtle);
    const stats = { calls: 0, bytes: 0, syncMs: 0, asyncMs: 0 };
    Object.assign(window, { __digestStats: stats });
    subtle.digest = async (alg: AlgorithmIdentifier, data: BufferSource) => {
      const t0 = performance.now();
      const p = digest(alg, data);
      const t1 = performance.now();
      stats.calls++;
      stats.bytes += data.byteLength;
      stats.syncMs += t1 - t0;
      const r = await p;
      stats.asyncMs += performance.now() - t0;
      return r;
    };
  });
  await page.addScriptTag({ content: bundle });
  await page.evaluate((server) => window.EphemeralCDN.configure({ server, iceServers: [] }), serverUrl);
  return page;
}

async function startProfiler(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  return async () => ((await cdp.send('Profiler.stop')) as { profile: Profile }).profile;
}

function summarize(name: string, profile: Profile): void {
  const self = new Map<string, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    const f = node.callFrame;
    const file = f.url.split('/').pop() ?? '';
    const key = `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = (profile.endTime - profile.startTime) / 1000;
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 18);
  console.log(`\n${name}: ${total.toFixed(0)} ms profiled`);
  for (const [key, us] of rows)
    console.log(`  ${(us / 1000).toFixed(0).padStart(6)} ms  ${((us / 1000 / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
}

try {
  const seeder = await openEcdnPage(browser, url);
  const hash = await ecdnSeed(seeder, size, 4242);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const consumer = await openEcdnPage(browser, url);
  const stopSeeder = await startProfiler(seeder);
  const stopConsumer = await startProfiler(consumer);
  const r = await ecdnFetchIn(consumer, hash);
  const [ps, pc] = await Promise.all([stopSeeder(), stopConsumer()]);
  console.log(`${size / MiB} MiB in ${r.ms.toFixed(0)} ms = ${mbps(size, r.ms).toFixed(1)} MB/s`);
  console.log('consumer crypto.subtle.digest:', await consumer.evaluate(() => (window as any).__digestStats));
  summarize('seeder', ps);
  summarize('consumer', pc);
  const dir = new URL('./results/profiles/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL('seeder.cpuprofile', dir), JSON.stringify(ps));
  writeFileSync(new URL('consumer.cpuprofile', dir), JSON.stringify(pc));
  await closePage(seeder);
  await closePage(consumer);
} finally {
  await browser.close();
  await server.close();
}
process.exit(0);
