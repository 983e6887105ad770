/**
 * `ephemeral-cdn status <hash|link>`: whether a file is alive, with its seeders and
 * leechers, from the server's `GET /api/files/<hash>`. One HTTP request: no peer
 * connection, no WebRTC. Exits 0 for a live file and with `DEAD`'s status for a dead one.
 */
import { EcdnError } from 'ephemeral-cdn';
import type { Command } from '../args.js';
import { EXIT_CODES } from '../exit-codes.js';
import type { Reporter } from '../events.js';
import { parseTarget } from '../target.js';

type StatusCommand = Extract<Command, { name: 'status' }>;

/** How long the server has to answer. */
const REQUEST_TIMEOUT_MS = 10_000;

/** Runs `status`; resolves the exit status. */
export async function status(command: StatusCommand, reporter: Reporter, signal: AbortSignal): Promise<number> {
  const target = parseTarget(command.target);
  const server = command.server ?? target.server ?? command.defaultServer;
  const url = new URL(`api/files/${target.hash}`, server.endsWith('/') ? server : `${server}/`);
  let body: { alive?: unknown; seeders?: unknown; leechers?: unknown };
  try {
    const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) });
    if (!response.ok) throw new Error(`it answered ${response.status} ${response.statusText}`);
    body = (await response.json()) as typeof body;
  } catch (err) {
    if (signal.aborted) throw new EcdnError('ABORTED', 'Interrupted.', { hash: target.hash });
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : describe(err);
    throw new EcdnError('TRACKER_UNREACHABLE', `Could not ask ${url.origin} about ${target.hash}: ${why}.`, {
      hash: target.hash,
      cause: err,
    });
  }
  const alive = body.alive === true;
  reporter.report({ type: 'status', hash: target.hash, alive, seeders: Number(body.seeders) || 0, leechers: Number(body.leechers) || 0 });
  return alive ? EXIT_CODES.OK : EXIT_CODES.DEAD;
}

/** Node's fetch hides the reason (ECONNREFUSED, say) in `cause`. */
function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}
