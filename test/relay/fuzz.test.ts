// Malformed HTTP thrown at the relay from raw sockets (a seeded fuzz run, the same each time): the
// relay stays up, answers each with an error or a close, and keeps serving valid visitors and workers.
import fc from 'fast-check';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tunnel } from '../../src-main/engine/Tunnel.ts';
import type { RelayServer } from '../../src-main/relay/RelayServer.ts';
import { echoHandler, startRelay, startServer, startTunnel, visit, type Server } from '../helpers/net.ts';

let relay: RelayServer;
let upstream: Server;
let tunnel: Tunnel;

beforeAll(async () => {
  relay = await startRelay({ headersTimeoutMs: 1000 });
  upstream = await startServer(echoHandler());
  tunnel = await startTunnel(relay.url, upstream.url, { profile: { relay: { host: 'fuzzed.test', token: 'real' } } });
});
afterAll(async () => {
  await tunnel.close(0);
  await relay.close(0);
  await upstream.close();
});

/** Sends bytes on a fresh connection; resolves once the relay answered and closed, or after 1.5 s. */
function throwAt(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(bytes));
    s.on('data', () => undefined);
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    setTimeout(() => {
      s.destroy();
      resolve();
    }, 1500).unref();
  });
}

const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{0,12}$/);
const junk = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1'));
const line = fc.oneof(
  fc.tuple(token, junk).map(([n, v]) => `${n}: ${v}`),
  junk,
  fc.constantFrom(
    'Host: fuzzed.test',
    'Host: a\r\nHost: b',
    'Transfer-Encoding: chunked',
    'Content-Length: -1',
    'Content-Length: 99999999999',
    'fpw-host: fuzzed.test',
    'fpw-token: wrong',
    'fpw-id: 00',
    'fpw-status: 999',
    'fpw-header: {"x":',
    'Upgrade: websocket',
    'Connection: Upgrade',
  ),
);
const requestLine = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('GET', 'POST', 'PUT', 'CONNECT', 'X', ''),
      fc.oneof(junk, fc.constant('/'), fc.constant('http://fuzzed.test/')),
      fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', ''),
    )
    .map(([m, t, v]) => `${m} ${t} ${v}`),
  junk,
);
const request = fc
  .tuple(
    requestLine,
    fc.array(line, { maxLength: 12 }),
    fc.oneof(junk, fc.constant('0\r\n\r\n'), fc.constant('zz\r\nboom')),
  )
  .map(([first, headers, body]) => Buffer.from(`${first}\r\n${headers.join('\r\n')}\r\n\r\n${body}`, 'latin1'));

describe('the relay under malformed HTTP', () => {
  it('stays up, and serves visitors and its worker as before, after 300 malformed requests', async () => {
    const samples = fc.sample(request, { numRuns: 300, seed: 20261130 });
    for (let i = 0; i < samples.length; i += 20) {
      await Promise.all(samples.slice(i, i + 20).map((b) => throwAt(relay.port, b)));
    }
    const health = await visit(relay.port, '127.0.0.1', { path: '/healthz' });
    expect(health.status).toBe(200);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        visit(relay.port, 'fuzzed.test', { path: '/who', headers: { 'x-marker': `after-${i}` } }),
      ),
    );
    results.forEach((r, i) => expect(r.body.toString()).toBe(`after-${i}`));
    expect(tunnel.state.phase).toBe('online');
  }, 60_000);
});
