import { readFile } from 'node:fs/promises';
import type Router from '@koa/router';

/**
 * The share links: `/f/<hash>#name=…&type=…`. The server sees the hash only
 * (the fragment never leaves the browser), answers with the share page, and the
 * page reads the name and type from the fragment. A path under `/f` that is not
 * one 64-hex hash gets a 404 page that says the link is broken, in words.
 */
export const SHARE_PATH = '/f';

/** A hash as a person may type or paste it: the page lowercases it. */
const LINK_HASH_RE = /^[0-9a-fA-F]{64}$/;

/** The static files of the pages, with their types: served as they are, from `publicDir`. */
const ASSETS: Record<string, string> = {
  'favicon.svg': 'image/svg+xml',
  'pages.css': 'text/css; charset=utf-8',
};

/** Adds the share page, the invalid-link page, the favicon and the pages' stylesheet to `router`. */
export function addPages(router: Router, publicDir: URL): void {
  router.get(/^\/f(?:\/.*)?$/, async (ctx) => {
    const rest = ctx.path.slice(SHARE_PATH.length + 1);
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-cache');
    // Browsers must not send the page's URL (the hash) on to the sites a preview links to.
    ctx.set('Referrer-Policy', 'no-referrer');
    if (LINK_HASH_RE.test(rest)) {
      ctx.body = await readFile(new URL('share.html', publicDir));
      return;
    }
    ctx.status = 404;
    const page = await readFile(new URL('invalid-link.html', publicDir), 'utf8');
    ctx.body = page.replace('{{given}}', escapeHtml(describe(rest)));
  });

  for (const [file, type] of Object.entries(ASSETS)) {
    router.get(`/${file}`, async (ctx) => {
      ctx.type = type;
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = await readFile(new URL(file, publicDir));
    });
  }
}

/** What was wrong with the link's last part, for the invalid-link page. */
function describe(rest: string): string {
  let given = rest;
  try {
    given = decodeURIComponent(rest);
  } catch {
    // A broken percent escape: show it as it came.
  }
  if (given === '') return 'This link has no file hash at its end.';
  const shown = given.length > 80 ? `${given.slice(0, 77)}…` : given;
  const hex = /^[0-9a-fA-F]*$/.test(given);
  const why = hex ? `it has ${given.length} hexadecimal characters` : 'it has characters other than 0–9 and a–f';
  return `The link ends in “${shown}”: ${why}, and a file hash is exactly 64 of them.`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
