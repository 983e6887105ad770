/**
 * `GET /metrics`: the server's counters and gauges in the Prometheus text format
 * (prom-client), plus prom-client's default process and Node.js metrics.
 *
 * Each server has its own registry, so several servers in one process (tests)
 * do not share counters. Every label takes values from a fixed set, so the
 * number of series stays bounded whatever clients send.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { ERROR_CODES, REPORT_REASONS } from './tracker/protocol.js';
import { EVICT_REASONS } from './tracker/events.js';
import type { SwarmStore } from './tracker/store.js';
import type { Tracker } from './tracker/tracker.js';

/** Where a connection was refused. */
export type Endpoint = 'tracker' | 'signaling';
/** Why a connection was refused before it opened, or closed by the signaling guard. */
export type RefusalReason = 'too_many_per_ip' | 'invalid_token';

/** What the signaling side reports to the metrics. */
export interface SignalingStats {
  /** Open PeerServer WebSocket connections. */
  connections(): number;
}

export interface ServerMetrics {
  readonly registry: Registry;
  /** Content-Type of {@link ServerMetrics.render}'s output. */
  readonly contentType: string;
  /** Counts a WebSocket upgrade refused before it opened. */
  refused(endpoint: Endpoint, reason: RefusalReason): void;
  /** Counts a PeerServer message dropped for its rate, and whether the connection was then closed. */
  signalingLimited(disconnected: boolean): void;
  /** Counts a PeerJS message forwarded to (`out`) or from (`in`) another instance. */
  signalingForwarded(direction: 'in' | 'out'): void;
  /** The metrics, in the Prometheus text format. */
  render(): Promise<string>;
  /** Stops listening to the tracker. */
  destroy(): void;
}

/** Builds the registry and hooks it to the tracker's events. */
export function createMetrics(tracker: Tracker, signaling: SignalingStats, store?: SwarmStore): ServerMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  new Gauge({
    name: 'ecdn_tracker_connections',
    help: 'Open tracker WebSocket connections, with or without an identity.',
    registers,
    collect() {
      this.set(tracker.stats().connections);
    },
  });
  new Gauge({
    name: 'ecdn_tracker_peers',
    help: 'Peer IDs bound to a tracker connection (connections that said hello).',
    registers,
    collect() {
      this.set(tracker.stats().peers);
    },
  });
  new Gauge({
    name: 'ecdn_tracker_swarms',
    help: 'Hashes with at least one holder announced through this tracker.',
    registers,
    collect() {
      this.set(tracker.stats().swarms);
    },
  });
  new Gauge({
    name: 'ecdn_tracker_watched_hashes',
    help: 'Hashes at least one connection watches.',
    registers,
    collect() {
      this.set(tracker.stats().watched);
    },
  });
  new Gauge({
    name: 'ecdn_store_entries',
    help: '(hash, peer) pairs in the swarm store.',
    registers,
    async collect() {
      // While a shared store is away, 0 rather than a scrape that waits for it and fails.
      if (store?.health?.().up === false) return this.reset();
      this.set((await tracker.storeStats()).entries);
    },
  });
  new Gauge({
    name: 'ecdn_store_up',
    help: 'Whether the swarm store answers (1) or not (0: Redis unreachable, or being re-written after it returned).',
    registers,
    collect() {
      this.set(store?.health?.().up === false ? 0 : 1);
    },
  });
  const rebuilds = new Counter({
    name: 'ecdn_store_rebuilds_total',
    help: "Times a shared store came back (Redis restarted or reconnected) and this instance re-wrote its peers' entries.",
    registers,
    collect() {
      const done = store?.health?.().rebuilds ?? 0;
      this.reset();
      this.inc(done);
    },
  });
  rebuilds.inc(0);
  new Gauge({
    name: 'ecdn_signaling_connections',
    help: 'Open PeerServer (signaling) WebSocket connections.',
    registers,
    collect() {
      this.set(signaling.connections());
    },
  });

  const hellos = new Counter({
    name: 'ecdn_tracker_hellos_total',
    help: 'Identities handed out (resumed or new).',
    labelNames: ['resumed'] as const,
    registers,
  });
  const announces = new Counter({
    name: 'ecdn_tracker_announces_total',
    help: 'Announces accepted, by completeness.',
    labelNames: ['complete'] as const,
    registers,
  });
  const withdraws = new Counter({ name: 'ecdn_tracker_withdraws_total', help: 'Withdraws handled.', registers });
  const lookups = new Counter({ name: 'ecdn_tracker_lookups_total', help: 'Lookups answered.', registers });
  const evictions = new Counter({
    name: 'ecdn_tracker_evictions_total',
    help: 'Tracker connections dropped (and their entries removed), by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const errors = new Counter({
    name: 'ecdn_tracker_errors_total',
    help: 'Errors sent to tracker clients, and trouble they never hear of (SOCKET_ERROR, SLOW_CONSUMER), by code.',
    labelNames: ['code'] as const,
    registers,
  });
  const reports = new Counter({
    name: 'ecdn_tracker_reports_total',
    help: 'Peers that clients reported banning, by reason (repeats of the same peer and hash by one connection are not counted).',
    labelNames: ['reason'] as const,
    registers,
  });
  const refusals = new Counter({
    name: 'ecdn_connections_refused_total',
    help: 'WebSocket upgrades refused before they opened, by endpoint and reason.',
    labelNames: ['endpoint', 'reason'] as const,
    registers,
  });
  const signalingLimited = new Counter({
    name: 'ecdn_signaling_rate_limited_total',
    help: 'PeerServer messages dropped for going over the rate limit.',
    registers,
  });
  const signalingForwarded = new Counter({
    name: 'ecdn_signaling_forwarded_total',
    help: 'PeerJS messages forwarded between instances through the shared store, by direction.',
    labelNames: ['direction'] as const,
    registers,
  });
  const signalingDisconnects = new Counter({
    name: 'ecdn_signaling_rate_limit_disconnects_total',
    help: 'PeerServer connections closed for persistently going over the rate limit.',
    registers,
  });

  // Start every labelled series at 0, so that rates and alerts work from the first scrape.
  for (const resumed of ['true', 'false']) hellos.inc({ resumed }, 0);
  for (const complete of ['true', 'false']) announces.inc({ complete }, 0);
  for (const reason of EVICT_REASONS) evictions.inc({ reason }, 0);
  for (const code of [...ERROR_CODES, 'SOCKET_ERROR', 'SLOW_CONSUMER']) errors.inc({ code }, 0);
  for (const reason of [...REPORT_REASONS, 'OTHER']) reports.inc({ reason }, 0);
  for (const direction of ['in', 'out']) signalingForwarded.inc({ direction }, 0);
  for (const endpoint of ['tracker', 'signaling']) {
    for (const reason of ['too_many_per_ip', 'invalid_token']) refusals.inc({ endpoint, reason }, 0);
  }

  // Every announce counts: its two series are looked up once, not by label per call.
  const announcedComplete = announces.labels({ complete: 'true' });
  const announcedPartial = announces.labels({ complete: 'false' });
  const listeners = {
    hello: ({ resumed }: { resumed: boolean }) => hellos.inc({ resumed: String(resumed) }),
    announce: ({ complete }: { complete: boolean }) => (complete ? announcedComplete : announcedPartial).inc(),
    withdraw: () => withdraws.inc(),
    lookup: () => lookups.inc(),
    evict: ({ reason }: { reason: string }) => evictions.inc({ reason }),
    warning: ({ code }: { code: string }) => errors.inc({ code }),
    report: ({ reason, duplicate }: { reason: string; duplicate: boolean }) => {
      if (!duplicate) reports.inc({ reason });
    },
  };
  for (const [event, listener] of Object.entries(listeners)) tracker.on(event as 'hello', listener as () => void);

  return {
    registry,
    contentType: registry.contentType,
    refused: (endpoint, reason) => refusals.inc({ endpoint, reason }),
    signalingLimited(disconnected) {
      signalingLimited.inc();
      if (disconnected) signalingDisconnects.inc();
    },
    signalingForwarded: (direction) => signalingForwarded.inc({ direction }),
    render: () => registry.metrics(),
    destroy() {
      for (const [event, listener] of Object.entries(listeners)) tracker.off(event as 'hello', listener as () => void);
      registry.clear();
    },
  };
}
