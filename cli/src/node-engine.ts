/**
 * The swarm engine as the CLI runs it: the library's own `SwarmEngine`, in Node. Only
 * the platform differs (see webrtc-globals.ts); hashing runs on this thread, since Node
 * has no `Worker` global, which costs a command line nothing.
 */
import { NodeWebSocket } from './webrtc-globals.js';
import { type EngineConfig, type PieceStorage, SwarmEngine } from 'ephemeral-cdn';

/** What every command's engine is made from. */
export interface NodeEngineOptions {
  /** Base URL of the EphemeralCDN server. */
  server: string;
  /** ICE servers; undefined takes the ones the server hands out, as pages do. */
  iceServers: RTCIceServer[] | undefined;
  /** Serve what is fetched to other peers while this process runs. */
  reseed: boolean;
  /** Where downloads keep their pieces; by default in memory. */
  storage?: PieceStorage;
  /** Most bytes a second served to peers; undefined for no limit. */
  uploadLimit?: number | undefined;
}

/** A `SwarmEngine` for this process. Call `destroy()` before exiting: it withdraws what it seeds. */
export function createNodeEngine(options: NodeEngineOptions): SwarmEngine {
  const config: EngineConfig = {
    server: options.server,
    WebSocket: NodeWebSocket as unknown as EngineConfig['WebSocket'],
    reseed: options.reseed,
    storage: options.storage ?? 'memory',
  };
  if (options.iceServers) config.iceServers = options.iceServers;
  if (options.uploadLimit !== undefined) config.uploadLimit = options.uploadLimit;
  return new SwarmEngine(config);
}
