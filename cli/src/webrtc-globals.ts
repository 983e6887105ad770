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
/**
 * `ws`'s WebSocket, made to never throw an unheard 'error'. A browser's socket closed
 * while still connecting fires an error event nobody need listen to; `ws` emits an
 * EventEmitter 'error', which kills the process when no listener is left, and PeerJS
 * removes its own before closing (an engine destroyed during its connection: a dead
 * file found before the signaling socket opened). Its handlers still hear every error.
 */
export class NodeWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    this.on('error', () => {});
  }
}

// Node 20 has no global WebSocket; PeerJS opens its signaling socket with it.
g.WebSocket ??= NodeWebSocket;
// PeerJS reads location.protocol when `secure` is unset; the engine always sets it.
g.location ??= { protocol: 'http:' };
