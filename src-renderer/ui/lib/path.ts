// Paths as a person reads them: a visitor's browser sends `/中文` as `/%E4%B8%AD%E6%96%87`, and the
// list and the detail show it as `/中文`. Only what the UI shows: cURL, HAR and replay keep the
// path exactly as it was sent.

const VISIBLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes a UTF-8 sequence has, from its first byte; 0 for a byte that cannot start one. */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** One run of escapes (`%E4%B8%AD%2F`), with the UTF-8 characters in it decoded. */
function decodeRun(run: string): string {
  const escapes = run.match(/%[0-9A-Fa-f]{2}/g) ?? [];
  const bytes = escapes.map((e) => parseInt(e.slice(1), 16));
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const n = sequenceLength(bytes[i]!);
    if (n > 0 && i + n <= bytes.length) {
      let char: string | null;
      try {
        char = utf8.decode(Uint8Array.from(bytes.slice(i, i + n)));
      } catch {
        char = null;
      }
      if (char !== null && VISIBLE.test(char)) {
        out += char;
        i += n;
        continue;
      }
    }
    // An ASCII escape (%2F is not /, %25 is not %), an invalid or cut sequence, or an invisible
    // character (a right-to-left override, a space of another kind): shown as it was sent.
    out += escapes[i];
    i += 1;
  }
  return out;
}

/**
 * A path and query for showing: percent-escapes of UTF-8 characters decoded, everything else (ASCII
 * escapes, invalid sequences, invisible characters) left as it came.
 */
export function displayPath(raw: string): string {
  if (!raw.includes('%')) return raw;
  return raw.replace(/(?:%[0-9A-Fa-f]{2})+/g, decodeRun);
}
