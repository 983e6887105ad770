/** The File System Access API's save picker, where the browser has it (Chromium). */
type SaveFilePicker = (options?: { suggestedName?: string }) => Promise<FileSystemFileHandle>;

/** The save picker, or undefined where saving must go through a Blob download. */
export function savePicker(): SaveFilePicker | undefined {
  const picker = (globalThis as { showSaveFilePicker?: SaveFilePicker }).showSaveFilePicker;
  return typeof picker === 'function' && globalThis.isSecureContext ? picker.bind(globalThis) : undefined;
}

/** Saves a Blob the classic way: a temporary `<a download>` clicked from `root`. */
export function saveBlob(root: Node & ParentNode, blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.rel = 'noopener';
  link.hidden = true;
  root.append(link);
  link.click();
  link.remove();
  // Revoking at once can cancel the download in some browsers; a minute is plenty.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
