import type { ReactiveControllerHost } from 'lit';
import type { FetchProgress } from '../engine/download.js';
import type { FetchOptions } from '../engine/engine.js';
import { EcdnProgressEvent } from '../events/ecdn-progress.js';
import type { EcdnEngine } from './context.js';
import { emit } from './emit.js';
import { RunController, type Run, type RunOptions } from './run-controller.js';

/** One run of a {@link FetchController}: the file and engine it is for. */
export interface FetchRun extends Run {
  /** The file this run fetches, as the host's `hash()` gave it. */
  readonly hash: string;
  /** The engine this run fetches it with. */
  readonly engine: EcdnEngine;
  /**
   * Options for `engine.fetch` or `engine.stream`: this run's signal, and an
   * `onProgress` that (while the run counts) updates the controller's
   * `progress`, re-renders the host and fires `ecdn-progress` from it.
   */
  readonly fetchOptions: Pick<FetchOptions, 'signal' | 'onProgress'>;
}

/** What a {@link FetchController} asks its host. */
export interface FetchControllerOptions<R> extends RunOptions<R, void, FetchRun> {
  /** The host's file now. A run whose hash is no longer this one is stale. */
  hash: () => string;
  /** The host's engine now. */
  engine: () => EcdnEngine;
  /**
   * Run on every update where the hash or the engine changed, and again when
   * the host comes back to the page (`<ecdn-img>`). Otherwise only `run()`
   * starts a run (`<ecdn-download>`, on a click); a changed hash still aborts it.
   */
  autoRun?: boolean;
}

/**
 * "Fetch this hash" for an element: a {@link RunController} whose runs belong
 * to one hash and engine. A run is stale once its hash is not the host's any
 * more, even before the update that aborts it.
 */
export class FetchController<R> extends RunController<R, void, FetchRun> {
  /** The latest progress of the run under way (or of the last one); undefined before its first report. */
  progress: FetchProgress | undefined;

  readonly #element: HTMLElement;
  readonly #fetch: FetchControllerOptions<R>;
  /** What the last automatic run was for; forgotten when the host leaves the page. */
  #last: { hash: string; engine: EcdnEngine | undefined } | undefined;
  /** The latest run started. */
  #current: FetchRun | undefined;

  constructor(host: ReactiveControllerHost & HTMLElement, options: FetchControllerOptions<R>) {
    super(host, options);
    this.#element = host;
    this.#fetch = options;
  }

  /** Aborts the run under way, forgets its progress, and fetches the host's hash now. */
  override run(): Promise<void> {
    this.progress = undefined;
    return super.run();
  }

  /** Aborts the run under way and forgets its progress. */
  override abort(): void {
    super.abort();
    this.progress = undefined;
  }

  /** Asks for an update, so that an automatic run starts again on return to the page. */
  hostConnected(): void {
    // Back on the page: the update this asks for starts an automatic run again.
    this.host.requestUpdate();
  }

  /** Starts, or aborts, a run when the host's hash (or, with autoRun, its engine) changed. */
  hostUpdate(): void {
    if (!this.#element.isConnected) return;
    const hash = this.#fetch.hash();
    if (!this.#fetch.autoRun) {
      if (this.running && this.#current?.hash !== hash) this.abort();
      return;
    }
    const engine = hash ? this.#fetch.engine() : undefined;
    if (this.#last && this.#last.hash === hash && this.#last.engine === engine) return;
    this.#last = { hash, engine };
    if (hash) void this.run();
    else this.abort();
  }

  /** Aborts the run under way; an automatic run starts again on return. */
  override hostDisconnected(): void {
    super.hostDisconnected();
    this.#last = undefined;
  }

  protected override createRun(signal: AbortSignal): FetchRun {
    const hash = this.#fetch.hash();
    const engine = this.#fetch.engine();
    const stale = () => signal.aborted || hash !== this.#fetch.hash();
    const run: FetchRun = {
      hash,
      engine,
      signal,
      get stale() {
        return stale();
      },
      fetchOptions: {
        signal,
        onProgress: (progress) => {
          if (stale()) return;
          this.progress = progress;
          this.host.requestUpdate();
          emit(this.#element, new EcdnProgressEvent({ hash, phase: 'download', ...progress }));
        },
      },
    };
    this.#current = run;
    return run;
  }
}
