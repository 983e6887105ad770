// One tracker load-generator process, started by bench/tracker/procs.ts with
// an IPC channel. Plain JavaScript so that it starts fast and spends as little
// CPU as possible per message, because on a 2-core machine every cycle a load
// generator burns is taken from the server under test: a minimal WebSocket
// client on a raw TCP socket (RFC 6455 text frames, a zero masking key, which
// servers must accept), replies recognised by their prefix and never parsed,
// except the welcome (which carries the heartbeat interval).
//
// Commands (from the parent over IPC):
//   { cmd: 'connect', url, count, firstPeer, addresses, hashesPerPeer, hashPool, concurrency }
//     opens `count` WebSockets, spread round-robin over the `addresses` (127.0.0.x)
//     as local (source) addresses; each says hello, announces its hashes, then
//     pings at the welcome's heartbeatInterval. Replies { ev: 'connected', held, failed, ms }.
//   { cmd: 'load', mode: 'open', rate, durationMs }   announces at `rate`/s, spread over the held peers
//   { cmd: 'load', mode: 'closed', window, peers, offset, durationMs }  `peers` peers (from the
//     `offset`th held one on) keep `window` announces outstanding
//     Either may say `kind: 'lookup'`: lookups of the peer's own hashes instead of announces.
//     Replies { ev: 'load', sent, done, errors, latencies: number[] (ms), ms, lastAckMs }: `ms` until
//     the last request was sent, `lastAckMs` until the last reply came.
//   { cmd: 'close' } closes every socket and exits.
import { createHash } from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const OPEN = 1;
const CLOSED = 3;

/** Just enough of a WebSocket client: connect, send text, receive text, close. */
class RawWebSocket {
  readyState = 0;
  #handlers = { open: [], message: [], error: [], close: [] };
  #pending = Buffer.alloc(0);
  #upgraded = false;

  constructor(url, { localAddress }) {
    const u = new URL(url);
    this.socket = net.connect({ host: u.hostname, port: Number(u.port), localAddress });
    this.socket.setNoDelay(true);
    this.socket.on('connect', () => {
      this.socket.write(
        `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    this.socket.on('data', (chunk) => this.#onData(chunk));
    this.socket.on('error', (err) => this.#emit('error', err));
    this.socket.on('close', () => {
      const was = this.readyState;
      this.readyState = CLOSED;
      if (was !== CLOSED) this.#emit('close');
    });
  }

  on(event, fn) {
    this.#handlers[event].push(fn);
  }

  #emit(event, arg) {
    for (const fn of this.#handlers[event]) fn(arg);
  }

  send(text) {
    const payload = Buffer.from(text, 'latin1');
    const n = payload.length;
    const head = n < 126 ? 6 : 8;
    const frame = Buffer.allocUnsafe(head + n);
    frame[0] = 0x81;
    if (n < 126) frame[1] = 0x80 | n;
    else {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(n, 2);
    }
    frame.writeUInt32BE(0, head - 4); // masking key 0: the payload goes as it is
    payload.copy(frame, head);
    this.socket.write(frame);
  }

  terminate() {
    this.readyState = CLOSED;
    this.socket.destroy();
  }

  #onData(chunk) {
    let buf = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    if (!this.#upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        this.#pending = buf;
        return;
      }
      if (!buf.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 101')) {
        this.#emit('error', new Error(buf.subarray(0, end).toString('latin1').split('\r\n')[0]));
        this.terminate();
        return;
      }
      this.#upgraded = true;
      this.readyState = OPEN;
      buf = buf.subarray(end + 4);
      this.#emit('open');
    }
    while (buf.length >= 2) {
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) break;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) break;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      if (buf.length < off + len) break;
      const opcode = buf[0] & 0x0f;
      const payload = buf.subarray(off, off + len);
      buf = buf.subarray(off + len);
      if (opcode === 1) this.#emit('message', payload);
      else if (opcode === 8) this.terminate();
    }
    this.#pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  }
}
const WebSocket = RawWebSocket;

/**
 * `acks`: send times of the requests awaiting a reply, by rid. Replies about different
 * hashes may overtake each other, so they are matched by rid, not by order.
 * @type {Array<{ ws: WebSocket, hashes: string[], acks: Map<number, number>, nextRid: number, pings: number, timer: NodeJS.Timeout | undefined, held: boolean, flip: boolean }>}
 */
const peers = [];
let heartbeatInterval = 10_000;
let errors = 0;
let closedUnexpectedly = 0;
let shuttingDown = false;
/** Announce completions of the running load phase. */
let onAck;

function hashOf(i) {
  return createHash('sha256').update(`bench-file-${i}`).digest('hex');
}

function send(msg) {
  process.send?.(msg);
}

function connectOne(url, localAddress, hashes) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { localAddress });
    const peer = { ws, hashes, acks: new Map(), nextRid: 0, pings: 0, timer: undefined, held: false, flip: false };
    let announced = 0;
    let settled = false;
    const settle = (ok) => {
      if (settled) return;
      settled = true;
      resolve(ok ? peer : undefined);
    };
    ws.on('open', () => ws.send('{"type":"hello"}'));
    ws.on('message', (data) => {
      const text = data.toString('latin1');
      if (text.startsWith('{"type":"ok"')) {
        if (!peer.held) {
          if (++announced === hashes.length) {
            peer.held = true;
            settle(true);
          }
          return;
        }
        acked(peer, text);
        return;
      }
      if (text.startsWith('{"type":"peers"')) {
        acked(peer, text);
        return;
      }
      if (text.startsWith('{"type":"pong"')) return;
      if (text.startsWith('{"type":"welcome"')) {
        const m = JSON.parse(text);
        heartbeatInterval = m.heartbeatInterval ?? heartbeatInterval;
        for (const h of hashes) ws.send(`{"type":"announce","hash":"${h}"}`);
        // Heartbeats at the interval the tracker asked for, with a random phase.
        const start = Math.random() * heartbeatInterval;
        peer.timer = setTimeout(function ping() {
          if (ws.readyState !== OPEN) return;
          ws.send('{"type":"ping"}');
          peer.pings++;
          peer.timer = setTimeout(ping, heartbeatInterval * (0.9 + Math.random() * 0.1));
        }, start);
        return;
      }
      if (text.startsWith('{"type":"error"')) {
        errors++;
        if (!peer.held) settle(false);
        else peer.acks.delete(ridOf(text));
      }
    });
    ws.on('error', () => settle(false));
    ws.on('close', () => {
      clearTimeout(peer.timer);
      if (peer.held && !shuttingDown) closedUnexpectedly++;
      settle(false);
    });
  });
}

async function connect({ url, count, firstPeer, addresses, hashesPerPeer, hashPool, concurrency }) {
  const started = performance.now();
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const p = firstPeer + i;
      const hashes = [];
      for (let k = 0; k < hashesPerPeer; k++) hashes.push(hashOf((p * hashesPerPeer + k) % hashPool));
      const peer = await connectOne(url, addresses[i % addresses.length], hashes);
      if (peer) peers.push(peer);
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  send({ ev: 'connected', held: peers.length, failed, ms: performance.now() - started });
}

/** The rid of a reply (the tracker writes it right after the type), or NaN. */
function ridOf(text) {
  const at = text.indexOf('"rid":');
  return at < 0 ? Number.NaN : Number.parseInt(text.slice(at + 6, at + 18), 10);
}

/** A reply to a timed request arrived. */
function acked(peer, text) {
  const rid = ridOf(text);
  const sentAt = peer.acks.get(rid);
  if (sentAt === undefined) return;
  peer.acks.delete(rid);
  onAck?.(peer, performance.now() - sentAt);
}

/** An announce that flips `complete`, so that every one changes the swarm; or a lookup. */
function requestOn(peer, kind) {
  const hash = peer.hashes[(Math.random() * peer.hashes.length) | 0];
  const rid = ++peer.nextRid;
  peer.acks.set(rid, performance.now());
  if (kind === 'lookup') {
    peer.ws.send(`{"type":"lookup","rid":${rid},"hash":"${hash}"}`);
    return;
  }
  peer.flip = !peer.flip;
  peer.ws.send(`{"type":"announce","rid":${rid},"hash":"${hash}","complete":${peer.flip ? 'false' : 'true'}}`);
}

async function load({ mode, kind = 'announce', rate, durationMs, window: win, peers: activePeers, offset = 0 }) {
  const live = peers.filter((p) => p.ws.readyState === OPEN);
  const latencies = [];
  let sent = 0;
  let done = 0;
  const errorsBefore = errors;
  const started = performance.now();
  const deadline = started + durationMs;
  let finishing = false;
  let lastAck = started;
  await new Promise((resolve) => {
    if (mode === 'closed') {
      const from = live.length ? offset % live.length : 0;
      const active = [...live.slice(from), ...live.slice(0, from)].slice(0, Math.min(activePeers, live.length));
      onAck = (peer, ms) => {
        latencies.push(ms);
        done++;
        lastAck = performance.now();
        if (!finishing && performance.now() < deadline) {
          requestOn(peer, kind);
          sent++;
        }
      };
      for (const peer of active) {
        for (let w = 0; w < win; w++) {
          requestOn(peer, kind);
          sent++;
        }
      }
      setTimeout(() => {
        finishing = true;
        resolve();
      }, durationMs);
    } else {
      // Open loop: a fixed offered rate, whatever the replies do.
      onAck = (_peer, ms) => {
        latencies.push(ms);
        done++;
        lastAck = performance.now();
      };
      const tick = 5;
      let due = 0;
      let cursor = (Math.random() * live.length) | 0;
      const timer = setInterval(() => {
        const now = performance.now();
        if (now >= deadline) {
          clearInterval(timer);
          resolve();
          return;
        }
        due = Math.floor(((now - started) / 1000) * rate) - sent;
        for (; due > 0; due--) {
          const peer = live[cursor++ % live.length];
          requestOn(peer, kind);
          sent++;
        }
      }, tick);
    }
  });
  const elapsed = performance.now() - started;
  // Give late replies up to 2 s to arrive, so that slow ones count in the tail.
  const waitUntil = performance.now() + 2_000;
  while (done + (errors - errorsBefore) < sent && performance.now() < waitUntil) await new Promise((r) => setTimeout(r, 20));
  onAck = undefined;
  for (const p of peers) p.acks.clear();
  send({ ev: 'load', sent, done, errors: errors - errorsBefore, latencies, ms: elapsed, lastAckMs: lastAck - started });
}

process.on('message', async (msg) => {
  try {
    if (msg.cmd === 'connect') await connect(msg);
    else if (msg.cmd === 'load') await load(msg);
    else if (msg.cmd === 'status') {
      const open = peers.filter((p) => p.ws.readyState === OPEN).length;
      const pings = peers.reduce((n, p) => n + p.pings, 0);
      send({ ev: 'status', open, pings, closedUnexpectedly, errors });
    } else if (msg.cmd === 'close') {
      shuttingDown = true;
      for (const p of peers) {
        clearTimeout(p.timer);
        p.ws.terminate();
      }
      send({ ev: 'closed' });
      setTimeout(() => process.exit(0), 50);
    }
  } catch (err) {
    send({ ev: 'error', message: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
send({ ev: 'ready' });
