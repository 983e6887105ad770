import { isEcdnError, type SwarmEngine } from 'ephemeral-cdn';
import type { Reporter } from '../events.js';

/** With `--verbose`: the engine's warnings (a peer that could not be reached, a ban) as warning events. */
export function reportWarnings(engine: SwarmEngine, reporter: Reporter): void {
  engine.on('warning', (err) => {
    // PeerJS's errors carry a `type` and sometimes no message.
    const type = (err as { type?: unknown }).type;
    const code = isEcdnError(err) ? err.code : typeof type === 'string' ? type : 'WARNING';
    const message = (err.message || String(err)).replace(/\s*\n\s*/g, ' ');
    reporter.report({ type: 'warning', code, message });
  });
}
