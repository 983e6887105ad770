import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { FileInfo } from '../engine/engine.js';
import type { EcdnEngine } from './context.js';

/** What {@link InfoController} asks its host. */
export interface InfoOptions {
  /** The file to describe, or undefined for none. Read before every update. */
  hash: () => string | undefined;
  /** The engine to ask. */
  engine: () => EcdnEngine;
  /** Whether to ask now: say, once the tracker reports seeders, and only if the page did not give the size. */
  wanted: () => boolean;
}

/**
 * Asks the engine once per file what it is (size, pieces) before anything is
 * downloaded, and re-renders the host when the answer comes. A new file, or the
 * host leaving the page, abandons the question.
 */
export class InfoController implements ReactiveController {
  /** What the engine said of the current file; undefined until it answers, or if it could not. */
  info: FileInfo | undefined;

  readonly #host: ReactiveControllerHost;
  readonly #options: InfoOptions;
  #hash: string | undefined;
  #engine: EcdnEngine | undefined;
  #abort: AbortController | undefined;

  constructor(host: ReactiveControllerHost, options: InfoOptions) {
    this.#host = host;
    this.#options = options;
    host.addController(this);
  }

  /** Follows the host's current file, and asks when the host wants it. */
  hostUpdate(): void {
    const hash = this.#options.hash();
    const engine = hash ? this.#options.engine() : undefined;
    if (hash !== this.#hash || engine !== this.#engine) this.#forget();
    if (!hash || !engine || this.#abort || !this.#options.wanted()) return;
    this.#hash = hash;
    this.#engine = engine;
    const abort = new AbortController();
    this.#abort = abort;
    engine.info(hash, { signal: abort.signal }).then(
      (info) => {
        if (abort.signal.aborted) return;
        this.info = info;
        this.#host.requestUpdate();
      },
      // Dead, unreachable or aborted: the host's watch and fetch report those.
      () => {},
    );
  }

  /** Abandons the question. */
  hostDisconnected(): void {
    this.#forget();
  }

  #forget(): void {
    this.#abort?.abort();
    this.#abort = undefined;
    this.#hash = undefined;
    this.#engine = undefined;
    this.info = undefined;
  }
}
