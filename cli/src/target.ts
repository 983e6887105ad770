/**
 * What `fetch` and `status` are given: a bare hash, or a share link
 * (`<server>/f/<hash>#name=<file name>&type=<mime>`, see the README's "Share by link").
 * Parsed before anything touches the network, so that a typo fails at once.
 */
import { EcdnError } from 'ephemeral-cdn';

/** A file to fetch or look up, and what its share link said about it. */
export interface Target {
  /** SHA-256, 64 lowercase hex. */
  hash: string;
  /** The server the link points at (its base URL, ending in `/`); undefined for a bare hash. */
  server?: string;
  /** The file name from the link's fragment, as given (not yet safe as a path). */
  name?: string;
  /** The MIME type from the link's fragment. */
  type?: string;
}

const HASH_RE = /^[0-9a-f]{64}$/i;
/** A share link's path: an optional prefix (a server under a path), `/f/`, the hash. */
const LINK_PATH_RE = /^(.*\/)f\/([^/]*)\/?$/;

/** Reads a hash or a share link; throws `EcdnError('INVALID_HASH')` with a one-line reason. */
export function parseTarget(input: string): Target {
  const given = input.trim();
  if (HASH_RE.test(given)) return { hash: given.toLowerCase() };
  if (!/^https?:\/\//i.test(given)) {
    throw new EcdnError('INVALID_HASH', `${show(given)} is neither a file hash (64 hexadecimal characters) nor a share link.`);
  }
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new EcdnError('INVALID_HASH', `${show(given)} is not a valid URL.`);
  }
  const match = LINK_PATH_RE.exec(url.pathname);
  if (!match) {
    throw new EcdnError('INVALID_HASH', `${show(given)} is not a share link: those end in /f/ and the file's 64-hex hash.`);
  }
  const [, prefix, last] = match as unknown as [string, string, string];
  let hash = last;
  try {
    hash = decodeURIComponent(last);
  } catch {
    // A broken percent escape: reported as it came.
  }
  if (!HASH_RE.test(hash)) {
    const why = /^[0-9a-f]*$/i.test(hash) ? `${hash.length} hexadecimal characters` : 'characters other than 0–9 and a–f';
    throw new EcdnError('INVALID_HASH', `The link's hash ${show(hash)} has ${why}; a file hash is exactly 64 of them.`);
  }
  const fragment = new URLSearchParams(url.hash.slice(1));
  const target: Target = { hash: hash.toLowerCase(), server: `${url.origin}${prefix}` };
  const name = fragment.get('name');
  const type = fragment.get('type');
  if (name) target.name = name;
  if (type) target.type = type;
  return target;
}

function show(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}…` : value);
}
