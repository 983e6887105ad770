import type { EcdnErrorDetail } from '../events/ecdn-error.js';
import type { EcdnState } from './ecdn-element.js';
import { errorText } from './errors.js';

/**
 * What a download element says to screen readers in each state (its live region):
 * `<ecdn-download>` and `<ecdn-file>` download a named file the same way.
 */
export function downloadAnnouncement(state: EcdnState, name: string, saved: boolean, error: EcdnErrorDetail | undefined): string {
  switch (state) {
    case 'loading':
      return `Downloading ${name}.`;
    case 'ready':
      return `${name} downloaded${saved ? ' and saved' : ''}.`;
    case 'dead':
      return `${name}: file is dead, nobody is sharing it any more.`;
    case 'error':
      return `Download failed. ${errorText(error?.code ?? 'UNKNOWN')}`;
    default:
      return '';
  }
}
