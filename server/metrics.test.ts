/** `GET /metrics` and the structured log, against a real server. */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import WebSocket from 'ws';
import { createServer, type EcdnServer, type ServerOptions } from './create-server.js';
import { createLogger, type LogLevel } from './logger.js';
import { delay, hashOf } from './tracker/test-helpers.js';

let server: EcdnServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: ServerOptions = {}): Promise<string> {
  server = createServer(options);
  return server.listen(0, '127.0.0.1');
}

type Json = Record<string, unknown>;

/** A tracker client that answers each request with its reply. */
async function trackerClient(base: string): Promise<{ ws: WebSocket; request: (m: Json) => Promise<Json> }> {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/tracker`);
  await new Promise((resolve) => ws.once('open', resolve));
  let rid = 0;
  const waiting = new Map<number, (m: Json) => void>();
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as Json;
    waiting.get(message.rid as number)?.(message);
  });
  return {
    ws,
    request(message) {
      const id = ++rid;
      ws.send(JSON.stringify({ ...message, rid: id }));
      return new Promise((resolve) => waiting.set(id, resolve));
    },
  };
}

/** The value of one sample in a Prometheus text exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe('GET /metrics', () => {
  it('serves the Prometheus text format with swarms, peers, announces, lookups, evictions, errors, reports and process metrics', async () => {
    const base = await start();
    const a = await trackerClient(base);
    const b = await trackerClient(base);
    await a.request({ type: 'hello' });
    const { peerId: idB } = await b.request({ type: 'hello' });
    await a.request({ type: 'announce', hash: hashOf(1) });
    await a.request({ type: 'announce', hash: hashOf(2), complete: false });
    await b.request({ type: 'lookup', hash: hashOf(1) });
    await b.request({ type: 'lookup', hash: 'nope' });
    await a.request({ type: 'report', hash: hashOf(1), peerId: idB, reason: 'BAD_PIECES' });
    await a.request({ type: 'report', hash: hashOf(1), peerId: idB, reason: 'BAD_PIECES' });
    await a.request({ type: 'report', hash: hashOf(1), peerId: 'other', reason: 'WHATEVER' });
    b.ws.close();
    await delay(50);

    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const expected: Record<string, number> = {
      ecdn_tracker_connections: 1,
      ecdn_tracker_peers: 1,
      ecdn_tracker_swarms: 2,
      ecdn_store_entries: 2,
      ecdn_store_up: 1,
      ecdn_store_rebuilds_total: 0,
      ecdn_signaling_connections: 0,
      'ecdn_tracker_hellos_total{resumed="false"}': 2,
      'ecdn_tracker_announces_total{complete="true"}': 1,
      'ecdn_tracker_announces_total{complete="false"}': 1,
      ecdn_tracker_lookups_total: 1,
      'ecdn_tracker_evictions_total{reason="close"}': 1,
      'ecdn_tracker_evictions_total{reason="timeout"}': 0,
      'ecdn_tracker_errors_total{code="INVALID_HASH"}': 1,
      'ecdn_tracker_errors_total{code="RATE_LIMITED"}': 0,
      'ecdn_tracker_reports_total{reason="BAD_PIECES"}': 1,
      'ecdn_tracker_reports_total{reason="OTHER"}': 1,
      'ecdn_tracker_reports_total{reason="BAD_MANIFEST"}': 0,
    };
    for (const [series, value] of Object.entries(expected)) assert.equal(sample(text, series), value, series);
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    a.ws.close();
  });

  it('is absent with metrics: false', async () => {
    const base = await start({ metrics: false });
    assert.equal((await fetch(`${base}/metrics`)).status, 404);
  });

  it('keeps two servers in one process apart', async () => {
    const other = createServer();
    const otherBase = await other.listen(0, '127.0.0.1');
    try {
      const base = await start();
      const client = await trackerClient(base);
      await client.request({ type: 'hello' });
      assert.equal(sample(await (await fetch(`${base}/metrics`)).text(), 'ecdn_tracker_peers'), 1);
      assert.equal(sample(await (await fetch(`${otherBase}/metrics`)).text(), 'ecdn_tracker_peers'), 0);
      client.ws.close();
    } finally {
      await other.close();
    }
  });
});

describe('structured log', () => {
  function capture(level: LogLevel) {
    const lines: Json[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line) as Json);
        done();
      },
    });
    return { lines, logger: createLogger({ level, destination }) };
  }

  it('writes one JSON object per line with level names, and abuse at warn', async () => {
    const { lines, logger } = capture('info');
    const base = await start({ logger, maxMessagesPerSecond: 5, messageBurst: 5, rateLimitStrikes: 5 });
    const client = await trackerClient(base);
    const { peerId } = await client.request({ type: 'hello' });
    await client.request({ type: 'report', hash: hashOf(1), peerId: 'liar', reason: 'BAD_MANIFEST' });
    for (let i = 0; i < 50; i++) client.ws.send('{"type":"ping"}');
    await new Promise((resolve) => client.ws.once('close', resolve));
    await delay(50);

    for (const line of lines) {
      assert.equal(typeof line.time, 'string');
      assert.ok(['info', 'warn', 'error', 'fatal'].includes(String(line.level)), `no debug line at info: ${JSON.stringify(line)}`);
      assert.equal(line.service, 'ephemeralcdn');
    }
    const report = lines.find((line) => line.event === 'report');
    assert.deepEqual(
      { level: report?.level, reporter: report?.reporter, peerId: report?.peerId, reason: report?.reason },
      { level: 'info', reporter: peerId, peerId: 'liar', reason: 'BAD_MANIFEST' },
    );
    const evict = lines.find((line) => line.event === 'evict');
    assert.deepEqual(
      { level: evict?.level, reason: evict?.reason, ip: evict?.ip, peerId: evict?.peerId },
      { level: 'warn', reason: 'rate-limited', ip: '127.0.0.1', peerId },
    );
  });

  it('logs client mistakes only at debug, and never a token', async () => {
    const { lines, logger } = capture('debug');
    const base = await start({ logger });
    const client = await trackerClient(base);
    const { token } = await client.request({ type: 'hello' });
    await client.request({ type: 'announce', hash: 'NOPE' });
    client.ws.close();
    await delay(50);
    const warning = lines.find((line) => line.code === 'INVALID_HASH');
    assert.equal(warning?.level, 'debug');
    assert.ok(lines.some((line) => line.event === 'hello'));
    assert.ok(lines.some((line) => line.event === 'evict' && line.reason === 'close' && line.level === 'debug'));
    assert.ok(!JSON.stringify(lines).includes(String(token)), 'the token is not in the log');
  });
});
