/**
 * Peer identity: the tracker issues each new peer a random PeerJS ID and a token,
 * an HMAC of the ID under the tracker's secret. A peer that reconnects proves the
 * ID is its own with the token, and the PeerServer accepts an ID only with its
 * token, so nobody can take over another peer's ID. Nothing is stored per peer:
 * any tracker holding the same secret can check a token.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ISSUED_PEER_ID_LENGTH, TOKEN_LENGTH, isValidPeerId } from './protocol.js';

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A fresh PeerJS-valid ID: {@link ISSUED_PEER_ID_LENGTH} random base62 characters. */
export function randomPeerId(): string {
  let id = '';
  while (id.length < ISSUED_PEER_ID_LENGTH) {
    for (const byte of randomBytes(ISSUED_PEER_ID_LENGTH * 2)) {
      // 248 = 4 * 62: rejecting bytes above it keeps every character equally likely.
      if (byte < 248 && id.length < ISSUED_PEER_ID_LENGTH) id += BASE62[byte % 62];
    }
  }
  return id;
}

/** Issues and checks the tokens that bind a peer ID to whoever it was issued to. */
export class PeerTokens {
  /** @param secret the HMAC-SHA256 key; trackers sharing it accept each other's tokens */
  constructor(private readonly secret: Buffer) {}

  /** The token of `peerId`. */
  tokenFor(peerId: string): string {
    return createHmac('sha256', this.secret).update(peerId).digest('base64url').slice(0, TOKEN_LENGTH);
  }

  /** True when `token` is the one issued for `peerId`. Compares in constant time. */
  verify(peerId: string, token: string): boolean {
    if (!isValidPeerId(peerId) || typeof token !== 'string' || token.length !== TOKEN_LENGTH) return false;
    const expected = Buffer.from(this.tokenFor(peerId));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
