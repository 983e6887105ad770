import { html, nothing, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { classMap } from 'lit/directives/class-map.js';
import { EcdnLoadEvent } from '../../events/ecdn-load.js';
import { EcdnElement, validHash } from '../../internal/ecdn-element.js';
import { parseShareLink } from '../../internal/share-link.js';
import { errorMessage, errorText } from '../../internal/errors.js';
import { FetchController } from '../../internal/fetch-controller.js';
import { formatBytes, formatSpeed, percent, plural } from '../../internal/format.js';
import { icons } from '../../internal/icons.js';
import { progressBar, progressStyles } from '../../internal/progress.js';
import { themeStyles } from '../../internal/theme.styles.js';
import { imgStyles } from './ecdn-img.styles.js';
import { sniffImageType } from '../../internal/sniff.js';

/**
 * @summary An image fetched by SHA-256 from the browsers holding it, verified, with its live state.
 *
 * @description Put it where an `<img>` would go: `<ecdn-img hash="…" alt="…">`. It downloads the file
 * from its peers, checks it against the hash, and shows it through an object URL that it revokes when
 * the hash changes or the element leaves the page. While loading it shows progress and the live seeder
 * count; a file nobody holds any more shows a clear "file is dead" state. If the file comes back (someone
 * seeds the same bytes again) the element loads it.
 *
 * @fires {EcdnProgressEvent} ecdn-progress - Verified bytes arrived: `detail` has `received`, `total`, `peers`, `bytesPerSecond`.
 * @fires {EcdnLoadEvent} ecdn-load - The image is verified and decoded: `detail` has `hash`, `size`, `type`.
 * @fires {EcdnDeadEvent} ecdn-dead - No seeder holds the file any more.
 * @fires {EcdnErrorEvent} ecdn-error - The fetch failed otherwise (`INVALID_HASH`, `TIMEOUT`, …), or the bytes are not an image.
 *
 * @slot loading - Replaces the built-in progress panel while the file loads.
 * @slot dead - Replaces the built-in "file is dead" panel.
 * @slot error - Replaces the built-in error panel.
 *
 * @csspart base - The wrapper around everything.
 * @csspart image - The `<img>` showing the verified file.
 * @csspart loading - The built-in progress panel.
 * @csspart progress - The progress track.
 * @csspart progress-bar - The filled part of the progress track.
 * @csspart seeders - The live seeder count (a badge over the image once shown).
 * @csspart dead - The built-in "file is dead" panel.
 * @csspart error - The built-in error panel.
 *
 * @cssprop [--ecdn-img-placeholder-width=16rem] - Width of the loading, dead and error panels.
 * @cssprop [--ecdn-img-placeholder-height=10rem] - Least height of those panels.
 * @cssprop [--ecdn-img-radius=0] - Corner radius of the image.
 * @cssprop --ecdn-font - Font family.
 * @cssprop --ecdn-radius - Corner radius of panels.
 * @cssprop --ecdn-color-text - Text colour.
 * @cssprop --ecdn-color-muted - Secondary text colour.
 * @cssprop --ecdn-color-surface - Background colour.
 * @cssprop --ecdn-color-surface-alt - Background of panels.
 * @cssprop --ecdn-color-border - Border colour.
 * @cssprop --ecdn-color-accent - Progress colour.
 * @cssprop --ecdn-color-success - The "seeders online" dot.
 * @cssprop --ecdn-color-danger - Dead and error colour.
 * @cssprop --ecdn-color-track - Empty progress track.
 */
export class EcdnImg extends EcdnElement {
  static override styles = [themeStyles, progressStyles, imgStyles];

  /** SHA-256 of the image, as 64 hexadecimal characters. */
  @property({ reflect: true }) hash = '';

  /** Alternative text, as on `<img>`. */
  @property() alt = '';

  /** MIME type of the image (`image/png`…); sniffed from its first bytes when empty. */
  @property() type = '';

  /**
   * The key of a private share (the `k` of its link, `#k=…`): the image is decrypted with
   * it. A wrong key shows an error (`DECRYPT_FAILED`), never garbage.
   */
  @property() key = '';

  /**
   * A share link (`/f/<hash>#k=<key>`, or a bare hash) to take `hash` and `key` from, for
   * pages that have the link rather than its parts.
   */
  @property() src = '';

  @state() private _url: string | undefined;

  /** Fetches the image whenever the hash or the engine changes, and again when the element comes back to the page. */
  readonly #fetch = new FetchController<ArrayBuffer>(this, {
    hash: () => this.hash,
    engine: () => this.engine,
    autoRun: true,
    task: ({ hash, engine, fetchOptions }) => {
      this.#clear();
      this.setState('loading');
      return engine.fetch(hash, this.key ? { ...fetchOptions, key: this.key } : fetchOptions);
    },
    onComplete: (bytes) => {
      this.#size = bytes.byteLength;
      this.#mime = this.type || sniffImageType(new Uint8Array(bytes, 0, Math.min(bytes.byteLength, 1024))) || '';
      // `ready` waits for the <img> to decode it: see #onImageLoad.
      this._url = URL.createObjectURL(new Blob([bytes], { type: this.#mime }));
    },
    onError: (err, { hash }) => this.failFetch(hash, err),
  });
  #size = 0;
  #mime = '';

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#clear();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('src') && this.src) {
      const link = parseShareLink(this.src);
      this.hash = link?.hash ?? this.src;
      this.key = link?.key ?? '';
    }
    super.willUpdate(changed);
    // A new key for the same hash: fetch again (a new hash does so by itself).
    if (changed.has('key') && !changed.has('hash') && this.hash) void this.#fetch.run();
    // No hash, no file: the controller aborts the run, this forgets its image.
    if (changed.has('hash') && !this.hash) {
      this.#clear();
      this.setState('idle');
    }
  }

  protected override watchedHash(): string | undefined {
    return validHash(this.hash);
  }

  protected override canDie(): boolean {
    return this.state === 'ready';
  }

  protected override revive(): void {
    if (this._url) this.setState('ready');
    else void this.#fetch.run();
  }

  /** Revokes the object URL and forgets the last error. */
  #clear(): void {
    if (this._url) URL.revokeObjectURL(this._url);
    this._url = undefined;
    this._error = undefined;
  }

  #onImageLoad(event: Event): void {
    if ((event.target as HTMLImageElement).src !== this._url || this.state !== 'loading') return;
    this.setState('ready');
    this.emit(new EcdnLoadEvent({ hash: this.hash, size: this.#size, type: this.#mime }));
  }

  #onImageError(event: Event): void {
    if ((event.target as HTMLImageElement).src !== this._url || this.state !== 'loading') return;
    const error = new Error(`The file is not an image this browser can show (type ${this.#mime || 'unknown'}).`);
    this.fail({ hash: this.hash, code: 'UNKNOWN', message: error.message, error });
  }

  protected override render() {
    const state = this.state;
    const overlay = state === 'dead' && this._url !== undefined;
    return html`
      <div part="base" class=${classMap({ base: true, 'base--overlay': overlay })} aria-busy=${state === 'loading'}>
        ${
          this._url
            ? html`<img
              part="image"
              src=${this._url}
              alt=${this.alt}
              ?hidden=${state !== 'ready' && !overlay}
              @load=${this.#onImageLoad}
              @error=${this.#onImageError}
            />`
            : nothing
        }
        ${state === 'loading' ? this.#renderLoading() : nothing}
        ${state === 'ready' ? this.#renderSeeders() : nothing}
        ${state === 'dead' ? this.#renderDead() : nothing}
        ${state === 'error' ? this.#renderError() : nothing}
        <span class="visually-hidden" role="status" aria-live="polite">${this.#announcement()}</span>
      </div>
    `;
  }

  #announcement(): string {
    switch (this.state) {
      case 'loading':
        return `Loading image${this.alt ? ` “${this.alt}”` : ''} from peers.`;
      case 'ready':
        return '';
      case 'dead':
        return 'File is dead: nobody is sharing it any more.';
      case 'error':
        return `Image failed to load. ${errorText(this._error?.code ?? 'UNKNOWN')}`;
      default:
        return '';
    }
  }

  #renderSeeders() {
    const seeders = this.seeders;
    if (seeders === undefined) return nothing;
    return html`<span part="seeders" title="Browsers holding the whole file right now"
      ><span class=${classMap({ dot: true, 'dot--none': seeders === 0 })}></span>${plural(seeders, 'seeder')}</span
    >`;
  }

  #renderLoading() {
    const p = this.#fetch.progress;
    const known = p !== undefined && p.total > 0;
    const pct = known ? percent(p.received, p.total) : 0;
    const seeders = this.seeders;
    const meta = [
      known ? `${formatBytes(p.received)} of ${formatBytes(p.total)}` : 'Finding peers…',
      seeders !== undefined ? plural(seeders, 'seeder') : '',
      p && p.peers > 0 ? `${formatSpeed(p.bytesPerSecond)} from ${plural(p.peers, 'peer')}` : '',
    ].filter(Boolean);
    return html`<slot name="loading">
      <div part="loading" class="panel">
        <p class="panel__title">${known ? `Loading image… ${pct}%` : 'Loading image…'}</p>
        ${progressBar(this.alt ? `Loading ${this.alt}` : 'Loading image', known ? pct : undefined)}
        <p class="panel__meta">${meta.map((item, i) => html`${i ? ' · ' : ''}<span class="nowrap">${item}</span>`)}</p>
      </div>
    </slot>`;
  }

  #renderDead() {
    return html`<slot name="dead">
      <div part="dead" class="panel">
        <p class="panel__title">${icons.dead} File is dead</p>
        <p class="panel__meta">Nobody is sharing it any more. It comes back only if someone seeds the same file again.</p>
      </div>
    </slot>`;
  }

  #renderError() {
    return html`<slot name="error">
      <div part="error" class="panel">
        <p class="panel__title">${icons.error} Image failed to load</p>
        <p class="panel__meta">${errorMessage(this._error)}</p>
      </div>
    </slot>`;
  }
}

if (!customElements.get('ecdn-img')) customElements.define('ecdn-img', EcdnImg);

declare global {
  interface HTMLElementTagNameMap {
    'ecdn-img': EcdnImg;
  }
}
