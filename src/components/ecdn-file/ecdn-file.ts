import { html, nothing, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { classMap } from 'lit/directives/class-map.js';
import { parseHash } from '../../engine/errors.js';
import { EcdnLoadEvent } from '../../events/ecdn-load.js';
import type { EcdnEngine } from '../../internal/context.js';
import { EcdnElement, validHash } from '../../internal/ecdn-element.js';
import { downloadAnnouncement } from '../../internal/download-announcement.js';
import { errorDetail, errorMessage, isAbort } from '../../internal/errors.js';
import { FetchController, type FetchRun } from '../../internal/fetch-controller.js';
import { formatBytes, formatEta, formatSpeed, percent, plural } from '../../internal/format.js';
import { icons } from '../../internal/icons.js';
import { InfoController } from '../../internal/info-controller.js';
import { progressBar, progressStyles } from '../../internal/progress.js';
import { themeStyles } from '../../internal/theme.styles.js';
import { WakeLockController } from '../../internal/wake-lock.js';
import { saveBlob } from '../../internal/save.js';
import { parseCsv } from './csv.js';
import { fileStyles } from './ecdn-file.styles.js';
import { CSV_PREVIEW_ROWS, describeType, expectedPreview, previewFor, TEXT_PREVIEW_BYTES, textHead, type PreviewKind } from './preview.js';

/**
 * @summary A shared file's page: its name, size and live seeder count before anything is downloaded, then a preview and the file saved.
 *
 * @description `<ecdn-file hash="…" filename="photo.jpg" type="image/jpeg">` is what a share link opens. Before
 * any download it shows the name, the size (asked of the first peer that holds the file: its manifest, nothing
 * more) and the live seeder count. **Download** fetches the file from its peers, verifies it and saves it;
 * **Preview** fetches it and shows it without saving. Either way it then shows a preview where the browser can
 * show one (an image, a video, a sound, a PDF, a CSV file as a table, the start of a text file) and says that the
 * page now shares the file too, as long as it stays open (unless reseeding is off). While downloading it shows
 * progress, speed, peers and the time left, and keeps the screen on where the browser allows it; while this page
 * holds the file's last copy, leaving asks for confirmation. A file nobody holds any more shows a clear dead state.
 *
 * @fires {EcdnProgressEvent} ecdn-progress - Verified bytes arrived: `detail` has `received`, `total`, `peers`, `bytesPerSecond`.
 * @fires {EcdnLoadEvent} ecdn-load - The file is downloaded and verified (and saved, for **Download**): `detail` has `hash`, `size`, `type`, `name`.
 * @fires {EcdnDeadEvent} ecdn-dead - No seeder holds the file any more.
 * @fires {EcdnErrorEvent} ecdn-error - The download failed otherwise (`INVALID_HASH`, `NO_PEER_REACHABLE`, …).
 *
 * @csspart base - The card around everything.
 * @csspart file-icon - The file icon next to the name.
 * @csspart name - The file name (a heading of level `heading-level`).
 * @csspart meta - The line under the name: size, type and live seeders.
 * @csspart actions - The row of buttons.
 * @csspart download-button - Download, save, save again, or try again.
 * @csspart preview-button - Preview without saving.
 * @csspart cancel-button - Cancels the download under way.
 * @csspart progress - The progress track, while downloading.
 * @csspart progress-bar - The filled part of the progress track.
 * @csspart progress-text - Percent, speed, peers and time left, while downloading.
 * @csspart preview - The preview: an image, a player, a PDF frame, a table or text.
 * @csspart notice - What this page does with the file now: shares it while open, or not.
 * @csspart dead - The "file is dead" panel.
 * @csspart error - The error panel.
 *
 * @cssprop [--ecdn-file-max-width=48rem] - Widest the element grows.
 * @cssprop [--ecdn-file-preview-height=60vh] - Tallest a preview grows.
 * @cssprop --ecdn-font - Font family.
 * @cssprop --ecdn-font-mono - Font family of a text preview.
 * @cssprop --ecdn-radius - Corner radius.
 * @cssprop --ecdn-color-text - Text colour.
 * @cssprop --ecdn-color-muted - Secondary text colour.
 * @cssprop --ecdn-color-surface - Background colour.
 * @cssprop --ecdn-color-surface-alt - Background of the preview and of hovered buttons.
 * @cssprop --ecdn-color-border - Border colour.
 * @cssprop --ecdn-color-accent - Main button, icon and progress colour.
 * @cssprop --ecdn-color-on-accent - Text on the main button.
 * @cssprop --ecdn-color-success - The "seeders online" dot.
 * @cssprop --ecdn-color-danger - Dead, error and last-copy colour.
 * @cssprop --ecdn-color-track - Empty progress track.
 * @cssprop --ecdn-focus-ring - Box shadow of focused controls.
 */
export class EcdnFile extends EcdnElement {
  static override styles = [themeStyles, progressStyles, fileStyles];

  /** SHA-256 of the file, as 64 hexadecimal characters. */
  @property({ reflect: true }) hash = '';

  /** The file's name: shown, and the name it is saved under. Defaults to the start of the hash. */
  @property() filename = '';

  /** The file's MIME type, if known: chooses the preview, and is given to the saved file. */
  @property() type = '';

  /**
   * The key of a private share (the `k` of its link, `#k=…`): the file is decrypted with it,
   * and its name and type come from its encrypted header once it is downloaded. Without it,
   * a private share fails with `KEY_REQUIRED`.
   */
  @property() key = '';

  /** Level of the heading that holds the file name, 1 to 6 (a share page uses 1). */
  @property({ type: Number, attribute: 'heading-level' }) headingLevel = 2;

  @state() private _preview: Preview | undefined;
  /** The name a private share's encrypted header carries, once downloaded. */
  @state() private _sharedName = '';
  /** Bytes downloaded, once done. */
  @state() private _size: number | undefined;
  /** True once downloaded, while this page serves the file to others. */
  @state() private _seeding = false;
  @state() private _downloaders = 0;
  @state() private _bytesUp = 0;
  /** The last download was saved (Download), not only previewed. */
  @state() private _saved = false;

  /** What the download under way is for. */
  #intent: 'save' | 'preview' = 'save';
  #blob: Blob | undefined;
  #stopSeedingEvents: (() => void) | undefined;

  readonly #fetch = new FetchController<Loaded>(this, {
    hash: () => this.hash,
    engine: () => this.engine,
    task: async (run) => {
      this._error = undefined;
      this.setState('loading');
      // A Blob, not an ArrayBuffer: the engine keeps a large file on disk and hands out a File backed by it.
      const options = this.key ? { ...run.fetchOptions, key: this.key } : run.fetchOptions;
      const blob = await run.engine.fetchBlob(run.hash, this.type, options);
      if (run.stale) return { blob, kind: 'none', type: '' };
      // A private share's File is named and typed by its encrypted header.
      if (this.key && blob instanceof File) this._sharedName = blob.name;
      const head = new Uint8Array(await blob.slice(0, 4096).arrayBuffer());
      const { kind, type } = previewFor(this.type || blob.type, this.filename || this._sharedName, head);
      const preview = await buildPreview(kind, blob);
      return { blob: type === blob.type ? blob : blob.slice(0, blob.size, type), kind, type, preview };
    },
    onComplete: (loaded, run) => this.#loaded(loaded, run),
    onError: (err, { hash }) => {
      if (isAbort(err)) this.setState('idle');
      else this.failFetch(hash, err);
    },
  });

  /** The size from the first peer's manifest, before anything is downloaded. */
  readonly #info = new InfoController(this, {
    hash: () => validHash(this.hash),
    engine: () => this.engine,
    wanted: () => this.state === 'idle' && (this.seeders ?? 0) > 0,
  });

  // A locked phone freezes the tab: keep the screen on while bytes move either way.
  readonly #wakeLock = new WakeLockController(this, () => this.state === 'loading' || this._downloaders > 0);

  /** The file's size: from the first peer before the download, exact after it; undefined until known. */
  get size(): number | undefined {
    return this._size ?? this.#info.info?.size;
  }

  /** True while this page keeps the screen on (downloading, or serving the file to someone). */
  get keepsScreenOn(): boolean {
    return this.#wakeLock.held;
  }

  /** The name the file is saved under. */
  get downloadName(): string {
    return this.filename || this._sharedName || (this.key ? 'Private file' : (validHash(this.hash) ?? 'file').slice(0, 16));
  }

  /** Peers downloading the file from this page right now, once it holds the file. */
  get downloaders(): number {
    return this._downloaders;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('beforeunload', this.#onBeforeUnload);
    if (this.state === 'ready' && this._seeding) this.#followSeeding(this.engine);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('beforeunload', this.#onBeforeUnload);
    this.#unfollowSeeding();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    super.willUpdate(changed);
    if (changed.has('hash') || changed.has('key')) this.#reset();
  }

  protected override watchedHash(): string | undefined {
    return validHash(this.hash);
  }

  protected override canDie(): boolean {
    return this.state === 'idle' || this.state === 'error';
  }

  protected override revive(): void {
    this.setState('idle');
  }

  /** Downloads the file, verifies it and saves it. Call it from a user gesture: saving needs one. */
  download(): Promise<void> {
    if (this.#blob) {
      this.#save(this.#blob);
      return Promise.resolve();
    }
    return this.#start('save');
  }

  /** Downloads the file and shows it, without saving it. */
  preview(): Promise<void> {
    return this.#start('preview');
  }

  /** Stops the download under way; the element goes back to idle. */
  cancel(): void {
    this.#fetch.abort();
    if (this.state === 'loading') this.setState('idle');
  }

  #start(intent: 'save' | 'preview'): Promise<void> {
    if (this.state === 'loading' || this.state === 'ready' || !validHash(this.hash)) return Promise.resolve();
    this.#intent = intent;
    return this.#fetch.run();
  }

  #reset(): void {
    this.#fetch.abort();
    this.#unfollowSeeding();
    this.#revokePreview();
    this.#blob = undefined;
    this._sharedName = '';
    this._size = undefined;
    this._seeding = false;
    this._saved = false;
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

  #loaded({ blob, type, preview }: Loaded, { hash, engine }: FetchRun): void {
    this.#blob = blob;
    this._size = blob.size;
    this._preview = preview;
    this._seeding = holds(engine, hash);
    if (this._seeding) this.#followSeeding(engine);
    if (this.#intent === 'save') this.#save(blob);
    this.setState('ready');
    this.emit(new EcdnLoadEvent({ hash, size: blob.size, name: this.downloadName, ...(type ? { type } : {}) }));
  }

  #save(blob: Blob): void {
    saveBlob(this.renderRoot as ShadowRoot, blob, this.downloadName);
    this._saved = true;
  }

  /** Follows the serving figures of the file, once this page holds it. */
  #followSeeding(engine: EcdnEngine): void {
    if (this.#stopSeedingEvents) return;
    const hash = validHash(this.hash);
    this.#stopSeedingEvents = engine.on('seeding', (figures) => {
      if (figures.hash !== validHash(this.hash)) return;
      this._downloaders = figures.downloaders;
      this._bytesUp = figures.bytesUp;
    });
    try {
      const now = engine.stats().seeding.find((entry) => entry.hash === hash);
      this._downloaders = now?.downloaders ?? 0;
      this._bytesUp = now?.bytesUp ?? 0;
    } catch {
      // A destroyed engine: nothing is served any more.
    }
  }

  #unfollowSeeding(): void {
    this.#stopSeedingEvents?.();
    this.#stopSeedingEvents = undefined;
    this._downloaders = 0;
    this._bytesUp = 0;
  }

  #revokePreview(): void {
    if (this._preview?.url) URL.revokeObjectURL(this._preview.url);
    this._preview = undefined;
  }

  readonly #onBeforeUnload = (event: BeforeUnloadEvent) => {
    if (this.state !== 'ready' || !this._seeding || (this.seeders ?? 1) > 1) return;
    // This page holds the last copy: closing it kills the file for everyone else with the link.
    event.preventDefault();
    event.returnValue = '';
  };

  /** The browser could not show the file after all (a damaged image, a codec it lacks): offer the download only. */
  #onPreviewError(): void {
    this.#revokePreview();
  }

  protected override render() {
    const state = this.state;
    return html`
      <article part="base" class=${classMap({ base: true, [`base--${state}`]: true })} aria-busy=${state === 'loading'}>
        <header class="head">
          <span part="file-icon" class="file-icon">${state === 'dead' ? icons.dead : icons.file}</span>
          <div class="head__text">
            <div part="name" class="name" role="heading" aria-level=${this.#level()}>${this.downloadName}</div>
            <p part="meta" class="meta">${this.#meta()}</p>
          </div>
        </header>
        ${state === 'loading' ? this.#renderProgress() : nothing}
        ${state === 'ready' && this._preview ? this.#renderPreview(this._preview) : nothing}
        ${state === 'dead' ? this.#renderDead() : nothing}
        ${state === 'error' ? this.#renderError() : nothing}
        ${this.#renderActions()}
        ${state === 'ready' ? this.#renderNotice() : nothing}
        <span class="visually-hidden" role="status" aria-live="polite">${this.#announcement()}</span>
      </article>
    `;
  }

  #level(): string {
    return String(Math.min(6, Math.max(1, Math.round(this.headingLevel) || 2)));
  }

  #meta() {
    const seeders = this.seeders;
    const size = this.size;
    const parts: unknown[] = [];
    if (size !== undefined) parts.push(html`<span class="nowrap" part="size">${formatBytes(size)}</span>`);
    else if (this.state === 'idle' && seeders === undefined) parts.push('Looking for the file…');
    const kind = describeType(this.type, this.filename);
    if (kind) parts.push(html`<span class="nowrap">${kind}</span>`);
    if (seeders !== undefined) {
      parts.push(
        html`<span class="nowrap"><span class=${classMap({ dot: true, 'dot--none': seeders === 0 })}></span>${plural(seeders, 'seeder')}</span>`,
      );
    }
    return parts.map((p, i) => html`${i ? html`<span aria-hidden="true"> · </span>` : nothing}${p}`);
  }

  #renderProgress() {
    const p = this.#fetch.progress;
    const known = p !== undefined && p.total > 0;
    const pct = known ? percent(p.received, p.total) : undefined;
    const text = known
      ? [
          `${pct}% of ${formatBytes(p.total)}`,
          p.bytesPerSecond > 0 ? formatSpeed(p.bytesPerSecond) : '',
          p.peers > 0 ? `from ${plural(p.peers, 'peer')}` : '',
          formatEta(p.total - p.received, p.bytesPerSecond),
        ].filter(Boolean)
      : ['Connecting to the peers that hold it…'];
    return html`<div class="progress-block">
      ${progressBar(`Downloading ${this.downloadName}`, pct)}
      <p part="progress-text" class="muted">${text.map((t, i) => html`${i ? ' · ' : ''}<span class="nowrap">${t}</span>`)}</p>
    </div>`;
  }

  #renderPreview(preview: Preview) {
    const label = `Preview of ${this.downloadName}`;
    switch (preview.kind) {
      case 'image':
        return html`<figure part="preview" class="preview preview--media">
          <img src=${preview.url!} alt=${label} @error=${this.#onPreviewError} />
        </figure>`;
      case 'video':
        return html`<figure part="preview" class="preview preview--media">
          <video src=${preview.url!} controls preload="metadata" aria-label=${label} @error=${this.#onPreviewError}></video>
        </figure>`;
      case 'audio':
        return html`<figure part="preview" class="preview preview--audio">
          <audio src=${preview.url!} controls preload="metadata" aria-label=${label} @error=${this.#onPreviewError}></audio>
        </figure>`;
      case 'pdf':
        return html`<figure part="preview" class="preview preview--pdf"><iframe src=${preview.url!} title=${label}></iframe></figure>`;
      case 'csv': {
        const [header = [], ...body] = preview.rows ?? [];
        return html`<figure part="preview" class="preview">
          <div class="scroll" tabindex="0" role="region" aria-label=${label}>
            <table>
              <thead><tr>${header.map((cell) => html`<th scope="col">${cell}</th>`)}</tr></thead>
              <tbody>${body.map((row) => html`<tr>${row.map((cell) => html`<td>${cell}</td>`)}</tr>`)}</tbody>
            </table>
          </div>
          ${preview.cut ? html`<figcaption class="muted">The first ${plural(body.length, 'row')}; download the file for the rest.</figcaption>` : nothing}
        </figure>`;
      }
      case 'text':
        return html`<figure part="preview" class="preview">
          <pre class="scroll" tabindex="0" role="region" aria-label=${label}>${preview.text}</pre>
          ${preview.cut ? html`<figcaption class="muted">The start of the file; download it for the rest.</figcaption>` : nothing}
        </figure>`;
      default:
        return nothing;
    }
  }

  #renderDead() {
    return html`<div part="dead" class="panel panel--danger" role="alert">
      <p class="panel__title">File is dead: nobody is sharing it any more</p>
      <p>A file lives only while a browser tab that holds it stays open, and the last one has closed. Ask whoever sent you this link to share the file again.</p>
    </div>`;
  }

  #renderError() {
    return html`<div part="error" class="panel panel--danger" role="alert">
      <p class="panel__title">${icons.error} The download failed</p>
      <p>${errorMessage(this._error)}</p>
    </div>`;
  }

  #renderActions() {
    const state = this.state;
    const size = this.size;
    const buttons: unknown[] = [];
    if (state === 'idle' || (state === 'error' && this._error?.code !== 'INVALID_HASH')) {
      buttons.push(html`<button part="download-button" class="button button--primary" type="button" ?disabled=${!this.hash} @click=${() => this.download()}>
        ${icons.download}${state === 'error' ? 'Try again' : 'Download'}${size !== undefined && state === 'idle' ? html`<span class="button__meta"> ${formatBytes(size)}</span>` : nothing}
      </button>`);
      if (state === 'idle' && expectedPreview(this.type, this.filename) !== 'none') {
        buttons.push(html`<button part="preview-button" class="button" type="button" ?disabled=${!this.hash} @click=${() => this.preview()}>
          ${icons.eye}Preview
        </button>`);
      }
    } else if (state === 'loading') {
      buttons.push(html`<button part="cancel-button" class="button" type="button" @click=${() => this.cancel()}>Cancel</button>`);
    } else if (state === 'ready') {
      buttons.push(html`<button part="download-button" class="button button--primary" type="button" @click=${() => this.download()}>
        ${icons.download}${this._saved ? 'Save again' : 'Save'}<span class="button__meta"> ${formatBytes(this._size ?? 0)}</span>
      </button>`);
    }
    return buttons.length ? html`<div part="actions" class="actions">${buttons}</div>` : nothing;
  }

  #renderNotice() {
    if (!this._seeding) {
      return html`<p part="notice" class="notice">
        Downloaded and verified. This tab does not share the file on: reseeding is off on this connection.
      </p>`;
    }
    const seeders = this.seeders;
    const last = seeders !== undefined && seeders <= 1;
    const serving =
      this._downloaders > 0
        ? ` Sending it to ${plural(this._downloaders, 'person', 'people')} now (${formatBytes(this._bytesUp)} so far).`
        : this._bytesUp > 0
          ? ` ${formatBytes(this._bytesUp)} sent so far.`
          : '';
    return html`<p part="notice" class=${classMap({ notice: true, 'notice--last': last })}>
      ${
        last
          ? 'Downloaded and verified. This tab now holds the only copy: others with the link can get it only while it stays open.'
          : 'Downloaded and verified. This tab now shares the file too, for as long as it stays open.'
      }${serving}
    </p>`;
  }

  #announcement(): string {
    return downloadAnnouncement(this.state, this.downloadName, this._saved, this._error);
  }
}

/** What the preview shows: an object URL for media, the first rows or the start of the text otherwise. */
interface Preview {
  kind: PreviewKind;
  url?: string;
  rows?: string[][];
  text?: string;
  /** More of the file follows what the preview shows. */
  cut?: boolean;
}

/** A downloaded file, and how to show it. */
interface Loaded {
  blob: Blob;
  kind: PreviewKind;
  type: string;
  preview?: Preview | undefined;
}

async function buildPreview(kind: PreviewKind, blob: Blob): Promise<Preview | undefined> {
  switch (kind) {
    case 'image':
    case 'video':
    case 'audio':
    case 'pdf':
      return { kind, url: URL.createObjectURL(blob) };
    case 'csv': {
      const { text, cut } = await textStart(blob);
      // The header, the rows shown, and one more to know whether more follow.
      const rows = parseCsv(text, CSV_PREVIEW_ROWS + 2, !cut);
      return { kind, rows: rows.slice(0, CSV_PREVIEW_ROWS + 1), cut: cut || rows.length > CSV_PREVIEW_ROWS + 1 };
    }
    case 'text':
      return { kind, ...(await textStart(blob)) };
    default:
      return undefined;
  }
}

/** The start of a file as text: only that part is read, so a large log costs no more than a small one. */
async function textStart(blob: Blob): Promise<{ text: string; cut: boolean }> {
  return textHead(new Uint8Array(await blob.slice(0, TEXT_PREVIEW_BYTES + 1).arrayBuffer()));
}

/** Whether `engine` serves `hash` now (it reseeds what it fetched unless reseeding is off). */
function holds(engine: EcdnEngine, hash: string): boolean {
  try {
    return engine.stats().seeding.some((entry) => entry.hash === hash);
  } catch {
    return false;
  }
}

if (!customElements.get('ecdn-file')) customElements.define('ecdn-file', EcdnFile);

declare global {
  interface HTMLElementTagNameMap {
    'ecdn-file': EcdnFile;
  }
}
