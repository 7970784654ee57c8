import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayServer } from '../../src-main/relay/RelayServer.ts';
import type { Tunnel } from '../../src-main/engine/Tunnel.ts';
import {
  bytes,
  echoHandler,
  sha256,
  startRelay,
  startServer,
  startTunnel,
  visit,
  type Server,
} from '../helpers/net.ts';
import { TRANSPORTS, relayOf } from '../helpers/transports.ts';

// Every check runs over each transport: FPW long-polls and the WebSocket transport.
describe.each(TRANSPORTS)('over %s', (kind) => {
  let relay: RelayServer;
  let upstream: Server;
  let tunnel: Tunnel;
  const host = () => tunnel.profile.relay.host;

  beforeAll(async () => {
    relay = await startRelay();
    upstream = await startServer(echoHandler());
    tunnel = await startTunnel(relay.url, upstream.url, { profile: { workers: 8, relay: relayOf(kind, relay) } });
  });

  afterAll(async () => {
    await tunnel?.close(0);
    await relay?.close(0);
    await upstream?.close();
  });

  describe(`HTTP through relay and worker (${kind})`, () => {
    it('comes online with the public URL the relay announced', () => {
      expect(tunnel.state.phase).toBe('online');
      expect(tunnel.publicUrl).toBe(`http://${host()}:${relay.port}/`);
    });

    it.each(['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'PROPFIND', 'PURGE'])(
      'forwards %s with its query string',
      async (method) => {
        const body = method === 'GET' || method === 'TRACE' ? undefined : Buffer.from(`body of ${method}`);
        const r = await visit(relay.port, host(), {
          method,
          path: '/p/a%20th?x=1&y=%C3%A9',
          ...(body ? { body } : {}),
        });
        expect(r.status).toBe(200);
        const echo = JSON.parse(r.body.toString());
        expect(echo.method).toBe(method);
        expect(echo.url).toBe('/p/a%20th?x=1&y=%C3%A9');
        expect(echo.bodySha).toBe(sha256(body ?? Buffer.alloc(0)));
      },
    );

    it('forwards HEAD without a body and with the upstream length', async () => {
      const r = await visit(relay.port, host(), { method: 'HEAD', path: '/bytes/1234' });
      expect(r.status).toBe(200);
      expect(r.body.length).toBe(0);
      expect(r.headers['content-length']).toBe('1234');
    });

    it.each([0, 1, 65_536, 1024 * 1024 + 7, 10 * 1024 * 1024])('carries a %i-byte body both ways intact', async (n) => {
      const payload = bytes(n, n + 3);
      const up = await visit(relay.port, host(), { method: 'POST', path: '/echo', body: payload });
      expect(up.status).toBe(200);
      const echo = JSON.parse(up.body.toString());
      expect(echo.bodyLength).toBe(n);
      expect(echo.bodySha).toBe(sha256(payload));
      const down = await visit(relay.port, host(), { path: `/bytes/${n}` });
      expect(down.status).toBe(200);
      expect(down.body.length).toBe(n);
      expect(sha256(down.body)).toBe(sha256(bytes(n, 7)));
    });

    it('delivers header bytes above 0x7F exactly, in both directions', async () => {
      const value = 'caf\u00e9 \u00ff\u0080\u00a0end';
      const r = await visit(relay.port, host(), { headers: { 'x-bytes': value } });
      const echo = JSON.parse(r.body.toString());
      const i = echo.rawHeaders.findIndex((h: string) => h.toLowerCase() === 'x-bytes');
      // The echo server read the header as latin-1: one character per byte, as the visitor sent it.
      expect(Buffer.from(echo.rawHeaders[i + 1], 'latin1')).toEqual(Buffer.from(value, 'latin1'));
      const back = await visit(relay.port, host(), { path: '/latin1' });
      expect(Buffer.from(String(back.headers['x-latin1']), 'latin1')).toEqual(
        Buffer.from('caf\u00e9 \u00ff\u0080', 'latin1'),
      );
    });

    it('keeps three set-cookie headers apart', async () => {
      const r = await visit(relay.port, host(), { path: '/cookies' });
      expect(r.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; HttpOnly', 'c=3; SameSite=Lax']);
    });

    it('passes redirects through untouched', async () => {
      const r = await visit(relay.port, host(), { path: '/redirect' });
      expect(r.status).toBe(302);
      expect(r.headers['location']).toBe('/elsewhere?x=1');
    });

    it('rewrites Host to the upstream and adds X-Forwarded-*', async () => {
      const r = await visit(relay.port, host(), { path: '/h' });
      const echo = JSON.parse(r.body.toString());
      expect(echo.headers.host).toBe(new URL(upstream.url).host);
      expect(echo.headers['x-forwarded-host']).toBe(host());
      expect(echo.headers['x-forwarded-proto']).toBe('http');
      expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
      for (const name of Object.keys(echo.headers)) expect(name.startsWith('fpw-')).toBe(false);
    });

    it('answers 200 concurrent visitors over 8 workers, each with its own response', async () => {
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          visit(relay.port, host(), { path: `/who?delay=${i % 5}`, headers: { 'x-marker': `visitor-${i}` } }),
        ),
      );
      results.forEach((r, i) => {
        expect(r.status).toBe(200);
        expect(r.body.toString()).toBe(`visitor-${i}`);
      });
    });

    it('logs each request with its summary and previews', async () => {
      const r = await visit(relay.port, host(), { method: 'POST', path: '/logged?q=1', body: 'hello log' });
      expect(r.status).toBe(200);
      const record = tunnel.log.list().find((x) => x.url === '/logged?q=1');
      expect(record).toBeDefined();
      expect(record!.method).toBe('POST');
      expect(record!.status).toBe(200);
      expect(record!.visitorIp).toBe('127.0.0.1');
      expect(record!.requestBody.bytes.toString()).toBe('hello log');
      expect(record!.replayBody?.toString()).toBe('hello log');
      expect(record!.responseBody.size).toBe(r.body.length);
    });
  });
});
