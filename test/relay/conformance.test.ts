// HTTP conformance at the relay (RFC 9110, 9112), and what visitors see right after a relay restart.
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { echoHandler, startRelay, startServer, startTunnel } from '../helpers/net.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

/** Sends raw bytes, resolves with everything the relay answered before closing (or 2 s). */
async function raw(port: number, text: string): Promise<string> {
  const s = net.connect(port, '127.0.0.1');
  await once(s, 'connect');
  s.write(text);
  let out = '';
  s.on('data', (c: Buffer) => (out += c.toString('latin1')));
  s.on('error', () => undefined);
  await Promise.race([once(s, 'close'), new Promise((r) => setTimeout(r, 2000))]);
  s.destroy();
  return out;
}

async function served() {
  const relay = await startRelay({ startupGraceMs: 0 });
  cleanups.push(() => relay.close(0));
  const up = await startServer(echoHandler());
  cleanups.push(() => up.close());
  const a = await startTunnel(relay.url, up.url, { profile: { relay: { host: 'a.test', token: 'a' } } });
  cleanups.push(() => a.close(0));
  const b = await startTunnel(relay.url, up.url, { profile: { relay: { host: 'b.test', token: 'b' } } });
  cleanups.push(() => b.close(0));
  return relay;
}

describe('HTTP conformance', () => {
  it('answers 400 to a request with two Host headers (RFC 9112 3.2)', async () => {
    const relay = await served();
    const out = await raw(relay.port, 'GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\nConnection: close\r\n\r\n');
    expect(out.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
  });

  it('answers 505 to a request line of another HTTP version (RFC 9110 15.6.6)', async () => {
    const relay = await served();
    const out = await raw(relay.port, 'GET / HTTP/2.0\r\nHost: a.test\r\nConnection: close\r\n\r\n');
    expect(out.split('\r\n')[0]).toBe('HTTP/1.1 505 HTTP Version Not Supported');
  });

  it('routes an absolute-form target by its own authority, not by Host (RFC 9112 3.2.2)', async () => {
    const relay = await served();
    const out = await raw(
      relay.port,
      'GET http://b.test/abs?x=1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n',
    );
    expect(out.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    const body = JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)) as { url: string; headers: Record<string, string> };
    expect(body.url).toBe('/abs?x=1');
    expect(body.headers['x-forwarded-host']).toBe('b.test');
  });
});

describe('right after a relay starts', () => {
  it('answers hosts it does not know yet 503 with Retry-After (their workers may be coming back), then 404', async () => {
    let now = Date.now();
    const relay = await startRelay({ startupGraceMs: 10_000, now: () => now });
    cleanups.push(() => relay.close(0));
    const early = await raw(relay.port, 'GET / HTTP/1.1\r\nHost: coming-back.test\r\nConnection: close\r\n\r\n');
    expect(early.split('\r\n')[0]).toBe('HTTP/1.1 503 Service Unavailable');
    expect(early).toMatch(/\r\nretry-after: \d+\r\n/i);
    now += 10_001;
    const later = await raw(relay.port, 'GET / HTTP/1.1\r\nHost: coming-back.test\r\nConnection: close\r\n\r\n');
    expect(later.split('\r\n')[0]).toBe('HTTP/1.1 404 Not Found');
  });

  it('answers a visitor WebSocket for a host it does not know the same way, not 501', async () => {
    let now = Date.now();
    const relay = await startRelay({ startupGraceMs: 10_000, now: () => now });
    cleanups.push(() => relay.close(0));
    const upgrade =
      'GET /chat HTTP/1.1\r\nHost: coming-back.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
    const early = await raw(relay.port, upgrade);
    expect(early.split('\r\n')[0]).toBe('HTTP/1.1 503 Service Unavailable');
    expect(early).toMatch(/\r\nretry-after: \d+\r\n/i);
    now += 10_001;
    const later = await raw(relay.port, upgrade);
    expect(later.split('\r\n')[0]).toBe('HTTP/1.1 404 Not Found');
  });
});
