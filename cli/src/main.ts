/**
 * `ephemeral-cdn`: EphemeralCDN from a terminal. Reads the command line, runs the
 * command with the output it asked for (--json or human), turns Ctrl-C into a clean
 * stop, and exits with the status of what happened (exit-codes.ts).
 */
// First: PeerJS, which the library imports, looks for WebRTC once, when it loads.
import './webrtc-globals.js';
import { readFileSync } from 'node:fs';
import { EcdnError } from 'ephemeral-cdn';
import { type Command, parseCommand } from './args.js';
import { fetch, StdoutClosed } from './commands/fetch.js';
import { seed } from './commands/seed.js';
import { status } from './commands/status.js';
import { codeOf, EXIT_CODES, exitCodeOf, messageOf } from './exit-codes.js';
import type { Reporter } from './events.js';
import { HumanReporter } from './human-reporter.js';
import { JsonReporter } from './json-reporter.js';

/** Runs the command line `argv` (without `node` and the script); resolves the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (err) {
    const reporter = argv.includes('--json') ? new JsonReporter(process.stdout) : human(false);
    return fail(reporter, err);
  }
  if (command.name === 'help') {
    process.stdout.write(command.text);
    return EXIT_CODES.OK;
  }
  if (command.name === 'version') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return EXIT_CODES.OK;
  }
  // The engine's debug lines (DEBUG=ecdn:*) go to console.debug, which is stdout: keep
  // stdout for results and fetched bytes.
  console.debug = console.error;
  // When stdout carries the fetched file, everything else goes to stderr.
  const dataOnStdout = command.name === 'fetch' && command.output === '-';
  const reporter: Reporter = command.json ? new JsonReporter(dataOnStdout ? process.stderr : process.stdout) : human(dataOnStdout);

  // The first Ctrl-C stops the command cleanly (seeds withdrawn, a partial file kept);
  // a second one, for a person who will not wait, exits at once.
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(EXIT_CODES.ABORTED);
    abort.abort(new EcdnError('ABORTED', `Interrupted by ${signal}.`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let code: number;
  try {
    const run = { seed, fetch, status }[command.name] as (c: Command, r: Reporter, s: AbortSignal) => Promise<number>;
    code = await run(command, reporter, abort.signal);
  } catch (err) {
    if (err instanceof StdoutClosed) code = EXIT_CODES.STDOUT_CLOSED;
    else if (abort.signal.aborted && codeOf(err) === 'ABORTED') code = fail(reporter, abort.signal.reason);
    else code = fail(reporter, err);
  }
  await reporter.close();
  return code;
}

function human(dataOnStdout: boolean): HumanReporter {
  return new HumanReporter({ out: dataOnStdout ? process.stderr : process.stdout, err: process.stderr });
}

/** Reports `err` as one line and returns its exit status. */
function fail(reporter: Reporter, err: unknown): number {
  const exitCode = exitCodeOf(err);
  reporter.report({ type: 'error', code: codeOf(err), message: messageOf(err), exitCode });
  if (codeOf(err) === 'INTERNAL' && process.env.DEBUG) console.error(err);
  return exitCode;
}

const code = await main(process.argv.slice(2));
// Exits outright: node-datachannel's threads would otherwise keep the process alive.
process.exit(code);
