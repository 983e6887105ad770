// The full fault suite: `npm run test:faults` (under ../shared/tools/with-isolated-net
// on machines where tabs need it). Prints a summary and writes
// bench/results/faults.json. `--quick` runs each scenario once, small.
import { writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import { launchChromium } from '../helpers/browser.js';
import * as scenarios from './scenarios.js';

const MiB = 1024 * 1024;
const quick = process.argv.includes('--quick');
const runs = quick ? 2 : 20;
const size = quick ? 8 * MiB : 32 * MiB;

const browser = await launchChromium();
const started = Date.now();
const results: Record<string, unknown> = {};
const step = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
  const t = Date.now();
  const figures = await run();
  results[name] = figures;
  console.log(`${name} (${((Date.now() - t) / 1000).toFixed(0)} s): ${JSON.stringify(figures)}`);
  return figures;
};

try {
  await step('corrupt_1_of_4', () => scenarios.corruptingSeeders(browser, { corrupters: 1, runs, size }));
  await step('corrupt_2_of_4', () => scenarios.corruptingSeeders(browser, { corrupters: 2, runs, size }));
  await step('manifest_liar', () => scenarios.manifestLiar(browser, { runs: quick ? 1 : 5, size: quick ? 4 * MiB : 16 * MiB }));
  await step('silent_and_slow', () => scenarios.silentAndSlow(browser, { runs: quick ? 1 : 5, size: 16 * MiB, honestLimit: 4_000_000 }));
  for (const at of [0.1, 0.5, 0.9]) {
    await step(`seeder_lost_at_${at * 100}pct`, () => scenarios.seederLost(browser, { at, size, limit: 4_000_000 }));
  }
  await step('upload_limit', () =>
    scenarios.uploadLimit(browser, { limits: [1_000_000, 2_000_000, 4_000_000], size: quick ? 4 * MiB : 16 * MiB }),
  );
  await step('server_restart', () => scenarios.serverRestart(browser, { size: quick ? 12 * MiB : 24 * MiB, downMs: 1_000 }));
  await step('frozen_peer', () => scenarios.frozenPeer(browser, { timeoutMs: 3_000, busyPages: quick ? 2 : 4 }));
} finally {
  await browser.close();
}

const report = {
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, chromium: browser.version() },
  seconds: Math.round((Date.now() - started) / 1000),
  results,
};
await mkdir(new URL('../../bench/results/', import.meta.url), { recursive: true });
await writeFile(new URL('../../bench/results/faults.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);
console.log(`wrote bench/results/faults.json (${report.seconds} s)`);
process.exit(0);
