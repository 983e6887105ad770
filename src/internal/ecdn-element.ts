import { consume } from '@lit/context';
import { LitElement } from 'lit';
import { state } from 'lit/decorators.js';
import { isEcdnError, parseHash } from '../engine/errors.js';
import { EcdnDeadEvent } from '../events/ecdn-dead.js';
import { EcdnErrorEvent, type EcdnErrorDetail } from '../events/ecdn-error.js';
import type { FileStatus } from '../engine/tracker-client.js';
import { getEngine } from '../index.js';
import { engineContext, type EcdnEngine } from './context.js';
import { emit } from './emit.js';
import { errorDetail } from './errors.js';
import { WatchController } from './watch-controller.js';

/** Where an element's file stands. */
export type EcdnState = 'idle' | 'loading' | 'ready' | 'dead' | 'error';

/**
 * What the EphemeralCDN elements share: the engine (from context, else the
 * page's), a read-only `state` reflected as an attribute, and the live seeder
 * count of the file they show.
 */
export class EcdnElement extends LitElement {
  /** The engine given by an ancestor through `engineContext`, if any. */
  @consume({ context: engineContext, subscribe: true })
  @state()
  protected providedEngine?: EcdnEngine;

  @state() private _state: EcdnState = 'idle';

  /** The failure the error state shows. */
  @state() protected _error: EcdnErrorDetail | undefined;

  /** Live status of {@link watchedHash}, from the tracker. */
  protected readonly fileWatch = new WatchController(this, {
    hash: () => this.watchedHash(),
    engine: () => this.engine,
    onStatus: (status) => this.onFileStatus(status),
  });

  /** Where the file stands: `idle`, `loading`, `ready`, `dead` or `error`. Reflected as the `state` attribute. */
  get state(): EcdnState {
    return this._state;
  }

  /** How many peers hold the whole file right now, live from the tracker; undefined until it answers. */
  get seeders(): number | undefined {
    return this.fileWatch.status?.seeders;
  }

  /** The engine in use: the one provided through context, else the page's shared one. */
  protected get engine(): EcdnEngine {
    return this.providedEngine ?? getEngine();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.getAttribute('state') !== this._state) this.setAttribute('state', this._state);
  }

  /** Moves to a new state and reflects it at once, so a test or a style never sees a stale attribute. */
  protected setState(next: EcdnState): void {
    if (next === this._state) return;
    this._state = next;
    this.setAttribute('state', next);
  }

  /** The file whose live status to watch; subclasses override. */
  protected watchedHash(): string | undefined {
    return undefined;
  }

  /**
   * Called on every live status of {@link watchedHash}. The file is gone when
   * the tracker says nobody holds it: the element moves to `dead` and fires
   * `ecdn-dead` if {@link canDie} says so now. A file back from the dead (the
   * same bytes seeded again, so the same hash) calls {@link revive}.
   */
  protected onFileStatus(status: FileStatus): void {
    if (status.hash !== this.watchedHash()) return;
    if (!status.alive && this.canDie()) this.#die(status.hash);
    else if (status.alive && status.seeders > 0 && this.state === 'dead') this.revive();
  }

  /** Whether a file nobody holds any more moves this element to `dead` in its current state; subclasses override. */
  protected canDie(): boolean {
    return false;
  }

  /** Leaves the `dead` state once the file has seeders again; subclasses override. */
  protected revive(): void {}

  /** Shows the error state and fires `ecdn-error`. */
  protected fail(detail: EcdnErrorDetail): void {
    this._error = detail;
    this.setState('error');
    this.emit(new EcdnErrorEvent(detail));
  }

  /** Turns a failed fetch of `hash` into the dead state and `ecdn-dead`, or else the error state. */
  protected failFetch(hash: string, err: unknown): void {
    if (isEcdnError(err, 'DEAD')) {
      this.#die(hash);
    } else {
      this.fail(errorDetail(hash, err));
    }
  }

  #die(hash: string): void {
    this.setState('dead');
    this.emit(new EcdnDeadEvent({ hash }));
  }

  /** Dispatches one of the typed `ecdn-*` events from this element. */
  protected emit<E extends Event>(event: E): E {
    return emit(this, event);
  }
}

/** The hash normalised to lowercase, or undefined when it is not 64 hex characters. */
export function validHash(hash: string | undefined | null): string | undefined {
  if (!hash) return undefined;
  try {
    return parseHash(hash);
  } catch {
    return undefined;
  }
}
