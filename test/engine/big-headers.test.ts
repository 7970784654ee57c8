// A reply whose head is too large for the relay (an upstream header of 45,000 bytes above 0x7F grows
// sixfold in fpw-header) must cost its visitor a quick 502, not the tunnel's health.
import net from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { Tunnel } from '../../src-main/engine/Tunnel.ts';
import { startRelay, startServer, startTunnel, visit } from '../helpers/net.ts';
import { TRANSPORTS, relayOf } from '../helpers/transports.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

const HUGE = Buffer.alloc(45_000, 0xe9).toString('latin1');

describe.each(TRANSPORTS)('an upstream header too large to carry (%s)', (kind) => {
  it('answers that visitor 502 at once, and the tunnel goes on serving without a reconnect', async () => {
    const relay = await startRelay();
    cleanups.push(() => relay.close(0));
    const up = await startServer((req, res) => {
      if (req.url === '/huge') res.setHeader('x-huge', HUGE);
      res.end(`ok ${req.url}`);
    });
    cleanups.push(() => up.close());
    const tunnel: Tunnel = await startTunnel(relay.url, up.url, { profile: { relay: relayOf(kind, relay) } });
    cleanups.push(() => tunnel.close(0));
    const phases: string[] = [];
    tunnel.on('status', (s) => phases.push(s.state.phase));
    const host = tunnel.profile.relay.host;
    const r = await visit(relay.port, host, { path: '/huge' });
    expect(r.status).toBe(502);
    const next = await Promise.all(Array.from({ length: 10 }, (_, i) => visit(relay.port, host, { path: `/next${i}` })));
    next.forEach((n, i) => expect(n.body.toString()).toBe(`ok /next${i}`));
    expect(phases).not.toContain('reconnecting');
    const record = tunnel.log.list().find((x) => x.url === '/huge');
    expect(record?.error).toMatch(/headers/);
  });
});

describe('a worker of another kind whose reply head is over the relay limit', () => {
  it("gets a 431 that says why, and that reply's visitor a 502 at once", async () => {
    const relay = await startRelay();
    cleanups.push(() => relay.close(0));
    const poll = request(`${relay.url}/`, {
      method: 'POST',
      headers: { 'fpw-host': 'raw.test', 'fpw-token': 't', 'content-length': '0' },
    });
    // The relay holds the poll: a visitor comes.
    await new Promise((r) => setTimeout(r, 100));
    const visitor = visit(relay.port, 'raw.test', { path: '/for-raw' });
    const answer = await poll;
    const id = String(answer.headers['fpw-id']);
    await answer.body.dump();
    const s = net.connect(relay.port, '127.0.0.1');
    const head =
      `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nfpw-host: raw.test\r\nfpw-token: t\r\nfpw-id: ${id}\r\nfpw-status: 200\r\n` +
      `fpw-header: {"x":"${'\\u00e9'.repeat(50_000)}"}\r\ncontent-length: 0\r\n\r\n`;
    s.write(head);
    let reply = '';
    s.on('data', (c: Buffer) => (reply += c.toString('latin1')));
    s.on('error', () => undefined);
    const v = await visitor;
    expect(v.status).toBe(502);
    expect(v.body.toString()).toMatch(/too large/);
    await new Promise((r) => setTimeout(r, 100));
    expect(reply.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    s.destroy();
  });
});
