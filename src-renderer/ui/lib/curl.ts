// "Copy as cURL": a command that sends the same request to the tunnel's public URL.
import type { RequestDetail } from '../../../src-main/ipc/contract.ts';
import { asText, decodeBase64, encodeBase64 } from './body.ts';

/** Headers curl sets itself, or that belong to one connection. */
const SKIPPED = new Set([
  'host',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
]);

/** Quotes for a POSIX shell. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

export interface CurlOptions {
  /** A comment line for a body that was cut (already translated), or null to leave it out. */
  cutNote?: string | null;
}

/**
 * The request as a curl command line, against the public URL. A text body goes inline; a binary one
 * through `base64 -d`, since a shell argument cannot carry every byte.
 */
export function toCurl(detail: RequestDetail, publicUrl: string, opts: CurlOptions = {}): string {
  const url = new URL(detail.url, publicUrl).href;
  const lines: string[] = [];
  const method = detail.method.toUpperCase();
  const hasBody = detail.requestBody.size > 0;
  const bytes = decodeBase64(detail.requestBody.base64);
  const text = hasBody ? asText(bytes, detail.requestBody.truncated) : null;
  let prefix = '';
  let command = 'curl';
  if (method === 'HEAD') command += ' --head';
  else if (method !== 'GET' || hasBody) command += ` -X ${method}`;
  command += ` ${shellQuote(url)}`;
  lines.push(command);
  for (const [name, value] of detail.requestHeaders) {
    if (SKIPPED.has(name.toLowerCase())) continue;
    lines.push(`  -H ${shellQuote(`${name}: ${value}`)}`);
  }
  if (hasBody) {
    if (text !== null) lines.push(`  --data-binary ${shellQuote(text)}`);
    else {
      prefix = `printf %s ${shellQuote(encodeBase64(bytes))} | base64 -d | `;
      lines.push('  --data-binary @-');
    }
  }
  const out = prefix + lines.join(' \\\n');
  return detail.requestBody.truncated && opts.cutNote ? `# ${opts.cutNote}\n${out}` : out;
}
