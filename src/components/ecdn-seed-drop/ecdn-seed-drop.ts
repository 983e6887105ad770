import { html, nothing } from 'lit';
import { property, query, state } from 'lit/decorators.js';
import { classMap } from 'lit/directives/class-map.js';
import { EcdnLoadEvent } from '../../events/ecdn-load.js';
import { EcdnProgressEvent } from '../../events/ecdn-progress.js';
import { EcdnUnseedEvent } from '../../events/ecdn-unseed.js';
import type { EcdnEngine } from '../../internal/context.js';
import { EcdnElement } from '../../internal/ecdn-element.js';
import { RunController, type Run } from '../../internal/run-controller.js';
import { errorDetail, errorMessage, isAbort } from '../../internal/errors.js';
import { formatBytes, percent, plural } from '../../internal/format.js';
import { icons } from '../../internal/icons.js';
import { progressBar, progressStyles } from '../../internal/progress.js';
import { themeStyles } from '../../internal/theme.styles.js';
import { seedDropStyles } from './ecdn-seed-drop.styles.js';
import { copyText, snippets } from './snippets.js';

/**
 * @summary A drop zone that publishes a file from this page: hashes it, seeds it, and shows its hash, snippets and live counts.
 *
 * @description Drop a file on it or pick one (click, Enter or Space). Nothing leaves the page before that.
 * It hashes the file with visible progress, seeds it, and shows the hash with a copy button, ready-to-paste
 * snippets, how many peers are downloading from this page and how many seeders the file has, and a button
 * to stop seeding. While this page is the file's last seeder, leaving the page asks for confirmation.
 * Its states are `idle`, `loading` (hashing and announcing), `ready` (seeding) and `error`.
 *
 * @fires {EcdnProgressEvent} ecdn-progress - Hashing advanced (`phase: 'hash'`): `detail` has `received` and `total` bytes.
 * @fires {EcdnLoadEvent} ecdn-load - The file is seeded: `detail` has `hash`, `size`, `type`, `name`.
 * @fires {EcdnUnseedEvent} ecdn-unseed - Seeding stopped (the stop button, or `stop()`).
 * @fires {EcdnErrorEvent} ecdn-error - Hashing or announcing failed (`TRACKER_UNREACHABLE`…).
 *
 * @slot - The drop zone's text, replacing "Drop a file here or choose one".
 * @slot hint - The drop zone's second line.
 *
 * @csspart base - The wrapper around everything.
 * @csspart dropzone - The drop zone (a button: click, Enter or Space opens the file picker).
 * @csspart input - The hidden file input.
 * @csspart panel - The card shown while hashing and while seeding.
 * @csspart progress - The hashing progress track.
 * @csspart progress-bar - The filled part of the progress track.
 * @csspart hash - The file's hash.
 * @csspart copy-button - Each copy button (the hash's and the snippets').
 * @csspart snippet - Each ready-to-paste snippet with its copy button.
 * @csspart counts - The live counts: seeders, downloading from you, bytes served.
 * @csspart stop-button - The stop-seeding button.
 * @csspart error - The error message.
 * @csspart reach-warning - Shown while seeding from a network that others can reach only through a relay, when the server has none.
 *
 * @cssprop [--ecdn-seed-drop-max-width=40rem] - Widest the element grows.
 * @cssprop [--ecdn-seed-drop-min-height=10rem] - Least height of the drop zone.
 * @cssprop --ecdn-font - Font family.
 * @cssprop --ecdn-font-mono - Font family of the hash and snippets.
 * @cssprop --ecdn-radius - Corner radius.
 * @cssprop --ecdn-color-text - Text colour.
 * @cssprop --ecdn-color-muted - Secondary text colour.
 * @cssprop --ecdn-color-surface - Background colour.
 * @cssprop --ecdn-color-surface-alt - Background of the hash and snippets.
 * @cssprop --ecdn-color-border - Border colour.
 * @cssprop --ecdn-color-accent - Drop zone highlight and progress colour.
 * @cssprop --ecdn-color-success - The "seeders online" dot.
 * @cssprop --ecdn-color-danger - Error, stop button and last-seeder warning colour.
 * @cssprop --ecdn-color-track - Empty progress track.
 * @cssprop --ecdn-focus-ring - Box shadow of focused controls.
 */
export class EcdnSeedDrop extends EcdnElement {
  static override styles = [themeStyles, progressStyles, seedDropStyles];

  /** File types the picker offers, as on `<input type="file" accept>`. */
  @property() accept = '';

  @state() private _hash: string | undefined;
  @state() private _file: { name: string; size: number; type: string } | undefined;
  @state() private _hashed = 0;
  @state() private _announcing = false;
  @state() private _dragging = false;
  @state() private _downloaders = 0;
  @state() private _bytesUp = 0;
  @state() private _copied: string | undefined;
  /** Why others may not reach this page, when they may not (from the engine's diagnosis). */
  @state() private _unreachable: string | undefined;

  @query('input[type=file]') private _input!: HTMLInputElement;

  /** Hashes and announces a file; a newer file, `stop()` or leaving the page aborts it. */
  readonly #seeding = new RunController<Seeded, File>(this, {
    task: (run, file) => this.#seed(run, file),
    onComplete: ({ hash, engine, file }) => {
      this.#engine = engine;
      this._hash = hash;
      this.setState('ready');
      this.#startSeedingWatch();
      void this.#checkReachable(engine, hash);
      this.emit(new EcdnLoadEvent({ hash, size: file.size, type: file.type, name: file.name }));
    },
    onError: (err) => {
      if (isAbort(err)) this.setState('idle');
      else this.fail(errorDetail('', err));
    },
  });
  /** The engine that seeds the file shown. */
  #engine: EcdnEngine | undefined;
  #stopSeedingEvents: (() => void) | undefined;
  #copiedTimer: ReturnType<typeof setTimeout> | undefined;

  /** SHA-256 of the file being seeded, once hashed; undefined before. */
  get hash(): string | undefined {
    return this._hash;
  }

  /** Name, size and type of the dropped or picked file. */
  get file(): { name: string; size: number; type: string } | undefined {
    return this._file;
  }

  /** Peers downloading the seeded file from this page right now, live from the engine. */
  get downloaders(): number {
    return this._downloaders;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.state === 'ready') this.#startSeedingWatch();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // The engine keeps seeding a file whose element left the page; only the
    // element's own bookkeeping stops. A hash in progress is abandoned.
    this.#stopSeedingWatch();
  }

  protected override watchedHash(): string | undefined {
    return this._hash;
  }

  /** Opens the file picker. */
  pick(): void {
    this._input?.click();
  }

  /**
   * Hashes and seeds a file, as dropping it does. A file already seeded by
   * this element keeps being seeded by the page; call {@link stop} first to withdraw it.
   */
  seedFile(file: File): Promise<void> {
    return this.#seeding.run(file);
  }

  async #seed(run: Run, file: File): Promise<Seeded> {
    const engine = this.engine;
    this.#stopSeedingWatch();
    this._file = { name: file.name, size: file.size, type: file.type };
    this._hash = undefined;
    this._hashed = 0;
    this._announcing = false;
    this._error = undefined;
    this.setState('loading');
    const hash = await engine.seed(file, {
      signal: run.signal,
      onProgress: (hashed, total) => {
        if (run.stale) return;
        this._hashed = hashed;
        if (hashed >= total) this._announcing = true;
        this.emit(new EcdnProgressEvent({ hash: '', phase: 'hash', received: hashed, total, peers: 0, bytesPerSecond: 0 }));
      },
    });
    // Cancelled while announcing: the engine already serves it; withdraw it.
    if (run.stale) engine.unseed(hash);
    return { hash, engine, file };
  }

  /**
   * Warns when peers elsewhere could reach this page only through a relay and
   * the server has none: they would wait and fail, and the publisher should know.
   */
  async #checkReachable(engine: EcdnEngine, hash: string): Promise<void> {
    this._unreachable = undefined;
    const d = await engine.diagnose().catch(() => undefined);
    if (!d || hash !== this._hash) return;
    const needsRelay = d.nat === 'symmetric' || (d.stun === 'failed' && d.candidates.srflx === 0);
    this._unreachable = needsRelay && d.turn !== 'ok' ? d.verdict : undefined;
  }

  /** Stops hashing, or stops seeding the file and tells the tracker. */
  stop(): void {
    if (this.state === 'loading') {
      this.#seeding.abort();
      this.setState('idle');
      return;
    }
    const hash = this._hash;
    if (!hash) return;
    this.#stopSeedingWatch();
    (this.#engine ?? this.engine).unseed(hash);
    this._hash = undefined;
    this._file = undefined;
    this.setState('idle');
    this.emit(new EcdnUnseedEvent({ hash }));
  }

  /** Follows the seeded file's serving figures through the engine's `seeding` events. */
  #startSeedingWatch(): void {
    if (this.#stopSeedingEvents) return;
    const engine = this.#engine ?? this.engine;
    this.#stopSeedingEvents = engine.on('seeding', ({ hash, bytesUp, downloaders }) => {
      if (hash !== this._hash) return;
      this._downloaders = downloaders;
      this._bytesUp = bytesUp;
    });
    // Events report changes only: start from the figures as they stand (a
    // new file, or this element back on the page after a while).
    try {
      const file = engine.stats().seeding.find((entry) => entry.hash === this._hash);
      this._downloaders = file?.downloaders ?? 0;
      this._bytesUp = file?.bytesUp ?? 0;
    } catch {
      // A destroyed engine: the counts stay as they were.
    }
    window.addEventListener('beforeunload', this.#onBeforeUnload);
  }

  #stopSeedingWatch(): void {
    this.#stopSeedingEvents?.();
    this.#stopSeedingEvents = undefined;
    window.removeEventListener('beforeunload', this.#onBeforeUnload);
  }

  readonly #onBeforeUnload = (event: BeforeUnloadEvent) => {
    if (this.state !== 'ready' || (this.seeders ?? 1) > 1) return;
    // This page holds the only copy: closing it kills the file.
    event.preventDefault();
    event.returnValue = '';
  };

  #onInputChange(event: Event): void {
    const input = event.target as HTMLInputElement;
    const file = input.files?.[0];
    if (file) void this.seedFile(file);
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
    const file = event.dataTransfer?.files[0];
    if (file) void this.seedFile(file);
  }

  async #copy(text: string, what: string): Promise<void> {
    const ok = await copyText(this.renderRoot as ShadowRoot, text);
    this._copied = ok ? what : undefined;
    clearTimeout(this.#copiedTimer);
    this.#copiedTimer = setTimeout(() => (this._copied = undefined), 2_000);
  }

  protected override render() {
    const state = this.state;
    return html`
      <div part="base" class=${classMap({ base: true, dragging: this._dragging })}>
        ${state === 'idle' || state === 'error' || state === 'dead' ? this.#renderDropzone() : nothing}
        ${state === 'error' ? this.#renderError() : nothing}
        ${state === 'loading' ? this.#renderHashing() : nothing}
        ${state === 'ready' ? this.#renderSeeding() : nothing}
        <input
          part="input"
          class="visually-hidden"
          type="file"
          tabindex="-1"
          aria-hidden="true"
          accept=${this.accept || nothing}
          @change=${this.#onInputChange}
        />
        <span class="visually-hidden" role="status" aria-live="polite">${this.#announcement()}</span>
      </div>
    `;
  }

  #renderDropzone() {
    return html`<div
      part="dropzone"
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
      <p class="title"><slot>Drop a file here or <span class="link">choose one</span></slot></p>
      <p class="hint" id="hint">
        <slot name="hint">It stays in this tab: peers fetch it from your browser while the tab is open.</slot>
      </p>
    </div>`;
  }

  #renderError() {
    return html`<p part="error" role="alert">
      ${icons.error} Could not share ${this._file?.name ?? 'the file'}:
      ${errorMessage(this._error)}
    </p>`;
  }

  #renderHashing() {
    const file = this._file!;
    const pct = percent(this._hashed, file.size);
    return html`<div part="panel" class="panel" aria-busy="true">
      <div class="row spread">
        <span class="file-name">${file.name}</span>
        <span class="muted">${formatBytes(file.size)}</span>
      </div>
      ${progressBar(`Hashing ${file.name}`, pct)}
      <div class="row spread">
        <span class="muted">${this._announcing ? 'Announcing to the tracker…' : `Hashing… ${pct}%`}</span>
        <button class="button" type="button" @click=${() => this.stop()}>Cancel</button>
      </div>
    </div>`;
  }

  #renderSeeding() {
    const hash = this._hash!;
    const file = this._file!;
    const seeders = this.seeders;
    const last = seeders !== undefined && seeders <= 1;
    return html`<div part="panel" class="panel">
      <div class="row spread">
        <span class="row">
          <span class=${classMap({ dot: true, 'dot--none': seeders === 0 })}></span>
          <span class="file-name">Seeding ${file.name}</span>
        </span>
        <span class="muted">${formatBytes(file.size)}${file.type ? ` · ${file.type}` : ''}</span>
      </div>

      <div class="field">
        <div class="row spread">
          <p class="label" id="hash-label">Hash (SHA-256)</p>
          ${this.#copyButton(hash, 'Hash', 'Copy hash')}
        </div>
        <code part="hash" aria-labelledby="hash-label">${hash}</code>
      </div>

      ${snippets(hash, file).map(
        (snippet) => html`<div part="snippet" class="field">
          <div class="row spread">
            <p class="label">${snippet.label}</p>
            ${this.#copyButton(snippet.code, snippet.label, `Copy ${snippet.label.toLowerCase()} snippet`)}
          </div>
          <pre><code>${snippet.code}</code></pre>
        </div>`,
      )}

      <ul part="counts" aria-label="Live counts">
        <li><strong>${seeders ?? '–'}</strong> ${seeders === 1 ? 'seeder' : 'seeders'}</li>
        <li><strong>${this._downloaders}</strong> downloading from you</li>
        <li><strong>${formatBytes(this._bytesUp)}</strong> <span class="muted">served by this page</span></li>
      </ul>

      <p class=${classMap({ notice: true, 'notice--last': last })}>
        ${
          last
            ? 'This tab holds the only copy. Close it and the file is gone.'
            : `Keep this tab open: the file lives only while ${seeders === undefined ? 'a' : 'at least one'} tab holding it is open.`
        }
      </p>

      ${
        this._unreachable
          ? html`<p part="reach-warning" class="notice notice--last" role="status">
              ${this._unreachable} People on other networks may not be able to download this file.
            </p>`
          : nothing
      }

      <div class="row">
        <button part="stop-button" class="button" type="button" @click=${() => this.stop()}>Stop seeding</button>
      </div>
    </div>`;
  }

  #copyButton(text: string, what: string, label: string) {
    const copied = this._copied === what;
    return html`<button part="copy-button" class="button" type="button" aria-label=${label} @click=${() => this.#copy(text, what)}>
      ${copied ? icons.check : icons.copy}${copied ? 'Copied' : 'Copy'}
    </button>`;
  }

  #announcement(): string {
    const name = this._file?.name ?? 'the file';
    switch (this.state) {
      case 'loading':
        return this._announcing ? `Announcing ${name}.` : `Hashing ${name}.`;
      case 'ready':
        return this._copied
          ? `${this._copied} copied.`
          : `Seeding ${name}. ${this.seeders !== undefined ? plural(this.seeders, 'seeder') : ''}`;
      case 'error':
        return `Could not share ${name}.`;
      default:
        return '';
    }
  }
}

/** A file the engine seeds now. */
interface Seeded {
  hash: string;
  engine: EcdnEngine;
  file: File;
}

if (!customElements.get('ecdn-seed-drop')) customElements.define('ecdn-seed-drop', EcdnSeedDrop);

declare global {
  interface HTMLElementTagNameMap {
    'ecdn-seed-drop': EcdnSeedDrop;
  }
}
