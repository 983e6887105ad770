import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { hostnameOf, IceServers, turnCredentials } from './ice.js';

describe('ICE servers handed to clients', () => {
  it('mints coturn REST API credentials: <expiry>:<peer ID>, base64 HMAC-SHA1 of it', () => {
    const { username, credential } = turnCredentials('secret', 'PEER1', 600, 1_700_000_000_000);
    assert.equal(username, '1700000600:PEER1');
    assert.equal(credential, createHmac('sha1', 'secret').update('1700000600:PEER1').digest('base64'));
  });

  it('names the host the client used in the STUN URL, with a second port to probe the NAT', () => {
    const ice = new IceServers({ stunPort: 3478 });
    assert.deepEqual(ice.grant('P', 'cdn.example.org:8787'), {
      iceServers: [{ urls: 'stun:cdn.example.org:3478' }],
      natProbe: ['stun:cdn.example.org:3478', 'stun:cdn.example.org:3479'],
    });
    assert.equal(ice.grant('P', '[2001:db8::1]:8787').iceServers[0]?.urls, 'stun:[2001:db8::1]:3478');
    assert.deepEqual(ice.grant('P', undefined).iceServers, [], 'no Host header, no STUN URL to give');
  });

  it('puts TURN with fresh credentials and static entries after STUN, and says when they expire', () => {
    const ice = new IceServers({
      stunPort: 3478,
      turnUrls: ['turn:198.18.0.1:3478'],
      turnSecret: 's',
      turnTtlSeconds: 60,
      iceServers: [{ urls: 'stun:other.example.org' }],
    });
    const grant = ice.grant('PEER', '198.18.0.1:8787', 1_000_000);
    assert.deepEqual(
      grant.iceServers.map((s) => s.urls),
      ['stun:198.18.0.1:3478', ['turn:198.18.0.1:3478'], 'stun:other.example.org'],
    );
    assert.equal(grant.iceServers[1]?.username, '1060:PEER');
    assert.equal(grant.expiresAt, 1_060_000);
  });

  it('hands out nothing by default', () => {
    assert.equal(new IceServers({}).enabled, false);
  });

  it('reads host names out of Host headers', () => {
    assert.equal(hostnameOf('Example.org'), 'example.org');
    assert.equal(hostnameOf('example.org:443'), 'example.org');
    assert.equal(hostnameOf('[::1]:8787'), '[::1]');
    assert.equal(hostnameOf('bad host'), undefined);
  });
});
