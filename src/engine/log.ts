/**
 * Namespaced debug logging, like the `debug` package but as an ES module with
 * no dependency, so the engine loads unbundled in a page. Enable it with
 * `localStorage.debug = 'ecdn:*'` in a browser or `DEBUG=ecdn:*` in Node.
 */
export type Log = (format: string, ...args: unknown[]) => void;

function patterns(): RegExp[] {
  let spec: string | undefined | null;
  try {
    spec = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.DEBUG;
    spec ??= (globalThis as { localStorage?: Storage }).localStorage?.getItem('debug');
  } catch {
    // localStorage throws in sandboxed frames; logging stays off there.
  }
  return (spec ?? '')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`));
}

/** A logger for `namespace` that prints only when the namespace is enabled. */
export function createLog(namespace: string): Log {
  const enabled = patterns().some((p) => p.test(namespace));
  if (!enabled) return () => {};
  return (format, ...args) => console.debug(`%s ${format}`, namespace, ...args);
}
