/**
 * "Why can't I connect?": what this network lets WebRTC do, found by gathering
 * ICE candidates against the servers the EphemeralCDN server hands out, and a
 * verdict a person can act on.
 */

/** What {@link SwarmEngine.diagnose} reports. */
export interface Diagnosis {
  /** Whether the tracker answered. */
  tracker: 'ok' | 'unreachable';
  /** Whether the PeerJS signaling server accepted this page. */
  signaling: 'ok' | 'unreachable';
  /** ICE candidates gathered, by type. */
  candidates: { host: number; srflx: number; relay: number };
  /** Whether the STUN servers handed out answered; `none` when there are none. */
  stun: 'ok' | 'failed' | 'none';
  /**
   * How this network maps addresses: `open` (no NAT), `cone` (one public port
   * per local port: direct connections work), `symmetric` (a new public port per
   * destination: direct connections fail, a relay is needed), or `unknown`.
   */
  nat: 'open' | 'cone' | 'symmetric' | 'unknown';
  /** Whether a relay candidate came from the TURN servers; `none` when none is configured. */
  turn: 'ok' | 'failed' | 'none';
  /** One line a person can act on. */
  verdict: string;
}

/** A gathered candidate, as much of it as diagnosis needs. */
export interface GatheredCandidate {
  type: RTCIceCandidateType;
  address: string;
  port: number;
  /** The host port it was mapped from (srflx and relay). */
  relatedPort: number | undefined;
}

/** What gathering found. */
export interface Gathering {
  candidates: GatheredCandidate[];
  /** STUN or TURN URLs that did not answer (icecandidateerror). */
  unanswered: Set<string>;
}

/**
 * Gathers candidates against `iceServers` until gathering completes or
 * `timeoutMs` passes. Needs a global RTCPeerConnection (a page, or Node with
 * node-datachannel's polyfill).
 */
export async function gatherCandidates(iceServers: RTCIceServer[], timeoutMs: number): Promise<Gathering> {
  const pc = new RTCPeerConnection({ iceServers });
  const candidates: GatheredCandidate[] = [];
  const unanswered = new Set<string>();
  try {
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      pc.addEventListener('icecandidate', (event) => {
        const candidate = (event as RTCPeerConnectionIceEvent).candidate;
        if (!candidate) {
          clearTimeout(timer);
          resolve();
          return;
        }
        const parsed = parseCandidate(candidate.candidate);
        if (parsed) candidates.push(parsed);
      });
      pc.addEventListener('icecandidateerror', (event) => {
        const url = (event as Event & { url?: string }).url;
        if (url) unanswered.add(url);
      });
    });
    pc.createDataChannel('diagnose');
    await pc.setLocalDescription(await pc.createOffer());
    await done;
  } finally {
    pc.close();
  }
  return { candidates, unanswered };
}

/** Reads type, address, port and related port out of an SDP candidate line. */
export function parseCandidate(line: string): GatheredCandidate | undefined {
  const fields = line.replace(/^a=/, '').split(/\s+/);
  // candidate:<foundation> <component> <protocol> <priority> <address> <port> typ <type> [raddr <a> rport <p>] …
  const typeAt = fields.indexOf('typ');
  if (typeAt < 0 || fields.length < 8) return undefined;
  const type = fields[typeAt + 1] as RTCIceCandidateType;
  const rportAt = fields.indexOf('rport');
  return {
    type,
    address: fields[4] ?? '',
    port: Number(fields[5]),
    relatedPort: rportAt < 0 ? undefined : Number(fields[rportAt + 1]),
  };
}

/**
 * Tells the NAT from the candidates gathered against two STUN endpoints: one
 * public port per local port is a cone, several a symmetric NAT.
 */
export function classifyNat(gathering: Gathering, stunUrls: string[]): Diagnosis['nat'] {
  const srflx = gathering.candidates.filter((c) => c.type === 'srflx');
  if (srflx.length === 0) {
    // A server-reflexive address equal to a host address is dropped as redundant,
    // so STUN servers that answered but gave nothing new mean no NAT at all.
    const answered = stunUrls.filter((url) => !gathering.unanswered.has(url));
    const hosts = gathering.candidates.some((c) => c.type === 'host');
    return stunUrls.length > 0 && answered.length === stunUrls.length && hosts ? 'open' : 'unknown';
  }
  const portsPerBase = new Map<string, Set<number>>();
  for (const c of srflx) {
    const key = String(c.relatedPort);
    let ports = portsPerBase.get(key);
    if (!ports) {
      ports = new Set();
      portsPerBase.set(key, ports);
    }
    ports.add(c.port);
  }
  if ([...portsPerBase.values()].some((ports) => ports.size > 1)) return 'symmetric';
  // One mapping seen from one endpoint says nothing about what a second would see.
  return stunUrls.length >= 2 ? 'cone' : 'unknown';
}

/** The one line for a diagnosis. */
export function verdictFor(d: Omit<Diagnosis, 'verdict'>): string {
  if (d.tracker === 'unreachable') return 'The EphemeralCDN server cannot be reached: check the address and your connection.';
  if (d.signaling === 'unreachable') return "The server's signaling service cannot be reached, so no peer connection can be set up.";
  if (d.candidates.host + d.candidates.srflx + d.candidates.relay === 0) {
    return 'This browser offers no network address to peers (WebRTC is disabled or blocked).';
  }
  if (d.stun === 'none' && d.turn === 'none') {
    return 'This server hands out no STUN or TURN server: peers connect only within one network.';
  }
  if (d.nat === 'symmetric' || (d.stun === 'failed' && d.candidates.srflx === 0)) {
    const blocked =
      d.nat === 'symmetric'
        ? 'Your network (a symmetric NAT) blocks direct connections'
        : 'Your network lets no STUN answer through, so direct connections are unlikely';
    if (d.turn === 'ok') return `${blocked}; connections go through the server's relay, which works.`;
    if (d.turn === 'failed') return `${blocked}, and the relay (TURN) configured on this server did not answer.`;
    return `${blocked} and this server has no relay configured.`;
  }
  if (d.turn === 'failed')
    return 'Direct connections should work from this network; the relay (TURN) configured on this server did not answer.';
  return d.nat === 'open'
    ? 'This device has a public address: direct connections work.'
    : 'Direct connections work from this network for peers whose networks allow them.';
}
