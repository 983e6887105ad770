/** What a share link carries besides the hash: shown to the person who opens it. */
export interface SharedFileMeta {
  /** The file's name, as it was dropped. */
  name: string;
  /** Its MIME type; may be empty. */
  type: string;
}

/**
 * The link to a file's share page on `server` (the EphemeralCDN server the page
 * talks to): `<server>/f/<hash>#name=<name>&type=<type>`. The name and type stay
 * in the fragment, which browsers never send: the server and the tracker learn
 * nothing but the hash.
 */
export function shareLink(server: string, hash: string, meta: SharedFileMeta): string {
  const url = new URL(`f/${hash}`, server.endsWith('/') ? server : `${server}/`);
  const fragment = new URLSearchParams();
  if (meta.name) fragment.set('name', meta.name);
  if (meta.type) fragment.set('type', meta.type);
  url.hash = fragment.toString();
  return url.href;
}
