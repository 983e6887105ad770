import { createServer, type EcdnServer, type ServerOptions } from '../../server/create-server.js';

export interface RunningServer {
  server: EcdnServer;
  /** Base URL, e.g. http://127.0.0.1:39211 */
  url: string;
  close(): Promise<void>;
}

/** Starts the real server on a free port. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const server = createServer(options);
  const url = await server.listen(0, '127.0.0.1');
  return { server, url, close: () => server.close() };
}
