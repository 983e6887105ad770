/**
 * Failures of the command line itself, before or around the engine's work: what was
 * typed, the files named. The engine's own failures are `EcdnError`s; both carry a
 * `code`, and each code has one exit status (exit-codes.ts).
 *
 * - `USAGE`: an unknown command or option, or an option's value that makes no sense.
 * - `INPUT`: a file to seed is missing, unreadable, or not a regular file.
 * - `OUTPUT_EXISTS`: the output path exists and `--force` was not given.
 * - `OUTPUT`: the output cannot be written there (no such directory, no permission).
 */
export type CliErrorCode = 'USAGE' | 'INPUT' | 'OUTPUT_EXISTS' | 'OUTPUT';

/** A failure of the command line, with a message that is the whole story in one line. */
export class CliError extends Error {
  /** What went wrong, stable across versions. */
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
  }
}
