// Tracker load: the real server in its own process, loaded by several Node
// client processes whose WebSockets come from many loopback source addresses.
import { log, percentile, round, sleep } from '../lib/stats.js';
import { type Child, rssOf, sourceAddresses, startClient, startServer } from '../tracker/procs.js';

export interface TrackerOptions {
  peers: number;
  clientProcesses: number;
  hashesPerPeer: number;
  /** Source addresses get at most this many connections each (the tracker's per-IP cap is 64 by default). */
  perAddress: number;
  holdMs: number;
  saturateMs: number;
  openLoopMs: number;
  /** Offered announce rate of the latency phase, per second, all clients together. */
  offeredRate: number;
  /** Offered rate of a second, light latency phase. */
  lightRate: number;
  /** Heap snapshots of the server before and after the peers connect, diffed per peer (slow). */
  heapProfile?: boolean;
}

export interface TrackerResult {
  tracker_peers_held: number;
  tracker_rss_per_peer_kb: number;
  announce_per_s: number;
  announce_p99_ms: number;
  details: Record<string, unknown>;
}

export async function runTracker(opts: TrackerOptions): Promise<TrackerResult> {
  const server = startServer();
  const clients: Child[] = [];
  try {
    const { url } = await server.next('listening', 60_000);
    const wsUrl = `${String(url).replace(/^http/, 'ws')}/tracker`;
    const pid = server.proc.pid!;
    const addresses = sourceAddresses(Math.ceil(opts.peers / opts.perAddress) + opts.clientProcesses);

    // Warm-up: the first few hundred connections compile the hot paths and
    // size the pools; the baseline is taken after they are gone.
    {
      const warm = startClient('warm-up client');
      await warm.next('ready');
      await warm.ask(
        {
          cmd: 'connect',
          url: wsUrl,
          count: 300,
          firstPeer: 10_000_000,
          addresses: addresses.slice(-8),
          hashesPerPeer: opts.hashesPerPeer,
          hashPool: 1_000_000_000,
          concurrency: 64,
        },
        'connected',
      );
      await warm.ask({ cmd: 'close' }, 'closed');
      await sleep(1500);
    }
    // A heap snapshot leaves RSS behind, so with --tracker-heap the baseline is taken after it.
    const heapBefore = opts.heapProfile ? (await server.ask({ cmd: 'heap' }, 'heap', 120_000)).summary : undefined;
    const base = await server.ask({ cmd: 'gc' }, 'gc');
    const baseRss = rssOf(pid);
    log(`tracker: baseline RSS ${(baseRss / 2 ** 20).toFixed(1)} MiB`);

    // Connect: peers split over the client processes, addresses split over peers.
    const per = Math.ceil(opts.peers / opts.clientProcesses);
    for (let i = 0; i < opts.clientProcesses; i++) clients.push(startClient(`client ${i}`));
    await Promise.all(clients.map((c) => c.next('ready')));
    const addrPer = Math.ceil(addresses.length / opts.clientProcesses);
    const connectStarted = Date.now();
    const connected = await Promise.all(
      clients.map((c, i) =>
        c.ask(
          {
            cmd: 'connect',
            url: wsUrl,
            count: Math.min(per, opts.peers - i * per),
            firstPeer: i * per,
            addresses: addresses.slice(i * addrPer, (i + 1) * addrPer),
            hashesPerPeer: opts.hashesPerPeer,
            // Each hash is held by about `hashesPerPeer` peers: swarms of a few peers each.
            hashPool: opts.peers,
            concurrency: 128,
          },
          'connected',
          300_000,
        ),
      ),
    );
    const connectMs = Date.now() - connectStarted;
    const failed = connected.reduce((n, m) => n + m.failed, 0);
    log(`tracker: ${connected.reduce((n, m) => n + m.held, 0)} peers connected in ${connectMs} ms (${failed} failed)`);

    // Hold: every peer heartbeats at the interval the tracker gave it.
    await sleep(opts.holdMs);
    const statuses = await Promise.all(clients.map((c) => c.ask({ cmd: 'status' }, 'status')));
    const serverStats = await server.ask({ cmd: 'stats' }, 'stats');
    const held = Math.min(
      statuses.reduce((n, s) => n + s.open, 0),
      serverStats.stats.peers,
    );
    const after = await server.ask({ cmd: 'gc' }, 'gc');
    const rss = rssOf(pid);
    const perPeerKb = (rss - baseRss) / 1024 / held;
    let heapPerPeer: Record<string, unknown> | undefined;
    if (heapBefore) {
      const heapAfter = (await server.ask({ cmd: 'heap' }, 'heap', 300_000)).summary as Record<string, { size: number; count: number }>;
      const rows = Object.entries(heapAfter).map(([k, v]) => {
        const b = (heapBefore as Record<string, { size: number; count: number }>)[k] ?? { size: 0, count: 0 };
        return [k, (v.size - b.size) / held, (v.count - b.count) / held] as const;
      });
      rows.sort((a, b) => b[1] - a[1]);
      heapPerPeer = Object.fromEntries(
        rows.slice(0, 25).map(([k, bytes, count]) => [k, { bytes: round(bytes, 1), count: round(count, 2) }]),
      );
      log(`tracker: heap per peer by kind: ${JSON.stringify(heapPerPeer)}`);
    }
    log(`tracker: ${held} held after ${opts.holdMs} ms, RSS ${(rss / 2 ** 20).toFixed(1)} MiB, ${perPeerKb.toFixed(2)} KiB/peer`);

    // Throughput: closed loop, a few hundred peers per process each keeping 4 announces in flight.
    await server.ask({ cmd: 'stats' }, 'stats');
    await sleep(500);
    const cpu0 = await server.ask({ cmd: 'stats' }, 'stats');
    const saturate = await Promise.all(
      clients.map((c) =>
        c.ask({ cmd: 'load', mode: 'closed', window: 4, peers: 250, durationMs: opts.saturateMs }, 'load', opts.saturateMs + 60_000),
      ),
    );
    const cpu1 = await server.ask({ cmd: 'stats' }, 'stats');
    const satDone = saturate.reduce((n, r) => n + r.done, 0);
    const satMs = Math.max(...saturate.map((r) => r.ms));
    const announcePerS = satDone / (satMs / 1000);
    const serverCpuMs = cpu1.cpuUserMs + cpu1.cpuSystemMs - cpu0.cpuUserMs - cpu0.cpuSystemMs;
    const satLat = saturate.flatMap((r) => r.latencies as number[]);
    log(`tracker: saturated ${Math.round(announcePerS)} announces/s, server CPU ${(serverCpuMs / satMs).toFixed(2)} cores`);

    // Latency: open loop at a fixed offered rate, spread over all held peers.
    await sleep(500);
    const cpu2 = await server.ask({ cmd: 'stats' }, 'stats');
    const open = await Promise.all(
      clients.map((c) =>
        c.ask(
          { cmd: 'load', mode: 'open', rate: opts.offeredRate / opts.clientProcesses, durationMs: opts.openLoopMs },
          'load',
          opts.openLoopMs + 60_000,
        ),
      ),
    );
    const cpu3 = await server.ask({ cmd: 'stats' }, 'stats');
    const lat = open.flatMap((r) => r.latencies as number[]);
    const openSent = open.reduce((n, r) => n + r.sent, 0);
    const openDone = open.reduce((n, r) => n + r.done, 0);
    const openMs = Math.max(...open.map((r) => r.ms));
    const openCpuMs = cpu3.cpuUserMs + cpu3.cpuSystemMs - cpu2.cpuUserMs - cpu2.cpuSystemMs;
    const p99 = percentile(lat, 99);
    log(
      `tracker: offered ${opts.offeredRate}/s, answered ${Math.round(openDone / (openMs / 1000))}/s, p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms`,
    );
    // A light phase too, to tell the server's own latency from a saturated machine's.
    await sleep(500);
    await server.ask({ cmd: 'stats' }, 'stats');
    const light = await Promise.all(
      clients.map((c) =>
        c.ask(
          { cmd: 'load', mode: 'open', rate: opts.lightRate / opts.clientProcesses, durationMs: opts.openLoopMs },
          'load',
          opts.openLoopMs + 60_000,
        ),
      ),
    );
    await server.ask({ cmd: 'stats' }, 'stats');
    const lightLat = light.flatMap((r) => r.latencies as number[]);
    log(
      `tracker: offered ${opts.lightRate}/s, p50 ${percentile(lightLat, 50).toFixed(1)} ms, p99 ${percentile(lightLat, 99).toFixed(1)} ms`,
    );

    const final = await Promise.all(clients.map((c) => c.ask({ cmd: 'status' }, 'status')));
    return {
      tracker_peers_held: held,
      tracker_rss_per_peer_kb: round(perPeerKb, 2),
      announce_per_s: Math.round(announcePerS),
      announce_p99_ms: round(p99, 1),
      details: {
        peers_target: opts.peers,
        client_processes: opts.clientProcesses,
        source_addresses: addresses.length,
        hashes_per_peer: opts.hashesPerPeer,
        connect_ms: connectMs,
        connect_failed: failed,
        hold_ms: opts.holdMs,
        pings_sent: final.reduce((n, s) => n + s.pings, 0),
        closed_unexpectedly: final.reduce((n, s) => n + s.closedUnexpectedly, 0),
        server_rss_base_mib: round(baseRss / 2 ** 20, 1),
        server_rss_held_mib: round(rss / 2 ** 20, 1),
        server_heap_used_base_mib: round(base.heapUsed / 2 ** 20, 1),
        server_heap_used_held_mib: round(after.heapUsed / 2 ** 20, 1),
        server_heap_per_peer_kb: round((after.heapUsed - base.heapUsed) / 1024 / held, 2),
        heap_per_peer_by_kind: heapPerPeer,
        saturate_ms: Math.round(satMs),
        saturate_server_cores: round(serverCpuMs / satMs, 2),
        saturate_server_cpu_us_per_announce: round((serverCpuMs * 1000) / satDone, 1),
        saturate_p50_ms: round(percentile(satLat, 50), 1),
        saturate_p99_ms: round(percentile(satLat, 99), 1),
        open_offered_per_s: opts.offeredRate,
        open_sent: openSent,
        open_answered: openDone,
        open_answered_per_s: Math.round(openDone / (openMs / 1000)),
        open_server_cores: round(openCpuMs / openMs, 2),
        open_p50_ms: round(percentile(lat, 50), 1),
        open_p95_ms: round(percentile(lat, 95), 1),
        open_p99_ms: round(p99, 1),
        open_errors: open.reduce((n, r) => n + r.errors, 0),
        light_offered_per_s: opts.lightRate,
        light_p50_ms: round(percentile(lightLat, 50), 1),
        light_p99_ms: round(percentile(lightLat, 99), 1),
      },
    };
  } finally {
    await Promise.all(clients.map((c) => c.ask({ cmd: 'close' }, 'closed', 20_000).catch(() => c.proc.kill())));
    await server.ask({ cmd: 'close' }, 'closed', 20_000).catch(() => server.proc.kill());
  }
}
