/**
 * WebRTC and WebSocket for the engine in Node: RTCPeerConnection from node-datachannel
 * (libdatachannel), WebSocket from `ws`. PeerJS probes for both when its module loads,
 * so node-engine.ts imports this module before the library.
 */
import { RTCIceCandidate, RTCPeerConnection, RTCSessionDescription } from 'node-datachannel/polyfill';
import WebSocket from 'ws';

const g = globalThis as Record<string, unknown>;
g.RTCPeerConnection ??= RTCPeerConnection;
g.RTCSessionDescription ??= RTCSessionDescription;
g.RTCIceCandidate ??= RTCIceCandidate;
// Node 20 has no global WebSocket; PeerJS opens its signaling socket with it.
g.WebSocket ??= WebSocket;
// PeerJS reads location.protocol when `secure` is unset; the engine always sets it.
g.location ??= { protocol: 'http:' };
