import { createLog } from './log.js';
import type { DataConnection } from './peerjs.js';
import { Emitter } from './emitter.js';
import { EcdnError } from './errors.js';
import { decodeFrame, encodeFrame, PROTOCOL_VERSION, type Frame } from './wire.js';

const debug = createLog('ecdn:peer-link');

/**
 * Bytes queued in the data channel above which block senders wait. About 80 ms
 * at the 25 MB/s measured here: enough to keep the pipe full, and far below
 * the 16 MiB at which `send` throws.
 */
export const HIGH_WATER = 2 * 1024 * 1024;
/** `bufferedamountlow` fires when the queue drains to this. */
export const LOW_WATER = 1024 * 1024;

/**
 * HANDSHAKE feature bit: this peer accepts lanes, extra connections that carry
 * PIECE frames of a link beside its own channel (see {@link PeerLink.addLane}).
 */
export const FEATURE_LANES = 1;
/** The features this version sends in its HANDSHAKE. */
export const FEATURES = FEATURE_LANES;

/** One ICE candidate as `getStats()` reports it. */
export interface CandidateInfo {
  /** `host`, `srflx` (the address a NAT maps to), `prflx` or `relay` (a TURN server's). */
  type: RTCIceCandidateType | undefined;
  /** Undefined where the browser hides it (a peer-reflexive remote, say). */
  address: string | undefined;
  port: number | undefined;
  protocol: string | undefined;
}

/** How a link's bytes travel. */
export interface LinkRoute {
  /** The selected candidate pair's ends; undefined while none is selected. */
  local: CandidateInfo | undefined;
  remote: CandidateInfo | undefined;
  /** Every candidate the remote peer offered: all it revealed of its addresses. */
  remoteCandidates: CandidateInfo[];
}

interface PeerLinkEvents extends Record<string, unknown> {
  /** A decoded frame other than the handshake. */
  frame: Frame;
  /**
   * The channel opened and this side's handshake is on its way: frames sent
   * from now on reach the peer after it (the channel is ordered), so a dialler
   * need not wait a round trip for the peer's handshake before asking.
   */
  ready: undefined;
  /** The channel opened and both handshakes crossed. */
  open: undefined;
  /** The link is gone, for whatever reason. */
  close: undefined;
  /** Recoverable trouble, such as a malformed frame (the link is then closed). */
  warning: Error;
}

/**
 * One WebRTC data channel to one remote peer, shared by every file the two
 * peers have in common. It frames and unframes {@link Frame}s and gives block
 * senders backpressure from `bufferedAmount`, so that the sender's memory stays
 * bounded whatever the file size.
 */
export class PeerLink extends Emitter<PeerLinkEvents> {
  /** The remote PeerJS ID. */
  readonly remoteId: string;
  /** True once the link is closed. */
  destroyed = false;
  /** True once both handshakes crossed. */
  open = false;
  /** True once the channel opened and this side's handshake was sent (see the `ready` event). */
  ready = false;
  /** Payload bytes this link sent and received. */
  bytesSent = 0;
  bytesReceived = 0;
  /** The feature bits of the remote peer's HANDSHAKE; 0 until it arrived. */
  remoteFeatures = 0;

  readonly #conn: DataConnection;
  /** Extra connections carrying this link's PIECE frames; see {@link addLane}. */
  readonly #lanes: DataConnection[] = [];
  #gotHandshake = false;
  #drainWaiters: Array<() => void> = [];
  #drainPoll: ReturnType<typeof setInterval> | undefined;

  constructor(conn: DataConnection) {
    super();
    this.remoteId = conn.peer;
    this.#conn = conn;
    conn.on('open', () => this.#onOpen());
    conn.on('data', (data) => this.#onData(data));
    conn.on('close', () => this.destroy());
    conn.on('error', (err) => {
      this.emit('warning', err);
      this.destroy();
    });
    if (conn.open) this.#onOpen();
  }

  /** The PeerJS ID of the connection under this link's own channel; lanes name it. */
  get connectionId(): string {
    return this.#conn.connectionId;
  }

  /** Open lanes, not counting the link's own channel. */
  get lanes(): number {
    return this.#lanes.filter((lane) => channelOf(lane)?.readyState === 'open').length;
  }

  /**
   * Bytes queued, not yet handed to the network, in the channel the next PIECE
   * goes to (the least loaded one, when the link has lanes).
   */
  get bufferedAmount(): number {
    return this.#pieceChannel()?.bufferedAmount ?? 0;
  }

  /**
   * Adds a lane: another connection to the same peer (its own RTCPeerConnection,
   * so its own SCTP association, congestion window and loss recovery), over
   * which PIECE frames are sent when its queue is the shortest. On a long path
   * one association moves a window of about 100-150 KB per round trip whatever
   * the link's capacity, and a lost packet stalls its ordered channel; lanes
   * add windows side by side. Every frame is self-describing, so the receiver
   * takes them from any lane in any order. A lane closing leaves the link up.
   */
  addLane(conn: DataConnection): void {
    if (this.destroyed) {
      conn.close();
      return;
    }
    this.#lanes.push(conn);
    const onOpen = () => {
      const channel = channelOf(conn);
      if (this.destroyed || !channel) return;
      channel.bufferedAmountLowThreshold = LOW_WATER;
      channel.addEventListener('bufferedamountlow', () => this.#onDrain());
      debug('lane %d to %s open', this.#lanes.indexOf(conn) + 1, this.remoteId);
      // A sender waiting for room can use the new lane at once.
      this.#onDrain();
    };
    conn.on('open', onOpen);
    conn.on('data', (data) => this.#onData(data, true));
    const drop = () => {
      const index = this.#lanes.indexOf(conn);
      if (index >= 0) this.#lanes.splice(index, 1);
    };
    conn.on('close', drop);
    conn.on('error', (err) => {
      debug('lane to %s failed: %s', this.remoteId, err.message);
      drop();
      conn.close();
    });
    if (conn.open) onOpen();
  }

  /**
   * The ICE candidate pair carrying this link now, read from `getStats()`.
   * Browsers may switch pairs as ICE goes on, so read it when it matters (after
   * a transfer), not at open. Undefined once the link is closed.
   */
  async route(): Promise<LinkRoute | undefined> {
    const pc = (this.#conn as unknown as { peerConnection?: RTCPeerConnection }).peerConnection;
    if (!pc || this.destroyed) return undefined;
    const stats = await pc.getStats();
    type Entry = Record<string, unknown> & { id: string; type: string };
    let pairId: string | undefined;
    const remoteCandidates: CandidateInfo[] = [];
    const candidate = (id: unknown): CandidateInfo | undefined => {
      const entry = typeof id === 'string' ? (stats.get(id) as Entry | undefined) : undefined;
      if (!entry) return undefined;
      return {
        type: entry.candidateType as RTCIceCandidateType | undefined,
        address: (entry.address ?? entry.ip) as string | undefined,
        port: entry.port as number | undefined,
        protocol: entry.protocol as string | undefined,
      };
    };
    stats.forEach((entry: Entry) => {
      if (entry.type === 'transport' && typeof entry.selectedCandidatePairId === 'string') pairId = entry.selectedCandidatePairId;
      if (entry.type === 'remote-candidate') remoteCandidates.push(candidate(entry.id)!);
    });
    // Firefox reports no transport; its selected pair says so itself.
    if (!pairId) {
      stats.forEach((entry: Entry) => {
        if (entry.type === 'candidate-pair' && (entry.selected === true || (entry.nominated === true && entry.state === 'succeeded')))
          pairId = entry.id;
      });
    }
    const pair = pairId === undefined ? undefined : (stats.get(pairId) as Entry | undefined);
    return { local: candidate(pair?.localCandidateId), remote: candidate(pair?.remoteCandidateId), remoteCandidates };
  }

  /**
   * The round trip of the candidate pair carrying this link, in ms, as ICE's
   * own checks measured it; undefined before the first measurement or when the
   * link is gone.
   */
  async roundTripMs(): Promise<number | undefined> {
    const pc = (this.#conn as unknown as { peerConnection?: RTCPeerConnection }).peerConnection;
    if (!pc || this.destroyed) return undefined;
    const stats = await pc.getStats();
    let rtt: number | undefined;
    stats.forEach((entry: Record<string, unknown>) => {
      const selected =
        entry.type === 'candidate-pair' && (entry.nominated === true || entry.selected === true) && entry.state === 'succeeded';
      if (selected && typeof entry.currentRoundTripTime === 'number') rtt = Math.max(rtt ?? 0, entry.currentRoundTripTime * 1000);
    });
    return rtt;
  }

  /** Sends one frame now. Control frames are small, so they skip backpressure. */
  send(frame: Frame): void {
    const channel = this.#channel;
    if (this.destroyed || !channel || channel.readyState !== 'open') return;
    const bytes = encodeFrame(frame);
    try {
      (frame.type === 'PIECE' ? (this.#pieceChannel() ?? channel) : channel).send(bytes);
      this.bytesSent += frame.type === 'PIECE' ? frame.data.byteLength : 0;
    } catch (err) {
      this.emit('warning', err instanceof Error ? err : new Error(String(err)));
      this.destroy();
    }
  }

  /** Resolves once the channel's queue is below {@link HIGH_WATER}, or at once if the link is gone. */
  drained(): Promise<void> {
    if (this.destroyed || this.bufferedAmount < HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drainWaiters.push(resolve);
      // Some WebRTC stacks (node-datachannel among them) do not always fire
      // bufferedamountlow, so a slow poll backs the event up.
      this.#drainPoll ??= setInterval(() => this.#onDrain(), 20);
    });
  }

  /** Closes the channel; pending drains resolve so that senders can notice `destroyed`. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.open = false;
    clearInterval(this.#drainPoll);
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
    for (const conn of [this.#conn, ...this.#lanes.splice(0)]) {
      try {
        conn.close();
      } catch {
        // Already closed underneath.
      }
    }
    debug('link to %s closed', this.remoteId);
    this.emit('close', undefined);
    this.removeAllListeners();
  }

  get #channel(): RTCDataChannel | undefined {
    return channelOf(this.#conn);
  }

  /** The open channel with the shortest queue: the link's own, or a lane's. */
  #pieceChannel(): RTCDataChannel | undefined {
    let best = this.#channel;
    for (const lane of this.#lanes) {
      const channel = channelOf(lane);
      if (channel?.readyState !== 'open') continue;
      if (best?.readyState !== 'open' || channel.bufferedAmount < best.bufferedAmount) best = channel;
    }
    return best;
  }

  #onOpen(): void {
    const channel = this.#channel;
    if (this.destroyed || !channel) return;
    channel.bufferedAmountLowThreshold = LOW_WATER;
    channel.addEventListener('bufferedamountlow', () => this.#onDrain());
    // PeerJS's raw connection queues in JavaScript above 8 MiB; we send on the
    // channel itself and keep our own, smaller watermark instead.
    this.send({ type: 'HANDSHAKE', version: PROTOCOL_VERSION, features: FEATURES });
    this.ready = true;
    this.emit('ready', undefined);
  }

  #onDrain(): void {
    if (!this.destroyed && this.bufferedAmount >= HIGH_WATER) return;
    clearInterval(this.#drainPoll);
    this.#drainPoll = undefined;
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  #onData(data: unknown, lane = false): void {
    if (this.destroyed) return;
    let frame: Frame;
    try {
      if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) {
        throw new EcdnError('PROTOCOL', `Expected a binary frame, got ${typeof data}.`);
      }
      frame = decodeFrame(data);
    } catch (err) {
      this.emit('warning', err as Error);
      this.destroy();
      return;
    }
    // A lane carries PIECE frames only: whatever else comes on one is a peer out of line.
    if (lane && frame.type !== 'PIECE') {
      this.emit('warning', new EcdnError('PROTOCOL', `Peer ${this.remoteId} sent ${frame.type} on a lane.`));
      this.destroy();
      return;
    }
    if (frame.type === 'HANDSHAKE') {
      if (frame.version !== PROTOCOL_VERSION) {
        this.emit('warning', new EcdnError('PROTOCOL', `Peer ${this.remoteId} speaks wire version ${frame.version}.`));
        this.destroy();
        return;
      }
      this.#gotHandshake = true;
      this.remoteFeatures = frame.features;
      this.open = true;
      this.emit('open', undefined);
      return;
    }
    if (!this.#gotHandshake) {
      this.emit('warning', new EcdnError('PROTOCOL', `Peer ${this.remoteId} sent ${frame.type} before its handshake.`));
      this.destroy();
      return;
    }
    if (frame.type === 'PIECE') this.bytesReceived += frame.data.byteLength;
    this.emit('frame', frame);
  }
}

function channelOf(conn: DataConnection): RTCDataChannel | undefined {
  return (conn as unknown as { dataChannel?: RTCDataChannel }).dataChannel;
}
