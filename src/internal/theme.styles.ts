import { css } from 'lit';

/**
 * The design tokens every element shares. Each `--ecdn-*` custom property a
 * page sets wins; otherwise light or dark defaults apply, following
 * `prefers-color-scheme`. Elements read the private `--_*` aliases.
 */
export const themeStyles = css`
  :host {
    --_font: var(--ecdn-font, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
    --_mono: var(--ecdn-font-mono, ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace);
    --_radius: var(--ecdn-radius, 0.5rem);
    --_text: var(--ecdn-color-text, #1f2328);
    --_muted: var(--ecdn-color-muted, #59636e);
    --_surface: var(--ecdn-color-surface, #ffffff);
    --_surface-alt: var(--ecdn-color-surface-alt, #f6f8fa);
    --_border: var(--ecdn-color-border, #d1d9e0);
    --_accent: var(--ecdn-color-accent, #0969da);
    --_on-accent: var(--ecdn-color-on-accent, #ffffff);
    --_success: var(--ecdn-color-success, #1a7f37);
    --_danger: var(--ecdn-color-danger, #cf222e);
    --_track: var(--ecdn-color-track, #e7ecf0);
    --_focus: var(--ecdn-focus-ring, 0 0 0 3px color-mix(in srgb, var(--_accent) 40%, transparent));
    font-family: var(--_font);
    color: var(--_text);
  }

  @media (prefers-color-scheme: dark) {
    :host {
      --_text: var(--ecdn-color-text, #e6edf3);
      --_muted: var(--ecdn-color-muted, #9198a1);
      --_surface: var(--ecdn-color-surface, #151b23);
      --_surface-alt: var(--ecdn-color-surface-alt, #212830);
      --_border: var(--ecdn-color-border, #3d444d);
      --_accent: var(--ecdn-color-accent, #4493f8);
      --_on-accent: var(--ecdn-color-on-accent, #0d1117);
      --_success: var(--ecdn-color-success, #3fb950);
      --_danger: var(--ecdn-color-danger, #f85149);
      --_track: var(--ecdn-color-track, #2a313c);
    }
  }

  :host([hidden]) {
    display: none !important;
  }

  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }

  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    padding: 0;
    margin: -1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }

  .dot {
    display: inline-block;
    width: 0.5em;
    height: 0.5em;
    margin-inline-end: 0.35em;
    border-radius: 50%;
    background: var(--_success);
    vertical-align: 0.05em;
  }

  .dot--none {
    background: var(--_danger);
  }

  button {
    font: inherit;
    color: inherit;
  }

  button:focus-visible,
  [tabindex]:focus-visible {
    outline: none;
    box-shadow: var(--_focus);
  }
`;
