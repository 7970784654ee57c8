import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayServer } from '../../src-main/relay/RelayServer.ts';
import { HttpUpstream } from '../../src-main/engine/upstreams/http.ts';
import WebSocket, { WebSocketServer } from 'ws';
import { echoHandler, startRelay, startTunnel, visit } from '../helpers/net.ts';
import { relayOf } from '../helpers/transports.ts';

let dir: string;
let server: https.Server;
let target: string;
let relay: RelayServer;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'porthole-tls-'));
  const key = path.join(dir, 'k.pem');
  const cert = path.join(dir, 'c.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
  ]);
  server = https.createServer({ key: await readFile(key), cert: await readFile(cert) }, echoHandler());
  // Visitor WebSockets to an HTTPS (wss) service: it echoes, after saying how it was reached.
  new WebSocketServer({ server }).on('connection', (ws, req) => {
    ws.send(`hello over ${req.socket.constructor.name} ${req.url}`);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  target = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  relay = await startRelay();
});

afterAll(async () => {
  await relay?.close(0);
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await rm(dir, { recursive: true, force: true });
});

describe('HTTPS upstream', () => {
  it('refuses a self-signed certificate with a page that names the option', async () => {
    const tunnel = await startTunnel(relay.url, target, { profile: { name: 'dev tls' } });
    try {
      const r = await visit(relay.port, tunnel.profile.relay.host, { path: '/hello' });
      expect(r.status).toBe(502);
      expect(r.headers['content-type']).toContain('text/html');
      const page = r.body.toString();
      expect(page).toContain('dev tls');
      expect(page).toContain(`the certificate of ${target} is not trusted`);
      expect(page).toContain('self-signed');
      expect(page).toContain('accept invalid certificates');
      expect(page).toContain('--insecure-upstream');
      expect(tunnel.log.list().at(-1)?.error).toContain('DEPTH_ZERO_SELF_SIGNED_CERT');
    } finally {
      await tunnel.close(0);
    }
  });

  it('serves through a self-signed certificate with insecure on', async () => {
    const tunnel = await startTunnel(relay.url, target, {
      options: { upstream: new HttpUpstream({ target, insecure: true }) },
    });
    try {
      const r = await visit(relay.port, tunnel.profile.relay.host, { path: '/hello?x=1' });
      expect(r.status).toBe(200);
      const echo = JSON.parse(r.body.toString());
      expect(echo.method).toBe('GET');
      expect(echo.url).toBe('/hello?x=1');
      expect(echo.headers['x-forwarded-proto']).toBe('http');
    } finally {
      await tunnel.close(0);
    }
  });

  it("carries a visitor's WebSocket to a wss service over the WebSocket transport (insecure on)", async () => {
    const tunnel = await startTunnel('http://unused', target, {
      profile: { relay: relayOf('ws', relay) },
      options: { upstream: new HttpUpstream({ target, insecure: true }) },
    });
    const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/live`, { headers: { host: tunnel.profile.relay.host } });
    try {
      const messages: string[] = [];
      ws.on('message', (d: Buffer) => messages.push(d.toString()));
      await once(ws, 'open');
      ws.send('ping through tls');
      for (let i = 0; i < 100 && messages.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(messages).toEqual(['hello over TLSSocket /live', 'ping through tls']);
    } finally {
      ws.terminate();
      await tunnel.close(0);
    }
  });

  it("refuses a visitor's WebSocket to a self-signed wss service with 502 when insecure is off", async () => {
    const tunnel = await startTunnel('http://unused', target, { profile: { relay: relayOf('ws', relay) } });
    const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/live`, { headers: { host: tunnel.profile.relay.host } });
    ws.on('error', () => undefined); // the refused handshake, said again when it is torn down
    try {
      const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
      expect(res.statusCode).toBe(502);
      expect(tunnel.log.list().at(-1)?.error).toContain('SELF_SIGNED');
    } finally {
      ws.terminate();
      await tunnel.close(0);
    }
  });
});
