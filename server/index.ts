import { configFromEnv, ConfigError } from './config.js';
import { createServer } from './create-server.js';

try {
  const { port, host, ...options } = configFromEnv();
  const server = createServer(options);
  const url = await server.listen(port, host);
  console.log(`EphemeralCDN listening on ${url}  (demo page: ${url}/, tracker: ${url.replace(/^http/, 'ws')}/tracker)`);
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`Configuration error: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
