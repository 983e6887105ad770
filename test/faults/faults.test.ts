import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import * as scenarios from './scenarios.js';

// The fast subset of the fault suite, run by `npm test`. `npm run test:faults`
// runs every scenario at full size and records the figures.

const MiB = 1024 * 1024;
let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(() => browser?.close());

test('corrupting seeders are banned at their first proven bad piece; honest ones never', { timeout: 180_000 }, async () => {
  for (const corrupters of [1, 2]) {
    const f = await scenarios.corruptingSeeders(browser, { corrupters, runs: 2, size: 24 * MiB });
    assert.equal(f.completedCorrect, f.runs, JSON.stringify(f));
    assert.equal(f.corruptersBanned, corrupters * f.runs, JSON.stringify(f));
    assert.ok(f.maxBadPiecesBeforeBan <= 3, JSON.stringify(f));
    assert.equal(f.honestBanned, 0, JSON.stringify(f));
  }
});

for (const fault of ['corrupt', 'silent'] as const) {
  test(`a crowd of 4 with a ${fault === 'corrupt' ? 'corrupting' : 'silent'} seeder among its sources: all get the right bytes, no honest page banned`, {
    timeout: 120_000,
  }, async (t) => {
    const f = await scenarios.crowdWithFault(browser, { fault, consumers: 4, size: 4 * MiB, cap: 2_000_000 });
    t.diagnostic(JSON.stringify(f));
    assert.equal(f.completedCorrect, f.consumers, JSON.stringify(f));
    assert.equal(f.honestBanned, 0, JSON.stringify(f));
  });
}

test('a manifest liar is detected and banned, and the fetch completes', { timeout: 120_000 }, async () => {
  const f = await scenarios.manifestLiar(browser, { runs: 1, size: 4 * MiB });
  assert.deepEqual([f.detectedAndBanned, f.completed, f.honestBanned], [1, 1, 0], JSON.stringify(f));
});

test('a seeder lost mid-transfer costs at most the in-flight window', { timeout: 120_000 }, async () => {
  const f = await scenarios.seederLost(browser, { at: 0.5, size: 12 * MiB, limit: 3_000_000 });
  assert.ok(f.completed, JSON.stringify(f));
  assert.ok(f.withinWindow, JSON.stringify(f));
});

test('a server restart mid-swarm: clients come back, the fetch completes, nobody is told DEAD', { timeout: 120_000 }, async (t) => {
  const f = await scenarios.serverRestart(browser, { size: 12 * MiB, downMs: 500 });
  assert.ok(f.fetchUnderWayCompleted, JSON.stringify(f));
  assert.ok(f.fetchAfterRestartCompleted, JSON.stringify(f));
  assert.equal(f.falseDeadReported, 0, JSON.stringify(f));
  // How fast it is whole again is a figure for the full suite (faults.json), not a
  // target for a timed test on a loaded machine: here, that it is whole within the
  // four intervals the scenario waits.
  assert.ok(f.swarmWholeAfterMs >= 0, JSON.stringify(f));
  t.diagnostic(`swarm whole again ${f.swarmWholeAfterMs} ms after the restart (one heartbeat interval: ${f.heartbeatIntervalMs} ms)`);
});

test('a frozen peer is evicted in time; busy pages are not', { timeout: 120_000 }, async () => {
  const f = await scenarios.frozenPeer(browser, { timeoutMs: 3_000, busyPages: 2 });
  assert.ok(f.withinTimeoutPlusInterval, JSON.stringify(f));
  assert.equal(f.falseEvictions, 0, JSON.stringify(f));
});
