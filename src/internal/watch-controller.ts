import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { FileStatus } from '../engine/tracker-client.js';
import type { EcdnEngine } from './context.js';

/** What {@link WatchController} asks its host. */
export interface WatchOptions {
  /** The file to watch now, or undefined for none. Read before every update. */
  hash: () => string | undefined;
  /** The engine to watch it with. */
  engine: () => EcdnEngine;
  /** Called on every status the tracker reports, before the host re-renders. */
  onStatus?: (status: FileStatus) => void;
}

/**
 * Bridges the engine's `watch(hash)` to an element: keeps one subscription
 * for the host's current file and engine, drops it when the host leaves the
 * page, and re-renders the host on every report.
 */
export class WatchController implements ReactiveController {
  /** The tracker's latest word on the watched file; undefined until it answers. */
  status: FileStatus | undefined;

  readonly #host: ReactiveControllerHost;
  readonly #options: WatchOptions;
  #hash: string | undefined;
  #engine: EcdnEngine | undefined;
  #stop: (() => void) | undefined;

  constructor(host: ReactiveControllerHost, options: WatchOptions) {
    this.#host = host;
    this.#options = options;
    host.addController(this);
  }

  /** Asks for an update, which subscribes. */
  hostConnected(): void {
    // Subscribe on the coming update rather than now: the <script> bundle
    // defines the elements (upgrading those already in the page) a moment
    // before it configures the engine's server, and updates run after that.
    this.#host.requestUpdate();
  }

  /** Follows the host's current file and engine. */
  hostUpdate(): void {
    this.#sync();
  }

  /** Unsubscribes and forgets the last status. */
  hostDisconnected(): void {
    this.#unwatch();
  }

  #sync(): void {
    const hash = this.#options.hash();
    const engine = hash ? this.#options.engine() : undefined;
    if (hash === this.#hash && engine === this.#engine) return;
    this.#unwatch();
    if (!hash || !engine) return;
    this.#hash = hash;
    this.#engine = engine;
    try {
      this.#stop = engine.watch(hash, (status) => {
        if (this.#hash !== hash || this.#engine !== engine) return;
        this.status = status;
        this.#options.onStatus?.(status);
        this.#host.requestUpdate();
      });
    } catch {
      // No server configured, or a destroyed engine: the host's own fetch or
      // seed reports that; without a watch the count just stays unknown.
      this.#stop = () => {};
    }
  }

  #unwatch(): void {
    this.#stop?.();
    this.#stop = undefined;
    this.#hash = undefined;
    this.#engine = undefined;
    this.status = undefined;
  }
}
