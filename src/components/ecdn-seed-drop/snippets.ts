/** Escapes a value for a double-quoted HTML attribute. */
function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** A ready-to-paste snippet: what it is for, and its text. */
export interface Snippet {
  label: string;
  code: string;
}

/** The snippets that use a seeded file: the element that fits its type, and the fetch call. */
export function snippets(hash: string, file: { name: string; size: number; type: string; key?: string | undefined }): Snippet[] {
  const list: Snippet[] = [];
  // A private share's snippets carry its key, as its link does: whoever has them can read the file.
  const key = file.key ? ` key="${file.key}"` : '';
  if (file.type.startsWith('image/')) {
    list.push({ label: 'Image element', code: `<ecdn-img hash="${hash}"${key} alt="${attr(file.name)}"></ecdn-img>` });
  }
  list.push({
    label: 'Download button',
    code: file.key
      ? `<ecdn-download hash="${hash}"${key}></ecdn-download>`
      : `<ecdn-download hash="${hash}" filename="${attr(file.name)}" size="${file.size}"></ecdn-download>`,
  });
  list.push({
    label: 'JavaScript',
    code: file.key
      ? `const bytes = await EphemeralCDN.fetch('${hash}', { key: '${file.key}' });`
      : `const bytes = await EphemeralCDN.fetch('${hash}');`,
  });
  return list;
}

/** Copies text to the clipboard, falling back to a selected textarea where the async API is refused. */
export async function copyText(root: ShadowRoot, text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.cssText = 'position:fixed;opacity:0;pointer-events:none';
    root.append(area);
    area.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    } finally {
      area.remove();
    }
  }
}
