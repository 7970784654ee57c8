/**
 * Copies any text (a cURL command): the bridge's copyText takes http(s) URLs only. The async clipboard
 * API first; where it is refused (an Electron window whose permission handler denies
 * clipboard-sanitized-write, a page without focus), a copy command on a hidden text area, which
 * needs no permission inside the click that asked for it.
 */
export async function copyPlainText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Fall back below.
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  let copied: boolean;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}
