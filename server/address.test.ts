import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { clientAddress, isPrivateAddress, normalizeIp, subnetKey } from './address.js';

describe('normalizeIp', () => {
  it('unwraps IPv4-mapped IPv6 and canonicalizes IPv6', () => {
    assert.equal(normalizeIp('::ffff:1.2.3.4'), '1.2.3.4');
    assert.equal(normalizeIp('::FFFF:102:304'), '1.2.3.4');
    assert.equal(normalizeIp('2001:DB8:0:0:0::1'), '2001:db8::1');
    assert.equal(normalizeIp('fe80::1%eth0'), 'fe80::1');
  });

  it('strips brackets, ports and spaces as proxies write them', () => {
    assert.equal(normalizeIp(' 1.2.3.4 '), '1.2.3.4');
    assert.equal(normalizeIp('1.2.3.4:8080'), '1.2.3.4');
    assert.equal(normalizeIp('[2001:db8::1]:443'), '2001:db8::1');
  });

  it('gives an empty string for anything else', () => {
    for (const raw of [undefined, '', 'localhost', '1.2.3', '1.2.3.4.5', '::g', 'unknown']) assert.equal(normalizeIp(raw), '', String(raw));
  });
});

describe('subnetKey', () => {
  it('is the /24 for IPv4 and the /48 for IPv6', () => {
    assert.equal(subnetKey('1.2.3.4'), subnetKey('1.2.3.250'));
    assert.notEqual(subnetKey('1.2.3.4'), subnetKey('1.2.4.4'));
    assert.equal(subnetKey('2001:db8:1:2::1'), subnetKey('2001:db8:1:ffff::9'));
    assert.notEqual(subnetKey('2001:db8:1::1'), subnetKey('2001:db8:2::1'));
    assert.equal(subnetKey(''), '');
  });
});

describe('isPrivateAddress', () => {
  it('knows loopback, private and link-local ranges', () => {
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.1.1',
      '100.64.0.1',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      'nonsense',
    ]) {
      assert.ok(isPrivateAddress(ip), ip);
    }
    for (const ip of ['8.8.8.8', '81.2.69.142', '2001:4860:4860::8888', '::ffff:8.8.8.8']) assert.ok(!isPrivateAddress(ip), ip);
  });
});

describe('clientAddress', () => {
  const req = (remoteAddress: string | undefined, forwarded?: string) =>
    ({ socket: { remoteAddress }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } }) as unknown as IncomingMessage;

  it('uses the socket address unless the proxy is trusted', () => {
    assert.equal(clientAddress(req('::ffff:10.0.0.1', '8.8.8.8'), false), '10.0.0.1');
    assert.equal(clientAddress(req('10.0.0.1', '8.8.8.8'), true), '8.8.8.8');
  });

  it('reads X-Forwarded-For from the right, so that a client cannot forge its address behind a trusted proxy', () => {
    // One proxy: it appended what it saw; whatever is to its left came from the client.
    assert.equal(clientAddress(req('10.0.0.1', '6.6.6.6, 8.8.8.8'), true), '8.8.8.8');
    assert.equal(clientAddress(req('10.0.0.1', '6.6.6.6, 8.8.8.8'), 1), '8.8.8.8');
    // Two proxies (a CDN, then ours): the second entry from the right.
    assert.equal(clientAddress(req('10.0.0.1', '6.6.6.6, 8.8.8.8, 10.0.0.2'), 2), '8.8.8.8');
    // Fewer entries than trusted hops: the left-most.
    assert.equal(clientAddress(req('10.0.0.1', '8.8.8.8'), 3), '8.8.8.8');
    // Repeated headers count as one list.
    assert.equal(
      clientAddress(
        { socket: { remoteAddress: '10.0.0.1' }, headers: { 'x-forwarded-for': ['6.6.6.6', '8.8.8.8'] } } as unknown as IncomingMessage,
        true,
      ),
      '8.8.8.8',
    );
  });

  it('falls back to the socket address when the header is missing or unreadable', () => {
    assert.equal(clientAddress(req('10.0.0.1'), true), '10.0.0.1');
    assert.equal(clientAddress(req('10.0.0.1', '8.8.8.8, garbage'), true), '10.0.0.1');
    assert.equal(clientAddress(req(undefined), false), '');
  });
});
