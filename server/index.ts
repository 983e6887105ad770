import { configFromEnv, ConfigError, type Config } from './config.js';
import { createServer } from './create-server.js';
import { createLogger } from './logger.js';

let config: Config;
try {
  config = configFromEnv();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  createLogger().fatal({ event: 'config' }, `Configuration error: ${err.message}`);
  process.exit(2);
}

const { port, host, logLevel, ...options } = config;
const log = createLogger({ level: logLevel });
process.on('uncaughtException', (err) => {
  log.fatal({ event: 'crash', err }, 'uncaught exception; exiting');
  process.exit(1);
});

const server = createServer({ ...options, logger: log });
let url: string;
try {
  url = await server.listen(port, host);
} catch (err) {
  log.fatal({ event: 'listen' }, `Cannot start: ${(err as Error).message}`);
  process.exit(2);
}
log.info(
  {
    event: 'listening',
    url,
    tracker: `${url.replace(/^http/, 'ws')}/tracker`,
    metrics: options.metrics === false ? undefined : `${url}/metrics`,
    store: options.redisUrl ? 'redis' : 'memory',
    stun: options.ice?.stunPort ? `udp ${host}:${options.ice.stunPort}` : undefined,
    turn: options.ice?.turnUrls,
  },
  `EphemeralCDN listening on ${url}`,
);
const stop = (signal: string) => {
  log.info({ event: 'shutdown', signal }, 'shutting down');
  void server.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
