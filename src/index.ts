/**
 * EphemeralCDN: peer-to-peer file sharing for one-off results.
 *
 * ```js
 * import { configure, seed, fetch } from 'ephemeral-cdn';
 * configure({ server: 'https://cdn.example.org' });
 * const hash = await seed(file);       // share this
 * const bytes = await fetch(hash);     // elsewhere
 *
 * const share = await seed(file, { encrypt: true });   // a private share
 * const link = shareLink('https://cdn.example.org', share.hash, { key: share.key });
 * const plain = await fetch(share.hash, { key: share.key });
 * ```
 *
 * These functions use one engine per page, created on first use. Create a
 * {@link SwarmEngine} yourself for anything else (tests, several servers).
 * @packageDocumentation
 */
import {
  SwarmEngine,
  type EngineConfig,
  type EngineStats,
  type FetchOptions,
  type FileInfo,
  type PrivateShare,
  type SeedOptions,
} from './engine/engine.js';
import type { HashInput } from './engine/hash.js';
import type { FileStatus } from './engine/tracker-client.js';
import type { Diagnosis } from './engine/diagnose.js';

export { SwarmEngine } from './engine/engine.js';
export type {
  EngineConfig,
  EngineEvents,
  EngineStats,
  FetchOptions,
  FetchReport,
  FileInfo,
  PieceStorage,
  PrivateShare,
  SeedOptions,
} from './engine/engine.js';
export { PieceStore, MemoryPieceStore } from './engine/piece-store.js';
export { parseShareLink, shareLink, type ParsedShareLink, type SharedFileMeta } from './internal/share-link.js';
export type { Manifest } from './engine/manifest.js';
export type { FetchProgress } from './engine/download.js';
export type { FileStatus } from './engine/tracker-client.js';
export type { Diagnosis } from './engine/diagnose.js';
export type { CandidateInfo, LinkRoute } from './engine/peer-link.js';
export { EcdnError, isEcdnError, type EcdnErrorCode } from './engine/errors.js';

let engine: SwarmEngine | undefined;
let pending: EngineConfig = {};

/** The page's shared engine, created on first use with what {@link configure} set. */
export function getEngine(): SwarmEngine {
  engine ??= new SwarmEngine(pending);
  return engine;
}

/** Sets engine-wide options: `server`, `iceServers`, `uploadLimit`, `maxConnections`, `reseed`… */
export function configure(config: EngineConfig): void {
  pending = { ...pending, ...config };
  engine?.configure(config);
}

/**
 * Seeds a file from this page and resolves with its SHA-256 (64 hex), the name to share.
 * With `encrypt: true` it seeds a private share instead and resolves with its hash and
 * key (see {@link PrivateShare}).
 */
export function seed(data: HashInput, options: SeedOptions & { encrypt: true }): Promise<PrivateShare>;
export function seed(data: HashInput, options?: SeedOptions & { encrypt?: false }): Promise<string>;
export function seed(data: HashInput, options?: SeedOptions): Promise<string | PrivateShare>;
export function seed(data: HashInput, options?: SeedOptions): Promise<string | PrivateShare> {
  return getEngine().seed(data, options);
}

/** Stops seeding a file. */
export function unseed(hash: string): void {
  getEngine().unseed(hash);
}

/**
 * Fetches a file by SHA-256 from its peers, verified; a private share is decrypted with
 * `options.key`. Throws `EcdnError` (`DEAD`, `INVALID_HASH`, `KEY_REQUIRED`, `DECRYPT_FAILED`, …).
 */
export function fetch(hash: string, options?: FetchOptions): Promise<ArrayBuffer> {
  return getEngine().fetch(hash, options);
}

/** A file's size and piece count from its first peer, and its seeder count, without downloading it. */
export function info(hash: string, options?: Pick<FetchOptions, 'signal' | 'timeout'>): Promise<FileInfo> {
  return getEngine().info(hash, options);
}

/** Fetches a file and decodes it as UTF-8 text. */
export function fetchText(hash: string, options?: FetchOptions): Promise<string> {
  return getEngine().fetchText(hash, options);
}

/** Fetches a file as a Blob of the given MIME type; a private share, with its `key`, as a File with its name (and type). */
export function fetchBlob(hash: string, type?: string, options?: FetchOptions): Promise<Blob> {
  return getEngine().fetchBlob(hash, type, options);
}

/** Fetches a file and returns an object URL (revoke it when done). */
export function fetchURL(hash: string, type?: string, options?: FetchOptions): Promise<string> {
  return getEngine().fetchURL(hash, type, options);
}

/** Fetches a file as a stream of verified bytes, in order. */
export function stream(hash: string, options?: FetchOptions): ReadableStream<Uint8Array> {
  return getEngine().stream(hash, options);
}

/** Watches a file's live seeder count; returns a function that stops watching. */
export function watch(hash: string, callback: (status: FileStatus) => void): () => void {
  return getEngine().watch(hash, callback);
}

/**
 * Why peers might not reach this page: tracker, signaling, ICE candidates, NAT
 * type and relay, with a one-line verdict to show a person.
 */
export function diagnose(): Promise<Diagnosis> {
  return getEngine().diagnose();
}

/** What this page seeds and downloads, bytes moved, peers connected. */
export function stats(): EngineStats {
  return getEngine().stats();
}
