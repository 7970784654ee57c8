// Connections that never finish their headers, or come by the hundred from one address, must not
// hold the relay: every connection has a deadline for its head, and connections are capped per address.
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayServer } from '../../src-main/relay/RelayServer.ts';
import { startRelay, visit } from '../helpers/net.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function relayWith(opts: Parameters<typeof startRelay>[0]): Promise<{ relay: RelayServer; lines: string[] }> {
  const lines: string[] = [];
  const relay = await startRelay({ ...opts, log: (l) => lines.push(l) });
  cleanups.push(() => relay.close(0));
  return { relay, lines };
}

function dial(port: number, from = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: from }, () => resolve(s));
    s.once('error', reject);
  });
}

async function closedWith(s: net.Socket): Promise<string> {
  let text = '';
  s.on('data', (c: Buffer) => (text += c.toString('latin1')));
  s.on('error', () => undefined);
  await once(s, 'close');
  return text;
}

describe('hostile connections', () => {
  it('closes a connection that never finishes its headers (slowloris) and one that sends nothing, at its deadline', async () => {
    const { relay } = await relayWith({ headersTimeoutMs: 500 });
    const slow = await dial(relay.port);
    slow.write('GET / HTTP/1.1\r\nHost: x.test\r\nX-a: 1\r\n');
    const silent = await dial(relay.port);
    const [slowText, silentText] = await Promise.all([closedWith(slow), closedWith(silent)]);
    expect(slowText.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(silentText === '' || silentText.startsWith('HTTP/1.1 408')).toBe(true);
    // The relay goes on serving.
    expect((await visit(relay.port, 'nobody.test')).status).toBe(404);
  });

  it('caps connections per address, says so in its log, and serves other addresses meanwhile', async () => {
    const { relay, lines } = await relayWith({ maxConnectionsPerIp: 5 });
    const held = await Promise.all(Array.from({ length: 5 }, () => dial(relay.port)));
    const extra = await dial(relay.port);
    expect(await closedWith(extra)).toMatch(/^HTTP\/1\.1 503 /);
    expect(lines.some((l) => /refused a connection from 127\.0\.0\.1: 5 open/.test(l))).toBe(true);
    const other = await dial(relay.port, '127.0.0.2');
    other.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(await closedWith(other)).toMatch(/^HTTP\/1\.1 200 /);
    for (const s of held) s.destroy();
  });
});

describe('under 1,000 idle and slowloris connections', () => {
  it('keeps answering visitors at once, and closes every one of them within its head deadline', async () => {
    const { relay } = await relayWith({ headersTimeoutMs: 2000 });
    const sockets: net.Socket[] = [];
    const trickles: NodeJS.Timeout[] = [];
    // 250 from each of four addresses: under the per-address cap, 1,000 in all; half of them send
    // nothing, half trickle a header a byte at a time and never finish.
    for (let a = 0; a < 4; a++) {
      const batch = await Promise.all(Array.from({ length: 250 }, () => dial(relay.port, `127.0.0.${10 + a}`)));
      batch.forEach((s, i) => {
        s.on('error', () => undefined);
        s.on('data', () => undefined);
        if (i % 2 === 0) {
          s.write('GET / HTTP/1.1\r\nHost: slow.test\r\nX-Slow: ');
          trickles.push(setInterval(() => s.writable && s.write('x'), 300));
        }
      });
      sockets.push(...batch);
    }
    const opened = Date.now();
    // Visitors meanwhile: every one answered, none kept waiting.
    let slowest = 0;
    for (let i = 0; i < 20; i++) {
      const t0 = Date.now();
      expect((await visit(relay.port, 'nobody.test')).status).toBe(404);
      slowest = Math.max(slowest, Date.now() - t0);
    }
    expect(slowest).toBeLessThan(2000);
    // Every idle and slowloris connection is closed by its deadline (2 s, checked every 0.5 s).
    await Promise.all(sockets.map((s) => (s.destroyed ? Promise.resolve() : once(s, 'close'))));
    for (const t of trickles) clearInterval(t);
    expect(Date.now() - opened).toBeLessThan(6000);
  }, 30_000);
});
