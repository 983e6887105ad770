/**
 * The command line as typed: which command, its arguments and options, checked before
 * anything else runs. Parsed with `node:util`'s `parseArgs`: it does what three commands
 * with a dozen options need (long and short options, typed values, unknown ones refused),
 * and costs no dependency.
 */
import { parseArgs } from 'node:util';
import { CliError } from './cli-error.js';

/** The server a fresh `npm start` runs, when neither `--server`, a link nor `ECDN_SERVER` names one. */
export const DEFAULT_SERVER = 'http://127.0.0.1:8787';

/** Options every command takes. */
export interface CommonOptions {
  /** `--server`: wins over a share link's. */
  server: string | undefined;
  /** The server when neither `--server` nor a share link names one: `ECDN_SERVER`, else {@link DEFAULT_SERVER}. */
  defaultServer: string;
  /** `--ice-servers`; undefined takes the server's. */
  iceServers: RTCIceServer[] | undefined;
  json: boolean;
  /** Show the engine's warnings too (a peer that could not be reached, say). */
  verbose: boolean;
}

export type Command =
  | ({
      name: 'seed';
      files: string[];
      untilFetched: number | undefined;
      timeoutMs: number | undefined;
      uploadLimit: number | undefined;
    } & CommonOptions)
  | ({
      name: 'fetch';
      target: string;
      /** `-o`: a file, a directory to save into, or `-` for stdout; undefined saves under the link's name (or the hash) here. */
      output: string | undefined;
      force: boolean;
      /** False with `--no-seed`. */
      reseed: boolean;
      keepSeeding: boolean;
      timeoutMs: number | undefined;
      maxPeers: number | undefined;
      uploadLimit: number | undefined;
    } & CommonOptions)
  | ({ name: 'status'; target: string } & CommonOptions)
  | { name: 'help'; text: string }
  | { name: 'version' };

export const USAGE = `Usage: ephemeral-cdn <command> [options]

Commands:
  seed <file…>             hash the files, print a share link for each, and serve them until Ctrl-C
  fetch <hash|link>        download a file from its peers, verified, resuming a partial one
  status <hash|link>       is the file alive: its seeders and leechers

Options of every command:
  --server URL             the EphemeralCDN server (default: the link's, else $ECDN_SERVER, else ${DEFAULT_SERVER})
  --ice-servers JSON       ICE servers, e.g. '[{"urls":"stun:stun.example.org"}]' (default: the server's)
  --json                   one JSON object per line: progress, done, error
  --verbose                also print the engine's warnings
  -h, --help               this text

seed:
  --until-fetched N        stop once the file was fetched N times (each file, as far as this seeder can tell)
  --timeout SECONDS        stop seeding after this long (exit 13, TIMEOUT, if --until-fetched was not reached)
  --upload-limit RATE      serve at most RATE bytes a second, e.g. 500k or 2M (default: no limit)

fetch:
  -o, --output FILE|DIR|-  where to save it (default: the link's file name, else the hash); - writes to stdout
  --force                  replace an existing output file
  --no-seed                do not serve the file to others while downloading
  --keep-seeding           keep serving it after the download, until Ctrl-C
  --timeout SECONDS        give up after this long (exit 13, TIMEOUT)
  --max-peers N            download from at most N peers at once (default 5)
  --upload-limit RATE      serve others at most RATE bytes a second, e.g. 500k or 2M (default: no limit)

Exit status: 0 done, 2 usage, 3 INVALID_HASH, 4 unreadable input, 5 output exists, 6 output not writable,
10 DEAD, 11 HASH_MISMATCH, 12 NO_PEER_REACHABLE, 13 TIMEOUT, 14 TRACKER_UNREACHABLE, 15 PROTOCOL,
16 NO_SPACE, 17 STORAGE, 130 interrupted; status exits 10 for a dead file. See docs/cli.md.
`;

const COMMON = {
  server: { type: 'string' },
  'ice-servers': { type: 'string' },
  json: { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const OPTIONS = {
  seed: { ...COMMON, 'until-fetched': { type: 'string' }, timeout: { type: 'string' }, 'upload-limit': { type: 'string' } },
  fetch: {
    ...COMMON,
    output: { type: 'string', short: 'o' },
    force: { type: 'boolean', default: false },
    'no-seed': { type: 'boolean', default: false },
    'keep-seeding': { type: 'boolean', default: false },
    timeout: { type: 'string' },
    'max-peers': { type: 'string' },
    'upload-limit': { type: 'string' },
  },
  status: COMMON,
} as const;

/** Reads `argv` (without `node` and the script); throws `CliError('USAGE')` with what is wrong. */
export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Command {
  const [name, ...rest] = argv;
  if (name === undefined) throw new CliError('USAGE', 'No command: use seed, fetch or status (ephemeral-cdn --help).');
  if (name === '-h' || name === '--help' || name === 'help') return { name: 'help', text: USAGE };
  if (name === '--version' || name === '-v') return { name: 'version' };
  if (name !== 'seed' && name !== 'fetch' && name !== 'status') {
    throw new CliError('USAGE', `Unknown command ${JSON.stringify(name)}: use seed, fetch or status (ephemeral-cdn --help).`);
  }
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...rest], options: OPTIONS[name], allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    throw new CliError('USAGE', `${(err as Error).message} (ephemeral-cdn ${name} --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { name: 'help', text: USAGE };
  const common: CommonOptions = {
    server: serverOption(values.server as string | undefined, '--server'),
    defaultServer: serverOption(env.ECDN_SERVER || DEFAULT_SERVER, 'ECDN_SERVER')!,
    iceServers: iceServersOption(values['ice-servers'] as string | undefined),
    json: values.json === true,
    verbose: values.verbose === true,
  };
  switch (name) {
    case 'seed':
      if (positionals.length === 0) throw new CliError('USAGE', 'seed needs at least one file: ephemeral-cdn seed <file…>');
      return {
        name,
        files: positionals,
        untilFetched: count(values['until-fetched'] as string | undefined, '--until-fetched'),
        timeoutMs: seconds(values.timeout as string | undefined),
        uploadLimit: rate(values['upload-limit'] as string | undefined),
        ...common,
      };
    case 'fetch':
      return {
        name,
        target: one(positionals, 'fetch'),
        output: values.output as string | undefined,
        force: values.force === true,
        reseed: values['no-seed'] !== true,
        keepSeeding: values['keep-seeding'] === true,
        timeoutMs: seconds(values.timeout as string | undefined),
        maxPeers: count(values['max-peers'] as string | undefined, '--max-peers'),
        uploadLimit: rate(values['upload-limit'] as string | undefined),
        ...common,
      };
    case 'status':
      return { name, target: one(positionals, 'status'), ...common };
  }
}

function one(positionals: string[], command: string): string {
  if (positionals.length !== 1) {
    throw new CliError('USAGE', `${command} takes one hash or share link, got ${positionals.length}: ephemeral-cdn ${command} <hash|link>`);
  }
  return positionals[0]!;
}

function serverOption(value: string | undefined, option: string): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.href;
  } catch {
    // Reported below.
  }
  throw new CliError('USAGE', `${option} must be an http:// or https:// URL, got ${JSON.stringify(value)}.`);
}

function iceServersOption(value: string | undefined): RTCIceServer[] | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new CliError(
      'USAGE',
      `--ice-servers must be JSON, e.g. '[{"urls":"stun:stun.example.org:3478"}]'; got ${JSON.stringify(value)}.`,
    );
  }
  const valid =
    Array.isArray(parsed) &&
    parsed.every((server: unknown) => {
      const urls = (server as { urls?: unknown } | null)?.urls;
      return typeof urls === 'string' || (Array.isArray(urls) && urls.length > 0 && urls.every((url) => typeof url === 'string'));
    });
  if (!valid) throw new CliError('USAGE', '--ice-servers must be a JSON array of objects with "urls" (a string or strings).');
  return parsed as RTCIceServer[];
}

function count(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new CliError('USAGE', `${option} must be a whole number of at least 1, got ${JSON.stringify(value)}.`);
  return n;
}

function seconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new CliError('USAGE', `--timeout must be a number of seconds above 0, got ${JSON.stringify(value)}.`);
  return Math.round(n * 1000);
}

const RATE_UNITS: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9 };

/** `--upload-limit`: bytes a second, with an optional k, M or G (decimal, as the progress shows rates). */
function rate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:b|b\/s)?$/i.exec(value.trim());
  const n = match ? Number(match[1]) * RATE_UNITS[match[2]!.toLowerCase()]! : Number.NaN;
  if (!(n >= 1)) throw new CliError('USAGE', `--upload-limit must be bytes a second, like 500k or 2M, got ${JSON.stringify(value)}.`);
  return Math.round(n);
}
