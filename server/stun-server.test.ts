import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { bindingResponse, startStunServer, type StunServer } from './stun-server.js';

/** A binding request with a random transaction ID. */
function bindingRequest(): { message: Buffer; transaction: Buffer } {
  const message = Buffer.alloc(20);
  message.writeUInt16BE(0x0001, 0);
  message.writeUInt32BE(0x2112a442, 4);
  const transaction = randomBytes(12);
  transaction.copy(message, 8);
  return { message, transaction };
}

/** Reads XOR-MAPPED-ADDRESS (IPv4) out of a success response. */
function mappedAddress(response: Buffer): { address: string; port: number } {
  for (let at = 20; at < response.length; ) {
    const type = response.readUInt16BE(at);
    const length = response.readUInt16BE(at + 2);
    if (type === 0x0020) {
      const port = response.readUInt16BE(at + 6) ^ 0x2112;
      const address = [0, 1, 2, 3].map((i) => response[at + 8 + i]! ^ [0x21, 0x12, 0xa4, 0x42][i]!).join('.');
      return { address, port };
    }
    at += 4 + length + ((4 - (length % 4)) % 4);
  }
  throw new Error('no XOR-MAPPED-ADDRESS');
}

describe('STUN responder', () => {
  let server: StunServer;
  before(async () => {
    server = await startStunServer(0, '127.0.0.1');
  });
  after(() => server.close());

  it('answers a binding request with the address and port it came from', async () => {
    const client = createSocket('udp4');
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    const { message, transaction } = bindingRequest();
    const response = new Promise<Buffer>((resolve) => client.once('message', resolve));
    client.send(message, server.port, '127.0.0.1');
    const reply = await response;
    assert.equal(reply.readUInt16BE(0), 0x0101, 'a binding success response');
    assert.deepEqual(reply.subarray(8, 20), transaction, 'for our transaction');
    assert.deepEqual(mappedAddress(reply), { address: '127.0.0.1', port: client.address().port });
    client.close();
  });

  it('drops what is not a binding request, so it cannot reflect traffic', () => {
    const remote = { address: '192.0.2.1', port: 5000, family: 'IPv4' as const };
    const { message } = bindingRequest();
    assert.ok(bindingResponse(message, remote));
    const indication = Buffer.from(message);
    indication.writeUInt16BE(0x0011, 0);
    assert.equal(bindingResponse(indication, remote), undefined, 'a binding indication');
    assert.equal(bindingResponse(Buffer.from('GET / HTTP/1.1\r\n\r\n'), remote), undefined, 'not STUN');
    const badCookie = Buffer.from(message);
    badCookie.writeUInt32BE(0, 4);
    assert.equal(bindingResponse(badCookie, remote), undefined, 'an RFC 3489 request without the magic cookie');
    assert.equal(bindingResponse(Buffer.concat([message, Buffer.alloc(3)]), remote), undefined, 'a length that does not add up');
  });

  it('encodes IPv6 clients too', () => {
    const { message } = bindingRequest();
    const reply = bindingResponse(message, { address: '2001:db8::1', port: 4000, family: 'IPv6' })!;
    assert.equal(reply.readUInt16BE(20), 0x0020);
    assert.equal(reply.readUInt16BE(22), 20, 'family, port and 16 address bytes');
    assert.equal(reply[25], 0x02);
  });

  it("satisfies coturn's own STUN client", {
    skip: !hasTurnutils() && 'turnutils_stunclient is not installed (apt-get install coturn)',
  }, async () => {
    const { stdout } = await promisify(execFile)('turnutils_stunclient', ['-p', String(server.port), '127.0.0.1']);
    assert.match(stdout, /UDP reflexive addr: 127\.0\.0\.1:\d+/);
  });
});

function hasTurnutils(): boolean {
  return ['/usr/bin/turnutils_stunclient', '/usr/local/bin/turnutils_stunclient'].some((path) => existsSync(path));
}
