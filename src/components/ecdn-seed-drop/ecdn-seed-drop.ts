import { html, nothing } from 'lit';
import { property, query, state } from 'lit/decorators.js';
import { classMap } from 'lit/directives/class-map.js';
import { repeat } from 'lit/directives/repeat.js';
import { EcdnErrorEvent } from '../../events/ecdn-error.js';
import { EcdnLoadEvent } from '../../events/ecdn-load.js';
import { EcdnProgressEvent } from '../../events/ecdn-progress.js';
import { EcdnUnseedEvent } from '../../events/ecdn-unseed.js';
import type { EcdnEngine } from '../../internal/context.js';
import { EcdnElement } from '../../internal/ecdn-element.js';
import { errorMessage } from '../../internal/errors.js';
import { formatBytes, formatEta, percent, plural } from '../../internal/format.js';
import { icons } from '../../internal/icons.js';
import { progressBar, progressStyles } from '../../internal/progress.js';
import { shareLink } from '../../internal/share-link.js';
import { themeStyles } from '../../internal/theme.styles.js';
import { WakeLockController } from '../../internal/wake-lock.js';
import { seedDropStyles } from './ecdn-seed-drop.styles.js';
import { qrCode } from './qr-code.js';
import { SeededFile } from './seeded-file.js';
import { copyText, snippets } from './snippets.js';

/** What `<ecdn-seed-drop>` reports of each file it shares. */
export interface SharedFile {
  name: string;
  size: number;
  type: string;
  /** `loading` while hashed and announced, `ready` while seeded, `error` if that failed. */
  state: 'loading' | 'ready' | 'error';
  /** SHA-256 as 64 hex, once hashed. */
  hash: string | undefined;
  /** The share link, once seeded: `/f/<hash>#k=<key>` for a private share. */
  link: string | undefined;
  /** True for a private share (seeded with the switch on). */
  private: boolean;
  /** Peers holding the whole file, live from the tracker; undefined until it answers. */
  seeders: number | undefined;
  /** Peers downloading it from this page now. */
  downloaders: number;
}

/**
 * @summary A drop zone that shares files from this page: hashes and seeds each one, and shows its share link with a QR code, its hash, snippets and live counts.
 *
 * @description Drop files on it, pick them (click, Enter or Space), or paste an image anywhere on the page.
 * Nothing leaves the page before that. Each file is hashed with visible progress and seeded, then listed
 * with its share link first (`/f/<hash>#name=…&type=…` on the server the page talks to, with a copy button
 * and a QR code for phones), then its hash and ready-to-paste snippets, how many peers are downloading from
 * this page and how many seeders it has, and a button to stop sharing it. While the page seeds, it keeps the
 * screen on where the browser allows it; while it holds a file's last copy, leaving asks for confirmation.
 * Its states are `idle` (nothing shared), `loading` (a file is being hashed or announced), `ready` (seeding)
 * and `error` (the last file failed and none is seeded).
 *
 * @fires {EcdnProgressEvent} ecdn-progress - Hashing advanced (`phase: 'hash'`): `detail` has `received` and `total` bytes.
 * @fires {EcdnLoadEvent} ecdn-load - A file is seeded: `detail` has `hash`, `size`, `type`, `name`.
 * @fires {EcdnUnseedEvent} ecdn-unseed - Seeding a file stopped (its stop button, or `stop()`).
 * @fires {EcdnErrorEvent} ecdn-error - Hashing or announcing a file failed (`TRACKER_UNREACHABLE`…).
 *
 * @slot - The drop zone's text, replacing "Drop files here or choose them".
 * @slot hint - The drop zone's second line.
 *
 * @csspart base - The wrapper around everything.
 * @csspart dropzone - The drop zone (a button: click, Enter or Space opens the file picker).
 * @csspart input - The hidden file input.
 * @csspart files - The list of files shared.
 * @csspart panel - Each file's card, while hashing and while seeding.
 * @csspart progress - The hashing progress track.
 * @csspart progress-bar - The filled part of the progress track.
 * @csspart link - The share link.
 * @csspart qr - The share link's QR code.
 * @csspart details - The disclosure with the hash and the snippets.
 * @csspart hash - The file's hash.
 * @csspart copy-button - Each copy button (the link's, the hash's and the snippets').
 * @csspart snippet - Each ready-to-paste snippet with its copy button.
 * @csspart counts - The live counts: seeders, downloading from you, bytes served.
 * @csspart stop-button - Each file's stop-sharing button.
 * @csspart error - The error message of a file that could not be shared.
 * @csspart private-switch - The "private link" switch and its label, above the drop zone.
 * @csspart reach-warning - Shown while seeding from a network that others can reach only through a relay, when the server has none.
 *
 * @cssprop [--ecdn-seed-drop-max-width=40rem] - Widest the element grows.
 * @cssprop [--ecdn-seed-drop-min-height=10rem] - Least height of the drop zone while nothing is shared.
 * @cssprop --ecdn-font - Font family.
 * @cssprop --ecdn-font-mono - Font family of the link, the hash and the snippets.
 * @cssprop --ecdn-radius - Corner radius.
 * @cssprop --ecdn-color-text - Text colour.
 * @cssprop --ecdn-color-muted - Secondary text colour.
 * @cssprop --ecdn-color-surface - Background colour.
 * @cssprop --ecdn-color-surface-alt - Background of the link, the hash and the snippets.
 * @cssprop --ecdn-color-border - Border colour.
 * @cssprop --ecdn-color-accent - Drop zone highlight, copy-link button and progress colour.
 * @cssprop --ecdn-color-on-accent - Text on the copy-link button.
 * @cssprop --ecdn-color-success - The "seeders online" dot.
 * @cssprop --ecdn-color-danger - Error, stop button and last-seeder warning colour.
 * @cssprop --ecdn-color-track - Empty progress track.
 * @cssprop --ecdn-focus-ring - Box shadow of focused controls.
 */
export class EcdnSeedDrop extends EcdnElement {
  static override styles = [themeStyles, progressStyles, seedDropStyles];

  /** File types the picker offers, as on `<input type="file" accept>`. */
  @property() accept = '';

  /**
   * The "private" switch (attribute `private`): files dropped while it is on are encrypted
   * in this page and shared as private shares, whose link (`/f/<hash>#k=<key>`) carries the
   * key and nothing else; peers and servers see ciphertext only. The switch is shown above
   * the drop zone, and the user can turn it on and off.
   */
  @property({ type: Boolean, reflect: true, attribute: 'private' }) encrypt = false;

  @state() private _files: SeededFile[] = [];
  @state() private _dragging = false;
  @state() private _copied: string | undefined;
  /** Why others may not reach this page, when they may not (from the engine's diagnosis). */
  @state() private _unreachable: string | undefined;

  @query('input[type=file]') private _input!: HTMLInputElement;

  #copiedTimer: ReturnType<typeof setTimeout> | undefined;
  #reachChecked = false;
  /** Files whose `ecdn-load` or `ecdn-error` has fired. */
  readonly #reported = new WeakSet<SeededFile>();

  // A phone that locks its screen freezes the tab, and every file it seeds dies with it.
  readonly #wakeLock = new WakeLockController(this, () => this._files.some((f) => f.phase !== 'error'));

  readonly #fileHost = {
    changed: (file: SeededFile) => this.#changed(file),
    hashed: (_file: SeededFile, hashed: number, total: number) =>
      this.emit(new EcdnProgressEvent({ hash: '', phase: 'hash', received: hashed, total, peers: 0, bytesPerSecond: 0 })),
  };

  /** SHA-256 of the file shared last, once hashed; undefined before. */
  get hash(): string | undefined {
    return this.#latest()?.hash;
  }

  /** Name, size and type of the file dropped or picked last. */
  get file(): { name: string; size: number; type: string } | undefined {
    const latest = this.#latest();
    return latest && { name: latest.name, size: latest.size, type: latest.type };
  }

  /** Every file this element shares, hashes or failed to share, in the order they came. */
  get files(): SharedFile[] {
    return this._files.map((f) => ({
      name: f.name,
      size: f.size,
      type: f.type,
      state: f.phase === 'seeding' ? 'ready' : f.phase === 'error' ? 'error' : 'loading',
      hash: f.hash,
      link: this.#link(f),
      private: f.encrypt,
      seeders: f.seeders,
      downloaders: f.downloaders,
    }));
  }

  /** Live seeder count of the file shared last; undefined until the tracker answers. */
  override get seeders(): number | undefined {
    return this.#latest()?.seeders;
  }

  /** Peers downloading the file shared last from this page right now, live from the engine. */
  get downloaders(): number {
    return this.#latest()?.downloaders ?? 0;
  }

  /** True while this page keeps the screen on (it seeds or hashes a file). */
  get keepsScreenOn(): boolean {
    return this.#wakeLock.held;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    for (const file of this._files) file.resume();
    window.addEventListener('beforeunload', this.#onBeforeUnload);
    document.addEventListener('paste', this.#onPaste);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // The engine keeps seeding the files of an element that left the page; only
    // the element's own bookkeeping stops. A hash in progress is abandoned.
    for (const file of this._files) {
      if (file.phase === 'hashing') this.#remove(file);
      else file.pause();
    }
    window.removeEventListener('beforeunload', this.#onBeforeUnload);
    document.removeEventListener('paste', this.#onPaste);
  }

  /** Opens the file picker. */
  pick(): void {
    this._input?.click();
  }

  /** Hashes and seeds a file, as dropping it does; resolves once it is seeded, or failed. */
  seedFile(file: File): Promise<void> {
    return this.seedFiles([file]);
  }

  /** Hashes and seeds several files, each listed with its own link and stop button. */
  async seedFiles(files: readonly File[]): Promise<void> {
    const engine = this.engine;
    const added = files.map((file) => new SeededFile(file, engine, this.#fileHost, this.encrypt));
    this._files = [...this._files, ...added];
    this.#syncState();
    await Promise.all(added.map((file) => file.start()));
  }

  /**
   * Stops sharing: the file with this hash, or every file (and any hashing under
   * way) when no hash is given. The tracker is told at once.
   */
  stop(hash?: string): void {
    for (const file of [...this._files]) if (hash === undefined || file.hash === hash) this.#stopFile(file);
  }

  #stopFile(file: SeededFile): void {
    const seeded = file.phase === 'seeding' ? file.hash : undefined;
    this.#remove(file);
    if (seeded) this.emit(new EcdnUnseedEvent({ hash: seeded }));
  }

  #remove(file: SeededFile): void {
    file.stop();
    this._files = this._files.filter((f) => f !== file);
    this.#syncState();
  }

  #latest(): SeededFile | undefined {
    return this._files.at(-1);
  }

  #changed(file: SeededFile): void {
    if (!this._files.includes(file)) return;
    this.requestUpdate();
    this.#syncState();
    if (this.#reported.has(file)) return;
    if (file.phase === 'seeding' && file.hash) {
      this.#reported.add(file);
      void this.#checkReachable(file.engine);
      this.emit(new EcdnLoadEvent({ hash: file.hash, size: file.size, type: file.type, name: file.name }));
    } else if (file.phase === 'error' && file.error) {
      this.#reported.add(file);
      this._error = file.error;
      this.emit(new EcdnErrorEvent(file.error));
    }
  }

  /** The element's state from its files': loading while any is hashed, ready while any is seeded. */
  #syncState(): void {
    const phases = this._files.map((f) => f.phase);
    if (phases.some((p) => p === 'hashing' || p === 'announcing')) this.setState('loading');
    else if (phases.includes('seeding')) this.setState('ready');
    else if (phases.includes('error')) this.setState('error');
    else this.setState('idle');
  }

  /**
   * Warns when peers elsewhere could reach this page only through a relay and
   * the server has none: they would wait and fail, and the publisher should know.
   */
  async #checkReachable(engine: EcdnEngine): Promise<void> {
    if (this.#reachChecked) return;
    this.#reachChecked = true;
    const d = await engine.diagnose().catch(() => undefined);
    if (!d) return;
    const needsRelay = d.nat === 'symmetric' || (d.stun === 'failed' && d.candidates.srflx === 0);
    this._unreachable = needsRelay && d.turn !== 'ok' ? d.verdict : undefined;
  }

  /** The share link of a seeded file, on the server its engine talks to (else this page's origin). */
  #link(file: SeededFile): string | undefined {
    if (!file.hash) return undefined;
    const configured = file.engine.config?.server;
    const server = (Array.isArray(configured) ? configured[0] : configured) ?? location.origin;
    return shareLink(server, file.hash, file.key ? { key: file.key } : { name: file.name, type: file.type });
  }

  readonly #onBeforeUnload = (event: BeforeUnloadEvent) => {
    const last = this._files.some((f) => f.phase === 'seeding' && (f.seeders ?? 1) <= 1);
    if (!last) return;
    // This page holds the only copy of a file: closing it kills the file.
    event.preventDefault();
    event.returnValue = '';
  };

  /** An image (or any file) pasted anywhere on the page but a text field is shared, as a drop would be. */
  readonly #onPaste = (event: ClipboardEvent) => {
    if (event.defaultPrevented) return;
    const files = [...(event.clipboardData?.files ?? [])];
    if (files.length === 0 || isEditable(event.composedPath()[0])) return;
    event.preventDefault();
    void this.seedFiles(files.map(namePasted));
  };

  #onInputChange(event: Event): void {
    const input = event.target as HTMLInputElement;
    const files = [...(input.files ?? [])];
    if (files.length) void this.seedFiles(files);
    input.value = '';
  }

  #onKeyDown(event: KeyboardEvent): void {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      this.pick();
    }
  }

  #onDragOver(event: DragEvent): void {
    if (!event.dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    this._dragging = true;
  }

  #onDragLeave(event: DragEvent): void {
    if (event.relatedTarget && this.renderRoot.contains(event.relatedTarget as Node)) return;
    this._dragging = false;
  }

  #onDrop(event: DragEvent): void {
    event.preventDefault();
    this._dragging = false;
    const files = [...(event.dataTransfer?.files ?? [])];
    if (files.length) void this.seedFiles(files);
  }

  async #copy(text: string, what: string): Promise<void> {
    const ok = await copyText(this.renderRoot as ShadowRoot, text);
    this._copied = ok ? what : undefined;
    clearTimeout(this.#copiedTimer);
    this.#copiedTimer = setTimeout(() => (this._copied = undefined), 2_000);
  }

  protected override render() {
    const files = this._files;
    return html`
      <div part="base" class=${classMap({ base: true, dragging: this._dragging, 'base--sharing': files.length > 0 })}>
        ${
          this._unreachable && files.some((f) => f.phase === 'seeding')
            ? html`<p part="reach-warning" class="notice notice--last" role="status">
              ${this._unreachable} People on other networks may not be able to download these files.
            </p>`
            : nothing
        }
        ${
          files.length
            ? html`<ul part="files" class="files" aria-label="Files you share">
              ${repeat(
                files,
                (f) => f.id,
                (f) => this.#renderFile(f),
              )}
            </ul>`
            : nothing
        }
        ${this.#renderPrivateSwitch()}
        ${this.#renderDropzone(files.length > 0)}
        <input
          part="input"
          class="visually-hidden"
          type="file"
          multiple
          tabindex="-1"
          aria-hidden="true"
          accept=${this.accept || nothing}
          @change=${this.#onInputChange}
        />
        <span class="visually-hidden" role="status" aria-live="polite">${this.#announcement()}</span>
      </div>
    `;
  }

  #renderPrivateSwitch() {
    return html`<label part="private-switch" class="private-switch">
      <input
        type="checkbox"
        role="switch"
        .checked=${this.encrypt}
        @change=${(event: Event) => (this.encrypt = (event.target as HTMLInputElement).checked)}
      />
      <span
        ><strong>Private link</strong>
        <span class="muted">Encrypt in this tab; only people with the link can open the file, its name or its type.</span></span
      >
    </label>`;
  }

  #renderDropzone(more: boolean) {
    return html`<div
      part="dropzone"
      class=${classMap({ dropzone: true, 'dropzone--compact': more })}
      role="button"
      tabindex="0"
      aria-describedby="hint"
      @click=${this.pick}
      @keydown=${this.#onKeyDown}
      @dragenter=${this.#onDragOver}
      @dragover=${this.#onDragOver}
      @dragleave=${this.#onDragLeave}
      @drop=${this.#onDrop}
    >
      ${icons.upload}
      <p class="title">
        <slot>${more ? html`Add more files: drop, paste or <span class="link">choose</span>` : html`Drop files here or <span class="link">choose them</span>`}</slot>
      </p>
      <p class="hint" id="hint">
        <slot name="hint">${more ? 'Each one gets its own link.' : 'Or paste an image. Files stay in this tab: people fetch them from your browser while it is open.'}</slot>
      </p>
    </div>`;
  }

  #renderFile(file: SeededFile) {
    switch (file.phase) {
      case 'hashing':
      case 'announcing':
        return this.#renderHashing(file);
      case 'error':
        return html`<li part="panel" class="panel panel--error">
          <p part="error" role="alert">${icons.error} Could not share ${file.name}: ${errorMessage(file.error)}</p>
          <div class="row">
            <button class="button" type="button" @click=${() => this.#remove(file)}>
              Dismiss<span class="visually-hidden"> the error about ${file.name}</span>
            </button>
          </div>
        </li>`;
      default:
        return this.#renderSeeding(file);
    }
  }

  #renderHashing(file: SeededFile) {
    const pct = percent(file.hashed, file.size);
    return html`<li part="panel" class="panel" aria-busy="true">
      <div class="row spread">
        <span class="file-name">${file.name}</span>
        <span class="muted">${formatBytes(file.size)}</span>
      </div>
      ${progressBar(`Hashing ${file.name}`, pct)}
      <div class="row spread">
        <span class="muted"
          >${file.phase === 'announcing' ? 'Announcing to the tracker…' : [`Hashing… ${pct}%`, formatEta(file.size - file.hashed, file.hashRate)].filter(Boolean).join(' · ')}</span
        >
        <button class="button" type="button" @click=${() => this.#stopFile(file)}>
          Cancel<span class="visually-hidden"> sharing ${file.name}</span>
        </button>
      </div>
    </li>`;
  }

  #renderSeeding(file: SeededFile) {
    const hash = file.hash!;
    const link = this.#link(file)!;
    const seeders = file.seeders;
    const last = seeders !== undefined && seeders <= 1;
    const id = file.id;
    return html`<li part="panel" class="panel">
      <div class="row spread">
        <span class="row name-row">
          <span class=${classMap({ dot: true, 'dot--none': seeders === 0 })}></span>
          <span class="file-name">${file.name}</span>
        </span>
        <span class="muted">${formatBytes(file.size)}${file.type ? ` · ${file.type}` : ''}${file.key ? ' · private' : ''}</span>
      </div>

      <div class="share">
        <div class="share__main">
          <p class="label" id="link-label-${id}">Share link</p>
          <a part="link" class="link-box" href=${link} target="_blank" rel="noopener" aria-labelledby="link-label-${id} link-${id}" id="link-${id}"
            >${link}</a
          >
          <div class="row">
            ${this.#copyButton(link, `${id}:link`, 'Copy link', ` of ${file.name}`, true)}
          </div>
          <ul part="counts" aria-label="Live counts for ${file.name}">
            <li><strong>${seeders ?? '–'}</strong> ${seeders === 1 ? 'seeder' : 'seeders'}</li>
            <li><strong>${file.downloaders}</strong> downloading from you</li>
            <li><strong>${formatBytes(file.bytesUp)}</strong> <span class="muted">served by this page</span></li>
          </ul>
        </div>
        <div part="qr" class="qr-box">
          ${qrCode(link, `QR code of the share link of ${file.name}`)}
          <span class="muted qr-hint">Scan to open on a phone</span>
        </div>
      </div>

      <p class=${classMap({ notice: true, 'notice--last': last })}>
        ${
          last
            ? 'This tab holds the only copy. Close it and the file is gone.'
            : `Keep this tab open: the file lives only while ${seeders === undefined ? 'a' : 'at least one'} tab holding it is open.`
        }
      </p>

      <details part="details">
        <summary>Hash and snippets for web pages</summary>
        <div class="details__body">
          <div class="field">
            <div class="row spread">
              <p class="label" id="hash-label-${id}">Hash (SHA-256)</p>
              ${this.#copyButton(hash, `${id}:Hash`, 'Copy', ` the hash of ${file.name}`)}
            </div>
            <code part="hash" aria-labelledby="hash-label-${id}">${hash}</code>
          </div>
          ${snippets(hash, file).map(
            (snippet) => html`<div part="snippet" class="field">
              <div class="row spread">
                <p class="label">${snippet.label}</p>
                ${this.#copyButton(snippet.code, `${id}:${snippet.label}`, 'Copy', ` the ${snippet.label.toLowerCase()} snippet`)}
              </div>
              <pre><code>${snippet.code}</code></pre>
            </div>`,
          )}
        </div>
      </details>

      <div class="row">
        <button part="stop-button" class="button" type="button" @click=${() => this.#stopFile(file)}>
          ${icons.close}Stop sharing<span class="visually-hidden"> ${file.name}</span>
        </button>
      </div>
    </li>`;
  }

  /** A copy button whose accessible name is its visible text followed by `rest` (which file, what). */
  #copyButton(text: string, what: string, visible: string, rest: string, primary = false) {
    const copied = this._copied === what;
    return html`<button
      part="copy-button"
      class=${classMap({ button: true, 'button--primary': primary })}
      type="button"
      @click=${() => this.#copy(text, what)}
    >
      ${copied ? icons.check : primary ? icons.link : icons.copy}${copied ? 'Copied' : visible}<span class="visually-hidden">${rest}</span>
    </button>`;
  }

  #announcement(): string {
    if (this._copied) return `${this._copied.endsWith(':link') ? 'Link' : this._copied.slice(this._copied.indexOf(':') + 1)} copied.`;
    const hashing = this._files.filter((f) => f.phase === 'hashing' || f.phase === 'announcing');
    const seeding = this._files.filter((f) => f.phase === 'seeding');
    if (hashing.length) return `Hashing ${hashing.map((f) => f.name).join(', ')}.`;
    if (seeding.length === 1) {
      const seeders = seeding[0]!.seeders;
      return `Seeding ${seeding[0]!.name}. ${seeders !== undefined ? plural(seeders, 'seeder') : ''}`;
    }
    if (seeding.length) return `Seeding ${plural(seeding.length, 'file')}.`;
    if (this.state === 'error') return `Could not share ${this._files.at(-1)?.name ?? 'the file'}.`;
    return '';
  }
}

/** True for a target where a paste belongs to the text being edited. */
function isEditable(target: EventTarget | undefined): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target.isContentEditable;
}

/** Browsers call every pasted image `image.png`: give it a name that tells one paste from the next. */
function namePasted(file: File): File {
  if (file.name && !/^image\.\w+$/.test(file.name)) return file;
  const extension = file.type.split('/')[1]?.replace(/\W.*$/, '') || 'bin';
  const stamp = new Date().toISOString().slice(0, 19).replace('T', ' ').replace(/:/g, '.');
  return new File([file], `Pasted image ${stamp}.${extension}`, { type: file.type, lastModified: file.lastModified });
}

if (!customElements.get('ecdn-seed-drop')) customElements.define('ecdn-seed-drop', EcdnSeedDrop);

declare global {
  interface HTMLElementTagNameMap {
    'ecdn-seed-drop': EcdnSeedDrop;
  }
}
