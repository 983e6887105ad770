import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, configFromEnv } from './config.js';

test('defaults: port 8787 on 127.0.0.1, everything else left to the tracker', () => {
  const config = configFromEnv({});
  assert.equal(config.port, 8787);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.heartbeatTimeoutMs, undefined);
});

test('reads PORT, HOST, HEARTBEAT_TIMEOUT (seconds), TRUST_PROXY, MAX_PEERS_RETURNED, ECDN_SECRET', () => {
  const config = configFromEnv({
    PORT: '9000',
    HOST: '0.0.0.0',
    HEARTBEAT_TIMEOUT: '5',
    TRUST_PROXY: 'true',
    MAX_PEERS_RETURNED: '10',
    ECDN_SECRET: 'a-long-enough-secret',
  });
  assert.equal(config.port, 9000);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.heartbeatTimeoutMs, 5000);
  assert.equal(config.trustProxy, true);
  assert.equal(config.maxPeersReturned, 10);
  assert.equal(config.secret?.toString(), 'a-long-enough-secret');
});

test('refuses nonsense with a message naming the variable', () => {
  assert.throws(
    () => configFromEnv({ PORT: 'eighty' }),
    (err: Error) => err instanceof ConfigError && /PORT/.test(err.message),
  );
  assert.throws(() => configFromEnv({ HEARTBEAT_TIMEOUT: '0' }), /HEARTBEAT_TIMEOUT/);
  assert.throws(() => configFromEnv({ TRUST_PROXY: 'maybe' }), /TRUST_PROXY/);
  assert.throws(() => configFromEnv({ ECDN_SECRET: 'short' }), /ECDN_SECRET/);
});

test('reads every flood limit, LOG_LEVEL and METRICS', () => {
  const config = configFromEnv({
    MAX_CONNECTIONS_PER_IP: '8',
    MAX_MESSAGES_PER_SECOND: '20',
    MESSAGE_BURST: '100',
    RATE_LIMIT_STRIKES: '10',
    MAX_HASHES_PER_CONNECTION: '50',
    MAX_WATCHES_PER_CONNECTION: '60',
    MAX_MESSAGE_BYTES: '4096',
    MAX_REPORTS_PER_MINUTE: '5',
    MAX_SIGNALING_CLIENTS: '1000',
    MAX_SIGNALING_CONNECTIONS_PER_IP: '4',
    SIGNALING_MESSAGES_PER_SECOND: '30',
    SIGNALING_MESSAGE_BURST: '300',
    SIGNALING_BYTES_PER_SECOND: '32768',
    SIGNALING_BYTE_BURST: '524288',
    LOG_LEVEL: 'DEBUG',
    METRICS: 'false',
  });
  assert.deepEqual(
    {
      maxConnectionsPerIp: config.maxConnectionsPerIp,
      maxMessagesPerSecond: config.maxMessagesPerSecond,
      messageBurst: config.messageBurst,
      rateLimitStrikes: config.rateLimitStrikes,
      maxHashesPerConnection: config.maxHashesPerConnection,
      maxWatchesPerConnection: config.maxWatchesPerConnection,
      maxMessageBytes: config.maxMessageBytes,
      maxReportsPerMinute: config.maxReportsPerMinute,
      maxSignalingClients: config.maxSignalingClients,
      maxSignalingConnectionsPerIp: config.maxSignalingConnectionsPerIp,
      signalingMessagesPerSecond: config.signalingMessagesPerSecond,
      signalingMessageBurst: config.signalingMessageBurst,
      signalingBytesPerSecond: config.signalingBytesPerSecond,
      signalingByteBurst: config.signalingByteBurst,
      logLevel: config.logLevel,
      metrics: config.metrics,
    },
    {
      maxConnectionsPerIp: 8,
      maxMessagesPerSecond: 20,
      messageBurst: 100,
      rateLimitStrikes: 10,
      maxHashesPerConnection: 50,
      maxWatchesPerConnection: 60,
      maxMessageBytes: 4096,
      maxReportsPerMinute: 5,
      maxSignalingClients: 1000,
      maxSignalingConnectionsPerIp: 4,
      signalingMessagesPerSecond: 30,
      signalingMessageBurst: 300,
      signalingBytesPerSecond: 32768,
      signalingByteBurst: 524288,
      logLevel: 'debug',
      metrics: false,
    },
  );
  const defaults = configFromEnv({});
  assert.equal(defaults.logLevel, 'info');
  assert.equal(defaults.maxConnectionsPerIp, undefined, 'left to the tracker, which owns the defaults');
});

test('TRUST_PROXY takes true/false or a number of proxies', () => {
  assert.equal(configFromEnv({ TRUST_PROXY: 'false' }).trustProxy, false);
  assert.equal(configFromEnv({ TRUST_PROXY: '0' }).trustProxy, false);
  assert.equal(configFromEnv({ TRUST_PROXY: '1' }).trustProxy, 1);
  assert.equal(configFromEnv({ TRUST_PROXY: '2' }).trustProxy, 2);
  assert.throws(() => configFromEnv({ TRUST_PROXY: '99' }), /TRUST_PROXY/);
  assert.throws(() => configFromEnv({ TRUST_PROXY: '-1' }), /TRUST_PROXY/);
});

test('refuses a bad LOG_LEVEL or limit, naming the variable', () => {
  assert.throws(
    () => configFromEnv({ LOG_LEVEL: 'loud' }),
    (err: Error) => err instanceof ConfigError && /LOG_LEVEL/.test(err.message),
  );
  assert.throws(() => configFromEnv({ MAX_CONNECTIONS_PER_IP: '0' }), /MAX_CONNECTIONS_PER_IP/);
  assert.throws(() => configFromEnv({ MAX_MESSAGES_PER_SECOND: '1.5' }), /MAX_MESSAGES_PER_SECOND/);
  assert.throws(() => configFromEnv({ METRICS: 'perhaps' }), /METRICS/);
});

test('ICE: the built-in STUN server on 3478 by default, STUN_PORT=0 turns it off', () => {
  assert.equal(configFromEnv({}).ice?.stunPort, 3478);
  assert.equal(configFromEnv({ STUN_PORT: '0' }).ice?.stunPort, undefined);
  assert.equal(configFromEnv({ STUN_PORT: '5349' }).ice?.stunPort, 5349);
});

test('ICE: TURN_URLS with TURN_SECRET and TURN_TTL, ICE_SERVERS as JSON', () => {
  const { ice } = configFromEnv({
    TURN_URLS: 'turn:turn.example.org:3478?transport=udp, turns:turn.example.org:5349',
    TURN_SECRET: 'coturn-static-auth-secret',
    TURN_TTL: '3600',
    ICE_SERVERS: '[{"urls":"stun:stun.example.org:3478"},{"urls":["turn:other.example.org"],"username":"u","credential":"c"}]',
  });
  assert.deepEqual(ice?.turnUrls, ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349']);
  assert.equal(ice?.turnSecret, 'coturn-static-auth-secret');
  assert.equal(ice?.turnTtlSeconds, 3600);
  assert.deepEqual(ice?.iceServers, [
    { urls: 'stun:stun.example.org:3478' },
    { urls: ['turn:other.example.org'], username: 'u', credential: 'c' },
  ]);
});

test('ICE: bad settings stop the server with one line naming the setting, and never echo a secret', () => {
  const refuses = (env: NodeJS.ProcessEnv, setting: RegExp) =>
    assert.throws(
      () => configFromEnv(env),
      (err: Error) =>
        err instanceof ConfigError && setting.test(err.message) && !/hunter2/.test(err.message) && !err.message.includes('\n'),
    );
  refuses({ TURN_URLS: 'turn:turn.example.org' }, /TURN_SECRET/);
  refuses({ TURN_SECRET: 'hunter2' }, /TURN_URLS/);
  refuses({ TURN_URLS: 'http://turn.example.org', TURN_SECRET: 'hunter2' }, /TURN_URLS/);
  refuses({ TURN_URLS: 'stun:turn.example.org', TURN_SECRET: 'hunter2' }, /TURN_URLS/);
  refuses({ ICE_SERVERS: '{"urls": "stun:x"' }, /ICE_SERVERS/);
  refuses({ ICE_SERVERS: '{"urls": "stun:x"}' }, /ICE_SERVERS/);
  refuses({ ICE_SERVERS: '[{"urls": "https://x"}]' }, /ICE_SERVERS/);
  refuses({ ICE_SERVERS: '[{"urls": "turn:x", "credential": 7}]' }, /ICE_SERVERS/);
  refuses({ STUN_PORT: '70000' }, /STUN_PORT/);
  refuses({ TURN_URLS: 'turn:x', TURN_SECRET: 'hunter2', TURN_TTL: '1' }, /TURN_TTL/);
});

test('REDIS_URL: read when well-formed, refused with one line naming it otherwise, and only with ECDN_SECRET', () => {
  const secret = { ECDN_SECRET: 'a-long-enough-secret' };
  assert.equal(configFromEnv({}).redisUrl, undefined);
  assert.equal(configFromEnv({ ...secret, REDIS_URL: 'redis://:pw@cache.internal:6380/2' }).redisUrl, 'redis://:pw@cache.internal:6380/2');
  assert.equal(configFromEnv({ ...secret, REDIS_URL: 'rediss://cache.internal' }).redisUrl, 'rediss://cache.internal');
  for (const bad of ['localhost:6379', 'http://cache:6379', 'redis://', 'redis://cache/zero', 'not a url']) {
    assert.throws(
      () => configFromEnv({ ...secret, REDIS_URL: bad }),
      (err: Error) => err instanceof ConfigError && /^REDIS_URL /.test(err.message) && !err.message.includes('\n'),
      bad,
    );
  }
  assert.throws(
    () => configFromEnv({ REDIS_URL: 'redis://:hunter2@cache:6379' }),
    (err: Error) => err instanceof ConfigError && /REDIS_URL.*ECDN_SECRET/.test(err.message) && !err.message.includes('hunter2'),
  );
});
