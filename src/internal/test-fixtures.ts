/// <reference types="mocha" />
// Shared by the elements' browser tests; never imported by shipped code.
import { fixture } from '@open-wc/testing';
import type { TemplateResult } from 'lit';
import { provideEngine, type EcdnEngine } from './context.js';

declare global {
  interface Window {
    /** The real server web-test-runner.config.mjs starts for the session. */
    ECDN_SERVER: string;
  }
}

const parents: HTMLElement[] = [];
afterEach(() => {
  for (const parent of parents.splice(0)) parent.remove();
});

/** Renders `template` inside an element that provides `engine` through context. */
export async function mount<T extends Element>(engine: EcdnEngine, template: TemplateResult): Promise<T> {
  const parent = document.createElement('div');
  document.body.append(parent);
  parents.push(parent);
  provideEngine(parent, engine);
  return fixture<T>(template, { parentNode: parent });
}

/** The element's shadow part called `name`, if rendered. */
export function part(el: Element, name: string): HTMLElement {
  return el.shadowRoot!.querySelector(`[part~="${name}"]`)!;
}
