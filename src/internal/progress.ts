import { css, html, nothing, type TemplateResult } from 'lit';
import { classMap } from 'lit/directives/class-map.js';
import { styleMap } from 'lit/directives/style-map.js';

/**
 * The progress track every element shows: parts `progress` (the track, with
 * `role="progressbar"`) and `progress-bar` (its filled part). `percent` is
 * 0…100; undefined means the total is not known yet, and the bar slides
 * instead. Style it with {@link progressStyles}.
 */
export function progressBar(label: string, percent: number | undefined): TemplateResult {
  const known = percent !== undefined;
  return html`<span
    part="progress"
    class=${classMap({ progress: true, 'progress--indeterminate': !known })}
    role="progressbar"
    aria-label=${label}
    aria-valuemin="0"
    aria-valuemax="100"
    aria-valuenow=${known ? percent : nothing}
    ><span part="progress-bar" class="progress__bar" style=${styleMap({ width: `${percent ?? 0}%` })}></span
  ></span>`;
}

/** The look of {@link progressBar}; it reads the `--_track` and `--_accent` aliases of `themeStyles`. */
export const progressStyles = css`
  .progress {
    display: block;
    width: 100%;
    height: 0.375rem;
    border-radius: 999px;
    background: var(--_track);
    overflow: hidden;
  }

  .progress__bar {
    display: block;
    height: 100%;
    border-radius: inherit;
    background: var(--_accent);
    transition: width 150ms ease-out;
  }

  /* Size still unknown: a sliding bar instead of a width. */
  .progress--indeterminate .progress__bar {
    width: 35% !important;
    animation: ecdn-slide 1.2s ease-in-out infinite;
  }

  @keyframes ecdn-slide {
    from {
      transform: translateX(-100%);
    }
    to {
      transform: translateX(290%);
    }
  }

  @media (prefers-reduced-motion: reduce) {
    .progress__bar {
      transition: none;
    }
    .progress--indeterminate .progress__bar {
      animation: none;
      width: 100% !important;
      opacity: 0.5;
    }
  }
`;
