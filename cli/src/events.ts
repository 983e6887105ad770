/**
 * Everything a command reports, as one type: `--json` prints each event as one line of
 * JSON, as it is here, and the human output (human-reporter.ts) renders the same events
 * as text. docs/cli.md documents them; a field added is fine, a field changed breaks scripts.
 */

/** Hashing a file to seed: bytes read so far. */
export interface HashingProgress {
  type: 'progress';
  phase: 'hashing';
  file: string;
  hashed: number;
  total: number;
  bytesPerSecond: number;
}

/** A seeded file's swarm, while this process serves it. */
export interface SeedingProgress {
  type: 'progress';
  phase: 'seeding';
  hash: string;
  name: string;
  /** Peers holding the whole file, this one included, as the tracker counts them. */
  seeders: number;
  /** Peers holding verified parts of it. */
  leechers: number;
  /** Peers downloading it from this process now. */
  downloaders: number;
  /** Bytes of it served by this process. */
  bytesUp: number;
  /** Fetches completed, as far as this process can tell (see `--until-fetched`). */
  fetched: number;
}

/** A download: verified bytes so far. */
export interface FetchingProgress {
  type: 'progress';
  phase: 'fetching';
  hash: string;
  /** The file's name: the output's, or the share link's. */
  name: string;
  /** Verified bytes, those resumed from an earlier run included. */
  received: number;
  /** File size, 0 until the first peer's manifest arrived. */
  total: number;
  /** Peers sending. */
  peers: number;
  bytesPerSecond: number;
  /** Seeders as the tracker counts them; undefined until it said. */
  seeders: number | undefined;
}

/** A file seeded and announced: what to share. */
export interface SeedingEvent {
  type: 'seeding';
  file: string;
  name: string;
  hash: string;
  size: number;
  /** MIME type from the name, empty when unknown. */
  mime: string;
  /** Opens the file's page on the server. */
  link: string;
  /** HTML that embeds the file in a page: a script tag, then the element(s). */
  embed: string[];
}

/** What `status` found. */
export interface StatusEvent {
  type: 'status';
  hash: string;
  alive: boolean;
  seeders: number;
  leechers: number;
}

/** Trouble that does not end the command. */
export interface WarningEvent {
  type: 'warning';
  /** `LAST_SEEDER`, `PARTIAL_KEPT`, or an engine warning's code (with `--verbose`). */
  code: string;
  message: string;
  hash?: string;
}

/** `seed` ended: why, and what each file got. */
export interface SeedDone {
  type: 'done';
  command: 'seed';
  /** `interrupted` (Ctrl-C, SIGTERM), `fetched` (`--until-fetched` reached) or `timeout`. */
  reason: 'interrupted' | 'fetched' | 'timeout';
  files: Array<{ hash: string; name: string; bytesUp: number; fetched: number }>;
}

/** `fetch` completed: every piece verified, the file in place. */
export interface FetchDone {
  type: 'done';
  command: 'fetch';
  hash: string;
  /** Where the file is; `-` for stdout. */
  path: string;
  size: number;
  /** From the start of this run to the verified file. */
  ms: number;
  /** PeerJS IDs of the peers that sent verified pieces. */
  suppliers: string[];
  /** This process's own PeerJS ID. */
  peerId: string | undefined;
  /** Payload bytes received from peers in this run: less than `size` after a resume. */
  bytesDown: number;
  /** Pieces an earlier run had written, found in the partial file (each verified again before use). */
  resumedPieces: number;
}

/** The command failed; the exit status follows. */
export interface ErrorEvent {
  type: 'error';
  /** An `EcdnError` code (`DEAD`, `TIMEOUT`, …) or the CLI's own (`USAGE`, `INPUT`, `OUTPUT_EXISTS`, `OUTPUT`, `INTERNAL`). */
  code: string;
  message: string;
  exitCode: number;
}

/** One line of `--json` output. */
export type CliEvent =
  | HashingProgress
  | SeedingProgress
  | FetchingProgress
  | SeedingEvent
  | StatusEvent
  | WarningEvent
  | SeedDone
  | FetchDone
  | ErrorEvent;

/** Where a command sends what it has to say. */
export interface Reporter {
  report(event: CliEvent): void;
  /** Finishes the output (a live progress area is left as last drawn) and waits until it is written. */
  close(): Promise<void>;
}
