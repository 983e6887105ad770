/**
 * Entry of the faulty page bundle (see `faultyBundle()`): gives a page the same
 * `window.EphemeralCDN` calls the real bundle does, over a {@link FaultyEngine}.
 */
import { FaultyEngine } from './faulty-engine.js';

const engine = new FaultyEngine({ server: location.origin, iceServers: [] });

(window as unknown as { EphemeralCDN: unknown }).EphemeralCDN = {
  getEngine: () => engine,
  configure: engine.configure.bind(engine),
  seed: engine.seed.bind(engine),
  unseed: engine.unseed.bind(engine),
  fetch: engine.fetch.bind(engine),
  stats: engine.stats.bind(engine),
};
