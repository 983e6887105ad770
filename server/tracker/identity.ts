/**
 * Peer identity: a PeerJS ID and a token that proves it. Either the tracker issues
 * a random ID with a token that is an HMAC of the ID under its secret, or a peer
 * makes its own: a random token, and the ID derived from it by SHA-256. A peer that
 * reconnects proves the ID is its own with the token, and the PeerServer accepts an
 * ID only with its token, so nobody can take over another peer's ID. Nothing is
 * stored per peer: any tracker holding the same secret can check either kind.
 *
 * Own IDs exist for speed: a page that makes its own opens its PeerServer
 * connection before the tracker has answered, instead of after `welcome`
 * (docs/protocol.md, "Identity").
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ISSUED_PEER_ID_LENGTH, MIN_OWN_TOKEN_LENGTH, OWN_PEER_ID_LENGTH, TOKEN_LENGTH, isValidPeerId } from './protocol.js';

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

/** The ID a peer's own `token` stands for: the first {@link OWN_PEER_ID_LENGTH} hex digits of its SHA-256. */
export function ownPeerId(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, OWN_PEER_ID_LENGTH);
}

/** Issues and checks the tokens that bind a peer ID to whoever it was issued to. */
export class PeerTokens {
  /** @param secret the HMAC-SHA256 key; trackers sharing it accept each other's tokens */
  constructor(private readonly secret: Buffer) {}

  /** The token of `peerId`. */
  tokenFor(peerId: string): string {
    return createHmac('sha256', this.secret).update(peerId).digest('base64url').slice(0, TOKEN_LENGTH);
  }

  /**
   * True when `token` proves `peerId`: the token issued for it, or, for an ID the
   * peer made itself, the token it derived the ID from. Compares in constant time.
   */
  verify(peerId: string, token: string): boolean {
    if (!isValidPeerId(peerId) || typeof token !== 'string') return false;
    if (peerId.length === OWN_PEER_ID_LENGTH) {
      return token.length >= MIN_OWN_TOKEN_LENGTH && sameText(ownPeerId(token), peerId);
    }
    return token.length === TOKEN_LENGTH && sameText(this.tokenFor(peerId), token);
  }
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
