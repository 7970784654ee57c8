// Bodies as the engine keeps them (the first bytes, base64, and the real size), taken apart for
// showing: which kind they are, form fields, multipart parts, a hex dump.

export type BodyKind = 'empty' | 'json' | 'form' | 'multipart' | 'text' | 'image' | 'binary';

export type HeaderPairs = ReadonlyArray<readonly [string, string]>;

/** The first value of a header, by name in any case. */
export function headerValue(headers: HeaderPairs, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of headers) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

export function decodeBase64(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function encodeBase64(bytes: Uint8Array): string {
  let binary = '';
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) binary += String.fromCharCode(...bytes.subarray(i, i + step));
  return btoa(binary);
}

/** A media type's essence (`application/json`) and its parameters (`charset`, `boundary`). */
export function mediaType(contentType: string | undefined): { essence: string; params: Record<string, string> } {
  if (!contentType) return { essence: '', params: {} };
  const [essence = '', ...rest] = contentType.split(';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const key = p.slice(0, eq).trim().toLowerCase();
    let value = p.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    params[key] = value;
  }
  return { essence: essence.trim().toLowerCase(), params };
}

/**
 * The bytes as UTF-8 text, or null when they are not: invalid UTF-8, or control characters that
 * text does not hold. A preview cut inside a character is still text.
 */
export function asText(bytes: Uint8Array, truncated = false): string | null {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let text: string | null = null;
  for (let cut = 0; cut <= (truncated ? 3 : 0) && text === null; cut++) {
    try {
      text = decoder.decode(bytes.subarray(0, bytes.length - cut));
    } catch {
      text = null;
    }
  }
  if (text === null) return null;
  // eslint-disable-next-line no-control-regex -- looking for exactly these
  if (/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/.test(text)) return null;
  return text;
}

const isJsonType = (essence: string): boolean => essence === 'application/json' || essence.endsWith('+json');

/** What kind of body this is, from its type and, when the type says little, its bytes. */
export function classify(
  contentType: string | undefined,
  contentEncoding: string | undefined,
  bytes: Uint8Array,
  truncated: boolean,
): BodyKind {
  if (bytes.length === 0) return 'empty';
  const encoding = contentEncoding?.trim().toLowerCase();
  // A compressed body is kept as it travelled: its bytes, not its text.
  if (encoding && encoding !== 'identity') return 'binary';
  const { essence } = mediaType(contentType);
  if (essence.startsWith('image/')) return 'image';
  if (essence === 'multipart/form-data') return 'multipart';
  const text = asText(bytes, truncated);
  if (text === null) return 'binary';
  if (essence === 'application/x-www-form-urlencoded') return 'form';
  if (isJsonType(essence)) return parseJson(text) === undefined ? 'text' : 'json';
  if (!essence || essence === 'text/plain' || essence === 'application/octet-stream') {
    const start = text.trimStart()[0];
    if ((start === '{' || start === '[') && parseJson(text) !== undefined) return 'json';
  }
  return 'text';
}

/** The parsed JSON value, or undefined when the text is not JSON (or was cut). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `a=1&b=two` as name/value pairs. */
export function parseForm(text: string): Array<[string, string]> {
  return [...new URLSearchParams(text)];
}

export interface MultipartPart {
  name: string | null;
  filename: string | null;
  contentType: string | null;
  size: number;
  /** The value when it is short text. */
  text: string | null;
}

/** The parts of a multipart/form-data body (as far as the preview goes). */
export function parseMultipart(bytes: Uint8Array, boundary: string): MultipartPart[] {
  // Latin-1 keeps one character per byte, so that offsets are byte offsets.
  const raw = new TextDecoder('latin1').decode(bytes);
  const delimiter = `--${boundary}`;
  const parts: MultipartPart[] = [];
  let at = raw.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (raw.startsWith('--', start)) break;
    const headEnd = raw.indexOf('\r\n\r\n', start);
    if (headEnd < 0) break;
    const next = raw.indexOf(`\r\n${delimiter}`, headEnd + 4);
    const bodyEnd = next < 0 ? raw.length : next;
    const head = raw.slice(start, headEnd).split('\r\n');
    let name: string | null = null;
    let filename: string | null = null;
    let contentType: string | null = null;
    for (const line of head) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (key === 'content-disposition') {
        name = /\bname="([^"]*)"/i.exec(value)?.[1] ?? null;
        filename = /\bfilename="([^"]*)"/i.exec(value)?.[1] ?? null;
      } else if (key === 'content-type') contentType = value;
    }
    const body = bytes.subarray(headEnd + 4, bodyEnd);
    const text = filename === null && body.length <= 4096 ? asText(body) : null;
    parts.push({ name, filename, contentType, size: body.length, text });
    if (next < 0) break;
    at = next + 2;
  }
  return parts;
}

/** `00000000  48 65 6c 6c 6f 0a ...  |Hello.|`, sixteen bytes a line. */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = bytes.subarray(offset, offset + 16);
    let hex = '';
    let ascii = '';
    for (let i = 0; i < 16; i++) {
      const b = row[i];
      hex += b === undefined ? '   ' : `${b.toString(16).padStart(2, '0')} `;
      if (i === 7) hex += ' ';
      if (b !== undefined) ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    }
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex} |${ascii}|`);
  }
  return lines.join('\n');
}
