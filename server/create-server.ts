import http from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import express from 'express';
import Koa from 'koa';
import websockify from 'koa-websocket';
import Router from '@koa/router';
import cors from '@koa/cors';
import { ExpressPeerServer } from 'peer';
import { WebSocketServer } from 'ws';
import createDebug from 'debug';
import { silentLogger, logTracker, type Logger } from './logger.js';
import { createMetrics, type Endpoint, type ServerMetrics } from './metrics.js';
import {
  DEFAULT_MAX_SIGNALING_CONNECTIONS_PER_IP,
  DEFAULT_SIGNALING_BYTE_BURST,
  DEFAULT_SIGNALING_BYTES_PER_SECOND,
  DEFAULT_SIGNALING_MESSAGE_BURST,
  DEFAULT_SIGNALING_MESSAGES_PER_SECOND,
  SignalingGuard,
} from './signaling-guard.js';
import { clientAddress, proxyHops } from './address.js';
import { RatePerIp } from './limits.js';
import { IceServers, type IceOptions } from './ice.js';
import { addPages } from './pages.js';
import { SignalingRelay } from './signaling-relay.js';
import { startStunServer, type StunServer } from './stun-server.js';
import { DEFAULT_RATE_LIMIT_STRIKES } from './tracker/protocol.js';
import type { TrackerOptions } from './tracker/options.js';
import { RedisStore } from './tracker/redis-store.js';
import { StoreUnavailableError, type SwarmStore } from './tracker/store.js';
import { createTracker, type Tracker } from './tracker/tracker.js';

const debug = createDebug('ecdn:server');

/** Where the demo page, the share page and their assets are read from. */
const PUBLIC = new URL('./public/', import.meta.url);

/**
 * Where the browser bundle is read from: the `ephemeral-cdn` package this server
 * depends on, found as Node finds any dependency (in this repository npm links
 * it to the root package, whose `npm run build` writes the bundle), so that the
 * server assumes nothing about where it sits. Undefined while it is not built.
 */
function bundleUrl(): URL | undefined {
  try {
    return new URL(import.meta.resolve('ephemeral-cdn/ephemeralcdn.js'));
  } catch {
    // Under tsx, an export whose file does not exist yet fails to resolve.
    return undefined;
  }
}

/** The PeerJS key clients must use; PeerJS requires one, we do not need several. */
export const PEERJS_KEY = 'peerjs';
/** Path prefix under which the PeerServer lives, for HTTP and WebSocket alike. */
export const PEERJS_PATH = '/peerjs';
/** WebSocket path of the tracker. */
export const TRACKER_PATH = '/tracker';

export interface ServerOptions extends Omit<TrackerOptions, 'ice'> {
  /**
   * ICE servers handed to clients: the built-in STUN responder (`stunPort`), TURN
   * with minted credentials, static entries. Default none, as for a server on a LAN.
   */
  ice?: IceOptions | undefined;
  /** Most PeerJS clients connected at once. Default 20,000. */
  maxSignalingClients?: number | undefined;
  /** Most PeerServer connections open at once from one IPv4 address or IPv6 /64; beyond, the upgrade gets 429. `Infinity` turns it off. Default 64. */
  maxSignalingConnectionsPerIp?: number | undefined;
  /** Sustained PeerServer messages per second per connection; beyond, messages are dropped. Default 50. */
  signalingMessagesPerSecond?: number | undefined;
  /** PeerServer messages a connection may send at once. Default 500. */
  signalingMessageBurst?: number | undefined;
  /** Sustained PeerServer bytes per second per connection. Default 65,536. */
  signalingBytesPerSecond?: number | undefined;
  /** PeerServer bytes a connection may send at once. Default 1,048,576. */
  signalingByteBurst?: number | undefined;
  /**
   * Accept a PeerJS ID only with the token the tracker issued for it, so that
   * nobody can take over another peer's ID. Default true.
   */
  requireTrackerIdentity?: boolean | undefined;
  /** Serve `GET /metrics` (Prometheus). Default true. */
  metrics?: boolean | undefined;
  /** The operator-facing JSON log (see server/logger.ts). Default: a logger that writes nothing. */
  logger?: Logger | undefined;
  /**
   * Keep the swarms in this Redis (`redis://…`), shared with every other instance
   * using it, instead of in this process's memory. Needs `secret`, which all instances
   * share. Ignored when `store` is given. Default unset: the in-memory store.
   */
  redisUrl?: string | undefined;
}

export interface EcdnServer {
  /** The underlying Node HTTP server. */
  readonly http: http.Server;
  readonly tracker: Tracker;
  /** The Prometheus registry behind `/metrics`, unless `metrics: false`. */
  readonly metrics: ServerMetrics | undefined;
  /** Open PeerServer connections, counted by the flood guard. */
  signalingConnections(): number;
  /** Starts listening and resolves with the base URL, e.g. `http://127.0.0.1:8787`. */
  listen(port?: number, host?: string): Promise<string>;
  /** Closes every connection and stops every timer. */
  close(): Promise<void>;
}

const HASH_RE = /^[0-9a-f]{64}$/;
/** Lookups over HTTP (`/api/files/:hash?peers=N`) one address may make per second, on average. */
const HTTP_LOOKUPS_PER_SECOND = 5;
/** …and at once. */
const HTTP_LOOKUP_BURST = 20;

/**
 * Builds the whole EphemeralCDN server on one HTTP server and one port:
 * the tracker at `/tracker` (WebSocket), the PeerJS signaling server at `/peerjs`,
 * the JSON API at `/api`, `/healthz`, the demo page at `/` and the browser
 * bundle at `/ephemeralcdn.js`.
 */
export function createServer(options: ServerOptions = {}): EcdnServer {
  const ice = new IceServers(options.ice ?? {});
  const log = options.logger ?? silentLogger();
  // A store made here is started with listen() and closed with close(); an injected one is its owner's.
  let redisStore: RedisStore | undefined;
  if (options.redisUrl !== undefined && options.store === undefined) {
    if (options.secret === undefined) throw new RangeError('redisUrl needs secret: every instance sharing the Redis signs tokens with it');
    redisStore = new RedisStore({ url: options.redisUrl, heartbeatTimeoutMs: options.heartbeatTimeoutMs });
    redisStore.on('warning', (err) => log.warn({ event: 'redis', err: err.cause ?? err }, err.message));
  }
  const store: SwarmStore | undefined = options.store ?? redisStore;
  const tracker = createTracker({ ...options, ice, store });
  const stunServers: StunServer[] = [];
  const server = http.createServer();
  const stopLog = logTracker(tracker, log);
  const hops = proxyHops(options.trustProxy);
  // Set below, once the guard it reads from exists.
  let metrics: ServerMetrics | undefined;

  const guard = new SignalingGuard(
    {
      maxConnectionsPerIp: positive(
        'maxSignalingConnectionsPerIp',
        options.maxSignalingConnectionsPerIp,
        DEFAULT_MAX_SIGNALING_CONNECTIONS_PER_IP,
      ),
      messagesPerSecond: positive('signalingMessagesPerSecond', options.signalingMessagesPerSecond, DEFAULT_SIGNALING_MESSAGES_PER_SECOND),
      messageBurst: positive('signalingMessageBurst', options.signalingMessageBurst, DEFAULT_SIGNALING_MESSAGE_BURST),
      bytesPerSecond: positive('signalingBytesPerSecond', options.signalingBytesPerSecond, DEFAULT_SIGNALING_BYTES_PER_SECOND),
      byteBurst: positive('signalingByteBurst', options.signalingByteBurst, DEFAULT_SIGNALING_BYTE_BURST),
      strikes: options.rateLimitStrikes ?? DEFAULT_RATE_LIMIT_STRIKES,
    },
    {
      onLimited(ip, disconnected) {
        metrics?.signalingLimited(disconnected);
        if (disconnected)
          log.warn(
            { event: 'evict', endpoint: 'signaling', ip, reason: 'rate-limited' },
            'closed a PeerServer connection that kept going over its rate limit',
          );
      },
    },
  );
  if (options.metrics !== false) metrics = createMetrics(tracker, { connections: () => guard.connections }, store);
  // Instances sharing a Redis forward signaling to one another: no sticky sessions needed.
  const relay =
    store instanceof RedisStore ? new SignalingRelay(store, { onForward: (way) => metrics?.signalingForwarded(way) }) : undefined;
  const refuse = (socket: Duplex, endpoint: Endpoint, ip: string, status: 403 | 429, code: string, message: string) => {
    metrics?.refused(endpoint, status === 429 ? 'too_many_per_ip' : 'invalid_token');
    log[status === 429 ? 'warn' : 'info']({ event: 'refused', endpoint, ip, code }, message);
    refuseUpgrade(socket, status, code, message);
  };

  const app = websockify(new Koa());
  app.proxy = hops > 0;
  app.maxIpsCount = hops;
  app.use(cors({ origin: '*' }));
  app.use(apiRoutes(tracker, metrics, store, hops).routes());
  app.ws.use((ctx) => {
    tracker.handleConnection(ctx.websocket, ctx.req);
  });
  // Several WebSocket servers share this HTTP server, so none may listen on it
  // itself: `ws` answers 400 to any upgrade whose path it does not own.
  // The tracker knows its sockets: ws need not track them too (see tracker.terminateSockets).
  app.ws.listen({ noServer: true, maxPayload: 1024 * 1024, clientTracking: false });
  const trackerWss = app.ws.server!;

  let signalingWss: WebSocketServer | undefined;
  const peerServer = ExpressPeerServer(server, {
    path: '/',
    key: PEERJS_KEY,
    concurrent_limit: options.maxSignalingClients ?? 20_000,
    proxied: hops > 0,
    createWebSocketServer: (wsOptions) => {
      signalingWss = new WebSocketServer({ noServer: true, path: wsOptions.path, maxPayload: 64 * 1024 });
      return signalingWss;
    },
  });
  // Mostly clients sending what is not JSON; the PeerServer carries on.
  peerServer.on('error', (err: Error) => {
    debug('peerserver error %s', err.message);
    log.debug({ event: 'warning', endpoint: 'signaling', err }, 'PeerServer error');
  });
  const signaling = express();
  signaling.disable('x-powered-by');
  // Mounting is what makes ExpressPeerServer create its WebSocket server.
  signaling.use(PEERJS_PATH, peerServer);

  const koaHandler = app.callback();
  server.on('request', (req, res) => {
    if (isUnder(req.url, PEERJS_PATH)) signaling(req, res);
    else void koaHandler(req, res);
  });

  const requireIdentity = options.requireTrackerIdentity ?? true;
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname === TRACKER_PATH) {
      const ip = clientAddress(req, hops);
      if (!tracker.admits(ip)) {
        return refuse(
          socket,
          'tracker',
          ip,
          429,
          'TOO_MANY_CONNECTIONS',
          'This address has too many tracker connections open; close one first.',
        );
      }
      trackerWss.handleUpgrade(req, socket, head, (ws) => trackerWss.emit('connection', ws, req));
    } else if (isUnder(url.pathname, PEERJS_PATH) && signalingWss) {
      const ip = clientAddress(req, hops);
      if (!guard.admits(ip)) {
        return refuse(
          socket,
          'signaling',
          ip,
          429,
          'TOO_MANY_CONNECTIONS',
          'This address has too many PeerServer connections open; close one first.',
        );
      }
      const id = url.searchParams.get('id') ?? '';
      const token = url.searchParams.get('token') ?? '';
      if (requireIdentity && !tracker.verifyPeerToken(id, token)) {
        debug('refused PeerJS id %s: token not issued by the tracker', id);
        return refuse(socket, 'signaling', ip, 403, 'INVALID_TOKEN', 'This PeerJS ID was not issued to you by the tracker.');
      }
      const wss = signalingWss;
      wss.handleUpgrade(req, socket, head, (ws) => {
        relay?.attach(ws, id);
        // The guard wraps the socket last, so that it throttles messages before anything else sees them.
        if (guard.attach(ws, ip)) wss.emit('connection', ws, req);
      });
    } else {
      refuseUpgrade(socket, 404, 'NOT_FOUND', 'No WebSocket endpoint here. Use /tracker or /peerjs.');
    }
  });

  return {
    http: server,
    tracker,
    metrics,
    signalingConnections: () => guard.connections,
    async listen(port = 0, host = '127.0.0.1') {
      // Not awaited: the instance serves (with /healthz at 503) while the store connects, retrying with backoff.
      void redisStore?.start();
      const stunPort = options.ice?.stunPort;
      // The second port lets diagnose() tell a cone NAT from a symmetric one.
      if (stunPort) for (const p of [stunPort, stunPort + 1]) stunServers.push(await startStun(p, host));
      return new Promise<string>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${shownHost}:${address.port}`);
        });
      });
    },
    // The `peer` package starts interval timers it offers no way to stop, so a
    // process that only wants to exit after close() may still need process.exit.
    async close() {
      relay?.close();
      await tracker.close();
      await redisStore?.close();
      stopLog();
      metrics?.destroy();
      tracker.terminateSockets();
      for (const client of signalingWss?.clients ?? []) client.terminate();
      server.closeAllConnections();
      await Promise.all(stunServers.splice(0).map((stun) => stun.close()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function startStun(port: number, host: string): Promise<StunServer> {
  try {
    return await startStunServer(port, host);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'is in use' : `cannot be used (${(err as Error).message})`;
    throw new Error(
      `UDP port ${port} for the built-in STUN server ${why}: set STUN_PORT to a free port (it takes that port and the next), or 0 to turn it off.`,
    );
  }
}

function isUnder(path: string | undefined, prefix: string): boolean {
  return path !== undefined && (path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`));
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (value !== Infinity && !(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}

/** Answers an upgrade with an HTTP error, `{ "error": CODE, "message": "…" }` as the API does. */
function refuseUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: code, message });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function apiRoutes(tracker: Tracker, metrics: ServerMetrics | undefined, store: SwarmStore | undefined, hops: number): Router {
  const router = new Router();

  if (metrics) {
    router.get('/metrics', async (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      ctx.type = metrics.contentType;
      ctx.body = await metrics.render();
    });
  }

  // A page makes one HTTP lookup per download it starts before its tracker
  // connection is up; the tracker's own per-connection rate does not see these.
  const lookups = new RatePerIp(HTTP_LOOKUPS_PER_SECOND, HTTP_LOOKUP_BURST);
  router.get('/api/files/:hash', async (ctx) => {
    const hash = ctx.params.hash ?? '';
    if (!HASH_RE.test(hash)) {
      ctx.status = 400;
      ctx.body = {
        error: 'INVALID_HASH',
        message: `"${hash.slice(0, 80)}" is not a SHA-256: expected 64 lowercase hexadecimal characters.`,
      };
      return;
    }
    // With `?peers=N`, also who holds it, nearest first: a page's first lookup,
    // made before its tracker WebSocket opens (browsers open one WebSocket to a
    // host at a time, and the PeerServer's goes first).
    const wanted = ctx.query.peers === undefined ? undefined : Number(ctx.query.peers);
    if (wanted !== undefined && !(Number.isInteger(wanted) && wanted >= 0)) {
      ctx.status = 400;
      ctx.body = { error: 'BAD_MESSAGE', message: '"peers" must be a whole number of peers.' };
      return;
    }
    const ip = clientAddress(ctx.req, hops);
    if (wanted !== undefined && !lookups.take(ip, performance.now())) {
      ctx.status = 429;
      ctx.set('Retry-After', '1');
      ctx.body = {
        error: 'RATE_LIMITED',
        message: `At most ${HTTP_LOOKUPS_PER_SECOND} lookups per second from one address over HTTP (bursts of ${HTTP_LOOKUP_BURST}); use the tracker's WebSocket.`,
      };
      return;
    }
    let status: Awaited<ReturnType<Tracker['fileStatus']>>;
    let peers: string[] | undefined;
    try {
      if (wanted === undefined) status = await tracker.fileStatus(hash);
      else ({ status, peers } = await tracker.lookupFrom(ip, hash, wanted));
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      ctx.status = 503;
      ctx.set('Retry-After', '5');
      ctx.body = { error: 'STORE_UNAVAILABLE', message: 'The swarm store is unreachable; retry in a few seconds.' };
      return;
    }
    const { alive, seeders, leechers } = status;
    ctx.set('Cache-Control', 'no-store');
    // With the asker's own ID and token, also the ICE servers to dial those peers with.
    const { id, token } = ctx.query;
    const ice = peers && typeof id === 'string' && typeof token === 'string' ? tracker.iceFor(id, token, ctx.req.headers.host) : {};
    ctx.body = { hash, alive, seeders, leechers, ...(peers ? { peers } : {}), ...ice };
  });

  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    // A shared store that does not answer makes the instance unhealthy: a load balancer sends its clients elsewhere.
    const health = store?.health?.();
    const redis = health === undefined ? {} : { redis: health.up ? 'up' : health.reason, rebuilds: health.rebuilds };
    const ok = health === undefined || health.up;
    if (!ok) ctx.status = 503;
    ctx.body = { ok, ...redis, uptime: Math.round(process.uptime()), ...tracker.stats() };
  });

  router.get('/', async (ctx) => {
    ctx.type = 'html';
    ctx.body = await readFile(new URL('index.html', PUBLIC));
  });
  // Share links (/f/<hash>), the invalid-link page, and the pages' favicon and stylesheet.
  addPages(router, PUBLIC);

  for (const file of ['ephemeralcdn.js', 'ephemeralcdn.js.map']) {
    router.get(`/${file}`, async (ctx) => {
      const bundle = bundleUrl();
      const body = bundle && (await readFile(new URL(file, bundle)).catch(() => undefined));
      if (body === undefined) {
        ctx.status = 503;
        ctx.type = 'text/plain';
        ctx.body = `${file} has not been built yet. Run \`npm run build\` (npm start does it for you).\n`;
        return;
      }
      ctx.body = body;
      ctx.type = file.endsWith('.map') ? 'application/json' : 'text/javascript';
      ctx.set('Cache-Control', 'no-cache');
    });
  }

  return router;
}
