// `node --import tsx bench/profile-large.ts [MiB=1024] [--trace] [--cpu] [--storage=disk|memory] [--bare] [--hog]`
// (under the browser lock and with-isolated-net here): the 'large' scenario's transfer
// once, a file from disk seeded in one tab and streamed by another, with the CPU time of
// every thread of the browser counted from /proc (which thread of which tab spends the
// two cores), and with --trace a Chrome trace of the transfer: the main threads' tasks
// over 50 ms with what ran inside them, and the busiest threads. The trace goes to
// /tmp/ecdn-large-trace.json (open it in DevTools' Performance panel). --bare measures
// the bare data channel between two tabs of the same browser instead, for comparison.
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import type { Page } from 'playwright-core';
import { createServer } from '../server/create-server.js';
import { writeRandomFile } from '../test/helpers/random.js';
import { seedFileFromDisk } from '../test/helpers/pages.js';
import { launchProfileBrowser } from './lib/profile-browser.js';
import { MiB, mbps } from './lib/stats.js';
import { bareRun } from './scenarios/transfer.js';

const args = process.argv.slice(2);
const size = Number(args.find((a) => /^\d+$/.test(a)) ?? 1024) * MiB;
const tracing = args.includes('--trace');
const sampling = args.includes('--cpu');
const bare = args.includes('--bare');
// A worker spinning in the first tab throughout: what CPU taken from the transfer does to its threads.
const hog = args.includes('--hog');
const storage = (args.find((a) => a.startsWith('--storage='))?.slice(10) ?? 'disk') as 'disk' | 'memory';

// The engine unminified, workers included, so that the trace names its functions.
async function unminifiedBundle(): Promise<string> {
  const workers: Record<string, string> = {};
  for (const name of ['hash', 'disk']) {
    const built = await build({
      entryPoints: [`src/engine/${name}-worker.ts`],
      bundle: true,
      format: 'iife',
      write: false,
      target: 'es2022',
    });
    workers[name] = built.outputFiles[0]!.text;
  }
  const inline: Plugin = {
    name: 'inline-workers',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]engine[\\/]start-(hash|disk)-worker\.ts$/ }, ({ path }) => {
        const name = /start-(hash|disk)-worker\.ts$/.exec(path)![1]!;
        const start = `start${name[0]!.toUpperCase()}${name.slice(1)}Worker`;
        return {
          loader: 'js',
          contents: `const source = ${JSON.stringify(workers[name])}; let url;
export function ${start}() { url ??= URL.createObjectURL(new Blob([source], { type: 'text/javascript' })); return new Worker(url, { name: 'ecdn-${name}' }); }`,
        };
      });
    },
  };
  const built = await build({
    entryPoints: ['src/bundle.ts'],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    plugins: [inline],
  });
  return built.outputFiles[0]!.text;
}

/** CPU time (ms) of every thread of the processes below `root`, by "pid/thread name". */
function threadTimes(root: number): Map<string, number> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {}
  }
  const pids: number[] = [];
  const walk = (pid: number) => {
    pids.push(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(root);
  const tick = 1000 / 100;
  const times = new Map<string, number>();
  for (const pid of pids) {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ms = (Number(fields[11]) + Number(fields[12])) * tick;
        const key = `${pid}${processType(pid)}/${comm}`;
        times.set(key, (times.get(key) ?? 0) + ms);
      } catch {}
    }
  }
  return times;
}

/** The kind of Chromium process `pid` is, from its command line: "" for the browser itself. */
function processType(pid: number): string {
  try {
    // Chromium rewrites its children's command lines, with spaces between the arguments.
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
    const type = cmd.find((a) => a.startsWith('--type='))?.slice(7);
    const sub = cmd.find((a) => a.startsWith('--utility-sub-type='))?.slice(19);
    return type ? ` ${sub ?? type}` : ' browser';
  } catch {
    return '';
  }
}

function browserPid(profileDir: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(`--user-data-dir=${profileDir}`) && !cmd.includes('--type=')) return Number(entry);
    } catch {}
  }
  throw new Error('browser process not found');
}

async function startTrace(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  const events: unknown[] = [];
  cdp.on('Tracing.dataCollected', (e: { value: unknown[] }) => events.push(...e.value));
  const complete = new Promise<void>((resolve) => cdp.once('Tracing.tracingComplete', () => resolve()));
  await cdp.send('Tracing.start', {
    transferMode: 'ReportEvents',
    traceConfig: {
      includedCategories: ['toplevel', 'devtools.timeline', 'v8.execute', 'disabled-by-default-v8.gc', 'blink.user_timing', '__metadata'],
    },
  } as never);
  return async () => {
    await cdp.send('Tracing.end');
    await complete;
    return events as TraceEvent[];
  };
}

/** The CDP sampling profiler on `page`'s main thread; resolves its stop, which resolves the profile. */
async function startProfiler(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
  await cdp.send('Profiler.start');
  return async () => ((await cdp.send('Profiler.stop')) as { profile: unknown }).profile;
}

interface TraceEvent {
  name: string;
  cat: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  args?: Record<string, any>;
}

function summarizeTrace(events: TraceEvent[], labels: Map<number, string>): void {
  const threadName = new Map<string, string>();
  for (const e of events) if (e.ph === 'M' && e.name === 'thread_name') threadName.set(`${e.pid}/${e.tid}`, e.args?.name);
  const label = (e: TraceEvent) => `${labels.get(e.pid) ?? e.pid}/${threadName.get(`${e.pid}/${e.tid}`) ?? e.tid}`;
  const tasks = events.filter((e) => e.ph === 'X' && (e.name === 'ThreadControllerImpl::RunTask' || e.name === 'RunTask') && e.dur);
  const busy = new Map<string, { ms: number; count: number; over50: number; longest: number }>();
  for (const t of tasks) {
    const k = label(t);
    const b = busy.get(k) ?? { ms: 0, count: 0, over50: 0, longest: 0 };
    b.ms += t.dur! / 1000;
    b.count++;
    if (t.dur! > 50_000) b.over50++;
    b.longest = Math.max(b.longest, t.dur! / 1000);
    busy.set(k, b);
  }
  console.log('\ntasks by thread (trace): busy ms, tasks, over 50 ms, longest');
  for (const [k, b] of [...busy].sort((a, c) => c[1].ms - a[1].ms).slice(0, 16))
    console.log(
      `  ${b.ms.toFixed(0).padStart(7)} ms ${String(b.count).padStart(7)} ${String(b.over50).padStart(4)} ${b.longest.toFixed(0).padStart(5)} ms  ${k}`,
    );
  // The main threads' long tasks, with the events inside them.
  const mains = new Set([...threadName].filter(([, n]) => n === 'CrRendererMain').map(([k]) => k));
  const byThread = new Map<string, TraceEvent[]>();
  for (const e of events) {
    if (e.ph !== 'X' || !e.dur) continue;
    const k = `${e.pid}/${e.tid}`;
    if (!mains.has(k)) continue;
    byThread.set(k, [...(byThread.get(k) ?? []), e]);
  }
  for (const [k, list] of byThread) {
    const long = list.filter((e) => (e.name === 'ThreadControllerImpl::RunTask' || e.name === 'RunTask') && e.dur! > 30_000);
    const whole = new Map<string, number>();
    for (const e of list) {
      const name = describe(e);
      whole.set(name, (whole.get(name) ?? 0) + e.dur! / 1000);
    }
    console.log(`\n${labels.get(list[0]!.pid) ?? k} main thread: ${long.length} tasks over 30 ms; inclusive time by event:`);
    for (const [name, ms] of [...whole].sort((a, c) => c[1] - a[1]).slice(0, 20)) console.log(`  ${ms.toFixed(0).padStart(7)} ms  ${name}`);
    for (const t of long.sort((a, c) => c.dur! - a.dur!).slice(0, 8)) {
      const inside = list.filter((e) => e !== t && e.ts >= t.ts && e.ts + e.dur! <= t.ts + t.dur! && e.dur! > 2000);
      const parts = new Map<string, number>();
      for (const e of inside) parts.set(describe(e), (parts.get(describe(e)) ?? 0) + e.dur! / 1000);
      console.log(
        `  task ${(t.dur! / 1000).toFixed(0)} ms at ${((t.ts - list[0]!.ts) / 1e6).toFixed(1)} s: ${[...parts]
          .sort((a, c) => c[1] - a[1])
          .slice(0, 8)
          .map(([n, ms]) => `${n} ${ms.toFixed(0)}`)
          .join('; ')}`,
      );
    }
  }
}

function describe(e: TraceEvent): string {
  const data = e.args?.data ?? e.args?.beginData;
  if (e.name === 'FunctionCall' && data) return `FunctionCall ${data.functionName || '(anon)'} :${data.lineNumber}`;
  if (e.name === 'EventDispatch' && data) return `EventDispatch ${data.type}`;
  if (e.name === 'TimerFire') return 'TimerFire';
  return e.name;
}

const server = createServer({});
const url = await server.listen(0, '127.0.0.1');
const profile = await launchProfileBrowser('profile-large');
try {
  const bundle = await unminifiedBundle();
  await profile.context.route('**/ephemeralcdn.js', (route) => route.fulfill({ body: bundle, contentType: 'text/javascript' }));
  // Every RTCPeerConnection a tab makes, for the transport's packet counts.
  const instrument = () => {
    const Original = RTCPeerConnection;
    const all: RTCPeerConnection[] = [];
    Object.assign(window, { __pcs: all });
    window.RTCPeerConnection = class extends Original {
      constructor(config?: RTCConfiguration) {
        super(config);
        all.push(this);
      }
    } as typeof RTCPeerConnection;
    // Every channel a tab sends on, and its queue sampled every 10 ms while \`__sampling\`.
    const channels = new Set<RTCDataChannel>();
    // How long the calls that may wait on another thread or process block this one.
    const blocking: Record<string, { calls: number; ms: number; over10: number; longest: number }> = {};
    Object.assign(window, { __blocking: blocking });
    const timed = <T extends (...args: never[]) => unknown>(name: string, f: T): T =>
      function (this: unknown, ...args: never[]) {
        const t0 = performance.now();
        try {
          return f.apply(this, args);
        } finally {
          const ms = performance.now() - t0;
          const b = (blocking[name] ??= { calls: 0, ms: 0, over10: 0, longest: 0 });
          b.calls++;
          b.ms += ms;
          if (ms > 10) b.over10++;
          b.longest = Math.max(b.longest, ms);
        }
      } as T;
    const send = timed('RTCDataChannel.send', RTCDataChannel.prototype.send);
    RTCDataChannel.prototype.send = function (this: RTCDataChannel, data: never) {
      channels.add(this);
      return send.call(this, data);
    };
    Blob.prototype.slice = timed('Blob.slice', Blob.prototype.slice);
    Worker.prototype.postMessage = timed('Worker.postMessage', Worker.prototype.postMessage);
    const samples: number[] = [];
    const longTasks: number[] = [];
    Object.assign(window, { __queueSamples: samples, __longTasks: longTasks });
    new PerformanceObserver((list) => {
      if (!(window as unknown as { __sampling?: boolean }).__sampling) return;
      for (const entry of list.getEntries()) longTasks.push(Math.round(entry.duration));
    }).observe({ type: 'longtask' });
    setInterval(() => {
      if (!(window as unknown as { __sampling?: boolean }).__sampling) return;
      let most = 0;
      for (const c of channels) most = Math.max(most, c.bufferedAmount);
      samples.push(most);
    }, 10);
  };
  // tsx names the functions it compiles with a helper the page lacks.
  await profile.context.addInitScript({ content: `var __name = (f) => f; (${instrument.toString()})();` });
  const root = browserPid(join(profile.dir, 'profile'));
  const labels = new Map<number, string>();
  let a: Page;
  let b: Page;
  let run: () => Promise<number>;
  if (bare) {
    a = await profile.openPage(url, storage);
    b = await profile.openPage(url, storage);
    run = async () => (await bareRun({ a, b }, size)).ms;
  } else {
    const path = join(profile.dir, 'large.bin');
    await writeRandomFile(path, size);
    a = await profile.openPage(url, 'disk');
    await a.evaluate(() => window.EphemeralCDN.seed(new Uint8Array([1, 2, 3])));
    const hash = await seedFileFromDisk(a, path);
    b = await profile.openPage(url, storage);
    run = async () => {
      const t0 = performance.now();
      await b.evaluate(async (hash) => {
        await window.EphemeralCDN.stream(hash, { reseed: false }).pipeTo(new WritableStream());
      }, hash);
      return performance.now() - t0;
    };
  }
  await a.evaluate(() => (document.title = 'seeder'));
  await b.evaluate(() => (document.title = 'consumer'));
  const stopTrace = tracing ? await startTrace(b) : undefined;
  const stopProfilers = sampling ? [await startProfiler(a), await startProfiler(b)] : [];
  if (hog) {
    await a.evaluate(() => {
      const url = URL.createObjectURL(new Blob(['for (;;) {}'], { type: 'text/javascript' }));
      Object.assign(window, { __hog: new Worker(url) });
    });
  }
  const before = threadTimes(root);
  const packets = (page: Page) =>
    page.evaluate(async () => {
      const sum = { pcs: 0, packetsSent: 0, packetsReceived: 0, bytesSent: 0, bytesReceived: 0 };
      for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
        sum.pcs++;
        (await pc.getStats()).forEach((r: Record<string, number> & { type: string }) => {
          if (r.type !== 'transport') return;
          sum.packetsSent += r.packetsSent ?? 0;
          sum.packetsReceived += r.packetsReceived ?? 0;
          sum.bytesSent += r.bytesSent ?? 0;
          sum.bytesReceived += r.bytesReceived ?? 0;
        });
      }
      return sum;
    });
  const [pa0, pb0] = [await packets(a), await packets(b)];
  for (const page of [a, b]) await page.evaluate(() => Object.assign(window, { __sampling: true }));
  const ms = await run();
  const after = threadTimes(root);
  if (hog) await a.evaluate(() => (window as unknown as { __hog: Worker }).__hog.terminate());
  const [pa1, pb1] = [await packets(a), await packets(b)];
  for (const [name, page] of [
    ['seeder/a', a],
    ['consumer/b', b],
  ] as const) {
    const tasks = await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks);
    const blocking = await page.evaluate(() => (window as unknown as { __blocking: Record<string, unknown> }).__blocking);
    console.log(`${name} calls: ${JSON.stringify(blocking, (_k, v) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v))}`);
    console.log(
      `${name} long tasks: ${tasks.length}, ${tasks.filter((t) => t > 50).length} over 50 ms, longest ${Math.max(0, ...tasks)} ms`,
    );
  }
  const queue = await a.evaluate(() => (window as unknown as { __queueSamples: number[] }).__queueSamples);
  const share = (below: number) => ((queue.filter((q) => q < below).length / Math.max(1, queue.length)) * 100).toFixed(0);
  console.log(
    `sender's channel queue, ${queue.length} samples: under 64 KiB ${share(65536)}%, under 512 KiB ${share(524288)}%, under 1 MiB ${share(1 << 20)}%, under 2 MiB ${share(2 << 20)}%`,
  );
  for (const [name, p0, p1] of [
    ['seeder/a', pa0, pa1],
    ['consumer/b', pb0, pb1],
  ] as const) {
    const d = (k: keyof typeof p0) => p1[k] - p0[k];
    console.log(
      `${name}: ${p1.pcs} peer connections, sent ${d('packetsSent')} packets (${(d('bytesSent') / Math.max(1, d('packetsSent'))).toFixed(0)} B each), received ${d('packetsReceived')} (${(d('bytesReceived') / Math.max(1, d('packetsReceived'))).toFixed(0)} B each)`,
    );
  }
  const events = stopTrace ? await stopTrace() : [];
  for (const [i, stop] of stopProfilers.entries()) {
    const file = `/tmp/ecdn-large-${i ? 'consumer' : 'seeder'}.cpuprofile`;
    writeFileSync(file, JSON.stringify(await stop()));
    console.log(`main thread profile: ${file} (bench/profile-summary.ts reads it)`);
  }
  console.log(`${bare ? 'bare' : storage} ${size / MiB} MiB in ${ms.toFixed(0)} ms = ${mbps(size, ms).toFixed(1)} MB/s`);
  for (const e of events) if (e.ph === 'M' && e.name === 'process_labels' && e.args?.labels) labels.set(e.pid, String(e.args.labels));
  const rows = [...after]
    .map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const)
    .filter(([, v]) => v > 0)
    .sort((x, y) => y[1] - x[1]);
  const total = rows.reduce((s, [, v]) => s + v, 0);
  console.log(`\nCPU by thread (/proc): ${total.toFixed(0)} ms in ${ms.toFixed(0)} ms (${(total / ms).toFixed(2)} cores)`);
  for (const [k, v] of rows.slice(0, 24)) {
    const pid = Number(k.split('/')[0]);
    console.log(`  ${v.toFixed(0).padStart(7)} ms ${((v / ms) * 100).toFixed(0).padStart(4)}%  ${labels.get(pid) ?? ''} ${k}`);
  }
  if (tracing) {
    summarizeTrace(events, labels);
    // One event a line: the whole trace is too long for one JSON string.
    const fd = openSync('/tmp/ecdn-large-trace.json', 'w');
    writeSync(fd, '{"traceEvents":[\n');
    for (const [i, e] of events.entries()) writeSync(fd, `${i ? ',\n' : ''}${JSON.stringify(e)}`);
    writeSync(fd, '\n]}\n');
    closeSync(fd);
  }
} finally {
  await profile.close();
  await server.close();
}
process.exit(0);
