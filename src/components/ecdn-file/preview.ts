import { sniffImageType } from '../../internal/sniff.js';

/** How `<ecdn-file>` shows a file: as an image, a player, a PDF viewer, a table, text, or not at all. */
export type PreviewKind = 'image' | 'video' | 'audio' | 'pdf' | 'csv' | 'text' | 'none';

/** Bytes of text a preview shows at most: the start of a long log is enough to know what it is. */
export const TEXT_PREVIEW_BYTES = 64 * 1024;
/** Rows a CSV preview shows at most. */
export const CSV_PREVIEW_ROWS = 50;

const TEXT_TYPES =
  /^(text\/|application\/(json|xml|javascript|x-ndjson|x-sh|x-yaml|yaml|toml|sql|ld\+json)|image\/svg\+xml$)|\+(json|xml)$/;
const TEXT_EXTENSIONS =
  /\.(txt|md|markdown|log|json|ndjson|jsonl|xml|ya?ml|toml|ini|cfg|conf|sh|py|js|mjs|ts|tsx|jsx|c|h|cpp|rs|go|java|rb|php|sql|html?|css|diff|patch)$/i;
const CSV_TYPES = /^(text\/csv|text\/tab-separated-values|application\/csv)$/;

/**
 * What kind of preview a file may get, from its type and name alone, before a
 * byte arrives: `none` means the browser surely cannot show it (a zip, a video
 * codec it lacks), and a file of unknown type is given a chance as text.
 */
export function expectedPreview(type: string, name: string): PreviewKind {
  const mime = type.toLowerCase().split(';')[0]!.trim();
  if (CSV_TYPES.test(mime) || /\.(csv|tsv)$/i.test(name)) return 'csv';
  if (mime === 'image/svg+xml') return 'image';
  if (mime.startsWith('image/')) return 'image';
  if (mime.startsWith('video/')) return canPlay('video', mime) ? 'video' : 'none';
  if (mime.startsWith('audio/')) return canPlay('audio', mime) ? 'audio' : 'none';
  if (mime === 'application/pdf' || (!mime && /\.pdf$/i.test(name))) return pdfViewer() ? 'pdf' : 'none';
  if (TEXT_TYPES.test(mime) || TEXT_EXTENSIONS.test(name)) return 'text';
  if (!mime || mime === 'application/octet-stream') return 'text';
  return 'none';
}

/**
 * The preview a downloaded file gets, now that its first bytes are known: an
 * image sniffed from its header even without a type, and text only if its start
 * decodes as UTF-8 with no NUL byte.
 */
export function previewFor(type: string, name: string, head: Uint8Array): { kind: PreviewKind; type: string } {
  const sniffed = sniffImageType(head);
  const expected = expectedPreview(type, name);
  if (sniffed && (expected === 'image' || expected === 'text' || !type)) return { kind: 'image', type: type || sniffed };
  if (expected === 'text' || expected === 'csv') return { kind: looksLikeText(head) ? expected : 'none', type };
  return { kind: expected, type };
}

/** True when `bytes` decode as UTF-8 with no NUL byte (a cut-off character at the end is allowed). */
export function looksLikeText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    // The last 3 bytes may be a character cut in half by the preview's end.
    new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, Math.max(0, bytes.byteLength - 3)));
    return true;
  } catch {
    return false;
  }
}

/** The start of `bytes` as text, for a preview; `cut` says whether more of the file follows. */
export function textHead(bytes: Uint8Array, max = TEXT_PREVIEW_BYTES): { text: string; cut: boolean } {
  const cut = bytes.byteLength > max;
  return { text: new TextDecoder().decode(cut ? bytes.subarray(0, max) : bytes), cut };
}

function canPlay(kind: 'video' | 'audio', type: string): boolean {
  return document.createElement(kind).canPlayType(type) !== '';
}

function pdfViewer(): boolean {
  return (navigator as Navigator & { pdfViewerEnabled?: boolean }).pdfViewerEnabled === true;
}

const TYPE_WORDS: Record<string, string> = {
  image: 'image',
  video: 'video',
  audio: 'audio',
  text: 'text',
};

/** A file's type in words for its page: `"PNG image"`, `"PDF document"`, `"CSV table"`; empty when nothing is known. */
export function describeType(type: string, name: string): string {
  const mime = type.toLowerCase().split(';')[0]!.trim();
  const extension = /\.([a-z0-9]{1,8})$/i.exec(name)?.[1]?.toUpperCase();
  if (mime === 'application/pdf') return 'PDF document';
  if (CSV_TYPES.test(mime)) return `${extension === 'TSV' ? 'TSV' : 'CSV'} table`;
  const [group, sub = ''] = mime.split('/');
  const word = TYPE_WORDS[group ?? ''];
  if (word) {
    const format = sub
      .replace(/^(x-|vnd\.)/, '')
      .replace(/\+xml$/, '')
      .toUpperCase();
    return format && format !== 'PLAIN' && format.length <= 6 ? `${format} ${word}` : word.charAt(0).toUpperCase() + word.slice(1);
  }
  if (extension) return `${extension} file`;
  return mime;
}
