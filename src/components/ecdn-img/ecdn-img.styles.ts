import { css } from 'lit';

export const imgStyles = css`
  :host {
    display: inline-block;
    position: relative;
    max-width: 100%;
    vertical-align: middle;
    line-height: 1.4;
    font-size: 0.875rem;
  }

  .base {
    position: relative;
  }

  [part~='image'] {
    display: block;
    max-width: 100%;
    height: auto;
    border-radius: var(--ecdn-img-radius, 0);
  }

  [part~='image'][hidden] {
    display: none;
  }

  .panel {
    display: flex;
    flex-direction: column;
    justify-content: center;
    gap: 0.5rem;
    width: var(--ecdn-img-placeholder-width, 16rem);
    max-width: 100%;
    min-height: var(--ecdn-img-placeholder-height, 10rem);
    padding: 1rem;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: var(--_surface-alt);
    color: var(--_text);
  }

  .panel__title {
    display: flex;
    align-items: center;
    gap: 0.5rem;
    margin: 0;
    font-weight: 600;
  }

  .panel__meta {
    margin: 0;
    color: var(--_muted);
    font-size: 0.8125rem;
    font-variant-numeric: tabular-nums;
  }

  .nowrap {
    white-space: nowrap;
  }

  [part~='dead'] {
    border-style: dashed;
    border-color: var(--_danger);
    background: color-mix(in srgb, var(--_danger) 7%, var(--_surface));
  }

  [part~='dead'] .panel__title,
  [part~='error'] .panel__title {
    color: var(--_danger);
  }

  .icon {
    width: 1.5rem;
    height: 1.5rem;
    flex: none;
  }

  /* Dead after being shown: the image stays, the verdict sits on top of it. */
  .base--overlay [part~='dead'] {
    position: absolute;
    inset: auto 0.5rem 0.5rem 0.5rem;
    width: auto;
    min-height: 0;
    padding: 0.5rem 0.75rem;
  }

  .base--overlay [part~='image'] {
    opacity: 0.55;
    filter: grayscale(0.6);
  }

  [part~='seeders'] {
    position: absolute;
    top: 0.5rem;
    right: 0.5rem;
    padding: 0.125rem 0.5rem;
    border-radius: 999px;
    background: color-mix(in srgb, var(--_surface) 85%, transparent);
    color: var(--_text);
    font-size: 0.75rem;
    font-variant-numeric: tabular-nums;
    box-shadow: 0 1px 2px rgb(0 0 0 / 0.2);
    pointer-events: none;
  }
`;
