/**
 * A peer identity the page makes itself, so that it can open its PeerServer
 * connection at the same time as its tracker connection instead of waiting for
 * the tracker's `welcome` to issue one: a round trip less on every cold start.
 *
 * The token is a random secret; the peer ID is the first 32 hex digits of the
 * token's SHA-256. The server accepts such an ID with the token it was derived
 * from, and only with it, so nobody who merely knows the ID can take it over
 * (docs/protocol.md, "Identity").
 */
import { sha256 } from 'hash-wasm';
import { bytesToHex } from './hash.js';
import type { Identity } from './tracker-client.js';

/** 192 random bits, written as 48 hex digits; the server wants at least 22 characters. */
const TOKEN_BYTES = 24;
/** Hex digits of the token's SHA-256 that make the ID: 128 bits. */
const PEER_ID_LENGTH = 32;

/** Makes a fresh identity: a random token, and the peer ID derived from it. */
export async function makeIdentity(): Promise<Identity> {
  const token = bytesToHex(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
  return { peerId: await peerIdOf(token), token };
}

/** The peer ID that `token` stands for. */
export async function peerIdOf(token: string): Promise<string> {
  return (await sha256(token)).slice(0, PEER_ID_LENGTH);
}
