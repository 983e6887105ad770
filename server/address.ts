import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';
import type { IncomingMessage } from 'node:http';

/**
 * Canonical form of an IP address, or '' when `raw` is not one.
 *
 * IPv4-mapped IPv6 (`::ffff:1.2.3.4`) becomes plain IPv4, IPv6 is lowercased and
 * loses any zone (`%eth0`), and brackets or a port (`[::1]:80`, `1.2.3.4:80`, as
 * some proxies write them in `X-Forwarded-For`) are stripped.
 */
export function normalizeIp(raw: string | undefined): string {
  if (!raw) return '';
  let ip = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(ip);
  if (bracketed) ip = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(ip)) ip = ip.slice(0, ip.lastIndexOf(':'));
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  ip = ip.toLowerCase();
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return '';
  const groups = expandIPv6(ip);
  if (!groups) return '';
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  return compressIPv6(groups);
}

/** RFC 5952 text of eight groups: lowercase, no leading zeros, longest zero run (of 2+) as `::`. */
function compressIPv6(groups: number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The eight 16-bit groups of a valid IPv6 address, or undefined. */
export function expandIPv6(ip: string): number[] | undefined {
  if (!isIPv6(ip)) return undefined;
  let text = ip;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // A trailing dotted IPv4 stands for the last two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const front = parse(head);
  if (tail === undefined) return front.length === 8 ? front : undefined;
  const back = parse(tail);
  const missing = 8 - front.length - back.length;
  if (missing < 1) return undefined;
  return [...front, ...new Array<number>(missing).fill(0), ...back];
}

/**
 * The network a normalized address sits in: its IPv4 /24 or its IPv6 /48.
 * '' for an unknown address, which then shares a network with nobody.
 */
export function subnetKey(ip: string): string {
  if (isIPv4(ip)) return `${ip.slice(0, ip.lastIndexOf('.'))}.0/24`;
  const groups = expandIPv6(ip);
  if (!groups) return '';
  return `${groups
    .slice(0, 3)
    .map((g) => g.toString(16))
    .join(':')}::/48`;
}

/** Addresses that do not locate anyone on the public internet. */
const nonPublic = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  nonPublic.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  nonPublic.addSubnet(net, prefix, 'ipv6');
}

/** True for loopback, private, link-local, CGNAT, documentation, multicast and other non-public addresses. */
export function isPrivateAddress(ip: string): boolean {
  const normalized = normalizeIp(ip);
  const family = isIP(normalized);
  if (family === 0) return true;
  return nonPublic.check(normalized, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * How many reverse proxies in front of the server to trust, from the `trustProxy`
 * option: `false`/0 none, `true` one, a number that many.
 */
export type TrustProxy = boolean | number;

/** The number of trusted proxy hops that `trustProxy` stands for. */
export function proxyHops(trustProxy: TrustProxy | undefined): number {
  if (trustProxy === true) return 1;
  if (typeof trustProxy === 'number' && Number.isSafeInteger(trustProxy) && trustProxy > 0) return trustProxy;
  return 0;
}

/**
 * The address of the client behind `req`, normalized.
 *
 * With `trustProxy` (N trusted hops, `true` being 1), the N-th entry of
 * `X-Forwarded-For` counted from the right, or the left-most when there are fewer:
 * each proxy appends the address it was connected from, so the entries on the
 * right are the ones written by proxies we run, and anything to their left was
 * sent by the client and may be forged. Falls back to the socket's address when
 * the header is absent or that entry is unreadable. Without `trustProxy`, always
 * the socket's address, since anyone can write that header.
 */
export function clientAddress(req: IncomingMessage, trustProxy: TrustProxy = false): string {
  const hops = proxyHops(trustProxy);
  if (hops > 0) {
    const header = req.headers['x-forwarded-for'];
    const value = Array.isArray(header) ? header.join(',') : header;
    if (value) {
      const entries = value.split(',');
      const ip = normalizeIp(entries[Math.max(0, entries.length - hops)]);
      if (ip) return ip;
    }
  }
  return normalizeIp(req.socket?.remoteAddress);
}
