import { html, nothing, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { classMap } from 'lit/directives/class-map.js';
import { parseHash } from '../../engine/errors.js';
import { EcdnLoadEvent } from '../../events/ecdn-load.js';
import { EcdnElement, validHash } from '../../internal/ecdn-element.js';
import { downloadAnnouncement } from '../../internal/download-announcement.js';
import { errorDetail, errorMessage, isAbort } from '../../internal/errors.js';
import { FetchController, type FetchRun } from '../../internal/fetch-controller.js';
import { InfoController } from '../../internal/info-controller.js';
import { formatBytes, formatEta, formatSpeed, percent, plural } from '../../internal/format.js';
import { icons } from '../../internal/icons.js';
import { progressBar, progressStyles } from '../../internal/progress.js';
import { themeStyles } from '../../internal/theme.styles.js';
import { downloadStyles } from './ecdn-download.styles.js';
import { saveBlob, savePicker } from '../../internal/save.js';
import { parseShareLink } from '../../internal/share-link.js';

/**
 * @summary A download button for a file shared by SHA-256: size, progress, speed, peers, and the file saved when done.
 *
 * @description `<ecdn-download hash="…" filename="report.csv">` shows the file's live seeder count; a
 * click downloads it from its peers, verifies it and saves it. Files of `stream-threshold` bytes or more
 * (when `size` is given) stream straight to disk through the File System Access API where the browser has
 * it; everything else is saved as a Blob through a temporary `<a download>`.
 *
 * @fires {EcdnProgressEvent} ecdn-progress - Verified bytes arrived: `detail` has `received`, `total`, `peers`, `bytesPerSecond`.
 * @fires {EcdnLoadEvent} ecdn-load - The file is downloaded, verified and handed to the browser to save: `detail` has `hash`, `size`, `name`.
 * @fires {EcdnDeadEvent} ecdn-dead - No seeder holds the file any more.
 * @fires {EcdnErrorEvent} ecdn-error - The download failed otherwise (`INVALID_HASH`, `TIMEOUT`, a failed write…).
 *
 * @csspart base - The card around the button.
 * @csspart button - The main button: download, save again, or try again.
 * @csspart icon - The round icon at the start of the button.
 * @csspart label - The file name.
 * @csspart meta - The line under it: size, seeders, progress, speed, peers, or what went wrong.
 * @csspart progress - The progress track, while downloading.
 * @csspart progress-bar - The filled part of the progress track.
 * @csspart cancel - The cancel button, while downloading.
 *
 * @cssprop [--ecdn-download-width=24rem] - Width of the element.
 * @cssprop --ecdn-font - Font family.
 * @cssprop --ecdn-radius - Corner radius.
 * @cssprop --ecdn-color-text - Text colour.
 * @cssprop --ecdn-color-muted - Secondary text colour.
 * @cssprop --ecdn-color-surface - Background colour.
 * @cssprop --ecdn-color-surface-alt - Background on hover.
 * @cssprop --ecdn-color-border - Border colour.
 * @cssprop --ecdn-color-accent - Icon and progress colour.
 * @cssprop --ecdn-color-on-accent - Icon colour on the accent.
 * @cssprop --ecdn-color-success - Icon colour once saved, and the "seeders online" dot.
 * @cssprop --ecdn-color-danger - Dead and error colour.
 * @cssprop --ecdn-color-track - Empty progress track.
 * @cssprop --ecdn-focus-ring - Box shadow of the focused button.
 */
export class EcdnDownload extends EcdnElement {
  static override styles = [themeStyles, progressStyles, downloadStyles];

  /** SHA-256 of the file, as 64 hexadecimal characters. */
  @property({ reflect: true }) hash = '';

  /** Name to save the file under; defaults to the start of the hash. */
  @property() filename = '';

  /**
   * Size of the file in bytes, if the page knows it: shown before the download starts,
   * and decides streaming. Without it, the element asks the first peer that holds
   * the file (its manifest, nothing more) once the tracker reports seeders.
   */
  @property({ type: Number }) size: number | undefined;

  /** MIME type given to the saved Blob. */
  @property() type = '';

  /**
   * The key of a private share (the `k` of its link, `#k=…`): the file is decrypted with it,
   * and saved under the name its encrypted header carries unless `filename` is set.
   */
  @property() key = '';

  /**
   * A share link (`/f/<hash>#k=<key>`, `/f/<hash>#name=…&type=…`, or a bare hash) to take
   * `hash`, `key`, `filename` and `type` from, for pages that have the link rather than its parts.
   */
  @property() src = '';

  /** Files of at least this many bytes (per `size`) stream to disk through the save picker where available. */
  @property({ type: Number, attribute: 'stream-threshold' }) streamThreshold = 32 * 1024 * 1024;

  @state() private _saved: Saved | undefined;

  /** Downloads and saves the file when `download()` asks; a new hash or leaving the page aborts it. */
  readonly #fetch = new FetchController<Saved | undefined>(this, {
    hash: () => this.hash,
    engine: () => this.engine,
    task: (run) => this.#save(run),
    onComplete: (saved, { hash }) => {
      // Undefined: the user closed the save picker, so nothing happened.
      if (!saved) return;
      this._saved = saved;
      this.setState('ready');
      this.emit(new EcdnLoadEvent({ hash, size: saved.size, name: this.downloadName, ...(this.type ? { type: this.type } : {}) }));
    },
    onError: (err, { hash }) => {
      // Aborted from elsewhere than this element (its own aborts are stale and never get here).
      if (isAbort(err)) this.setState('idle');
      else this.failFetch(hash, err);
    },
  });
  #blob: Blob | undefined;
  /** The name a private share's encrypted header carries, once downloaded. */
  #sharedName = '';

  /** The file's size from its first peer, when the page did not give one. */
  readonly #info = new InfoController(this, {
    hash: () => validHash(this.hash),
    engine: () => this.engine,
    wanted: () => this.size === undefined && this.state === 'idle' && (this.seeders ?? 0) > 0,
  });

  /** The size given as `size`, else the one the first peer reported; undefined until known. */
  get knownSize(): number | undefined {
    return this.size ?? this.#info.info?.size;
  }

  /** The name the file is saved under. */
  get downloadName(): string {
    return this.filename || this.#sharedName || `${(validHash(this.hash) ?? 'file').slice(0, 16)}`;
  }

  override disconnectedCallback(): void {
    this.cancel();
    super.disconnectedCallback();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('src') && this.src) {
      const link = parseShareLink(this.src);
      this.hash = link?.hash ?? this.src;
      this.key = link?.key ?? '';
      if (link?.name) this.filename = link.name;
      if (link?.type) this.type = link.type;
    }
    super.willUpdate(changed);
    if (changed.has('hash') || changed.has('key')) this.#reset();
  }

  protected override watchedHash(): string | undefined {
    return validHash(this.hash);
  }

  protected override canDie(): boolean {
    return this.state === 'idle';
  }

  protected override revive(): void {
    this.setState('idle');
  }

  /** A new hash: drop what belonged to the old one (the controller aborts its download). */
  #reset(): void {
    this.#blob = undefined;
    this.#sharedName = '';
    this._saved = undefined;
    this._error = undefined;
    if (this.hash && !validHash(this.hash)) {
      try {
        parseHash(this.hash);
      } catch (err) {
        this.fail(errorDetail(this.hash, err));
        return;
      }
    }
    this.setState('idle');
  }

  /** Stops a download under way; the element goes back to idle. */
  cancel(): void {
    this.#fetch.abort();
    if (this.state === 'loading') this.setState('idle');
  }

  /**
   * Downloads and saves the file (the button calls this). Call it from a user
   * gesture: saving, and the save picker above all, need one.
   */
  async download(): Promise<void> {
    if (this.state === 'loading' || !validHash(this.hash)) return;
    if (this.#blob) {
      saveBlob(this.renderRoot as ShadowRoot, this.#blob, this.downloadName);
      return;
    }
    return this.#fetch.run();
  }

  /** One download: to a file the save picker gives, else to a Blob saved through `<a download>`. */
  async #save(run: FetchRun): Promise<Saved | undefined> {
    const { hash, engine, signal } = run;
    const fetchOptions = this.key ? { ...run.fetchOptions, key: this.key } : run.fetchOptions;
    let handle: FileSystemFileHandle | undefined;
    const size = this.knownSize;
    const picker = size !== undefined && size >= this.streamThreshold ? savePicker() : undefined;
    if (picker) {
      try {
        // First await of the click: the picker needs the user's gesture.
        handle = await picker({ suggestedName: this.downloadName });
      } catch (err) {
        // The user closed the picker: nothing to do. Anything else (a sandboxed
        // frame): fall back to a Blob download.
        if (err instanceof DOMException && err.name === 'AbortError') return undefined;
      }
      if (run.stale) return undefined;
    }

    this._error = undefined;
    this.setState('loading');
    if (handle) {
      const writable = await handle.createWritable();
      if (run.stale) {
        void writable.abort();
        return undefined;
      }
      let written = 0;
      const counter = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          written += chunk.byteLength;
          controller.enqueue(chunk);
        },
      });
      await engine
        .stream(hash, fetchOptions)
        .pipeThrough(counter)
        .pipeTo(writable as unknown as WritableStream<Uint8Array>, { signal });
      return { size: written, streamed: true };
    }
    // A large file comes back as a File on disk (the engine's piece store), never whole in memory.
    const blob = await engine.fetchBlob(hash, this.type, fetchOptions);
    if (run.stale) return undefined;
    this.#blob = blob;
    // A private share's File is named by its encrypted header.
    if (this.key && blob instanceof File) this.#sharedName = blob.name;
    saveBlob(this.renderRoot as ShadowRoot, blob, this.downloadName);
    return { size: blob.size, streamed: false };
  }

  #onClick(): void {
    void this.download();
  }

  protected override render() {
    const state = this.state;
    const disabled = state === 'dead' || state === 'loading' || (state === 'error' && this._error?.code === 'INVALID_HASH') || !this.hash;
    const icon = state === 'ready' ? icons.check : state === 'dead' ? icons.dead : state === 'error' ? icons.error : icons.download;
    return html`
      <div part="base" class="base" aria-busy=${state === 'loading'}>
        <div class="row">
          <button part="button" type="button" ?disabled=${disabled} aria-describedby="meta" @click=${this.#onClick}>
            <span part="icon">${icon}</span>
            <span class="text">
              <span part="label"><span class="visually-hidden">${this.#verb()} </span>${this.downloadName}</span>
              <span part="meta" id="meta" aria-hidden="true">${this.#meta()}</span>
            </span>
          </button>
        </div>
        ${
          state === 'loading'
            ? html`<div class="progress-row">
              ${this.#renderProgress()}
              <button part="cancel" type="button" aria-label=${`Cancel downloading ${this.downloadName}`} @click=${() => this.cancel()}>
                Cancel
              </button>
            </div>`
            : nothing
        }
        <span class="visually-hidden" role="status" aria-live="polite">${this.#announcement()}</span>
      </div>
    `;
  }

  /** The button's verb, read before the file name (the name stays the visible text). */
  #verb(): string {
    switch (this.state) {
      case 'loading':
        return 'Downloading';
      case 'ready':
        return 'Save again:';
      case 'dead':
        return 'File is dead:';
      case 'error':
        return this._error?.code === 'INVALID_HASH' ? 'Invalid hash:' : 'Try again to download';
      default:
        return 'Download';
    }
  }

  #seedersText(): string {
    const seeders = this.seeders;
    return seeders === undefined ? '' : plural(seeders, 'seeder');
  }

  #meta() {
    const seeders = this.seeders;
    const dot = seeders === undefined ? nothing : html`<span class=${classMap({ dot: true, 'dot--none': seeders === 0 })}></span>`;
    switch (this.state) {
      case 'loading': {
        const p = this.#fetch.progress;
        if (!p?.total) return html`Finding peers…${seeders !== undefined ? html` · ${dot}${this.#seedersText()}` : nothing}`;
        return [
          `${percent(p.received, p.total)}% of ${formatBytes(p.total)}`,
          formatSpeed(p.bytesPerSecond),
          plural(p.peers, 'peer'),
          formatEta(p.total - p.received, p.bytesPerSecond),
        ]
          .filter(Boolean)
          .join(' · ');
      }
      case 'ready': {
        const parts = [`Saved`, formatBytes(this._saved?.size ?? 0)];
        return html`${parts.join(' · ')}${seeders !== undefined ? html` · ${dot}${this.#seedersText()}` : nothing}`;
      }
      case 'dead':
        return 'File is dead: nobody is sharing it any more';
      case 'error': {
        const text = errorMessage(this._error);
        return this._error?.code === 'INVALID_HASH' ? text : `${text} Click to try again.`;
      }
      default: {
        const known = this.knownSize;
        const size = known !== undefined ? formatBytes(known) : '';
        if (!this.hash) return 'No file';
        return html`${size}${size && seeders !== undefined ? ' · ' : ''}${dot}${seeders !== undefined ? this.#seedersText() : size ? '' : 'Looking for seeders…'}`;
      }
    }
  }

  #renderProgress() {
    const p = this.#fetch.progress;
    const known = p !== undefined && p.total > 0;
    return progressBar(`Downloading ${this.downloadName}`, known ? percent(p.received, p.total) : undefined);
  }

  #announcement(): string {
    return downloadAnnouncement(this.state, this.downloadName, this._saved?.streamed === true, this._error);
  }
}

/** What a finished download reports. */
interface Saved {
  /** Bytes saved. */
  size: number;
  /** True when they went straight to a file through the save picker. */
  streamed: boolean;
}

if (!customElements.get('ecdn-download')) customElements.define('ecdn-download', EcdnDownload);

declare global {
  interface HTMLElementTagNameMap {
    'ecdn-download': EcdnDownload;
  }
}
