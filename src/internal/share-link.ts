/** What a share link carries besides the hash: shown to the person who opens it. */
export interface SharedFileMeta {
  /** The file's name, as it was dropped. */
  name: string;
  /** Its MIME type; may be empty. */
  type: string;
}

/** A private share's link carries its key and nothing else: the name and type travel encrypted. */
export interface PrivateLinkMeta {
  /** The key, 22 characters of base64url (`PrivateShare.key`). */
  key: string;
}

/**
 * The link to a file's share page on `server` (the EphemeralCDN server the page
 * talks to): `<server>/f/<hash>#name=<name>&type=<type>`, or for a private share
 * `<server>/f/<hash>#k=<key>`. What follows `#` stays in the fragment, which browsers
 * never send: the server and the tracker learn nothing but the hash.
 */
export function shareLink(server: string, hash: string, meta: SharedFileMeta | PrivateLinkMeta): string {
  const url = new URL(`f/${hash}`, server.endsWith('/') ? server : `${server}/`);
  const fragment = new URLSearchParams();
  if ('key' in meta) fragment.set('k', meta.key);
  else {
    if (meta.name) fragment.set('name', meta.name);
    if (meta.type) fragment.set('type', meta.type);
  }
  url.hash = fragment.toString();
  return url.href;
}

/** What {@link parseShareLink} reads from a link. */
export interface ParsedShareLink {
  /** The 64 hex characters after `/f/`, as written (not yet checked as a hash). */
  hash: string;
  /** A private share's key (`#k=`), not yet checked. */
  key?: string;
  /** A public share's name and type, when the link has them. */
  name?: string;
  type?: string;
}

/**
 * The parts of a share link (`…/f/<hash>#k=<key>` or `…/f/<hash>#name=…&type=…`), of a
 * bare hash, or of a bare fragment; undefined for text that has no `/f/` path and is not a
 * bare value. Nothing is validated here: `fetch` checks the hash and the key.
 */
export function parseShareLink(text: string): ParsedShareLink | undefined {
  const trimmed = text.trim();
  const at = trimmed.indexOf('#');
  const before = at < 0 ? trimmed : trimmed.slice(0, at);
  const fragment = new URLSearchParams(at < 0 ? '' : trimmed.slice(at + 1));
  const path = /(?:^|\/)f\/([^/?#]*)(?:[?].*)?$/.exec(before);
  if (!path && /[/:]/.test(before)) return undefined;
  const parsed: ParsedShareLink = { hash: path ? path[1]! : before };
  const key = fragment.get('k');
  if (key !== null) parsed.key = key;
  const name = fragment.get('name');
  if (name !== null) parsed.name = name;
  const type = fragment.get('type');
  if (type !== null) parsed.type = type;
  return parsed;
}
