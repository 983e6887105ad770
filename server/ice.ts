/**
 * The ICE servers a client is handed in the tracker's `welcome`: the server's
 * own STUN responder, TURN servers with short-lived credentials minted per
 * peer, and static entries. Peers behind ordinary NATs then connect with no
 * setup on the page, and peers behind symmetric NATs through the relay.
 */
import { createHmac } from 'node:crypto';

/** One entry of `RTCConfiguration.iceServers`, as JSON. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** Where clients are sent to find their way through NATs. All optional. */
export interface IceOptions {
  /**
   * UDP port of the built-in STUN responder (`stun:<the host name the client
   * used>:<port>`). It answers on the next port up too, for NAT probing.
   * Undefined or 0: no built-in STUN.
   */
  stunPort?: number | undefined;
  /** `turn:`/`turns:` URLs of TURN servers that share {@link turnSecret} (coturn's `use-auth-secret`). */
  turnUrls?: string[] | undefined;
  /** The TURN REST API secret (coturn's `static-auth-secret`). */
  turnSecret?: string | undefined;
  /** Lifetime of minted TURN credentials, in seconds. Default 86,400 (a day). */
  turnTtlSeconds?: number | undefined;
  /** Static entries handed to every client, after the ones above. */
  iceServers?: IceServer[] | undefined;
}

/** What one client is handed. */
export interface IceGrant {
  iceServers: IceServer[];
  /**
   * Two STUN URLs on the same host but different ports, for `diagnose()` to tell
   * a NAT that keeps its mapping per source (cone) from one that maps each
   * destination anew (symmetric). Absent when there is no such pair.
   */
  natProbe?: string[];
  /** When the TURN credentials expire (ms since the epoch); absent without TURN. */
  expiresAt?: number;
}

/** TURN credentials for the REST API scheme coturn implements with `use-auth-secret`. */
export function turnCredentials(
  secret: string,
  name: string,
  ttlSeconds: number,
  nowMs = Date.now(),
): { username: string; credential: string } {
  const username = `${Math.floor(nowMs / 1000) + ttlSeconds}:${name}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}

export const DEFAULT_TURN_TTL_SECONDS = 86_400;

/** True when `url` is an ICE server URL of a scheme WebRTC takes (RFC 7064, RFC 7065). */
export function isIceUrl(url: string): boolean {
  return /^(stun|stuns|turn|turns):[^\s/]+/i.test(url);
}

/** Hands out ICE servers per {@link IceOptions}. */
export class IceServers {
  readonly #options: IceOptions;
  readonly #ttl: number;

  constructor(options: IceOptions) {
    this.#options = options;
    this.#ttl = options.turnTtlSeconds ?? DEFAULT_TURN_TTL_SECONDS;
    if (options.turnUrls?.length && !options.turnSecret) throw new RangeError('TURN URLs need the TURN secret.');
  }

  /** True when anything at all is handed out. */
  get enabled(): boolean {
    const { stunPort, turnUrls, iceServers } = this.#options;
    return Boolean(stunPort) || Boolean(turnUrls?.length) || Boolean(iceServers?.length);
  }

  /** What peer `peerId`, which reached this server as `host` (a Host header), is handed now. */
  grant(peerId: string, host: string | undefined, nowMs = Date.now()): IceGrant {
    const { stunPort, turnUrls, turnSecret, iceServers } = this.#options;
    const grant: IceGrant = { iceServers: [] };
    const hostname = host === undefined ? undefined : hostnameOf(host);
    if (stunPort && hostname) {
      grant.iceServers.push({ urls: `stun:${hostname}:${stunPort}` });
      grant.natProbe = [`stun:${hostname}:${stunPort}`, `stun:${hostname}:${stunPort + 1}`];
    }
    if (turnUrls?.length && turnSecret) {
      grant.iceServers.push({ urls: turnUrls, ...turnCredentials(turnSecret, peerId, this.#ttl, nowMs) });
      grant.expiresAt = (Math.floor(nowMs / 1000) + this.#ttl) * 1000;
    }
    if (iceServers) grant.iceServers.push(...iceServers);
    return grant;
  }
}

/** The host name of a Host header: without its port, an IPv6 literal kept in brackets. */
export function hostnameOf(host: string): string | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]\s]+)(?::\d+)?$/i.exec(host.trim());
  return match?.[1]?.toLowerCase();
}
