import type { ReactiveController, ReactiveControllerHost } from 'lit';

/**
 * Keeps the screen on while the host wants it (a page that seeds or downloads):
 * a phone that locks its screen freezes the tab, and the transfers in it die
 * with it (ShareDrop#164). Uses the Screen Wake Lock API where the browser has
 * it, and does nothing elsewhere. The browser drops the lock whenever the page
 * is hidden, so it is asked for again when the page is shown.
 */
export class WakeLockController implements ReactiveController {
  readonly #wanted: () => boolean;
  #sentinel: WakeLockSentinel | undefined;
  /** A request under way, so that updates do not stack requests. */
  #requesting = false;
  #connected = false;

  constructor(host: ReactiveControllerHost, wanted: () => boolean) {
    this.#wanted = wanted;
    host.addController(this);
  }

  /** True while the screen is held on. */
  get held(): boolean {
    return this.#sentinel !== undefined && !this.#sentinel.released;
  }

  hostConnected(): void {
    this.#connected = true;
    document.addEventListener('visibilitychange', this.#sync);
  }

  /** After every render: take or release the lock as the host's state now asks. */
  hostUpdated(): void {
    this.#sync();
  }

  hostDisconnected(): void {
    this.#connected = false;
    document.removeEventListener('visibilitychange', this.#sync);
    this.#release();
  }

  readonly #sync = (): void => {
    const want = this.#connected && this.#wanted();
    if (!want) {
      this.#release();
      return;
    }
    if (this.held || this.#requesting || document.visibilityState !== 'visible') return;
    const wakeLock = (navigator as Navigator & { wakeLock?: WakeLock }).wakeLock;
    if (!wakeLock) return;
    this.#requesting = true;
    wakeLock.request('screen').then(
      (sentinel) => {
        this.#requesting = false;
        this.#sentinel = sentinel;
        // Wanted no more while the request was under way.
        if (!this.#connected || !this.#wanted()) this.#release();
      },
      // Refused (battery saver, a frame without permission): transfers go on, the screen may lock.
      () => {
        this.#requesting = false;
      },
    );
  };

  #release(): void {
    const sentinel = this.#sentinel;
    this.#sentinel = undefined;
    if (sentinel && !sentinel.released) void sentinel.release().catch(() => {});
  }
}
