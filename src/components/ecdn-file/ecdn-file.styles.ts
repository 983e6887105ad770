import { css } from 'lit';

export const fileStyles = css`
  :host {
    display: block;
    max-width: var(--ecdn-file-max-width, 48rem);
    font-size: 0.9375rem;
    line-height: 1.5;
  }

  .base {
    display: flex;
    flex-direction: column;
    gap: 1rem;
    padding: 1.25rem;
    border: 1px solid var(--_border);
    border-radius: calc(var(--_radius) * 1.5);
    background: var(--_surface);
  }

  .base--dead {
    border-style: dashed;
    border-color: color-mix(in srgb, var(--_danger) 60%, var(--_border));
  }

  .head {
    display: flex;
    align-items: center;
    gap: 0.875rem;
    min-width: 0;
  }

  .head__text {
    min-width: 0;
  }

  [part~='file-icon'] {
    display: grid;
    place-items: center;
    flex: none;
    width: 3rem;
    height: 3rem;
    border-radius: var(--_radius);
    background: color-mix(in srgb, var(--_accent) 12%, var(--_surface));
    color: var(--_accent);
  }

  [part~='file-icon'] .icon {
    width: 1.5rem;
    height: 1.5rem;
  }

  .base--dead [part~='file-icon'],
  .base--error [part~='file-icon'] {
    background: color-mix(in srgb, var(--_danger) 12%, var(--_surface));
    color: var(--_danger);
  }

  [part~='name'] {
    margin: 0;
    font-size: 1.25rem;
    font-weight: 650;
    line-height: 1.3;
    overflow-wrap: anywhere;
  }

  [part~='meta'] {
    margin: 0.125rem 0 0;
    color: var(--_muted);
    font-variant-numeric: tabular-nums;
  }

  .nowrap {
    white-space: nowrap;
  }

  .muted {
    margin: 0;
    color: var(--_muted);
    font-size: 0.875rem;
    font-variant-numeric: tabular-nums;
  }

  .progress-block {
    display: flex;
    flex-direction: column;
    gap: 0.5rem;
  }

  .actions {
    display: flex;
    flex-wrap: wrap;
    gap: 0.625rem;
  }

  .button {
    display: inline-flex;
    align-items: center;
    justify-content: center;
    gap: 0.5rem;
    min-height: 2.75rem;
    padding: 0.5rem 1rem;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: var(--_surface);
    font-weight: 600;
    cursor: pointer;
    white-space: nowrap;
  }

  .button:hover:not(:disabled) {
    background: var(--_surface-alt);
  }

  .button:disabled {
    cursor: default;
    opacity: 0.6;
  }

  .actions .button {
    flex: 1 1 auto;
  }

  .actions .button--primary {
    flex: 3 1 12rem;
  }

  .button--primary {
    border-color: var(--_accent);
    background: var(--_accent);
    color: var(--_on-accent);
  }

  .button--primary:hover:not(:disabled) {
    background: color-mix(in srgb, var(--_accent) 88%, var(--_text));
  }

  .button__meta {
    font-weight: 400;
  }

  .button .icon {
    width: 1.125rem;
    height: 1.125rem;
  }

  .preview {
    display: flex;
    flex-direction: column;
    gap: 0.375rem;
    margin: 0;
  }

  .preview--media {
    align-items: center;
    padding: 0.5rem;
    border-radius: var(--_radius);
    background: var(--_surface-alt);
  }

  .preview img,
  .preview video {
    display: block;
    max-width: 100%;
    max-height: var(--ecdn-file-preview-height, 60vh);
    border-radius: calc(var(--_radius) * 0.75);
  }

  .preview audio {
    width: 100%;
  }

  .preview iframe {
    width: 100%;
    height: var(--ecdn-file-preview-height, 60vh);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
  }

  .scroll {
    max-height: var(--ecdn-file-preview-height, 60vh);
    margin: 0;
    overflow: auto;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: var(--_surface-alt);
  }

  pre.scroll {
    padding: 0.75rem;
    font-family: var(--_mono);
    font-size: 0.8125rem;
    line-height: 1.5;
    white-space: pre-wrap;
    overflow-wrap: anywhere;
  }

  table {
    width: 100%;
    border-collapse: collapse;
    font-size: 0.8125rem;
    font-variant-numeric: tabular-nums;
  }

  th,
  td {
    padding: 0.375rem 0.625rem;
    border-bottom: 1px solid var(--_border);
    text-align: start;
    white-space: nowrap;
  }

  th {
    position: sticky;
    top: 0;
    background: var(--_surface);
    font-weight: 600;
  }

  .panel {
    display: flex;
    flex-direction: column;
    gap: 0.25rem;
    padding: 0.75rem 1rem;
    border-radius: var(--_radius);
  }

  .panel p {
    margin: 0;
  }

  .panel--danger {
    background: color-mix(in srgb, var(--_danger) 8%, var(--_surface));
  }

  .panel__title {
    display: flex;
    align-items: center;
    gap: 0.5rem;
    color: var(--_danger);
    font-weight: 650;
  }

  .notice {
    margin: 0;
    padding: 0.625rem 0.875rem;
    border-inline-start: 3px solid var(--_success);
    border-radius: 0 var(--_radius) var(--_radius) 0;
    background: color-mix(in srgb, var(--_success) 8%, var(--_surface));
    font-size: 0.875rem;
  }

  .notice--last {
    border-inline-start-color: var(--_danger);
    background: color-mix(in srgb, var(--_danger) 8%, var(--_surface));
  }

  .icon {
    width: 1.25rem;
    height: 1.25rem;
    flex: none;
  }

  @media (max-width: 30rem) {
    .base {
      padding: 1rem;
    }
  }
`;
