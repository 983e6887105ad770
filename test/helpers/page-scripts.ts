import { build } from 'esbuild';

let peerjs: Promise<string> | undefined;

/** PeerJS as a classic script defining `window.Peer`, for tests that drive it bare. */
export function peerjsScript(): Promise<string> {
  peerjs ??= build({
    stdin: { contents: "import { Peer } from 'peerjs'; globalThis.Peer = Peer;", resolveDir: process.cwd() },
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
  }).then((result) => result.outputFiles[0]!.text);
  return peerjs;
}
