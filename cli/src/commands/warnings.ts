import { isEcdnError, type SwarmEngine } from 'ephemeral-cdn';
import type { Reporter } from '../events.js';

/** With `--verbose`: the engine's warnings (a peer that could not be reached, a ban) as warning events. */
export function reportWarnings(engine: SwarmEngine, reporter: Reporter): void {
  engine.on('warning', (err) => {
    reporter.report({ type: 'warning', code: isEcdnError(err) ? err.code : 'WARNING', message: err.message.replace(/\s*\n\s*/g, ' ') });
  });
}
