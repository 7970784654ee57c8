import { describe, expect, it } from 'vitest';
import {
  BodyCapture,
  RequestLog,
  recordBytes,
  summarise,
  type RequestRecord,
} from '../../src-main/engine/request-log.ts';

/** A finished record whose response preview holds `previewBytes` bytes. */
function record(id: string, previewBytes = 0): RequestRecord {
  const body = Buffer.alloc(previewBytes, 0x61);
  return {
    id,
    relayId: `relay-${id}`,
    tunnelId: 't1',
    startedAt: 1_700_000_000_000,
    durationMs: 12,
    upstreamMs: 10,
    visitorIp: '127.0.0.1',
    method: 'GET',
    url: `/r/${id}`,
    status: 200,
    requestBytes: 0,
    responseBytes: previewBytes,
    error: null,
    refusedBy: null,
    replayOf: null,
    requestHeaders: [['host', 'example.com']],
    responseHeaders: [['content-type', 'text/plain']],
    requestBody: { bytes: Buffer.alloc(0), size: 0, truncated: false },
    responseBody: { bytes: body, size: previewBytes, truncated: false },
    replayBody: null,
  };
}

const ids = (log: RequestLog) => log.list().map((r) => r.id);

describe('RequestLog', () => {
  it('keeps records oldest first and finds them by id', () => {
    const log = new RequestLog();
    for (const id of ['1', '2', '3']) log.put(record(id));
    expect(ids(log)).toEqual(['1', '2', '3']);
    expect(log.get('2')?.url).toBe('/r/2');
    expect(log.get('nope')).toBeUndefined();
  });

  it('keeps 500 entries by default', () => {
    const log = new RequestLog();
    for (let i = 0; i < 510; i++) log.put(record(String(i)));
    expect(log.size).toBe(500);
    expect(ids(log)[0]).toBe('10');
  });

  it('evicts the oldest records beyond maxEntries', () => {
    const log = new RequestLog({ maxEntries: 3 });
    for (const id of ['1', '2', '3', '4', '5']) log.put(record(id));
    expect(ids(log)).toEqual(['3', '4', '5']);
    expect(log.get('1')).toBeUndefined();
    expect(log.bytes).toBe(['3', '4', '5'].reduce((n, id) => n + recordBytes(record(id)), 0));
  });

  it('evicts the oldest records beyond maxBytes', () => {
    const one = recordBytes(record('1', 1000));
    const log = new RequestLog({ maxBytes: one * 3 });
    for (const id of ['1', '2', '3']) log.put(record(id, 1000));
    expect(log.size).toBe(3);
    log.put(record('4', 1000));
    expect(ids(log)).toEqual(['2', '3', '4']);
    expect(log.bytes).toBeLessThanOrEqual(log.maxBytes);
    // A large record pushes out as many old ones as it needs.
    log.put(record('5', 2000));
    expect(ids(log)).toEqual(['4', '5']);
    expect(log.bytes).toBe(recordBytes(record('4', 1000)) + recordBytes(record('5', 2000)));
  });

  it('replacing a record by id does not count its bytes twice', () => {
    const log = new RequestLog();
    log.put(record('a', 100));
    log.put(record('b', 100));
    const before = log.bytes;
    log.put(record('a', 100));
    log.put(record('a', 100));
    expect(log.size).toBe(2);
    expect(log.bytes).toBe(before);
    log.put(record('a', 300));
    expect(log.bytes).toBe(recordBytes(record('a', 300)) + recordBytes(record('b', 100)));
    expect(log.get('a')?.responseBody.bytes.length).toBe(300);
  });

  it('replacing a record moves it to the newest end', () => {
    const log = new RequestLog({ maxEntries: 2 });
    log.put(record('a'));
    log.put(record('b'));
    log.put(record('a'));
    log.put(record('c'));
    expect(ids(log)).toEqual(['a', 'c']);
  });

  it('keeps the newest record even when it alone is over the byte budget', () => {
    const log = new RequestLog({ maxBytes: 100 });
    log.put(record('small'));
    log.put(record('huge', 10_000));
    expect(ids(log)).toEqual(['huge']);
    expect(log.bytes).toBe(recordBytes(record('huge', 10_000)));
  });

  it('clear() empties the log and its byte count', () => {
    const log = new RequestLog({ maxEntries: 2 });
    log.put(record('1', 10));
    log.put(record('2', 10));
    log.clear();
    expect(log.size).toBe(0);
    expect(log.bytes).toBe(0);
    expect(log.list()).toEqual([]);
    log.put(record('3'));
    log.put(record('4'));
    expect(ids(log)).toEqual(['3', '4']);
  });

  it('summarise() keeps the list fields and drops headers and bodies', () => {
    const s = summarise(record('x', 10));
    expect(s).toEqual({
      id: 'x',
      relayId: 'relay-x',
      tunnelId: 't1',
      startedAt: 1_700_000_000_000,
      durationMs: 12,
      upstreamMs: 10,
      visitorIp: '127.0.0.1',
      method: 'GET',
      url: '/r/x',
      status: 200,
      requestBytes: 0,
      responseBytes: 10,
      error: null,
      refusedBy: null,
      replayOf: null,
    });
  });
});

describe('BodyCapture', () => {
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff));

  /** Pushes `body` in chunks of `chunk` bytes. */
  function capture(previewCap: number, keepCap: number, body: Buffer, chunk = 7): BodyCapture {
    const c = new BodyCapture(previewCap, keepCap);
    for (let i = 0; i < body.length; i += chunk) c.push(body.subarray(i, i + chunk));
    return c;
  }

  it('keeps a preview of the cap, the real size and a truncated flag', () => {
    const c = capture(100, 0, data);
    const p = c.preview();
    expect(p.bytes).toEqual(data.subarray(0, 100));
    expect(p.size).toBe(1000);
    expect(p.truncated).toBe(true);
    expect(c.size).toBe(1000);
  });

  it('is not truncated when the body fits the preview', () => {
    const p = capture(2000, 0, data).preview();
    expect(p.bytes).toEqual(data);
    expect(p.size).toBe(1000);
    expect(p.truncated).toBe(false);
  });

  it('whole() returns the body when it is under the keep cap', () => {
    const c = capture(100, 1000, data);
    expect(c.whole()).toEqual(data);
    const p = c.preview();
    expect(p.bytes).toEqual(data.subarray(0, 100));
    expect(p.truncated).toBe(true);
  });

  it('whole() returns null when the body is above the keep cap', () => {
    const c = capture(100, 999, data);
    expect(c.whole()).toBeNull();
    expect(c.size).toBe(1000);
    expect(c.preview().bytes).toEqual(data.subarray(0, 100));
  });

  it('whole() returns the preview-sized body when keepCap is 0', () => {
    expect(capture(2000, 0, data).whole()).toEqual(data);
    expect(capture(100, 0, data).whole()).toBeNull();
  });

  it('does not keep the large buffer a small body was read into alive', () => {
    // A 100-byte answer that arrived as a slice of a 64 KiB socket read.
    const read = Buffer.alloc(64 * 1024, 1);
    const c = new BodyCapture(1000, 0);
    c.push(read.subarray(500, 600));
    const p = c.preview();
    expect(p.bytes).toEqual(read.subarray(500, 600));
    expect(p.bytes.buffer.byteLength).toBeLessThan(1024);
    // Copied once: the preview and the replay body of a small request are the same bytes in memory.
    const r = new BodyCapture(1000, 1000);
    r.push(read.subarray(0, 100));
    expect(r.preview().bytes).toBe(r.whole());
    // A chunk that is most of its buffer is kept as it is: copying it would only cost.
    const whole = Buffer.alloc(4096, 2);
    const d = new BodyCapture(8192, 0);
    d.push(whole);
    expect(d.preview().bytes.buffer).toBe(whole.buffer);
  });

  it('handles an empty body', () => {
    const c = new BodyCapture(10, 10);
    expect(c.preview()).toEqual({ bytes: Buffer.alloc(0), size: 0, truncated: false });
    expect(c.whole()).toEqual(Buffer.alloc(0));
  });
});
