import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lookupCountry } from './geo.js';

describe('lookupCountry', () => {
  it('finds the country of public IPv4, IPv6 and IPv4-mapped addresses', () => {
    assert.equal(lookupCountry('8.8.8.8'), 'US');
    assert.equal(lookupCountry('::ffff:8.8.8.8'), 'US');
    assert.equal(lookupCountry('2001:4860:4860::8888'), 'US');
  });

  it('has no country for loopback, private and invalid addresses', () => {
    for (const ip of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '192.168.0.10', '10.0.0.1', 'fd12::1', '', 'not an ip']) {
      assert.equal(lookupCountry(ip), undefined, ip);
    }
  });
});
