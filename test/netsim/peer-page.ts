// A bare RTCPeerConnection for the smoke test, installed in a page with
// `page.evaluate(installPeer)`. It runs in the browser, so it must not use
// anything from this module's scope. Signaling goes through the test: the page
// calls `window.netsimSignal(message)` (a function the test exposes), and the
// test delivers the other side's messages with `netsimPeer.deliver(message)`.

/** A signaling message between the two pages, numbered so they apply in order. */
export interface SignalMessage {
  seq: number;
  description?: RTCSessionDescriptionInit;
  candidate?: RTCIceCandidateInit;
}

/** One end of the pair that carried the bytes, from `getStats()`. */
export interface CandidateInfo {
  type: string;
  address: string;
  port: number;
  protocol: string;
}

/** What a page reports after (or instead of) a transfer. */
export interface PeerReport {
  local: CandidateInfo | null;
  remote: CandidateInfo | null;
  /** Every remote candidate the stats know of. */
  remoteCandidates: CandidateInfo[];
  /** The candidate lines and descriptions this page received, verbatim. */
  received: string[];
  /** ICE and connection state changes, with the time since `start`. */
  iceStates: string[];
}

/** The page-side API, as `window.netsimPeer`. */
export interface NetsimPeer {
  start(config: RTCConfiguration): void;
  offer(): Promise<void>;
  /** Sends `total` bytes of a fixed pattern once the channel opens. */
  sendWhenOpen(total: number): void;
  deliver(message: SignalMessage): void;
  /** Bytes received so far that matched the pattern, or -1 after a mismatch. */
  receivedBytes(): number;
  /** Mbit/s from the first received message to the last. */
  receiveRateMbit(): number;
  iceState(): string;
  connectionState(): string;
  report(): Promise<PeerReport>;
}

declare global {
  interface Window {
    netsimPeer: NetsimPeer;
    netsimSignal(message: SignalMessage): Promise<void>;
  }
}

/** Installs `window.netsimPeer`. Self-contained: it is serialised into the page. */
export function installPeer(): void {
  let pc: RTCPeerConnection;
  let outSeq = 0;
  let inSeq = 0;
  const inbox = new Map<number, SignalMessage>();
  let applying: Promise<void> = Promise.resolve();
  const received: string[] = [];
  const iceStates: string[] = [];
  let receivedBytes = 0;
  let firstByteAt = 0;
  let lastByteAt = 0;
  let sendTotal = 0;
  // A fixed pattern that is not periodic at any message size, so that a lost,
  // repeated or reordered message shows as a mismatch.
  const byteAt = (i: number): number => (i * 31 + (i >>> 8) * 7 + (i >>> 16)) & 255;

  const signal = (message: Omit<SignalMessage, 'seq'>): void => {
    void window.netsimSignal({ seq: outSeq++, ...message });
  };

  const receiveOn = (channel: RTCDataChannel): void => {
    channel.binaryType = 'arraybuffer';
    channel.onmessage = (event) => {
      if (receivedBytes < 0) return;
      const bytes = new Uint8Array(event.data as ArrayBuffer);
      for (let i = 0; i < bytes.length; i++) {
        if (bytes[i] !== byteAt(receivedBytes + i)) {
          receivedBytes = -1;
          return;
        }
      }
      receivedBytes += bytes.length;
      lastByteAt = performance.now();
      firstByteAt ||= lastByteAt;
    };
  };

  const sendOn = (channel: RTCDataChannel): void => {
    const chunk = 64 * 1024;
    let offset = 0;
    channel.bufferedAmountLowThreshold = 256 * 1024;
    const pump = (): void => {
      while (offset < sendTotal && channel.bufferedAmount < 1024 * 1024) {
        const size = Math.min(chunk, sendTotal - offset);
        const bytes = new Uint8Array(size);
        for (let i = 0; i < size; i++) bytes[i] = byteAt(offset + i);
        channel.send(bytes);
        offset += size;
      }
    };
    channel.onbufferedamountlow = pump;
    channel.onopen = pump;
  };

  const apply = async (message: SignalMessage): Promise<void> => {
    if (message.description) {
      received.push(message.description.sdp ?? '');
      await pc.setRemoteDescription(message.description);
      if (message.description.type === 'offer') {
        await pc.setLocalDescription();
        signal({ description: pc.localDescription?.toJSON() });
      }
    } else if (message.candidate) {
      received.push(message.candidate.candidate ?? '');
      await pc.addIceCandidate(message.candidate);
    }
  };

  const describe = (stats: RTCStatsReport, id: string | undefined): CandidateInfo | null => {
    const candidate = id ? stats.get(id) : undefined;
    if (!candidate) return null;
    return {
      type: candidate.candidateType,
      address: candidate.address ?? candidate.ip,
      port: candidate.port,
      protocol: candidate.relayProtocol ?? candidate.protocol,
    };
  };

  window.netsimPeer = {
    start(config) {
      pc = new RTCPeerConnection(config);
      pc.onicecandidate = (event) => {
        if (event.candidate) signal({ candidate: event.candidate.toJSON() });
      };
      const born = performance.now();
      const note = (what: string): void => {
        iceStates.push(`${what} ${Math.round(performance.now() - born)} ms`);
      };
      pc.oniceconnectionstatechange = () => note(`ice ${pc.iceConnectionState}`);
      pc.onconnectionstatechange = () => note(`connection ${pc.connectionState}`);
      pc.ondatachannel = (event) => receiveOn(event.channel);
    },
    async offer() {
      sendOn(pc.createDataChannel('data'));
      await pc.setLocalDescription();
      signal({ description: pc.localDescription?.toJSON() });
    },
    sendWhenOpen(total) {
      sendTotal = total;
    },
    deliver(message) {
      inbox.set(message.seq, message);
      for (let next = inbox.get(inSeq); next; next = inbox.get(inSeq)) {
        inbox.delete(inSeq++);
        const message = next;
        applying = applying.then(() => apply(message)).catch((err) => console.error('signaling', err));
      }
    },
    receivedBytes: () => receivedBytes,
    receiveRateMbit: () => ((receivedBytes * 8) / Math.max(1, lastByteAt - firstByteAt)) * 1e-3,
    iceState: () => pc.iceConnectionState,
    connectionState: () => pc.connectionState,
    async report() {
      const stats = await pc.getStats();
      let pairId: string | undefined;
      const remoteCandidates: CandidateInfo[] = [];
      stats.forEach((entry) => {
        if (entry.type === 'transport' && entry.selectedCandidatePairId) pairId = entry.selectedCandidatePairId;
        const candidate = entry.type === 'remote-candidate' ? describe(stats, entry.id) : null;
        if (candidate) remoteCandidates.push(candidate);
      });
      const pair = pairId ? stats.get(pairId) : undefined;
      return {
        local: describe(stats, pair?.localCandidateId),
        remote: describe(stats, pair?.remoteCandidateId),
        remoteCandidates,
        received,
        iceStates,
      };
    },
  };
}
