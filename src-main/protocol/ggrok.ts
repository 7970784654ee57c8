import { STATUS_CODES } from 'node:http';
import { appendHeader, type HeaderMap } from './fpw-codec.ts';

/**
 * ggrok's wire format (github.com/onyas/ggrok): the client opens a WebSocket to `/$$ggrok` and is
 * registered for the Host of that request; the server sends one JSON text message per visitor
 * request, `{"Req": <the request in HTTP/1.1 wire format>, "URL": <path and query>}`, and the
 * client answers `{"Status", "StatusCode", "Proto", "Header": {name: [values]}, "Body": <base64>,
 * "ContentType"}`, one request at a time per connection. `Req` is a JSON string: Go's encoder turns
 * bytes that are not UTF-8 into U+FFFD, so only UTF-8 requests travel exact; bodies of answers are
 * base64 and travel exact.
 */

export const GGROK_PATH = '/$$ggrok';

/** The server's message. */
export interface GgrokRequest {
  Req: string;
  URL: string;
}

/** The client's answer. */
export interface GgrokResponse {
  Status: string;
  StatusCode: number;
  Proto: string;
  Header: Record<string, string[]> | null;
  /** Base64 (Go's encoding of []byte); null for none. */
  Body: string | null;
  ContentType: string;
}

/** A request read out of `Req`. */
export interface ParsedRequest {
  method: string;
  target: string;
  headers: HeaderMap;
  body: Buffer;
}

/** Reads an HTTP/1.1 request in wire format (as Go's Request.Write makes it); throws on what it cannot read. */
export function parseWireRequest(wire: Buffer): ParsedRequest {
  const end = wire.indexOf('\r\n\r\n');
  if (end === -1) throw new Error('the request has no end of head');
  const lines = wire.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0] ?? '');
  if (!m) throw new Error(`"${(lines[0] ?? '').slice(0, 80)}" is not a request line`);
  const headers: HeaderMap = Object.create(null) as HeaderMap;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`"${line.slice(0, 80)}" is not a header`);
    appendHeader(headers, line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = wire.subarray(end + 4);
  const te = headers['transfer-encoding'];
  if (te !== undefined && String(te).toLowerCase().includes('chunked')) {
    body = dechunk(body);
    delete headers['transfer-encoding'];
  } else {
    const length = headers['content-length'];
    if (typeof length === 'string' && /^\d+$/.test(length)) body = body.subarray(0, Number(length));
  }
  return { method: m[1]!, target: m[2]!, headers, body: Buffer.from(body) };
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol === -1) throw new Error('a chunk has no size line');
    const size = parseInt(data.subarray(at, eol).toString('latin1').split(';')[0]!, 16);
    if (!Number.isFinite(size)) throw new Error('a chunk size is not a number');
    if (size === 0) return Buffer.concat(parts);
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** Writes a request in HTTP/1.1 wire format, as ggrok's server does for its clients. */
export function wireRequest(method: string, target: string, host: string, headers: HeaderMap, body: Buffer): Buffer {
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${host}`];
  for (const name of Object.keys(headers)) {
    if (name === 'host' || name === 'content-length' || name === 'transfer-encoding') continue;
    const value = headers[name]!;
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${canonical(name)}: ${v}`);
  }
  if (body.length || !/^(GET|HEAD)$/.test(method)) lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/** A header name as Go writes it (`content-type` -> `Content-Type`). */
export function canonical(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/** An answer in ggrok's format. */
export function ggrokResponse(
  status: number,
  reason: string | undefined,
  headers: HeaderMap,
  body: Buffer,
): GgrokResponse {
  const header: Record<string, string[]> = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name]!;
    header[canonical(name)] = Array.isArray(value) ? [...value] : [value];
  }
  const contentType = headers['content-type'];
  return {
    Status: `${status} ${reason || STATUS_CODES[status] || ''}`.trim(),
    StatusCode: status,
    Proto: 'HTTP/1.1',
    Header: header,
    Body: body.toString('base64'),
    ContentType: Array.isArray(contentType) ? (contentType[0] ?? '') : (contentType ?? ''),
  };
}

/** True when the bytes are valid UTF-8: what a JSON string carries exact through Go's encoder. */
export function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}
