/**
 * Signaling between instances: a PeerJS message (offer, answer, ICE candidate, leave)
 * for a peer whose PeerServer connection is on another instance is handed to that
 * instance through a {@link SignalingBus} (Redis, see tracker/redis-store.ts), which
 * writes it to the peer's socket just as its own PeerServer would have.
 *
 * The PeerServer keeps its clients in its own memory and has no hook for this, so the
 * relay sits where the signaling guard does: on each socket's `message` events,
 * before the PeerServer sees them. A message for a peer connected here, or one no
 * instance holds, goes on to the PeerServer unchanged, which delivers it or queues
 * it and answers `EXPIRE` in time, as on a single instance.
 */
import createDebug from 'debug';
import type { WebSocket } from 'ws';
import { rawText, type RawData } from './tracker/protocol.js';

const debug = createDebug('ecdn:signaling-relay');

/** PeerJS message types that go from one peer to another (the rest are for the PeerServer itself). */
const PEER_TO_PEER = new Set(['OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE']);

/** What the relay needs from the store the instances share. {@link RedisStore} is one. */
export interface SignalingBus {
  /** Records that `peerId`'s PeerServer connection is on this instance. */
  attachSignaling(peerId: string): Promise<void>;
  /** Forgets it, unless it has moved to another instance meanwhile. */
  detachSignaling(peerId: string): Promise<void>;
  /** Hands `message` to the instance holding `peerId`'s connection; false when none does. */
  sendSignal(peerId: string, message: string): Promise<boolean>;
  /** Calls `listener` with each message another instance sent to a connection on this one. */
  onSignal(listener: (peerId: string, message: string) => void): () => void;
  /** `peers` lists this instance's connections, recorded again after the store lost its data. */
  setSignalingRebuild(peers: () => Iterable<string>): void;
}

export interface SignalingRelayEvents {
  /** A message went to another instance (`out`) or came from one (`in`). */
  onForward?(direction: 'in' | 'out'): void;
}

/** Forwards PeerJS messages between this instance's PeerServer connections and the other instances'. */
export class SignalingRelay {
  readonly #bus: SignalingBus;
  readonly #events: SignalingRelayEvents;
  /** This instance's PeerServer connections by peer ID: the newest socket of each. */
  readonly #local = new Map<string, WebSocket>();
  readonly #stop: () => void;

  constructor(bus: SignalingBus, events: SignalingRelayEvents = {}) {
    this.#bus = bus;
    this.#events = events;
    this.#stop = bus.onSignal((peerId, message) => this.#deliver(peerId, message));
    bus.setSignalingRebuild(() => this.#local.keys());
  }

  /**
   * Takes `ws`, the PeerServer connection of `peerId` (already checked against its
   * token), into the relay. Call before the PeerServer sees the socket, and after
   * anything that must see its messages first (the flood guard).
   */
  attach(ws: WebSocket, peerId: string): void {
    // PeerServer swaps in a reconnecting client's new socket the same way.
    this.#local.set(peerId, ws);
    this.#bus.attachSignaling(peerId).catch((err: Error) => debug('recording %s failed: %s', peerId, err.message));
    ws.once('close', () => {
      if (this.#local.get(peerId) !== ws) return;
      this.#local.delete(peerId);
      this.#bus.detachSignaling(peerId).catch((err: Error) => debug('forgetting %s failed: %s', peerId, err.message));
    });

    const emit = ws.emit;
    const bus = this.#bus;
    const events = this.#events;
    const local = this.#local;
    // Messages from one socket reach their peers in order: once one waits on the bus,
    // the ones after it wait behind it, even those for peers connected here.
    let queue: Promise<void> | undefined;
    let waiting = 0;
    ws.emit = function relayedEmit(this: WebSocket, event: string | symbol, ...args: unknown[]): boolean {
      if (event !== 'message') return emit.call(this, event, ...args);
      const pass = () => emit.call(ws, event, ...args);
      const forward = elsewhere(args[0] as RawData, peerId, local);
      if (forward === undefined && waiting === 0) return pass();
      waiting++;
      const step = async () => {
        try {
          if (forward === undefined || !(await bus.sendSignal(forward.dst, forward.message))) pass();
          else events.onForward?.('out');
        } catch (err) {
          // The bus is away: the PeerServer queues the message and answers EXPIRE in time.
          debug('forwarding to %s failed: %s', forward?.dst, (err as Error).message);
          pass();
        } finally {
          waiting--;
        }
      };
      queue = (queue ?? Promise.resolve()).then(step);
      return true;
    } as typeof ws.emit;
  }

  /** Open PeerServer connections this relay knows of. */
  get connections(): number {
    return this.#local.size;
  }

  /** Stops receiving from other instances. */
  close(): void {
    this.#stop();
  }

  #deliver(peerId: string, message: string): void {
    const ws = this.#local.get(peerId);
    // Gone since the sender looked it up: its dial times out, as it would against a peer that left.
    if (!ws || ws.readyState !== ws.OPEN) {
      debug('dropped a message for %s: not connected here', peerId);
      return;
    }
    ws.send(message);
    this.#events.onForward?.('in');
  }
}

/**
 * The message to forward, as the PeerServer would deliver it (`src` set to the
 * sender), when `data` is a peer-to-peer message for a peer not connected here.
 */
function elsewhere(data: RawData, src: string, local: Map<string, WebSocket>): { dst: string; message: string } | undefined {
  let message: { type?: unknown; dst?: unknown; src?: unknown };
  try {
    message = JSON.parse(rawText(data));
  } catch {
    // The PeerServer reports what it cannot parse.
    return undefined;
  }
  if (typeof message !== 'object' || message === null) return undefined;
  const { type, dst } = message;
  if (typeof type !== 'string' || !PEER_TO_PEER.has(type) || typeof dst !== 'string' || dst === '' || local.has(dst)) return undefined;
  message.src = src;
  return { dst, message: JSON.stringify(message) };
}
