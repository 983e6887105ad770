/**
 * A STUN binding responder (RFC 5389 §§6–7, 15.2): it tells a client the
 * address and port its request came from, which is all WebRTC needs to find a
 * server-reflexive candidate. With it, one exposed EphemeralCDN server connects
 * peers behind ordinary (endpoint-independent) NATs without a third party.
 *
 * Written here rather than taken from the `stun` package: answering a binding
 * request is about sixty lines, and that package brings a full client and
 * server stack, with its own dependencies, for this one message.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { crc32 } from 'node:zlib';

const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const MAGIC_COOKIE = 0x2112a442;
const HEADER = 20;
const XOR_MAPPED_ADDRESS = 0x0020;
const FINGERPRINT = 0x8028;
const FINGERPRINT_XOR = 0x5354554e;

/** A STUN responder listening on one UDP port. */
export interface StunServer {
  /** The UDP port it answers on. */
  readonly port: number;
  /** Binding requests answered so far. */
  readonly answered: number;
  close(): Promise<void>;
}

/**
 * Answers STUN binding requests on `port` (0: any free port) at `host`. Anything
 * that is not a well-formed binding request is dropped without an answer, so
 * the port cannot be used to reflect traffic at a third party.
 */
export async function startStunServer(port: number, host: string): Promise<StunServer> {
  const socket = createSocket({ type: isIPv4(host) || host === '' ? 'udp4' : 'udp6', ipv6Only: false });
  let answered = 0;
  socket.on('message', (message, remote) => {
    const response = bindingResponse(message, remote);
    if (!response) return;
    answered++;
    socket.send(response, remote.port, remote.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // A send error (an ICMP unreachable from a vanished client) must not end the server.
  socket.on('error', () => {});
  return {
    port: socket.address().port,
    get answered() {
      return answered;
    },
    close: () => closeSocket(socket),
  };
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.close(() => resolve()));
}

/** The success response to `message` if it is a binding request, else undefined. */
export function bindingResponse(message: Buffer, remote: Pick<RemoteInfo, 'address' | 'port' | 'family'>): Buffer | undefined {
  if (message.length < HEADER || message.length > 1024) return undefined;
  const type = message.readUInt16BE(0);
  const length = message.readUInt16BE(2);
  if (type !== BINDING_REQUEST || message.readUInt32BE(4) !== MAGIC_COOKIE || length % 4 !== 0 || HEADER + length !== message.length) {
    return undefined;
  }
  const transaction = message.subarray(8, 20);
  const attribute = xorMappedAddress(remote, transaction);
  const withoutFingerprint = Buffer.alloc(HEADER + attribute.length);
  withoutFingerprint.writeUInt16BE(BINDING_SUCCESS, 0);
  withoutFingerprint.writeUInt16BE(attribute.length + 8, 2);
  withoutFingerprint.writeUInt32BE(MAGIC_COOKIE, 4);
  transaction.copy(withoutFingerprint, 8);
  attribute.copy(withoutFingerprint, HEADER);
  const fingerprint = Buffer.alloc(8);
  fingerprint.writeUInt16BE(FINGERPRINT, 0);
  fingerprint.writeUInt16BE(4, 2);
  fingerprint.writeUInt32BE((crc32(withoutFingerprint) ^ FINGERPRINT_XOR) >>> 0, 4);
  return Buffer.concat([withoutFingerprint, fingerprint]);
}

function xorMappedAddress(remote: Pick<RemoteInfo, 'address' | 'port' | 'family'>, transaction: Buffer): Buffer {
  // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
  const v4 = remote.family === 'IPv4' ? remote.address : /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote.address)?.[1];
  const address = v4 ? Buffer.from(v4.split('.').map(Number)) : ipv6Bytes(remote.address);
  const key = Buffer.alloc(16);
  key.writeUInt32BE(MAGIC_COOKIE, 0);
  transaction.copy(key, 4);
  const value = Buffer.alloc(4 + address.length);
  value.writeUInt8(0, 0);
  value.writeUInt8(v4 ? 0x01 : 0x02, 1);
  value.writeUInt16BE(remote.port ^ (MAGIC_COOKIE >>> 16), 2);
  for (let i = 0; i < address.length; i++) value[4 + i] = address[i]! ^ key[i]!;
  const attribute = Buffer.alloc(4 + value.length);
  attribute.writeUInt16BE(XOR_MAPPED_ADDRESS, 0);
  attribute.writeUInt16BE(value.length, 2);
  value.copy(attribute, 4);
  return attribute;
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('%')[0]!.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  const bytes = Buffer.alloc(16);
  for (const [i, group] of groups.entries()) bytes.writeUInt16BE(Number.parseInt(group || '0', 16), i * 2);
  return bytes;
}
