/**
 * What `seed` prints for each file: its share link (the library's `shareLink`, as the
 * demo page's `<ecdn-seed-drop>` makes it), which opens the file's page on the server,
 * and the HTML that embeds it in a page of one's own.
 */
import { basename } from 'node:path';
import { shareLink } from 'ephemeral-cdn';
import { lookup } from 'mime-types';

/** A seeded file as a person shares it. */
export interface Shared {
  /** The file's name, as shown on its page and saved by whoever opens the link. */
  name: string;
  /** Its MIME type from the name's extension; empty when unknown. */
  type: string;
  /** `<server>/f/<hash>#name=…&type=…`: the name and type ride in the fragment, which browsers never send. */
  link: string;
  /** Lines of HTML that embed the file: the script tag, then `<ecdn-img>` (images) and `<ecdn-download>`. */
  embed: string[];
}

/** The share link and embed snippet of a file seeded from `path`. */
export function share(server: string, hash: string, path: string, size: number): Shared {
  const name = basename(path);
  const type = lookup(name) || '';
  const base = server.endsWith('/') ? server : `${server}/`;
  const embed = [`<script src="${new URL('ephemeralcdn.js', base).href}"></script>`];
  if (type.startsWith('image/')) embed.push(`<ecdn-img hash="${hash}" alt="${attr(name)}"></ecdn-img>`);
  embed.push(`<ecdn-download hash="${hash}" filename="${attr(name)}" size="${size}"></ecdn-download>`);
  return { name, type, link: shareLink(server, hash, { name, type }), embed };
}

/** Escapes a value for a double-quoted HTML attribute. */
function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
