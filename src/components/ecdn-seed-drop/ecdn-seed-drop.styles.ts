import { css } from 'lit';

export const seedDropStyles = css`
  :host {
    display: block;
    max-width: var(--ecdn-seed-drop-max-width, 40rem);
    font-size: 0.875rem;
    line-height: 1.45;
  }

  .base {
    display: flex;
    flex-direction: column;
    gap: 0.75rem;
  }

  [part~='dropzone'] {
    display: flex;
    flex-direction: column;
    align-items: center;
    justify-content: center;
    gap: 0.375rem;
    min-height: var(--ecdn-seed-drop-min-height, 10rem);
    padding: 1.5rem;
    border: 2px dashed var(--_border);
    border-radius: var(--_radius);
    background: var(--_surface);
    text-align: center;
    cursor: pointer;
    transition:
      border-color 120ms,
      background-color 120ms;
  }

  [part~='dropzone']:hover,
  .dragging [part~='dropzone'] {
    border-color: var(--_accent);
    background: color-mix(in srgb, var(--_accent) 6%, var(--_surface));
  }

  .dropzone--compact {
    flex-direction: row;
    flex-wrap: wrap;
    gap: 0.25rem 0.625rem;
    min-height: 0;
    padding: 0.875rem 1rem;
  }

  .dropzone--compact .title {
    font-size: 0.875rem;
  }

  .dropzone--compact .icon {
    width: 1.25rem !important;
    height: 1.25rem !important;
  }

  [part~='dropzone'] .icon {
    width: 2rem;
    height: 2rem;
    color: var(--_accent);
  }

  .title {
    margin: 0;
    font-size: 1rem;
    font-weight: 600;
  }

  .hint {
    margin: 0;
    color: var(--_muted);
    font-size: 0.8125rem;
  }

  .link {
    color: var(--_accent);
    text-decoration: underline;
  }

  .files {
    display: flex;
    flex-direction: column;
    gap: 0.75rem;
    margin: 0;
    padding: 0;
    list-style: none;
  }

  .panel {
    container-type: inline-size;
    display: flex;
    flex-direction: column;
    gap: 0.75rem;
    padding: 1rem;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: var(--_surface);
  }

  .row {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.5rem;
  }

  .spread {
    justify-content: space-between;
  }

  .name-row {
    flex-wrap: nowrap;
    min-width: 0;
  }

  .file-name {
    overflow: hidden;
    font-weight: 600;
    text-overflow: ellipsis;
    white-space: nowrap;
  }

  .muted {
    color: var(--_muted);
    font-variant-numeric: tabular-nums;
  }

  .share {
    display: grid;
    gap: 0.75rem 1rem;
    grid-template-columns: 1fr;
    align-items: start;
  }

  @container (min-width: 28rem) {
    .share {
      grid-template-columns: 1fr auto;
    }
  }

  .share__main {
    display: flex;
    flex-direction: column;
    gap: 0.5rem;
    min-width: 0;
  }

  [part~='link'] {
    display: block;
    padding: 0.5rem 0.625rem;
    border: 1px solid var(--_border);
    border-radius: calc(var(--_radius) * 0.75);
    background: var(--_surface-alt);
    color: var(--_accent);
    font-family: var(--_mono);
    font-size: 0.8125rem;
    overflow-wrap: anywhere;
    text-decoration: none;
  }

  [part~='link']:hover {
    text-decoration: underline;
  }

  [part~='link']:focus-visible {
    outline: none;
    box-shadow: var(--_focus);
  }

  .qr-box {
    display: flex;
    flex-direction: column;
    align-items: center;
    gap: 0.25rem;
    justify-self: center;
  }

  .qr {
    display: block;
    width: 9rem;
    height: 9rem;
    border-radius: calc(var(--_radius) * 0.75);
    /* Black on white in both themes: a dark QR code on a dark page reads badly with some phone cameras. */
    box-shadow: 0 0 0 1px var(--_border);
  }

  .qr-hint {
    font-size: 0.75rem;
  }

  [part~='details'] summary {
    color: var(--_muted);
    font-size: 0.8125rem;
    font-weight: 600;
    cursor: pointer;
  }

  [part~='details'] summary:focus-visible {
    outline: none;
    border-radius: 0.25rem;
    box-shadow: var(--_focus);
  }

  .details__body {
    display: flex;
    flex-direction: column;
    gap: 0.75rem;
    margin-top: 0.75rem;
  }

  [part~='hash'],
  [part~='snippet'] code {
    font-family: var(--_mono);
    font-size: 0.8125rem;
  }

  .field {
    display: flex;
    flex-direction: column;
    gap: 0.25rem;
  }

  [part~='hash'],
  [part~='snippet'] pre {
    display: block;
    margin: 0;
    padding: 0.5rem 0.625rem;
    border-radius: calc(var(--_radius) * 0.75);
    background: var(--_surface-alt);
    white-space: pre-wrap;
    overflow-wrap: anywhere;
  }

  .label {
    margin: 0;
    color: var(--_muted);
    font-size: 0.75rem;
    font-weight: 600;
    letter-spacing: 0.02em;
    text-transform: uppercase;
  }

  [part~='counts'] {
    display: flex;
    flex-wrap: wrap;
    gap: 0.25rem 1.25rem;
    margin: 0;
    padding: 0;
    list-style: none;
    font-variant-numeric: tabular-nums;
  }

  [part~='counts'] strong {
    font-size: 1.125rem;
  }

  .button {
    display: inline-flex;
    align-items: center;
    gap: 0.375rem;
    padding: 0.25rem 0.625rem;
    border: 1px solid var(--_border);
    border-radius: calc(var(--_radius) * 0.75);
    background: var(--_surface);
    cursor: pointer;
    white-space: nowrap;
  }

  .button:hover {
    background: var(--_surface-alt);
  }

  .button .icon {
    width: 1rem;
    height: 1rem;
  }

  .button--primary {
    border-color: var(--_accent);
    background: var(--_accent);
    color: var(--_on-accent);
    font-weight: 600;
    padding: 0.375rem 0.875rem;
  }

  .button--primary:hover {
    background: color-mix(in srgb, var(--_accent) 88%, var(--_text));
  }

  .panel--error {
    border-color: color-mix(in srgb, var(--_danger) 50%, var(--_border));
  }

  [part~='error'] {
    display: flex;
    gap: 0.375rem;
    align-items: flex-start;
  }

  [part~='stop-button'] {
    border-color: color-mix(in srgb, var(--_danger) 50%, var(--_border));
    color: var(--_danger);
  }

  .notice {
    margin: 0;
    padding: 0.5rem 0.75rem;
    border-inline-start: 3px solid var(--_accent);
    border-radius: 0 calc(var(--_radius) * 0.75) calc(var(--_radius) * 0.75) 0;
    background: color-mix(in srgb, var(--_accent) 7%, var(--_surface));
    font-size: 0.8125rem;
  }

  .notice--last {
    border-inline-start-color: var(--_danger);
    background: color-mix(in srgb, var(--_danger) 7%, var(--_surface));
  }

  [part~='error'] {
    margin: 0;
    color: var(--_danger);
  }

  .icon {
    width: 1.25rem;
    height: 1.25rem;
    flex: none;
  }

  [part~='private-switch'] {
    display: flex;
    gap: 0.6rem;
    align-items: flex-start;
    margin-block-end: 0.75rem;
    cursor: pointer;
  }

  [part~='private-switch'] input {
    margin: 0.2rem 0 0;
    accent-color: var(--_accent);
  }

  [part~='private-switch'] input:focus-visible {
    outline: none;
    box-shadow: var(--_focus);
  }

  [part~='private-switch'] .muted {
    display: block;
  }
`;
