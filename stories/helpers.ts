import { render, type TemplateResult } from 'lit';
import { provideEngine, type EcdnEngine } from '../src/components/index.js';

/**
 * Renders `template` inside a `<div>` that provides `engine` to the elements
 * through context, the way a page gives them an engine of its own.
 */
export function withEngine(engine: EcdnEngine, template: TemplateResult): HTMLElement {
  const host = document.createElement('div');
  provideEngine(host, engine);
  // Saving a file from a story would download it for real: swallow the
  // temporary <a download> clicks of <ecdn-download>.
  host.addEventListener(
    'click',
    (event) => {
      const target = event.composedPath()[0];
      if (target instanceof HTMLAnchorElement && target.download) event.preventDefault();
    },
    { capture: true },
  );
  render(template, host);
  return host;
}

/** Runs `action` on the first `selector` inside `host` once it has rendered. */
export function after<T extends Element>(host: HTMLElement, selector: string, action: (el: T) => void): HTMLElement {
  setTimeout(() => {
    const el = host.querySelector<T>(selector);
    if (el) action(el);
  }, 50);
  return host;
}
