import './node-webrtc.js';
import WebSocket from 'ws';
import { SwarmEngine, type EngineConfig } from '../../src/index.js';

/**
 * A swarm engine running in Node, with WebRTC from node-datachannel and the
 * sockets from `ws`: the engine itself is the same code that runs in pages.
 */
export function createNodeEngine(config: EngineConfig): SwarmEngine {
  // PeerJS opens its signaling socket with the global WebSocket, which Node 20 lacks.
  (globalThis as Record<string, unknown>).WebSocket ??= WebSocket;
  return new SwarmEngine({ iceServers: [], WebSocket: WebSocket as unknown as EngineConfig['WebSocket'], ...config });
}
