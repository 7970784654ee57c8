import { STATUS_CODES } from 'node:http';
import type { HeaderList } from '../protocol/fpw-codec.ts';
import type { BodyPreview, RequestRecord } from './request-log.ts';

/** HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/), the parts Porthole writes. */
export interface Har {
  log: {
    version: '1.2';
    creator: { name: string; version: string };
    entries: HarEntry[];
  };
}

interface HarNameValue {
  name: string;
  value: string;
}

export interface HarEntry {
  startedDateTime: string;
  time: number;
  request: {
    method: string;
    url: string;
    httpVersion: string;
    cookies: HarNameValue[];
    headers: HarNameValue[];
    queryString: HarNameValue[];
    /**
     * HAR 1.2's postData has no encoding field: a body that is not UTF-8 text goes as base64 in
     * `text`, marked by the custom field `_encoding` (HAR allows fields whose names start with _).
     */
    postData?: { mimeType: string; text: string; params?: HarNameValue[]; _encoding?: 'base64' };
    headersSize: number;
    bodySize: number;
  };
  response: {
    status: number;
    statusText: string;
    httpVersion: string;
    cookies: HarNameValue[];
    headers: HarNameValue[];
    content: { size: number; mimeType: string; text?: string; encoding?: 'base64'; comment?: string };
    redirectURL: string;
    headersSize: number;
    bodySize: number;
  };
  cache: Record<string, never>;
  timings: { send: number; wait: number; receive: number };
  comment?: string;
}

function header(list: HeaderList, name: string): string | undefined {
  for (const [k, v] of list) if (k.toLowerCase() === name) return v;
  return undefined;
}

const pairs = (list: HeaderList): HarNameValue[] => list.map(([name, value]) => ({ name, value }));

/** True when the bytes are valid UTF-8 (so that they can travel as JSON text). */
function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function cookies(list: HeaderList, name: 'cookie' | 'set-cookie'): HarNameValue[] {
  const out: HarNameValue[] = [];
  for (const [k, v] of list) {
    if (k.toLowerCase() !== name) continue;
    const parts = name === 'cookie' ? v.split(';') : [v.split(';')[0] ?? ''];
    for (const part of parts) {
      const eq = part.indexOf('=');
      if (eq > 0) out.push({ name: part.slice(0, eq).trim(), value: part.slice(eq + 1).trim() });
    }
  }
  return out;
}

function cutNote(what: string, body: BodyPreview): string | null {
  return body.truncated ? `${what} body cut to its first ${body.bytes.length} of ${body.size} bytes` : null;
}

/** One request record as a HAR entry; `origin` is the tunnel's public URL (scheme and host). */
export function harEntry(r: RequestRecord, origin: string): HarEntry {
  const url = new URL(r.url, origin);
  const notes: string[] = [];
  const reqType = header(r.requestHeaders, 'content-type') ?? 'application/octet-stream';
  let postData: HarEntry['request']['postData'];
  if (r.requestBytes > 0) {
    if (isUtf8(r.requestBody.bytes)) {
      postData = { mimeType: reqType, text: r.requestBody.bytes.toString('utf8') };
      if (reqType.startsWith('application/x-www-form-urlencoded')) {
        postData.params = [...new URLSearchParams(postData.text)].map(([name, value]) => ({ name, value }));
      }
    } else {
      postData = { mimeType: reqType, text: r.requestBody.bytes.toString('base64'), _encoding: 'base64' };
      notes.push(`request body is binary (${r.requestBytes} bytes): postData.text holds it as base64 (_encoding)`);
    }
    const cut = cutNote('request', r.requestBody);
    if (cut) notes.push(cut);
  }
  const resType = header(r.responseHeaders, 'content-type') ?? '';
  const content: HarEntry['response']['content'] = { size: r.responseBytes, mimeType: resType };
  if (r.responseBody.bytes.length) {
    if (isUtf8(r.responseBody.bytes)) content.text = r.responseBody.bytes.toString('utf8');
    else {
      content.text = r.responseBody.bytes.toString('base64');
      content.encoding = 'base64';
    }
    const cut = cutNote('response', r.responseBody);
    if (cut) {
      content.comment = cut;
      notes.push(cut);
    }
  }
  if (r.error) notes.push(r.error);
  const total = r.durationMs ?? 0;
  const wait = r.upstreamMs ?? total;
  const entry: HarEntry = {
    startedDateTime: new Date(r.startedAt).toISOString(),
    time: total,
    request: {
      method: r.method,
      url: url.href,
      httpVersion: 'HTTP/1.1',
      cookies: cookies(r.requestHeaders, 'cookie'),
      headers: pairs(r.requestHeaders),
      queryString: [...url.searchParams].map(([name, value]) => ({ name, value })),
      ...(postData ? { postData } : {}),
      headersSize: -1,
      bodySize: r.requestBytes,
    },
    response: {
      status: r.status ?? 0,
      statusText: (r.status && STATUS_CODES[r.status]) || '',
      httpVersion: 'HTTP/1.1',
      cookies: cookies(r.responseHeaders, 'set-cookie'),
      headers: pairs(r.responseHeaders),
      content,
      redirectURL: header(r.responseHeaders, 'location') ?? '',
      headersSize: -1,
      bodySize: r.responseBytes,
    },
    cache: {},
    timings: { send: 0, wait, receive: Math.max(0, total - wait) },
  };
  if (notes.length) entry.comment = notes.join('; ');
  return entry;
}

/** Records as a HAR 1.2 log. */
export function toHar(records: RequestRecord[], origin: string, version: string): Har {
  return {
    log: {
      version: '1.2',
      creator: { name: 'Porthole', version },
      entries: records.map((r) => harEntry(r, origin)),
    },
  };
}
