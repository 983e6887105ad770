import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A site on an origin of its own that serves the HTML pages a test puts in `pages`, by path. */
export interface Site {
  url: string;
  pages: Map<string, string>;
  close(): Promise<void>;
}

/**
 * Adds a plain HTML page to `site` whose one script is `bundle` (in the head, or
 * at the end of the body), and returns its URL.
 */
export function plainPage(site: Site, bundle: string, body: string, head = '', scriptAtEnd = false): string {
  const path = `/plain-${Math.random().toString(36).slice(2)}.html`;
  const script = `<script src="${bundle}"></script>`;
  site.pages.set(
    path,
    `<!doctype html><html><head><meta charset="utf-8"><title>plain</title>
      ${scriptAtEnd ? '' : script}${head}</head><body>${body}${scriptAtEnd ? script : ''}</body></html>`,
  );
  return `${site.url}${path}`;
}

/**
 * An embedding site: another origin on loopback that serves the test's plain
 * HTML pages. (Pages fulfilled by request interception would have no address,
 * and Chromium's local network access checks then block their WebSocket to
 * the loopback tracker.)
 */
export async function startSite(): Promise<Site> {
  const pages = new Map<string, string>();
  const http = createHttpServer((req, res) => {
    const body = pages.get(req.url ?? '');
    res.writeHead(body ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body ?? 'not found');
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    pages,
    close: () => new Promise((resolve) => http.close(() => resolve())),
  };
}
