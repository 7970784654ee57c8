// Property tests (fast-check): the codecs and parsers hold for any input, not only the examples.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeHeaderJson,
  encodeHeaderJson,
  stripHopByHop,
  type HeaderMap,
} from '../../src-main/protocol/fpw-codec.ts';
import { isCidr } from '../../src-main/protocol/ip.ts';
import { parseCidr } from '../../src-main/protocol/address.ts';
import {
  FcgiRecordParser,
  FcgiType,
  decodeNameValues,
  encodeNameValue,
  encodeStream,
} from '../../src-main/engine/upstreams/fastcgi-records.ts';
import { isUtf8, parseWireRequest, wireRequest } from '../../src-main/protocol/ggrok.ts';

/** A header value as HTTP allows it (RFC 9110 5.5): tab, visible ASCII, and any byte above 0x7F, as latin-1 characters. */
const headerValue = fc
  .uint8Array({ maxLength: 40 })
  .map((b) => Buffer.from(b.filter((x) => x === 9 || (x >= 0x20 && x !== 0x7f))).toString('latin1'));
const headerName = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
const headerMap: fc.Arbitrary<HeaderMap> = fc.dictionary(
  headerName,
  fc.oneof(headerValue, fc.array(headerValue, { minLength: 2, maxLength: 4 })),
  { maxKeys: 12 },
);

describe('the FPW header codec', () => {
  it('gives back every header map it encodes, byte for byte, in plain ASCII', () => {
    fc.assert(
      fc.property(headerMap, (map) => {
        const json = encodeHeaderJson(map);
        expect(/^[\x20-\x7e]*$/.test(json)).toBe(true);
        expect(decodeHeaderJson(json)).toEqual(map);
      }),
    );
  });

  it('never throws anything but its own error on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          decodeHeaderJson(text);
        } catch (err) {
          expect((err as Error).name).toBe('FpwProtocolError');
        }
      }),
    );
  });

  it('drops every hop-by-hop header and anything Connection names, keeping the rest', () => {
    fc.assert(
      fc.property(headerMap, fc.array(headerName, { maxLength: 3 }), (map, named) => {
        const withConnection: HeaderMap = {
          ...map,
          connection: named.join(', ') || 'close',
          'keep-alive': '5',
          'transfer-encoding': 'chunked',
        };
        const out = stripHopByHop(withConnection);
        for (const name of ['connection', 'keep-alive', 'transfer-encoding', ...named])
          expect(out[name]).toBeUndefined();
        for (const name of Object.keys(map)) {
          if (
            !named.includes(name) &&
            !['connection', 'keep-alive', 'transfer-encoding', 'te', 'upgrade', 'trailer'].includes(name) &&
            !name.startsWith('proxy-') &&
            !name.startsWith('fpw-')
          ) {
            expect(out[name]).toEqual(map[name]);
          }
        }
      }),
    );
  });
});

describe('FastCGI records', () => {
  it('gives back any name-value pairs it encodes, byte for byte', () => {
    const bytes = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b));
    fc.assert(
      fc.property(fc.array(fc.tuple(bytes, bytes), { maxLength: 10 }), (pairs) => {
        const encoded = Buffer.concat(pairs.map(([n, v]) => encodeNameValue(n, v)));
        expect(decodeNameValues(encoded)).toEqual(pairs.map(([n, v]) => [n.toString('latin1'), v.toString('latin1')]));
      }),
    );
  });

  it('refuses name-value data cut short with its own error, never another', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (data) => {
        try {
          decodeNameValues(Buffer.from(data));
        } catch (err) {
          expect((err as Error).name).toBe('FastCgiProtocolError');
        }
      }),
    );
  });

  it('reads a stream of records the same whatever the chunk boundaries', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200_000 }),
        fc.array(fc.integer({ min: 1, max: 70_000 }), { maxLength: 8 }),
        (data, cuts) => {
          const wire = Buffer.concat(encodeStream(FcgiType.Stdout, 1, Buffer.from(data)));
          const parser = new FcgiRecordParser();
          const got: Buffer[] = [];
          let at = 0;
          for (const cut of [...cuts, wire.length]) {
            const end = Math.min(wire.length, at + cut);
            for (const r of parser.push(wire.subarray(at, end)))
              if (r.type === FcgiType.Stdout) got.push(Buffer.from(r.data));
            at = end;
            if (at >= wire.length) break;
          }
          expect(Buffer.concat(got).equals(Buffer.from(data))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('address matching', () => {
  it('accepts as CIDR exactly what it can parse', () => {
    const v4 = fc
      .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255), fc.option(fc.nat(40)))
      .map(([a, b, c, d, p]) => `${a}.${b}.${c}.${d}${p === null ? '' : `/${p}`}`);
    fc.assert(
      fc.property(fc.oneof(v4, fc.string({ maxLength: 20 })), (text) => {
        let parsed = true;
        try {
          parseCidr(text);
        } catch {
          parsed = false;
        }
        expect(isCidr(text)).toBe(parsed);
      }),
    );
  });
});

describe("ggrok's wire format", () => {
  it('reads back any request it writes', () => {
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH');
    const path = fc.stringMatching(/^\/[a-z0-9/?=&%.-]{0,30}$/);
    fc.assert(
      fc.property(method, path, headerMap, fc.uint8Array({ maxLength: 500 }), (m, p, headers, body) => {
        const wire = wireRequest(m, p, 'x.test', headers, Buffer.from(body));
        const back = parseWireRequest(wire);
        expect(back.method).toBe(m);
        expect(back.target).toBe(p);
        expect(back.body.equals(Buffer.from(body))).toBe(true);
        expect(isUtf8(Buffer.from('✓ ok'))).toBe(true);
      }),
    );
  });
});
