import { css } from 'lit';

export const downloadStyles = css`
  :host {
    display: inline-block;
    width: var(--ecdn-download-width, 24rem);
    max-width: 100%;
    font-size: 0.875rem;
    line-height: 1.4;
    vertical-align: middle;
  }

  .base {
    display: flex;
    flex-direction: column;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: var(--_surface);
    overflow: hidden;
  }

  .row {
    display: flex;
    align-items: stretch;
  }

  [part~='button'] {
    display: flex;
    flex: 1;
    align-items: flex-start;
    gap: 0.75rem;
    min-width: 0;
    margin: 0;
    padding: 0.75rem 1rem;
    border: none;
    border-radius: inherit;
    background: none;
    text-align: start;
    cursor: pointer;
  }

  [part~='button']:hover:not(:disabled) {
    background: var(--_surface-alt);
  }

  [part~='button']:disabled {
    cursor: default;
  }

  [part~='icon'] {
    display: grid;
    place-items: center;
    flex: none;
    width: 2.25rem;
    height: 2.25rem;
    border-radius: 50%;
    background: var(--_accent);
    color: var(--_on-accent);
  }

  .icon {
    width: 1.25rem;
    height: 1.25rem;
  }

  :host([state='ready']) [part~='icon'] {
    background: var(--_success);
  }

  :host([state='dead']) [part~='icon'],
  :host([state='error']) [part~='icon'] {
    background: color-mix(in srgb, var(--_danger) 15%, var(--_surface));
    color: var(--_danger);
  }

  :host([state='dead']) .base {
    border-style: dashed;
    border-color: var(--_danger);
  }

  .text {
    display: flex;
    flex: 1;
    flex-direction: column;
    gap: 0.25rem;
    min-width: 0;
  }

  [part~='label'] {
    overflow: hidden;
    font-weight: 600;
    text-overflow: ellipsis;
    white-space: nowrap;
  }

  [part~='meta'] {
    color: var(--_muted);
    font-size: 0.8125rem;
    font-variant-numeric: tabular-nums;
  }

  :host([state='dead']) [part~='meta'],
  :host([state='error']) [part~='meta'] {
    color: var(--_danger);
  }

  .progress-row {
    display: flex;
    align-items: center;
    gap: 0.75rem;
    margin: -0.25rem 0.75rem 0.625rem calc(1rem + 2.25rem + 0.75rem);
  }

  [part~='progress'] {
    flex: 1;
    width: auto;
  }

  [part~='cancel'] {
    flex: none;
    margin: 0;
    padding: 0.125rem 0.625rem;
    border: 1px solid var(--_border);
    border-radius: calc(var(--_radius) * 0.75);
    background: var(--_surface);
    font-size: 0.8125rem;
    cursor: pointer;
  }

  [part~='cancel']:hover {
    background: var(--_surface-alt);
  }
`;
