import { describe, expect, it } from 'vitest';
import {
  FCGI_HEADER_LENGTH,
  FCGI_KEEP_CONN,
  FCGI_MAX_CONTENT,
  FCGI_RESPONDER,
  FastCgiProtocolError,
  FcgiRecordParser,
  FcgiType,
  decodeNameValues,
  encodeBeginRequest,
  encodeHeader,
  encodeNameValue,
  encodeParams,
  encodeRecord,
  encodeStream,
  encodeStreamEnd,
  type FcgiRecord,
} from '../../src-main/engine/upstreams/fastcgi-records.ts';
import { bytes } from '../helpers/net.ts';

/** Reads records back the simple way (whole buffer at hand), to check the encoder independently of the parser. */
function splitRecords(
  buf: Buffer,
): Array<{ version: number; type: number; id: number; content: Buffer; padding: number }> {
  const out = [];
  let at = 0;
  while (at < buf.length) {
    const length = buf.readUInt16BE(at + 4);
    const padding = buf[at + 6]!;
    out.push({
      version: buf[at]!,
      type: buf[at + 1]!,
      id: buf.readUInt16BE(at + 2),
      content: buf.subarray(at + 8, at + 8 + length),
      padding,
    });
    at += 8 + length + padding;
  }
  expect(at).toBe(buf.length);
  return out;
}

function endRequest(requestId: number, appStatus: number, protocolStatus: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt32BE(appStatus, 0);
  body[4] = protocolStatus;
  return encodeRecord(FcgiType.EndRequest, requestId, body);
}

/** Joins the pieces of each stream, so that tests compare whole streams whatever the chunking. */
function summarise(records: FcgiRecord[]): { stdout: Buffer; stderr: Buffer; ends: unknown[]; emptyStdout: number } {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const ends: unknown[] = [];
  let emptyStdout = 0;
  for (const r of records) {
    if (r.type === FcgiType.Stdout) {
      stdout.push(r.data);
      if (!r.data.length) emptyStdout += 1;
    } else if (r.type === FcgiType.Stderr) stderr.push(r.data);
    else ends.push({ requestId: r.requestId, appStatus: r.appStatus, protocolStatus: r.protocolStatus });
  }
  return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), ends, emptyStdout };
}

describe('FastCGI record encoding', () => {
  it('writes the 8-byte header: version 1, type, request id, content and padding lengths', () => {
    const h = encodeHeader(FcgiType.Stdin, 0x1234, 0xabcd, 3);
    expect([...h]).toEqual([1, 5, 0x12, 0x34, 0xab, 0xcd, 3, 0]);
    expect(() => encodeHeader(FcgiType.Stdin, 1, 65_536, 0)).toThrow(RangeError);
  });

  it('pads content to a multiple of 8', () => {
    for (const n of [0, 1, 7, 8, 9, 100]) {
      const rec = encodeRecord(FcgiType.Stdin, 1, Buffer.alloc(n, 0x61));
      expect(rec.length % 8).toBe(0);
      const [r] = splitRecords(rec);
      expect(r!.content.length).toBe(n);
      expect(r!.padding).toBe((8 - (n % 8)) % 8);
    }
  });

  it('encodes BEGIN_REQUEST for the responder role with FCGI_KEEP_CONN', () => {
    const [r] = splitRecords(encodeBeginRequest(1));
    expect(r).toMatchObject({ version: 1, type: FcgiType.BeginRequest, id: 1 });
    expect(r!.content.readUInt16BE(0)).toBe(FCGI_RESPONDER);
    expect(r!.content[2]).toBe(FCGI_KEEP_CONN);
    expect(r!.content.length).toBe(8);
    expect(splitRecords(encodeBeginRequest(1, false))[0]!.content[2]).toBe(0);
  });

  it('uses 1-byte lengths up to 127 and 4-byte lengths (high bit set) above', () => {
    const short = encodeNameValue('AB', 'x'.repeat(127));
    expect(short[0]).toBe(2);
    expect(short[1]).toBe(127);
    expect(short.length).toBe(2 + 2 + 127);

    const long = encodeNameValue('N'.repeat(128), 'v'.repeat(70_000));
    expect(long.readUInt32BE(0)).toBe((0x80000000 | 128) >>> 0);
    expect(long.readUInt32BE(4)).toBe((0x80000000 | 70_000) >>> 0);
    expect(long.length).toBe(8 + 128 + 70_000);
    expect(decodeNameValues(long)).toEqual([['N'.repeat(128), 'v'.repeat(70_000)]]);
  });

  it('counts lengths in bytes and keeps buffers byte for byte', () => {
    const pair = encodeNameValue('NAME', 'caf\u00e9'); // UTF-8: 5 bytes
    expect(pair[1]).toBe(5);
    const latin1 = encodeNameValue('HTTP_X', Buffer.from('caf\u00e9', 'latin1'));
    expect(latin1[1]).toBe(4);
    expect(decodeNameValues(latin1)).toEqual([['HTTP_X', 'caf\u00e9']]);
  });

  it('round-trips parameters, and splits 70 KB of them into records of at most 65,535 bytes', () => {
    const params: Array<[string, string]> = [
      ['SCRIPT_FILENAME', '/srv/app/index.php'],
      ['EMPTY', ''],
      ['HTTP_COOKIE', 'c'.repeat(70_000)],
      ['QUERY_STRING', 'a=1&b=2'],
    ];
    const records = splitRecords(Buffer.concat(encodeParams(7, params)));
    expect(records.length).toBe(3);
    for (const r of records) {
      expect(r.type).toBe(FcgiType.Params);
      expect(r.id).toBe(7);
      expect(r.content.length).toBeLessThanOrEqual(FCGI_MAX_CONTENT);
    }
    expect(records[0]!.content.length).toBe(FCGI_MAX_CONTENT);
    expect(records.at(-1)!.content.length).toBe(0);
    // A pair may straddle two records; the stream, joined, holds every pair.
    expect(decodeNameValues(Buffer.concat(records.map((r) => r.content)))).toEqual(params);
  });

  it('splits 70 KB of STDIN into records of at most 65,535 bytes, and ends the stream with an empty one', () => {
    const data = bytes(70_000, 3);
    const records = splitRecords(
      Buffer.concat([...encodeStream(FcgiType.Stdin, 1, data), encodeStreamEnd(FcgiType.Stdin, 1)]),
    );
    expect(records.map((r) => r.content.length)).toEqual([65_535, 70_000 - 65_535, 0]);
    expect(Buffer.concat(records.map((r) => r.content))).toEqual(data);
    expect(encodeStream(FcgiType.Stdin, 1, Buffer.alloc(0))).toEqual([]);
    expect([...encodeStreamEnd(FcgiType.Params, 1)]).toEqual([1, FcgiType.Params, 0, 1, 0, 0, 0, 0]);
  });

  it('refuses name-value data that is cut short', () => {
    const pair = encodeNameValue('NAME', 'value');
    expect(() => decodeNameValues(pair.subarray(0, pair.length - 1))).toThrow(FastCgiProtocolError);
    expect(() => decodeNameValues(Buffer.from([0x80, 0]))).toThrow(FastCgiProtocolError);
  });
});

describe('FastCGI record parser', () => {
  const stdout = bytes(150_000, 5);
  const stream = Buffer.concat([
    // A management record and a type from the future are skipped.
    encodeRecord(FcgiType.GetValuesResult, 0, encodeNameValue('FCGI_MPXS_CONNS', '0')),
    encodeRecord(42, 1, Buffer.from('unknown')),
    encodeRecord(FcgiType.Stderr, 1, Buffer.from('PHP message: warning\n')),
    ...encodeStream(FcgiType.Stdout, 1, stdout),
    encodeRecord(FcgiType.Stderr, 1, Buffer.from('second line')),
    encodeStreamEnd(FcgiType.Stdout, 1),
    endRequest(1, 255, 0),
  ]);

  it('parses a whole stream at once', () => {
    const s = summarise(new FcgiRecordParser().push(stream));
    expect(s.stdout).toEqual(stdout);
    expect(s.stderr.toString()).toBe('PHP message: warning\nsecond line');
    expect(s.ends).toEqual([{ requestId: 1, appStatus: 255, protocolStatus: 0 }]);
    expect(s.emptyStdout).toBe(1);
  });

  it('gives the same result fed one byte at a time', () => {
    const parser = new FcgiRecordParser();
    const records: FcgiRecord[] = [];
    for (let i = 0; i < stream.length; i++) records.push(...parser.push(stream.subarray(i, i + 1)));
    const s = summarise(records);
    expect(s.stdout).toEqual(stdout);
    expect(s.stderr.toString()).toBe('PHP message: warning\nsecond line');
    expect(s.ends).toEqual([{ requestId: 1, appStatus: 255, protocolStatus: 0 }]);
  });

  it('gives the same result for chunks split at every kind of boundary', () => {
    for (const size of [3, 7, 8, 9, 13, 4096, 65_543]) {
      const parser = new FcgiRecordParser();
      const records: FcgiRecord[] = [];
      for (let at = 0; at < stream.length; at += size) records.push(...parser.push(stream.subarray(at, at + size)));
      const s = summarise(records);
      expect(s.stdout.equals(stdout)).toBe(true);
      expect(s.ends).toHaveLength(1);
    }
  });

  it('reads records without padding, and the protocol status of END_REQUEST', () => {
    const unpadded = Buffer.concat([
      encodeHeader(FcgiType.Stdout, 1, 3, 0),
      Buffer.from('abc'),
      encodeHeader(FcgiType.EndRequest, 1, 8, 0),
      Buffer.from([0, 0, 0, 0, 2, 0, 0, 0]),
    ]);
    const s = summarise(new FcgiRecordParser().push(unpadded));
    expect(s.stdout.toString()).toBe('abc');
    expect(s.ends).toEqual([{ requestId: 1, appStatus: 0, protocolStatus: 2 }]);
  });

  it('refuses a stream that is not FastCGI', () => {
    expect(() => new FcgiRecordParser().push(Buffer.from('HTTP/1.1 200 OK\r\n'))).toThrow(FastCgiProtocolError);
    expect(() => new FcgiRecordParser().push(encodeHeader(FcgiType.EndRequest, 1, 4, 0))).toThrow(/END_REQUEST/);
  });

  it('keeps state across pushes: the header of the next record may be split', () => {
    const parser = new FcgiRecordParser();
    const rec = Buffer.concat([encodeRecord(FcgiType.Stdout, 1, Buffer.from('hello')), endRequest(1, 0, 0)]);
    expect(parser.push(rec.subarray(0, FCGI_HEADER_LENGTH + 5 + 1))).toHaveLength(1);
    const rest = parser.push(rec.subarray(FCGI_HEADER_LENGTH + 5 + 1));
    expect(rest).toEqual([{ type: FcgiType.EndRequest, requestId: 1, appStatus: 0, protocolStatus: 0 }]);
  });
});
