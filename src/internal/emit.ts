/** Dispatches `event` from `element` and returns it (to read `defaultPrevented`). */
export function emit<E extends Event>(element: Element, event: E): E {
  element.dispatchEvent(event);
  return event;
}
