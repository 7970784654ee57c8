/**
 * Encoding and decoding of the FPW protocol's header fields (see docs/fpw-protocol.md).
 *
 * HTTP header values are bytes. Node and undici hand them to us as latin-1 strings (one character
 * per byte), and `fpw-header` carries them as JSON strings with the same one-character-per-byte
 * meaning, every character above U+007F escaped as `\u00XX`, so the JSON itself is plain ASCII and
 * survives any hop.
 */

/** A header map as it travels in `fpw-header`: repeated headers are arrays. */
export type HeaderMap = Record<string, string | string[]>;

/** An ordered list of header name/value pairs, names as received (latin-1 strings). */
export type HeaderList = Array<[name: string, value: string]>;

/** Thrown when a peer sends protocol data that cannot be understood. */
export class FpwProtocolError extends Error {
  override name = 'FpwProtocolError';
}

/** Protocol header names, lower-case. */
export const FPW = {
  host: 'fpw-host',
  token: 'fpw-token',
  id: 'fpw-id',
  rid: 'fpw-rid',
  header: 'fpw-header',
  url: 'fpw-url',
  method: 'fpw-method',
  ip: 'fpw-ip',
  uip: 'fpw-uip',
  status: 'fpw-status',
  publicUrl: 'fpw-public-url',
  /** Porthole's extension: what a worker understands (`public-url`). */
  features: 'fpw-features',
  /** Porthole's extension: a worker process's id, new at each start, so the relay can tell workers apart. */
  worker: 'fpw-worker',
  /** Porthole's extension: a digest of the worker's access and header rules (absent: no rules). */
  rules: 'fpw-rules',
  /** Porthole's extension: the worker is stopping and takes no new requests. */
  close: 'fpw-close',
  /**
   * Porthole's extension: the request ids the worker has and has not answered yet (comma-separated),
   * on every POST, so that the relay can tell a request lost on its way to the worker.
   */
  working: 'fpw-working',
} as const;

/** The user agent every FPW worker sends; some relays check it. */
export const FPW_USER_AGENT = 'php-worker-v1';

/** Pseudo-keys that older dialects put inside the `fpw-header` JSON; never forwarded upstream. */
export const PSEUDO_KEYS = new Set(['method', 'url']);

/**
 * Serialises a header map to the ASCII JSON form of `fpw-header`.
 * @throws FpwProtocolError if a value holds a character above U+00FF (not a byte).
 */
export function encodeHeaderJson(headers: HeaderMap): string {
  const json = JSON.stringify(headers);
  // JSON.stringify escapes control characters itself; what is left above 0x7F becomes \u00XX.
  return json.replace(/[\u0080-\uffff]/g, (ch) => {
    const code = ch.charCodeAt(0);
    if (code > 0xff) {
      throw new FpwProtocolError(`header value holds U+${code.toString(16).padStart(4, '0')}, not a byte`);
    }
    return `\\u00${code.toString(16).padStart(2, '0')}`;
  });
}

/**
 * Parses `fpw-header` into a header map with lower-case names. Accepts escaped and raw forms and
 * string or array values.
 * @throws FpwProtocolError when the text is not a JSON object of strings or string arrays.
 */
export function decodeHeaderJson(text: string): HeaderMap {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new FpwProtocolError(`fpw-header is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new FpwProtocolError('fpw-header is not a JSON object');
  }
  const out: HeaderMap = Object.create(null) as HeaderMap;
  const obj = parsed as Record<string, unknown>;
  // Hot path (every request, at the relay and at the worker): no entry arrays, each value checked once.
  for (const rawName of Object.keys(obj)) {
    const value = obj[rawName];
    const name = rawName.toLowerCase();
    if (!HEADER_NAME.test(name)) throw new FpwProtocolError(`fpw-header holds an invalid header name "${rawName}"`);
    if (typeof value === 'string') {
      checkValue(rawName, value);
      appendHeader(out, name, value);
    } else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
      for (const v of value as string[]) {
        checkValue(rawName, v);
        appendHeader(out, name, v);
      }
    } else if (typeof value === 'number') {
      // Some workers serialise numeric headers (content-length) as numbers.
      appendHeader(out, name, String(value));
    } else {
      throw new FpwProtocolError(`fpw-header value for "${rawName}" is not a string`);
    }
  }
  return out;
}

const FORBIDDEN_IN_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

function checkValue(rawName: string, value: string): void {
  if (FORBIDDEN_IN_VALUE.test(value)) {
    throw new FpwProtocolError(`fpw-header value for "${rawName}" holds a character no header can carry`);
  }
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/** Adds a value, turning the entry into an array when the name repeats. */
export function appendHeader(map: HeaderMap, name: string, value: string): void {
  const existing = map[name];
  if (existing === undefined) map[name] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else map[name] = [existing, value];
}

/** Flattens a header map into name/value pairs, arrays expanded in order. */
export function headerListFromMap(map: HeaderMap): HeaderList {
  const out: HeaderList = [];
  for (const name of Object.keys(map)) {
    const value = map[name]!;
    if (Array.isArray(value)) for (const v of value) out.push([name, v]);
    else out.push([name, value]);
  }
  return out;
}

/** Returns the first value of a header, if any. */
export function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus the framing
 * headers FPW recomputes from the body actually carried.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/**
 * Removes hop-by-hop headers, anything `Connection` names, and (when asked) `content-length`.
 * Returns a new map; the input is untouched.
 */
export function stripHopByHop(map: HeaderMap, opts: { dropContentLength?: boolean } = {}): HeaderMap {
  // Hot path: the Set of names `Connection` lists is made only when there is such a header.
  let named: Set<string> | null = null;
  const connection = map['connection'];
  if (connection !== undefined) {
    named = new Set<string>();
    for (const v of Array.isArray(connection) ? connection : [connection]) {
      for (const token of v.split(',')) named.add(token.trim().toLowerCase());
    }
  }
  const out: HeaderMap = Object.create(null) as HeaderMap;
  for (const name of Object.keys(map)) {
    if (HOP_BY_HOP.has(name) || named?.has(name) || name.startsWith('fpw-') || name.startsWith('proxy-')) continue;
    if (opts.dropContentLength && name === 'content-length') continue;
    const value = map[name]!;
    out[name] = Array.isArray(value) ? [...value] : value;
  }
  return out;
}

/** A visitor request as a worker reads it from a poll answer. */
export interface VisitorRequest {
  /** The relay's id for this request. */
  id: string;
  method: string;
  /** Path and query, always starting with `/`. */
  path: string;
  /** The visitor's IP address as the relay reports it ('' when the relay sent none). */
  ip: string;
  /** The visitor's headers, without the pseudo-keys. */
  headers: HeaderMap;
}

/** What a poll answer means to the worker. */
export type PollAnswer =
  | { kind: 'idle'; publicUrl?: string }
  | { kind: 'request'; request: VisitorRequest }
  | { kind: 'malformed'; id: string; error: string };

const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Interprets the headers of a poll answer (status 200 or 204), in every dialect: the id from
 * `fpw-id` or `fpw-rid`, method/URL/IP from the dedicated headers or else the JSON.
 */
export function parsePollAnswer(get: (name: string) => string | undefined): PollAnswer {
  const id = get(FPW.id) ?? get(FPW.rid);
  const publicUrl = get(FPW.publicUrl);
  if (id === undefined || id === '') return publicUrl ? { kind: 'idle', publicUrl } : { kind: 'idle' };
  let json: HeaderMap;
  try {
    json = decodeHeaderJson(get(FPW.header) ?? '{}');
  } catch (err) {
    return { kind: 'malformed', id, error: (err as Error).message };
  }
  const method = (get(FPW.method) ?? firstValue(json['method']) ?? 'GET').toUpperCase();
  if (!METHOD_TOKEN.test(method)) return { kind: 'malformed', id, error: `invalid method "${method}"` };
  const rawUrl = get(FPW.url) ?? firstValue(json['url']) ?? '/';
  const path = toPath(rawUrl);
  if (path === null) return { kind: 'malformed', id, error: `invalid URL "${rawUrl}"` };
  // `||`, not `??`: an empty header means the relay did not know, so the next source is asked.
  const ip = get(FPW.ip) || get(FPW.uip) || firstValue(json['x-forwarded-for'])?.split(',')[0]?.trim() || '';
  // The JSON's map is this request's own: the pseudo-keys are taken out of it rather than copied around.
  for (const key of PSEUDO_KEYS) delete json[key];
  return { kind: 'request', request: { id, method, path, ip, headers: json } };
}

/** Reduces a path or an absolute URL to path and query; null when it is neither. */
export function toPath(raw: string): string | null {
  if (raw.startsWith('/')) {
    // A request target holds no whitespace or control characters (RFC 9112 §3.2).
    // eslint-disable-next-line no-control-regex
    return /[\s\x00-\x1f\x7f]/.test(raw) ? null : raw;
  }
  try {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    return u.pathname + u.search;
  } catch {
    return null;
  }
}
