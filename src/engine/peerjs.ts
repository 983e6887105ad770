import * as peerjs from 'peerjs';

export type { DataConnection, PeerError } from 'peerjs';

/**
 * The PeerJS `Peer` class, wherever it is. Bundlers read peerjs's ES module,
 * where it is a named export; Node loads its CommonJS build, whose parcel-made
 * exports Node cannot detect, so there it hides under `default`.
 */
export const Peer: typeof peerjs.Peer = peerjs.Peer ?? (peerjs as unknown as { default: { Peer: typeof peerjs.Peer } }).default.Peer;
export type Peer = peerjs.Peer;
