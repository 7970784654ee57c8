// Porthole's WebSocket transport: one connection to the relay carries every request at once, each
// with its own flow control; errors, claims, stopping, heartbeats and restarts as over FPW.
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Backoff } from '../../src-main/engine/backoff.ts';
import type { Tunnel } from '../../src-main/engine/Tunnel.ts';
import type { RelayServer } from '../../src-main/relay/RelayServer.ts';
import {
  bytes,
  echoHandler,
  sha256,
  startRelay,
  startServer,
  startTunnel,
  until,
  visit,
  type Server,
} from '../helpers/net.ts';
import { relayOf } from '../helpers/transports.ts';
import { TUNNEL_PROTOCOL } from '../../src-main/protocol/ws-tunnel.ts';
import { WebSocket } from 'ws';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

const quickBackoff = () => new Backoff({ baseMs: 50, capMs: 200, floorMs: 20 });

async function relayWith(opts: Parameters<typeof startRelay>[0] = {}): Promise<RelayServer> {
  const relay = await startRelay(opts);
  cleanups.push(() => relay.close(0));
  return relay;
}

async function server(handler: http.RequestListener): Promise<Server> {
  const s = await startServer(handler);
  cleanups.push(() => s.close());
  return s;
}

async function wsTunnel(relay: RelayServer | string, target: string, spec: Parameters<typeof startTunnel>[2] = {}) {
  const url = typeof relay === 'string' ? relay : relayOf('ws', relay).url;
  const { relay: fields, ...rest } = spec.profile ?? {};
  const tunnel = await startTunnel('http://unused', target, {
    ...spec,
    profile: { ...rest, relay: { kind: 'ws', url, ...fields } },
  });
  cleanups.push(() => tunnel.close(0));
  return tunnel;
}

function nextPhase(tunnel: Tunnel, phase: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (): void => {
      if (tunnel.state.phase !== phase) return;
      tunnel.off('status', on);
      resolve();
    };
    tunnel.on('status', on);
  });
}

/** A raw GET that reads its answer only when told to: a slow reader. */
function lazyGet(port: number, host: string, path: string) {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  socket.pause();
  return {
    read: async (): Promise<Buffer> => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.resume();
      await once(socket, 'end');
      const all = Buffer.concat(chunks);
      return all.subarray(all.indexOf('\r\n\r\n') + 4);
    },
  };
}

describe('an idle WebSocket worker', () => {
  it('keeps its host past the claim grace period: the relay does not let go of a host whose worker is connected', async () => {
    const relay = await relayWith({ claimGraceMs: 300 });
    const up = await server(echoHandler());
    const tunnel = await wsTunnel(relay, `http://127.0.0.1:${up.port}`);
    // Idle for several sweeps (once a second) past the grace period.
    await new Promise((r) => setTimeout(r, 2500));
    expect(relay.hosts().map((h) => h.host)).toContain(tunnel.profile.relay.host);
    const res = await visit(relay.port, tunnel.profile.relay.host, { path: '/still-here' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString()).url).toBe('/still-here');
  });
});

describe('the WebSocket transport', () => {
  it('runs 100 streams over one connection: a reader that stalls on 16 MiB holds up none of the other 99', async () => {
    const relay = await relayWith();
    const up = await server(echoHandler());
    const tunnel = await wsTunnel(relay, up.url);
    const host = tunnel.profile.relay.host;
    const stalled = lazyGet(relay.port, host, `/bytes/${16 * 1024 * 1024}`);
    const others = await Promise.all(
      Array.from({ length: 99 }, (_, i) =>
        visit(relay.port, host, { path: `/bytes/${1024 * 1024}`, headers: { 'x-i': String(i) } }),
      ),
    );
    for (const r of others) {
      expect(r.status).toBe(200);
      expect(sha256(r.body)).toBe(sha256(bytes(1024 * 1024, 7)));
    }
    const body = await stalled.read();
    expect(body.length).toBe(16 * 1024 * 1024);
    expect(sha256(body)).toBe(sha256(bytes(16 * 1024 * 1024, 7)));
  }, 60_000);

  it('serves one host from an FPW worker and a WebSocket worker at once, every visitor answered', async () => {
    const relay = await relayWith();
    const up = await server(echoHandler());
    const fields = { host: 'both-kinds.test', token: 'shared' };
    const fpw = await startTunnel(relay.url, up.url, { profile: { relay: fields } });
    cleanups.push(() => fpw.close(0));
    const ws = await wsTunnel(relay, up.url, { profile: { relay: fields } });
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        visit(relay.port, 'both-kinds.test', { path: `/who?delay=${i % 4}`, headers: { 'x-marker': `v${i}` } }),
      ),
    );
    results.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe(`v${i}`);
    });
    expect(fpw.snapshot().counters.requests).toBeGreaterThan(0);
    expect(ws.snapshot().counters.requests).toBeGreaterThan(0);
    expect(fpw.snapshot().counters.requests + ws.snapshot().counters.requests).toBe(60);
  });

  it("carries the upstream's own reason phrase, which FPW cannot", async () => {
    const relay = await relayWith();
    const up = await server((_req, res) => {
      res.statusCode = 418;
      res.statusMessage = 'I am a teapot';
      res.end('short and stout');
    });
    const tunnel = await wsTunnel(relay, up.url);
    const raw = await new Promise<string>((resolve) => {
      const s = net.connect(relay.port, '127.0.0.1', () =>
        s.write(`GET / HTTP/1.1\r\nHost: ${tunnel.profile.relay.host}\r\nConnection: close\r\n\r\n`),
      );
      let text = '';
      s.on('data', (c: Buffer) => (text += c.toString('latin1')));
      s.on('end', () => resolve(text));
    });
    expect(raw.split('\r\n')[0]).toBe('HTTP/1.1 418 I am a teapot');
    expect(raw.endsWith('short and stout')).toBe(true);
  });
});

describe('errors over the WebSocket transport', () => {
  it('answers 502 when the upstream is down, 504 when it is too slow, and aborts a body that breaks off', async () => {
    const relay = await relayWith();
    const free = net.createServer();
    free.listen(0, '127.0.0.1');
    await once(free, 'listening');
    const downPort = (free.address() as AddressInfo).port;
    free.close();
    const down = await wsTunnel(relay, `http://127.0.0.1:${downPort}`, { profile: { name: 'my shop' } });
    const r = await visit(relay.port, down.profile.relay.host);
    expect(r.status).toBe(502);
    expect(r.body.toString()).toContain('my shop');

    const slow = await server((_req, res) => setTimeout(() => res.end('late'), 3000));
    const slowTunnel = await wsTunnel(relay, slow.url, { profile: { upstreamTimeoutMs: 1000 } });
    expect((await visit(relay.port, slowTunnel.profile.relay.host)).status).toBe(504);

    const dying = await server((_req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(30_000, 1));
      setTimeout(() => res.destroy(), 50);
    });
    const dyingTunnel = await wsTunnel(relay, dying.url);
    await expect(visit(relay.port, dyingTunnel.profile.relay.host)).rejects.toThrow();
    // The tunnel goes on.
    expect(dyingTunnel.state.phase).toBe('online');
  });

  it("refuses a second token for a taken host and hosts outside --domain, with the relay's message", async () => {
    const relay = await relayWith({ domain: 'example.test' });
    const up = await server(echoHandler());
    await wsTunnel(relay, up.url, { profile: { relay: { host: 'a.example.test', token: 'one' } } });
    const second = await wsTunnel(relay, up.url, {
      profile: { relay: { host: 'a.example.test', token: 'two' } },
      wait: false,
    });
    await expect(second.whenOnline()).rejects.toThrow(/HTTP 403.*already claimed/);
    const outside = await wsTunnel(relay, up.url, {
      profile: { relay: { host: 'b.other.test', token: 'x' } },
      wait: false,
    });
    await expect(outside.whenOnline()).rejects.toThrow(/HTTP 403.*under example\.test/);
  });

  it('refuses a worker that does not offer the tunnel protocol (an older Porthole), saying why', async () => {
    const relay = await relayWith();
    const ws = new WebSocket(new URL('/_porthole/tunnel', relayOf('ws', relay).url), {
      headers: { 'fpw-host': 'old.localhost', 'fpw-token': 't' },
    });
    ws.on('error', () => undefined);
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, http.IncomingMessage];
    const body = (await res.toArray()).join('');
    expect(res.statusCode).toBe(400);
    expect(body).toContain(TUNNEL_PROTOCOL);
    ws.terminate();
  });
});

describe('connection loss over the WebSocket transport', () => {
  it('comes back by itself after a relay restart; a visitor in flight hears that the relay shut down', async () => {
    const up = await server((req, res) => {
      if (req.url === '/hang') return; // never answers
      res.end(`ok ${req.url}`);
    });
    let relay = await startRelay();
    const port = relay.port;
    const tunnel = await wsTunnel(relay, up.url, { options: { backoff: quickBackoff() } });
    const host = tunnel.profile.relay.host;
    const hanging = visit(port, host, { path: '/hang' }).then(
      (r) => r.status,
      () => 'cut',
    );
    await until(() => relay.hosts().some((h) => h.host === host && h.pending === 1), 'the request in flight');
    const down = nextPhase(tunnel, 'reconnecting');
    await relay.close(0);
    expect(await hanging).toBe(503);
    await down;
    const back = nextPhase(tunnel, 'online');
    relay = await startRelay({ port });
    const fresh = relay;
    cleanups.push(() => fresh.close(0));
    await back;
    const r = await visit(port, host, { path: '/after' });
    expect(r.body.toString()).toBe('ok /after');
  });

  it('notices a connection that went silent (a frozen link) on both sides: its visitor gets a 502, the worker reconnects', async () => {
    const relay = await relayWith({ heartbeatMs: 200 });
    const echo = echoHandler();
    const up = await server((req, res) => {
      if (req.url === '/hang') return; // answers nothing
      echo(req, res);
    });
    const link = await freezableProxy(relay.port);
    const tunnel = await wsTunnel(`ws://127.0.0.1:${link.port}/`, up.url, {
      options: { backoff: quickBackoff(), deadAfterMs: 800 },
    });
    expect(link.connections()).toBe(1);
    const host = tunnel.profile.relay.host;
    const inFlight = visit(relay.port, host, { path: '/hang' });
    await until(() => relay.hosts().some((h) => h.host === host && h.pending === 1), 'the request in flight');
    const down = nextPhase(tunnel, 'reconnecting');
    link.freeze();
    const cut = await inFlight;
    expect(cut.status).toBe(502);
    expect(cut.body.toString()).toContain('went away before it answered');
    await down;
    link.thaw();
    await nextPhase(tunnel, 'online');
    expect(link.connections()).toBe(2);
    const r = await visit(relay.port, tunnel.profile.relay.host, { path: '/after-freeze' });
    expect(r.status).toBe(200);
  }, 20_000);

  it('stops at once for new visitors (503), and answers one in flight past the grace with the tunnel 502', async () => {
    const relay = await relayWith();
    const up = await server((req, res) => {
      const timer = setTimeout(() => res.end('done'), req.url === '/slow' ? 5000 : 0);
      res.once('close', () => clearTimeout(timer));
    });
    const tunnel = await wsTunnel(relay, up.url);
    const host = tunnel.profile.relay.host;
    const slow = visit(relay.port, host, { path: '/slow' });
    await until(() => relay.hosts().some((h) => h.host === host && h.pending === 1), 'the slow request in flight');
    const stopped = tunnel.stop(500);
    const late = await visit(relay.port, host, { path: '/late' });
    expect(late.status).toBe(503);
    expect(late.body.toString()).toContain('stopping');
    const r = await slow;
    expect(r.status).toBe(502);
    expect(r.body.toString()).toContain('stopped before the upstream answered');
    await stopped;
  });
});

/** A TCP proxy in front of the relay that can stop passing bytes both ways without closing anything. */
async function freezableProxy(target: number) {
  const pairs: Array<[Socket, Socket]> = [];
  let frozen = false;
  let count = 0;
  const proxy = net.createServer((client) => {
    count += 1;
    const upstream = net.connect(target, '127.0.0.1');
    pairs.push([client, upstream]);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on('data', (c: Buffer) => {
        if (!frozen) to.write(c);
      });
      from.on('close', () => to.destroy());
      from.on('error', () => undefined);
    }
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        proxy.close(() => resolve());
      }),
  );
  return {
    port: (proxy.address() as AddressInfo).port,
    freeze: () => void (frozen = true),
    thaw: () => void (frozen = false),
    cut: () => {
      for (const [a, b] of pairs.splice(0)) {
        a.destroy();
        b.destroy();
      }
    },
    connections: () => count,
  };
}

describe("a visitor's WebSocket through the tunnel", () => {
  async function echoServer(): Promise<{ port: number; url: string }> {
    const { WebSocketServer } = await import('ws');
    const server = http.createServer((_req, res) => res.end('plain page'));
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws, req) => {
      ws.on('message', (data, isBinary) => {
        const text = isBinary ? null : data.toString();
        if (text === 'close please') return ws.close(4321, 'as you asked');
        ws.send(data, { binary: isBinary });
      });
      ws.send(`hello ${req.url} ${req.headers['x-forwarded-host']}`);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          wss.close();
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const port = (server.address() as AddressInfo).port;
    return { port, url: `http://127.0.0.1:${port}` };
  }

  /** A visitor's WebSocket to the relay, its messages collected from the start (the greeting may come with the 101). */
  async function connect(port: number, host: string, path = '/') {
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { host } });
    const received: Array<{ data: Buffer; binary: boolean }> = [];
    ws.on('message', (data: Buffer, binary: boolean) => received.push({ data, binary }));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
    return { ws, received };
  }

  it('echoes 1,000 text and binary messages both ways, and passes the close code on', async () => {
    const relay = await relayWith();
    const up = await echoServer();
    const tunnel = await wsTunnel(relay, up.url);
    const host = tunnel.profile.relay.host;
    const { ws, received } = await connect(relay.port, host, '/chat?room=1');
    await until(() => received.length === 1, 'the greeting');
    expect(received[0]!.data.toString()).toBe(`hello /chat?room=1 ${host}`);
    const sent: Array<{ data: Buffer; binary: boolean }> = [];
    for (let i = 0; i < 1000; i++) {
      const binary = i % 2 === 1;
      const data = binary ? bytes(1 + (i % 300), i) : Buffer.from(`message ${i} ✓ ${'x'.repeat(i % 50)}`);
      sent.push({ data, binary });
      ws.send(data, { binary });
    }
    await until(() => received.length === 1001, '1,000 echoes', 20_000);
    received.slice(1).forEach((r, i) => {
      expect(r.binary).toBe(sent[i]!.binary);
      expect(r.data.equals(sent[i]!.data)).toBe(true);
    });
    const closed = new Promise<[number, string]>((resolve) =>
      ws.once('close', (code, reason) => resolve([code, reason.toString()])),
    );
    ws.send('close please');
    expect(await closed).toEqual([4321, 'as you asked']);
    // One log entry for the session, with its traffic.
    await until(() => tunnel.log.list().some((r) => r.status === 101), 'the session in the log');
    const record = tunnel.log.list().find((r) => r.status === 101)!;
    expect(record.url).toBe('/chat?room=1');
    expect(record.websocket!.fromVisitor.messages).toBe(1001);
    expect(record.websocket!.fromUpstream.messages).toBe(1001);
    expect(record.websocket!.fromUpstream.closeCode).toBe(4321);
  }, 30_000);

  it('applies the tunnel password to the handshake', async () => {
    const relay = await relayWith();
    const up = await echoServer();
    const tunnel = await wsTunnel(relay, up.url, {
      profile: { access: { basicAuth: [{ user: 'me', password: 'pw' }], allow: [], deny: [] } },
    });
    await expect(connect(relay.port, tunnel.profile.relay.host)).rejects.toThrow('HTTP 401');
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/`, {
      headers: { host: tunnel.profile.relay.host, authorization: `Basic ${Buffer.from('me:pw').toString('base64')}` },
    });
    const greeting = await new Promise<string>((resolve, reject) => {
      ws.once('message', (d: Buffer) => resolve(d.toString()));
      ws.once('error', reject);
    });
    expect(greeting).toContain('hello /');
    ws.close();
  });

  it('answers 503 with Retry-After, not 501, while the WebSocket worker of a host is reconnecting', async () => {
    const relay = await relayWith();
    const up = await echoServer();
    const proxy = await freezableProxy(relay.port);
    const tunnel = await wsTunnel(`ws://127.0.0.1:${proxy.port}/`, up.url);
    const first = await connect(relay.port, tunnel.profile.relay.host);
    first.ws.close();
    // The link dies and the worker's way back hangs: the relay knows the host but has no worker.
    proxy.freeze();
    proxy.cut();
    await new Promise((r) => setTimeout(r, 200));
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/`, { headers: { host: tunnel.profile.relay.host } });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      ws.once('unexpected-response', (_req, r) => resolve(r));
      ws.once('open', () => reject(new Error('opened with no worker online')));
      ws.once('error', reject);
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    ws.terminate();
  });

  it('keeps the 501 page for a host served by FPW workers only', async () => {
    const relay = await relayWith();
    const up = await echoServer();
    const tunnel = await startTunnel(relay.url, up.url);
    cleanups.push(() => tunnel.close(0));
    await expect(connect(relay.port, tunnel.profile.relay.host)).rejects.toThrow('HTTP 501');
  });
});
