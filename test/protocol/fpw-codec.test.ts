import { describe, expect, it } from 'vitest';
import {
  FpwProtocolError,
  decodeHeaderJson,
  encodeHeaderJson,
  parsePollAnswer,
  stripHopByHop,
  type HeaderMap,
} from '../../src-main/protocol/fpw-codec.ts';

/** Every byte value a header can carry (tab, printable ASCII, 0x80-0xFF), one character per byte. */
const ALL_HEADER_BYTES = String.fromCharCode(
  0x09,
  ...Array.from({ length: 0x7f - 0x20 }, (_, i) => 0x20 + i),
  ...Array.from({ length: 0x80 }, (_, i) => 0x80 + i),
);

/** A poll answer's header getter over a plain object of lower-case names. */
const answer = (headers: Record<string, string>) => (name: string) => headers[name];

describe('encodeHeaderJson', () => {
  it('escapes every character above 0x7F as \\u00XX, leaving pure ASCII', () => {
    const json = encodeHeaderJson({ 'x-bytes': ALL_HEADER_BYTES });
    expect(/^[\x20-\x7e]*$/.test(json)).toBe(true);
    for (let code = 0x80; code <= 0xff; code++) {
      expect(json).toContain(`\\u00${code.toString(16).padStart(2, '0')}`);
    }
  });

  it('writes é as \\u00e9 and ÿ as \\u00ff', () => {
    expect(encodeHeaderJson({ a: 'caf\u00e9 \u00ff' })).toBe('{"a":"caf\\u00e9 \\u00ff"}');
  });

  it('round-trips every header byte, arrays and all, exactly through decodeHeaderJson', () => {
    const headers: HeaderMap = {
      'x-bytes': ALL_HEADER_BYTES,
      'set-cookie': ['a=1; Path=/', 'b=\u00e9\u00ff; HttpOnly', 'c="quoted\\back"'],
      'content-type': 'text/html; charset=iso-8859-1',
    };
    const decoded = decodeHeaderJson(encodeHeaderJson(headers));
    expect({ ...decoded }).toEqual(headers);
    expect(Buffer.from(decoded['x-bytes'] as string, 'latin1')).toEqual(Buffer.from(ALL_HEADER_BYTES, 'latin1'));
  });

  it('rejects characters above U+00FF, which are not bytes', () => {
    expect(() => encodeHeaderJson({ a: 'snowman \u2603' })).toThrow(FpwProtocolError);
    expect(() => encodeHeaderJson({ a: ['ok', '\u0100'] })).toThrow(FpwProtocolError);
    expect(() => encodeHeaderJson({ a: 'emoji \u{1f600}' })).toThrow(FpwProtocolError);
  });
});

describe('decodeHeaderJson', () => {
  it('accepts raw (unescaped) latin-1 characters', () => {
    expect(decodeHeaderJson('{"x":"caf\u00e9 \u00ff\u0080"}')['x']).toBe('caf\u00e9 \u00ff\u0080');
  });

  it('accepts escaped forms, the same as raw ones', () => {
    expect(decodeHeaderJson('{"x":"caf\\u00e9 \\u00FF\\u0080"}')['x']).toBe('caf\u00e9 \u00ff\u0080');
  });

  it('accepts strings and arrays (set-cookie) and lower-cases names', () => {
    const m = decodeHeaderJson('{"Content-Type":"text/plain","Set-Cookie":["a=1","b=2"]}');
    expect(m['content-type']).toBe('text/plain');
    expect(m['set-cookie']).toEqual(['a=1', 'b=2']);
  });

  it('accepts numbers as strings', () => {
    expect(decodeHeaderJson('{"content-length":42}')['content-length']).toBe('42');
  });

  it.each([
    ['not JSON', 'method: GET'],
    ['truncated JSON', '{"a":"b"'],
    ['an array', '["a","b"]'],
    ['null', 'null'],
    ['a string', '"a"'],
    ['a number', '12'],
    ['an object value', '{"a":{"b":"c"}}'],
    ['a boolean value', '{"a":true}'],
    ['a null value', '{"a":null}'],
    ['an array holding a non-string', '{"a":["x",1]}'],
    ['a character no header can carry', '{"a":"line\\nbreak"}'],
  ])('rejects %s with FpwProtocolError', (_what, text) => {
    expect(() => decodeHeaderJson(text)).toThrow(FpwProtocolError);
  });
});

describe('stripHopByHop', () => {
  const message: HeaderMap = {
    'content-type': 'text/plain',
    'content-length': '12',
    'set-cookie': ['a=1', 'b=2'],
    'x-keep': 'yes',
  };

  it.each([
    'connection',
    'keep-alive',
    'transfer-encoding',
    'te',
    'upgrade',
    'proxy-connection',
    'proxy-authenticate',
    'proxy-authorization',
    'trailer',
  ])('removes %s', (name) => {
    const out = stripHopByHop({ ...message, [name]: 'x' });
    expect(name in out).toBe(false);
    expect(out['x-keep']).toBe('yes');
  });

  it('removes every Proxy-* header, not only the ones RFC 9110 names (docs/fpw-protocol.md, step 3)', () => {
    const out = stripHopByHop({ ...message, 'proxy-foo': '1', 'proxy-status': 'cache; error=x' });
    expect(Object.keys(out).filter((n) => n.startsWith('proxy-'))).toEqual([]);
    expect(out['x-keep']).toBe('yes');
  });

  it('removes every header named in Connection, whatever the case and spacing', () => {
    const out = stripHopByHop({
      ...message,
      connection: ['close, X-Hop-One', ' x-hop-two '],
      'x-hop-one': '1',
      'x-hop-two': '2',
    });
    expect(out['x-hop-one']).toBeUndefined();
    expect(out['x-hop-two']).toBeUndefined();
    expect(out['connection']).toBeUndefined();
    expect(out['x-keep']).toBe('yes');
  });

  it('removes fpw-* headers', () => {
    const out = stripHopByHop({ ...message, 'fpw-token': 'secret', 'fpw-host': 'h', 'fpw-id': '1' });
    expect(Object.keys(out).some((n) => n.startsWith('fpw-'))).toBe(false);
  });

  it('keeps content-length unless asked to drop it', () => {
    expect(stripHopByHop(message)['content-length']).toBe('12');
    expect(stripHopByHop(message, { dropContentLength: false })['content-length']).toBe('12');
    expect(stripHopByHop(message, { dropContentLength: true })['content-length']).toBeUndefined();
  });

  it('keeps end-to-end headers, arrays intact, and leaves the input untouched', () => {
    const input: HeaderMap = { ...message, connection: 'x-keep2', 'x-keep2': 'no' };
    const snapshot = structuredClone(input);
    const out = stripHopByHop(input, { dropContentLength: true });
    expect({ ...out }).toEqual({ 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'x-keep': 'yes' });
    expect(input).toEqual(snapshot);
    (out['set-cookie'] as string[]).push('c=3');
    expect(input['set-cookie']).toEqual(['a=1', 'b=2']);
  });
});

describe('parsePollAnswer', () => {
  it('(a) reads fpw-id and the dedicated fpw-method, fpw-url and fpw-ip headers', () => {
    const a = parsePollAnswer(
      answer({
        'fpw-id': 'id-a',
        'fpw-method': 'POST',
        'fpw-url': '/submit?x=1',
        'fpw-ip': '203.0.113.7',
        'fpw-header': encodeHeaderJson({ 'content-type': 'text/plain', 'x-v': 'caf\u00e9' }),
      }),
    );
    expect(a).toEqual({
      kind: 'request',
      request: {
        id: 'id-a',
        method: 'POST',
        path: '/submit?x=1',
        ip: '203.0.113.7',
        headers: { 'content-type': 'text/plain', 'x-v': 'caf\u00e9' },
      },
    });
  });

  it('(a) prefers the dedicated headers over the JSON keys', () => {
    const a = parsePollAnswer(
      answer({
        'fpw-id': 'id-a2',
        'fpw-method': 'PUT',
        'fpw-url': '/dedicated',
        'fpw-ip': '203.0.113.1',
        'fpw-header': JSON.stringify({ method: 'GET', url: '/json', 'x-forwarded-for': '198.51.100.1' }),
      }),
    );
    expect(a.kind).toBe('request');
    if (a.kind !== 'request') return;
    expect(a.request.method).toBe('PUT');
    expect(a.request.path).toBe('/dedicated');
    expect(a.request.ip).toBe('203.0.113.1');
  });

  it('(b) reads only fpw-rid and the JSON keys method, url and x-forwarded-for', () => {
    const a = parsePollAnswer(
      answer({
        'fpw-rid': 'rid-b',
        'fpw-header': JSON.stringify({
          method: 'delete',
          url: '/items/3?force=1',
          'x-forwarded-for': '198.51.100.9, 10.0.0.1',
          accept: '*/*',
        }),
      }),
    );
    expect(a.kind).toBe('request');
    if (a.kind !== 'request') return;
    expect(a.request.id).toBe('rid-b');
    expect(a.request.method).toBe('DELETE');
    expect(a.request.path).toBe('/items/3?force=1');
    expect(a.request.ip).toBe('198.51.100.9');
    expect(a.request.headers['accept']).toBe('*/*');
  });

  it('(c) falls back to fpw-uip for the IP, before the JSON', () => {
    const a = parsePollAnswer(
      answer({
        'fpw-id': 'id-c',
        'fpw-uip': '192.0.2.44',
        'fpw-header': JSON.stringify({ 'x-forwarded-for': '198.51.100.9' }),
      }),
    );
    expect(a.kind === 'request' && a.request.ip).toBe('192.0.2.44');
  });

  it('(c) prefers fpw-ip over fpw-uip', () => {
    const a = parsePollAnswer(answer({ 'fpw-id': 'id-c2', 'fpw-ip': '192.0.2.1', 'fpw-uip': '192.0.2.2' }));
    expect(a.kind === 'request' && a.request.ip).toBe('192.0.2.1');
  });

  it('(d) is idle without an id, keeping fpw-public-url', () => {
    expect(parsePollAnswer(answer({}))).toEqual({ kind: 'idle' });
    expect(parsePollAnswer(answer({ 'fpw-id': '' }))).toEqual({ kind: 'idle' });
    expect(parsePollAnswer(answer({ 'fpw-public-url': 'https://moon.example.com/', 'fpw-header': '{}' }))).toEqual({
      kind: 'idle',
      publicUrl: 'https://moon.example.com/',
    });
  });

  it('(e) reports malformed JSON as kind "malformed" with the id', () => {
    const a = parsePollAnswer(answer({ 'fpw-rid': 'id-e', 'fpw-header': '{not json' }));
    expect(a.kind).toBe('malformed');
    if (a.kind !== 'malformed') return;
    expect(a.id).toBe('id-e');
    expect(a.error).toMatch(/JSON/);
  });

  it('(f) never forwards the pseudo-keys method and url', () => {
    const a = parsePollAnswer(
      answer({
        'fpw-id': 'id-f',
        'fpw-header': JSON.stringify({ Method: 'POST', URL: '/x', 'user-agent': 'curl' }),
      }),
    );
    expect(a.kind).toBe('request');
    if (a.kind !== 'request') return;
    expect(a.request.method).toBe('POST');
    expect(a.request.path).toBe('/x');
    expect(Object.keys(a.request.headers)).toEqual(['user-agent']);
  });

  it('(g) reduces an absolute URL in fpw-url to path and query', () => {
    const a = parsePollAnswer(answer({ 'fpw-id': 'id-g', 'fpw-url': 'https://moon.example.com:8443/a/b?x=1&y=2' }));
    expect(a.kind === 'request' && a.request.path).toBe('/a/b?x=1&y=2');
  });

  it('defaults to GET / when method and URL are absent', () => {
    const a = parsePollAnswer(answer({ 'fpw-id': 'id-default' }));
    expect(a.kind === 'request' && [a.request.method, a.request.path, a.request.ip]).toEqual(['GET', '/', '']);
  });

  it.each(['GE T', 'GET\r\nX: y', '', '(GET)'])('(h) treats the method %j as malformed', (method) => {
    const a = parsePollAnswer(answer({ 'fpw-id': 'id-h', 'fpw-header': JSON.stringify({ method }) }));
    // An empty method in the JSON is a bad token too, not a silent GET.
    expect(a).toMatchObject({ kind: 'malformed', id: 'id-h' });
  });

  it('(h) treats an invalid method in fpw-method as malformed', () => {
    expect(parsePollAnswer(answer({ 'fpw-id': 'id-h2', 'fpw-method': 'GET /x' }))).toMatchObject({
      kind: 'malformed',
      id: 'id-h2',
    });
  });

  it.each(['javascript:alert(1)', 'not a url', '/with space'])('treats the URL %j as malformed', (url) => {
    expect(parsePollAnswer(answer({ 'fpw-id': 'id-u', 'fpw-url': url }))).toMatchObject({
      kind: 'malformed',
      id: 'id-u',
    });
  });
});
