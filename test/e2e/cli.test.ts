import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { closePage } from '../helpers/browser.js';
import { type CliLine, type CliProcess, runCli } from '../helpers/cli-process.js';
import { fetchDigest, openEcdnPage, peerId, recordWatch, seedRandom } from '../helpers/pages.js';
import { writeRandomFile } from '../helpers/random.js';
import { startServer } from '../helpers/server.js';
import { useSession } from '../helpers/session.js';

// The command line as a user runs it: `ephemeral-cdn` spawned as a child process
// (its real bin), the real server, real Chromium pages at the other end, WebRTC
// between them. Exit statuses, SIGINT and the --json lines are what is checked.

const MiB = 1024 * 1024;
/** The large file, seeded from disk and fetched to disk and to stdout. */
const LARGE = Number(process.env.ECDN_CLI_LARGE_MIB ?? 96) * MiB;
/**
 * Most a CLI process may have resident at its peak, whatever the file's size: about
 * 150 MB was measured for 128 MiB and for 1 GiB alike (Node, tsx, the engine and
 * node-datachannel), where holding the file would add the file (100 MB here).
 */
const RSS_LIMIT = 200 * 1e6;
const session = useSession();
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecdn-cli-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Options every run gets: this test's server, no ICE server (loopback needs none), JSON lines. */
function common(): string[] {
  return ['--server', session.server.url, '--ice-servers', '[]', '--json'];
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A fresh directory to run a fetch in. */
async function workdir(name: string): Promise<string> {
  const path = join(dir, name);
  await rm(path, { recursive: true, force: true });
  await mkdir(path);
  return path;
}

/** The exit status, failing the test if the process has not exited within `timeout` ms. */
async function exitOf(cli: CliProcess, timeout = 30_000): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Still running after ${timeout} ms. stderr:\n${cli.stderr()}`)), timeout);
  });
  try {
    return await Promise.race([cli.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

const is =
  (type: string, fields: Record<string, unknown> = {}) =>
  (line: CliLine) =>
    line.type === type && Object.entries(fields).every(([key, value]) => line[key] === value);

test('seed: a page fetches the file by its link; Ctrl-C withdraws it at once and a watcher sees it die', { timeout: 60_000 }, async () => {
  const bytes = randomBytes(3 * MiB + 123);
  const file = join(dir, 'results.csv');
  await writeFile(file, bytes);
  const seeder = runCli(['seed', file, ...common()]);
  const seeding = await seeder.waitFor(is('seeding'));
  const hash = sha256(bytes);
  assert.equal(seeding.hash, hash);
  assert.equal(seeding.link, `${session.server.url}/f/${hash}#name=results.csv&type=text%2Fcsv`);
  assert.deepEqual(seeding.embed, [
    `<script src="${session.server.url}/ephemeralcdn.js"></script>`,
    `<ecdn-download hash="${hash}" filename="results.csv" size="${bytes.length}"></ecdn-download>`,
  ]);

  // The link opens the file's page, whose script fetches it from the CLI.
  const page = await openEcdnPage(session.browser, session.server.url);
  assert.equal(await fetchDigest(page, hash, { reseed: false }), hash);
  const served = await seeder.waitFor((line) => is('progress', { phase: 'seeding' })(line) && line.fetched === 1);
  assert.ok((served.bytesUp as number) >= bytes.length);

  const watcher = await openEcdnPage(session.browser, session.server.url);
  await recordWatch(watcher, hash);
  await waitUntil(watcher, 'alive', true);
  seeder.child.kill('SIGINT');
  const sent = Date.now();
  // The server's heartbeat timeout is 30 s: seeing the death sooner means the CLI withdrew it.
  await waitUntil(watcher, 'alive', false, 5_000);
  const seenAfter = Date.now() - sent;
  assert.equal(await exitOf(seeder), 0);
  assert.ok(seenAfter < 5_000, `the watcher saw the file die ${seenAfter} ms after Ctrl-C`);
  assert.ok(seeder.lines().some(is('warning', { code: 'LAST_SEEDER', hash })), 'it warned that it was the last seeder');
  assert.deepEqual(seeder.lines().at(-1), {
    type: 'done',
    command: 'seed',
    reason: 'interrupted',
    files: [{ hash, name: 'results.csv', bytesUp: served.bytesUp, fetched: 1 }],
  });
  for (const p of [page, watcher]) await closePage(p);
});

test('fetch: a page seeds; the CLI fetches it from its share link to disk, and to stdout', { timeout: 60_000 }, async () => {
  const page = await openEcdnPage(session.browser, session.server.url);
  const hash = await seedRandom(page, 4 * MiB + 5);
  const cwd = await workdir('fetch');
  const link = `${session.server.url}/f/${hash}#name=report%20final.bin&type=application%2Foctet-stream`;

  const toDisk = runCli(['fetch', link, ...common()], { cwd });
  assert.equal(await exitOf(toDisk), 0, toDisk.stderr());
  const done = toDisk.lines().at(-1)!;
  assert.equal(done.type, 'done');
  assert.equal(done.path, join(cwd, 'report final.bin'), "saved under the link's name");
  assert.equal(sha256(await readFile(join(cwd, 'report final.bin'))), hash);
  assert.deepEqual(await readdir(cwd), ['report final.bin'], 'no partial file or state left');
  assert.ok(toDisk.lines().some((line) => is('progress', { phase: 'fetching' })(line) && line.total === 4 * MiB + 5));

  const toStdout = runCli(['fetch', hash, '-o', '-', '--no-seed', ...common()], { cwd });
  assert.equal(await exitOf(toStdout), 0, toStdout.stderr());
  assert.equal(sha256(toStdout.stdout()), hash, 'stdout carries the file and nothing else');
  assert.equal(toStdout.lines().at(-1)!.path, '-');

  // A reader that stops early (`| head`): the fetch ends quietly, as for SIGPIPE.
  const cutShort = runCli(['fetch', hash, '-o', '-', '--no-seed', ...common()], { cwd });
  cutShort.child.stdout.once('data', () => cutShort.child.stdout.destroy());
  assert.equal(await exitOf(cutShort), 141);
  assert.ok(!cutShort.lines().some(is('error')), 'no error line');

  // The same fetch again: the file is there now, and is not replaced without --force.
  const again = runCli(['fetch', link, ...common()], { cwd });
  assert.equal(await exitOf(again), 5);
  assert.equal(again.lines().at(-1)!.code, 'OUTPUT_EXISTS');
  await closePage(page);
});

test('two CLI fetchers and a page in one swarm: the second fetcher gets pieces from several peers', { timeout: 60_000 }, async () => {
  const page = await openEcdnPage(session.browser, session.server.url);
  const size = 12 * MiB;
  const hash = await seedRandom(page, size);
  const first = runCli(['fetch', hash, '--keep-seeding', '--upload-limit', '1.5M', ...common()], { cwd: await workdir('first') });
  const firstDone = await first.waitFor(is('done'));
  // Both sources slow (about 8 s for the file alone), so that neither can serve it all before
  // the other is connected: a first dial here sometimes fails, and the download dials again
  // within a few seconds.
  await page.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 1_500_000 }));
  const second = runCli(['fetch', hash, '--no-seed', ...common()], { cwd: await workdir('second') });
  assert.equal(await exitOf(second), 0, second.stderr());
  const secondDone = second.lines().at(-1)!;
  const suppliers = secondDone.suppliers as string[];
  assert.ok(suppliers.includes(await peerId(page)), `the page supplied pieces: ${suppliers}`);
  assert.ok(suppliers.includes(firstDone.peerId as string), `the first fetcher supplied pieces: ${suppliers}`);
  assert.equal(sha256(await readFile(secondDone.path as string)), hash);
  first.child.kill('SIGINT');
  assert.equal(await exitOf(first), 0);
  await closePage(page);
});

test('a fetch interrupted at about half resumes from its partial file and downloads only the rest', { timeout: 60_000 }, async () => {
  const page = await openEcdnPage(session.browser, session.server.url);
  const size = 8 * MiB;
  const hash = await seedRandom(page, size);
  // Slow enough (about 4 s for the file) to stop it in the middle.
  await page.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 2_000_000 }));
  const cwd = await workdir('resume');
  const out = join(cwd, 'big.bin');
  const first = runCli(['fetch', hash, '-o', out, ...common()], { cwd });
  await first.waitFor((line) => is('progress', { phase: 'fetching' })(line) && (line.received as number) >= size * 0.4);
  first.child.kill('SIGINT');
  assert.equal(await exitOf(first), 130);
  assert.equal(first.lines().at(-1)!.code, 'ABORTED');
  assert.ok(first.lines().some(is('warning', { code: 'PARTIAL_KEPT' })));
  assert.ok(!existsSync(out), 'nothing under the final name');
  const partial = `big.bin.${hash.slice(0, 12)}.part`;
  assert.deepEqual((await readdir(cwd)).sort(), [partial, `${partial}.state`], 'the partial file and its state');

  await page.evaluate(() => window.EphemeralCDN.configure({ uploadLimit: 0 }));
  const second = runCli(['fetch', hash, '-o', out, ...common()], { cwd });
  assert.equal(await exitOf(second), 0, second.stderr());
  const done = second.lines().at(-1)!;
  assert.ok((done.resumedPieces as number) >= 3, `${done.resumedPieces} pieces resumed`);
  assert.ok((done.bytesDown as number) <= size * 0.65, `downloaded ${done.bytesDown} of ${size} bytes the second time`);
  assert.equal(sha256(await readFile(out)), hash);
  assert.deepEqual(await readdir(cwd), ['big.bin'], 'the partial file and its state are gone');
  await closePage(page);
});

test('seed --until-fetched 1 stops by itself once the file was fetched, and --timeout fails with TIMEOUT when it was not', {
  timeout: 60_000,
}, async () => {
  const file = join(dir, 'shot.png');
  const bytes = randomBytes(256 * 1024);
  await writeFile(file, bytes);
  const seeder = runCli(['seed', file, '--until-fetched', '1', ...common()]);
  const { hash, embed } = await seeder.waitFor(is('seeding'));
  assert.match((embed as string[])[1]!, /^<ecdn-img hash="[0-9a-f]{64}" alt="shot.png"><\/ecdn-img>$/);
  const page = await openEcdnPage(session.browser, session.server.url);
  assert.equal(await fetchDigest(page, hash as string), hash);
  assert.equal(await exitOf(seeder), 0);
  assert.equal(seeder.lines().at(-1)!.reason, 'fetched');
  assert.ok(!seeder.lines().some(is('warning', { code: 'LAST_SEEDER' })), 'the page holds it too: no last-seeder warning');
  await closePage(page);

  const unfetched = runCli(['seed', file, '--until-fetched', '1', '--timeout', '1', ...common()]);
  assert.equal(await exitOf(unfetched), 13);
  assert.equal(unfetched.lines().at(-1)!.code, 'TIMEOUT');
});

test('a dead hash exits with DEAD and one line; status says dead or alive', { timeout: 60_000 }, async () => {
  const dead = 'de'.repeat(32);
  const cwd = await workdir('dead');
  const human = runCli(['fetch', dead, '--server', session.server.url, '--ice-servers', '[]'], { cwd });
  assert.equal(await exitOf(human), 10);
  assert.equal(human.stderr(), `error (DEAD): The file ${dead} is dead: no seeder holds it any more.\n`);
  assert.deepEqual(await readdir(cwd), [], 'nothing written');
  const json = runCli(['fetch', dead, ...common()], { cwd });
  assert.equal(await exitOf(json), 10);
  assert.deepEqual(json.lines().at(-1), {
    type: 'error',
    code: 'DEAD',
    message: `The file ${dead} is dead: no seeder holds it any more.`,
    exitCode: 10,
  });

  const status = runCli(['status', dead, '--server', session.server.url]);
  assert.equal(await exitOf(status), 10);
  assert.equal(status.stdout().toString(), `${dead}: dead, nobody holds it\n`);
  const page = await openEcdnPage(session.browser, session.server.url);
  const alive = await seedRandom(page, 1000);
  const statusAlive = runCli(['status', `${session.server.url}/f/${alive}#name=x`, '--json']);
  assert.equal(await exitOf(statusAlive), 0);
  assert.deepEqual(statusAlive.lines(), [{ type: 'status', hash: alive, alive: true, seeders: 1, leechers: 0 }]);
  await closePage(page);
});

test('bad input fails with its own status and one line, before any network use', { timeout: 60_000 }, async () => {
  // A server that counts connections: none may arrive.
  let connections = 0;
  const trap: Server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
  const { port } = trap.address() as { port: number };
  const server = `http://127.0.0.1:${port}`;
  const cwd = await workdir('bad');
  await writeFile(join(cwd, 'taken.bin'), 'mine');
  const cases: Array<{ args: string[]; status: number; code: string; message: RegExp }> = [
    { args: ['fetch', 'abc123'], status: 3, code: 'INVALID_HASH', message: /neither a file hash .* nor a share link/ },
    { args: ['fetch', `${server}/f/${'0'.repeat(63)}`], status: 3, code: 'INVALID_HASH', message: /63 hexadecimal characters/ },
    { args: ['status', 'xyz'], status: 3, code: 'INVALID_HASH', message: /neither a file hash/ },
    { args: ['seed', join(cwd, 'missing.csv')], status: 4, code: 'INPUT', message: /missing\.csv: no such file/ },
    { args: ['seed', cwd], status: 4, code: 'INPUT', message: /is a directory/ },
    { args: ['fetch', 'ab'.repeat(32), '-o', 'taken.bin'], status: 5, code: 'OUTPUT_EXISTS', message: /taken\.bin exists: pass --force/ },
    { args: ['fetch', 'ab'.repeat(32), '-o', 'no/such/dir/x'], status: 6, code: 'OUTPUT', message: /is not a directory/ },
    { args: ['fetch', 'ab'.repeat(32), '--timeout', 'soon'], status: 2, code: 'USAGE', message: /--timeout must be/ },
  ];
  try {
    for (const { args, status, code, message } of cases) {
      const cli = runCli([...args, '--server', server, '--json'], { cwd });
      assert.equal(await exitOf(cli), status, `${args.join(' ')}: ${cli.stderr()}`);
      const lines = cli.lines();
      assert.equal(lines.length, 1, `one line for ${args.join(' ')}`);
      assert.equal(lines[0]!.code, code);
      assert.match(lines[0]!.message as string, message);
    }
    assert.equal(connections, 0, 'nothing touched the network');
    assert.equal(await readFile(join(cwd, 'taken.bin'), 'utf8'), 'mine');
    assert.deepEqual((await readdir(cwd)).sort(), ['taken.bin']);
  } finally {
    trap.close();
  }
});

test('large files: seeded from disk, fetched to disk and to stdout, in memory that does not grow with the file', {
  timeout: 120_000,
}, async () => {
  const file = join(dir, 'large.bin');
  const hash = await writeRandomFile(file, LARGE);
  const seeder = runCli(['seed', file, ...common()]);
  assert.equal((await seeder.waitFor(is('seeding'), 60_000)).hash, hash);
  const cwd = await workdir('large');
  const toDisk = runCli(['fetch', hash, '-o', 'large.bin', '--keep-seeding', ...common()], { cwd });
  await toDisk.waitFor(is('done'), 90_000);
  const toStdout = runCli(['fetch', hash, '-o', '-', '--keep-seeding', ...common()], { cwd });
  await toStdout.waitFor(is('done'), 90_000);
  const peaks = { seeder: peakRss(seeder), toDisk: peakRss(toDisk), toStdout: peakRss(toStdout) };
  for (const cli of [seeder, toDisk, toStdout]) cli.child.kill('SIGINT');
  for (const cli of [seeder, toDisk, toStdout]) assert.equal(await exitOf(cli), 0);
  for (const [who, peak] of Object.entries(peaks)) {
    assert.ok(peak < RSS_LIMIT, `${who} peaked at ${(peak / 1e6).toFixed(0)} MB for a ${(LARGE / 1e6).toFixed(0)} MB file`);
  }
  assert.equal(sha256(toStdout.stdout()), hash);
  assert.equal(await fileDigest(join(cwd, 'large.bin')), hash);
  assert.deepEqual(await readdir(cwd), ['large.bin']);
});

test("ICE servers: the server's by default, as pages get them; --ice-servers overrides them", { timeout: 60_000 }, async () => {
  // A STUN "server" that only counts the binding requests it gets, handed out by a server of its own.
  const stun = createSocket('udp4');
  let requests = 0;
  stun.on('message', () => requests++);
  await new Promise<void>((resolve) => stun.bind(0, '127.0.0.1', resolve));
  const server = await startServer({ ice: { iceServers: [{ urls: `stun:127.0.0.1:${stun.address().port}` }] } });
  const cwd = await workdir('ice');
  const file = join(dir, 'ice.bin');
  const bytes = randomBytes(64 * 1024);
  await writeFile(file, bytes);
  const seeder = runCli(['seed', file, '--server', server.url, '--ice-servers', '[]', '--json']);
  try {
    const { hash } = await seeder.waitFor(is('seeding'));
    const overridden = runCli(
      ['fetch', hash as string, '-o', 'a.bin', '--no-seed', '--server', server.url, '--ice-servers', '[]', '--json'],
      { cwd },
    );
    assert.equal(await exitOf(overridden), 0, overridden.stderr());
    assert.equal(requests, 0, 'with --ice-servers [] nobody asked the STUN server');
    const handedOut = runCli(['fetch', hash as string, '-o', 'b.bin', '--no-seed', '--server', server.url, '--json'], { cwd });
    assert.equal(await exitOf(handedOut), 0, handedOut.stderr());
    assert.ok(requests > 0, "without it, the fetcher asked the server's STUN server");
    assert.equal(sha256(await readFile(join(cwd, 'b.bin'))), hash);
  } finally {
    seeder.child.kill('SIGINT');
    await exitOf(seeder);
    await server.close();
    stun.close();
  }
});

/** A running process's peak resident memory, in bytes (Linux). */
function peakRss(cli: CliProcess): number {
  const status = readFileSync(`/proc/${cli.child.pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)![1]) * 1024;
}

/** SHA-256 of a file, read a slice at a time. */
async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Waits until the latest status a page's `recordWatch` recorded has `key` equal to `value`. */
async function waitUntil(page: Page, key: 'alive', value: boolean, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const latest = await page.evaluate(() => (window as unknown as { watched: Array<{ alive: boolean }> }).watched.at(-1));
    if (latest?.[key] === value) return;
    if (Date.now() > deadline) throw new Error(`The watch did not report ${key}=${value} within ${timeout} ms.`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
