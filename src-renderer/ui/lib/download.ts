import type { ExportedFile } from '../../../src-main/ipc/contract.ts';

/**
 * Offers a file the engine produced (a HAR export) as a download: in a browser it lands in the
 * downloads folder, in Electron the session shows its save dialog.
 */
export function saveFile(file: ExportedFile): void {
  const url = URL.createObjectURL(new Blob([file.text], { type: file.mimeType }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file.fileName;
  a.rel = 'noopener';
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started by then; the URL is only needed until it did.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
