import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** One run of a {@link RunController}'s task. */
export interface Run {
  /** Aborted when a newer run starts, on `abort()`, or when the host leaves the page. Hand it to the engine. */
  readonly signal: AbortSignal;
  /** True once the run no longer counts. Check it after every await; what a stale run produces is dropped. */
  readonly stale: boolean;
}

/** What a {@link RunController} does, and what it reports. */
export interface RunOptions<R, A = void, X extends Run = Run> {
  /** The work, started by `run(args)`. */
  task: (run: X, args: A) => Promise<R>;
  /** Called with the task's result, unless the run went stale first. */
  onComplete?: (result: R, run: X) => void;
  /** Called with what the task threw, unless the run went stale first. */
  onError?: (error: unknown, run: X) => void;
}

/**
 * Runs an element's async work the way `@lit/task` does: it owns the
 * AbortController, a new run aborts the one before, and only the latest run
 * reports back. Unlike `@lit/task` it also aborts when the host leaves the
 * page, so a removed element stops what it started.
 */
export class RunController<R, A = void, X extends Run = Run> implements ReactiveController {
  protected readonly host: ReactiveControllerHost;
  readonly #options: RunOptions<R, A, X>;
  #abort: AbortController | undefined;

  constructor(host: ReactiveControllerHost, options: RunOptions<R, A, X>) {
    this.host = host;
    this.#options = options;
    host.addController(this);
  }

  /** True from `run()` until its task settles or is aborted. */
  get running(): boolean {
    return this.#abort !== undefined;
  }

  /**
   * Aborts the run under way, if any, and starts the task again with `args`.
   * Resolves once this run's task has settled and been reported (or dropped as
   * stale); it never rejects.
   */
  async run(args: A): Promise<void> {
    this.abort();
    const abort = new AbortController();
    this.#abort = abort;
    const run = this.createRun(abort.signal);
    let result: R;
    try {
      result = await this.#options.task(run, args);
    } catch (error) {
      if (this.#settle(abort, run)) this.#options.onError?.(error, run);
      return;
    }
    if (this.#settle(abort, run)) this.#options.onComplete?.(result, run);
  }

  /** Aborts the run under way; it reports nothing from now on. */
  abort(): void {
    this.#abort?.abort();
    this.#abort = undefined;
  }

  /** Aborts the run under way: an element off the page stops what it started. */
  hostDisconnected(): void {
    this.abort();
  }

  /** The run object the task sees; a subclass whose runs carry more overrides it. */
  protected createRun(signal: AbortSignal): X {
    const run: Run = {
      signal,
      get stale() {
        return signal.aborted;
      },
    };
    return run as X;
  }

  /** Marks `abort`'s run as settled; true if it still counts. */
  #settle(abort: AbortController, run: X): boolean {
    if (this.#abort === abort) this.#abort = undefined;
    if (run.stale) return false;
    this.host.requestUpdate();
    return true;
  }
}
