import http from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import express from 'express';
import Koa from 'koa';
import websockify from 'koa-websocket';
import Router from '@koa/router';
import cors from '@koa/cors';
import { ExpressPeerServer } from 'peer';
import { WebSocketServer } from 'ws';
import createDebug from 'debug';
import { createTracker, type Tracker, type TrackerOptions } from './tracker/tracker.js';

const debug = createDebug('ecdn:server');

/** Where the browser bundle and the demo page are read from. */
const DIST = new URL('../dist/', import.meta.url);
const PUBLIC = new URL('./public/', import.meta.url);

/** The PeerJS key clients must use; PeerJS requires one, we do not need several. */
export const PEERJS_KEY = 'peerjs';
/** Path prefix under which the PeerServer lives, for HTTP and WebSocket alike. */
export const PEERJS_PATH = '/peerjs';
/** WebSocket path of the tracker. */
export const TRACKER_PATH = '/tracker';

export interface ServerOptions extends TrackerOptions {
  /** Most PeerJS clients connected at once. Default 20,000. */
  maxSignalingClients?: number;
  /**
   * Accept a PeerJS ID only with the token the tracker issued for it, so that
   * nobody can take over another peer's ID. Default true.
   */
  requireTrackerIdentity?: boolean;
}

export interface EcdnServer {
  /** The underlying Node HTTP server. */
  readonly http: http.Server;
  readonly tracker: Tracker;
  /** Starts listening and resolves with the base URL, e.g. `http://127.0.0.1:8787`. */
  listen(port?: number, host?: string): Promise<string>;
  /** Closes every connection and stops every timer. */
  close(): Promise<void>;
}

const HASH_RE = /^[0-9a-f]{64}$/;

/**
 * Builds the whole EphemeralCDN server on one HTTP server and one port:
 * the tracker at `/tracker` (WebSocket), the PeerJS signaling server at `/peerjs`,
 * the JSON API at `/api`, `/healthz`, the demo page at `/` and the browser
 * bundle at `/ephemeralcdn.js`.
 */
export function createServer(options: ServerOptions = {}): EcdnServer {
  const tracker = createTracker(options);
  const server = http.createServer();

  const app = websockify(new Koa());
  app.proxy = options.trustProxy ?? false;
  app.use(cors({ origin: '*' }));
  app.use(apiRoutes(tracker).routes());
  app.ws.use((ctx) => {
    tracker.handleConnection(ctx.websocket, ctx.req);
  });
  // Several WebSocket servers share this HTTP server, so none may listen on it
  // itself: `ws` answers 400 to any upgrade whose path it does not own.
  app.ws.listen({ noServer: true, maxPayload: 1024 * 1024 });
  const trackerWss = app.ws.server!;

  let signalingWss: WebSocketServer | undefined;
  const peerServer = ExpressPeerServer(server, {
    path: '/',
    key: PEERJS_KEY,
    concurrent_limit: options.maxSignalingClients ?? 20_000,
    proxied: options.trustProxy ?? false,
    createWebSocketServer: (wsOptions) => {
      signalingWss = new WebSocketServer({ noServer: true, path: wsOptions.path, maxPayload: 64 * 1024 });
      return signalingWss;
    },
  });
  peerServer.on('error', (err: Error) => debug('peerserver error %s', err.message));
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
      trackerWss.handleUpgrade(req, socket, head, (ws) => trackerWss.emit('connection', ws, req));
    } else if (isUnder(url.pathname, PEERJS_PATH) && signalingWss) {
      const id = url.searchParams.get('id') ?? '';
      const token = url.searchParams.get('token') ?? '';
      if (requireIdentity && !tracker.verifyPeerToken(id, token)) {
        debug('refused PeerJS id %s: token not issued by the tracker', id);
        return refuseUpgrade(socket, 403, 'This PeerJS ID was not issued to you by the tracker.');
      }
      const wss = signalingWss;
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    } else {
      refuseUpgrade(socket, 404, 'No WebSocket endpoint here. Use /tracker or /peerjs.');
    }
  });

  return {
    http: server,
    tracker,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
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
      await tracker.close();
      for (const client of trackerWss.clients) client.terminate();
      for (const client of signalingWss?.clients ?? []) client.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function isUnder(path: string | undefined, prefix: string): boolean {
  return path !== undefined && (path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`));
}

function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function apiRoutes(tracker: Tracker): Router {
  const router = new Router();

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
    const { alive, seeders, leechers } = await tracker.fileStatus(hash);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { hash, alive, seeders, leechers };
  });

  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ok: true, uptime: Math.round(process.uptime()), ...tracker.stats() };
  });

  router.get('/', async (ctx) => {
    ctx.type = 'html';
    ctx.body = await readFile(new URL('index.html', PUBLIC));
  });

  for (const file of ['ephemeralcdn.js', 'ephemeralcdn.js.map']) {
    router.get(`/${file}`, async (ctx) => {
      try {
        ctx.body = await readFile(new URL(file, DIST));
        ctx.type = file.endsWith('.map') ? 'application/json' : 'text/javascript';
        ctx.set('Cache-Control', 'no-cache');
      } catch {
        ctx.status = 503;
        ctx.type = 'text/plain';
        ctx.body = `${file} has not been built yet. Run \`npm run build\` (npm start does it for you).\n`;
      }
    });
  }

  return router;
}
