// WebRTC globals for Node from node-datachannel (libdatachannel). PeerJS probes
// for RTCPeerConnection when its module loads, so import this module before
// anything that imports peerjs.
import { RTCIceCandidate, RTCPeerConnection, RTCSessionDescription } from 'node-datachannel/polyfill';

const g = globalThis as Record<string, unknown>;
g.RTCPeerConnection ??= RTCPeerConnection;
g.RTCSessionDescription ??= RTCSessionDescription;
g.RTCIceCandidate ??= RTCIceCandidate;
// PeerJS reads location.protocol to choose ws: or wss: when `secure` is unset.
g.location ??= { protocol: 'http:' };
