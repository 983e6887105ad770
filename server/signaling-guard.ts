/**
 * Flood limits for the PeerServer (PeerJS signaling), which has none of its own
 * beyond a global client count: open connections per address, and a message and
 * byte rate per connection.
 *
 * Messages over the rate are dropped before the PeerServer sees them: PeerJS
 * clients treat any server `ERROR` as fatal, so nothing is sent back. A connection
 * that keeps going over the rate is closed with 1008. The rate matters beyond CPU:
 * the PeerServer queues messages for peers that are not connected (for up to 5 s),
 * so unthrottled messages to made-up IDs would be held in memory.
 */
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import { ConnectionsPerIp, RateLimit, StrikeWindow } from './limits.js';
import { CLOSE_POLICY_VIOLATION, CLOSE_TRY_AGAIN_LATER, RATE_LIMIT_WINDOW_MS, rawByteLength, type RawData } from './tracker/protocol.js';

/** Most PeerServer connections open at once from one IPv4 address or IPv6 /64. */
export const DEFAULT_MAX_SIGNALING_CONNECTIONS_PER_IP = 64;
/** Sustained PeerServer messages per second per connection. */
export const DEFAULT_SIGNALING_MESSAGES_PER_SECOND = 50;
/** PeerServer messages a connection may send at once (offers and ICE candidates to many peers). */
export const DEFAULT_SIGNALING_MESSAGE_BURST = 500;
/** Sustained PeerServer bytes per second per connection. */
export const DEFAULT_SIGNALING_BYTES_PER_SECOND = 64 * 1024;
/** PeerServer bytes a connection may send at once. */
export const DEFAULT_SIGNALING_BYTE_BURST = 1024 * 1024;

export interface SignalingLimits {
  maxConnectionsPerIp: number;
  messagesPerSecond: number;
  messageBurst: number;
  bytesPerSecond: number;
  byteBurst: number;
  /** Dropped messages within 10 s after which the connection is closed with 1008. */
  strikes: number;
}

export interface SignalingGuardEvents {
  /** A message was dropped for its rate; `disconnected` when the connection was closed for it. */
  onLimited?(ip: string, disconnected: boolean): void;
}

/** Counts signaling connections per address and throttles each one's messages. */
export class SignalingGuard {
  private readonly perIp: ConnectionsPerIp;

  constructor(
    readonly limits: SignalingLimits,
    private readonly events: SignalingGuardEvents = {},
  ) {
    this.perIp = new ConnectionsPerIp(limits.maxConnectionsPerIp);
  }

  /** True when one more connection from `ip` stays within the per-address cap. */
  admits(ip: string): boolean {
    return this.perIp.admits(ip);
  }

  /** Open connections. */
  get connections(): number {
    return this.perIp.total;
  }

  /**
   * Counts `ws` against `ip` and throttles its messages. Call before the PeerServer
   * sees the socket. False (and the socket closed with 1013) when the address is over its cap.
   */
  attach(ws: WebSocket, ip: string): boolean {
    if (!this.perIp.acquire(ip)) {
      ws.close(CLOSE_TRY_AGAIN_LATER, 'too many connections from this address');
      return false;
    }
    ws.once('close', () => this.perIp.release(ip));
    const now = performance.now();
    const messages = new RateLimit(this.limits.messagesPerSecond, this.limits.messageBurst, now);
    const bytes = new RateLimit(this.limits.bytesPerSecond, this.limits.byteBurst, now);
    const strikes = new StrikeWindow(this.limits.strikes, RATE_LIMIT_WINDOW_MS);
    const events = this.events;
    const emit = ws.emit;
    // The PeerServer listens for 'message' itself; filtering the event is the one way in.
    ws.emit = function guardedEmit(this: WebSocket, event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'message') {
        const at = performance.now();
        const size = rawByteLength(args[0] as RawData);
        // A message the byte budget refuses still uses its message token.
        if (!messages.take(at)) return limited(this, at);
        if (!bytes.take(at, size)) return limited(this, at);
      }
      return emit.call(this, event, ...args);
    } as typeof ws.emit;

    function limited(socket: WebSocket, at: number): boolean {
      if (socket.readyState !== socket.OPEN) return false;
      const disconnect = strikes.strike(at);
      events.onLimited?.(ip, disconnect);
      if (disconnect) socket.close(CLOSE_POLICY_VIOLATION, 'rate limit exceeded');
      return false;
    }
    return true;
  }
}
