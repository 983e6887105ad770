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
  assert.throws(() => configFromEnv({ PORT: 'eighty' }), (err: Error) => err instanceof ConfigError && /PORT/.test(err.message));
  assert.throws(() => configFromEnv({ HEARTBEAT_TIMEOUT: '0' }), /HEARTBEAT_TIMEOUT/);
  assert.throws(() => configFromEnv({ TRUST_PROXY: 'maybe' }), /TRUST_PROXY/);
  assert.throws(() => configFromEnv({ ECDN_SECRET: 'short' }), /ECDN_SECRET/);
});
