import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { Backoff } from '../../src-main/engine/backoff.ts';
import type { PhaseState } from '../../src-main/engine/transports/fpw.ts';
import type { Tunnel } from '../../src-main/engine/Tunnel.ts';
import type { RequestBody } from '../../src-main/engine/undici-body.ts';
import type { RelayServer } from '../../src-main/relay/RelayServer.ts';
import {
  echoHandler,
  readBody,
  startRelay,
  startServer,
  startTunnel,
  until,
  visit,
  type Server,
} from '../helpers/net.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

/** Back-off fast enough for tests; the real one starts at 1 s. */
const quickBackoff = () => new Backoff({ baseMs: 50, capMs: 200, floorMs: 20 });

interface Seen {
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface Upstream {
  server: Server;
  url: string;
  /** Paths whose request head reached the upstream, in order of arrival. */
  arrived: string[];
  /** Requests whose body was read to the end. */
  seen: Seen[];
  /** Lets every request under `/hold` answer. */
  release(): void;
}

/**
 * An upstream that records what reaches it and answers with the request's path. Paths under
 * `/hold` wait until the test calls `release()`; `/slow` answers after 200 ms.
 */
async function recordingUpstream(): Promise<Upstream> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const arrived: string[] = [];
  const seen: Seen[] = [];
  const server = await startServer((req, res) => {
    const url = req.url ?? '/';
    arrived.push(url);
    void (async () => {
      let body: Buffer;
      try {
        body = await readBody(req);
      } catch {
        return; // the request broke off
      }
      seen.push({ url, headers: req.headers, body });
      if (url.startsWith('/hold')) await released;
      if (url.startsWith('/slow')) await sleep(200);
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(Buffer.from(url));
    })();
  });
  cleanups.push(() => server.close());
  return { server, url: server.url, arrived, seen, release };
}

async function relayWith(opts: Parameters<typeof startRelay>[0] = {}): Promise<RelayServer> {
  const relay = await startRelay(opts);
  cleanups.push(() => relay.close(0));
  return relay;
}

async function tunnelTo(relay: RelayServer, target: string, spec: Parameters<typeof startTunnel>[2] = {}) {
  const tunnel = await startTunnel(relay.url, target, spec);
  cleanups.push(() => tunnel.close(0));
  return tunnel;
}

function hostState(relay: RelayServer, host: string) {
  return relay.hosts().find((h) => h.host === host);
}

/** Waits until the relay holds `n` polls of a host (the first poll on a connection is answered at once). */
function heldPolls(relay: RelayServer, host: string, n: number): Promise<void> {
  return until(() => (hostState(relay, host)?.polls ?? 0) >= n, `${n} held polls of ${host}`);
}

function phases(tunnel: Tunnel): Array<PhaseState['phase']> {
  const seen: Array<PhaseState['phase']> = [];
  tunnel.on('status', (s) => seen.push(s.state.phase));
  return seen;
}

describe('hosts the relay does not serve', () => {
  it('answers an unknown host 404 with an HTML page naming the host, escaped', async () => {
    const relay = await relayWith();
    const r = await visit(relay.port, 'Nobody.Example.test:8080', { path: '/x' });
    expect(r.status).toBe(404);
    expect(r.headers['content-type']).toContain('text/html');
    expect(r.body.toString()).toContain('nobody.example.test');

    const evil = await visit(relay.port, 'evil<b>x.test');
    expect(evil.status).toBe(404);
    expect(evil.body.toString()).toContain('evil&lt;b&gt;x.test');
    expect(evil.body.toString()).not.toContain('<b>');
  });

  it('answers /healthz itself on a host nobody claims, and passes it to the tunnel of a claimed host', async () => {
    const up = await startServer(echoHandler());
    cleanups.push(() => up.close());
    const relay = await relayWith({ domain: 'example.test' });
    const tunnel = await tunnelTo(relay, up.url, { profile: { relay: { host: 'app.example.test' } } });

    const health = await visit(relay.port, 'relay.example.test', { path: '/healthz' });
    expect(health.status).toBe(200);
    expect(health.headers['content-type']).toContain('application/json');
    // Other fields (e.g. connection counts) may come and go; these three are the contract.
    expect(JSON.parse(health.body.toString())).toMatchObject({ ok: true, domain: 'example.test', hosts: 1 });

    const tunnelled = await visit(relay.port, tunnel.profile.relay.host, { path: '/healthz' });
    expect(tunnelled.status).toBe(200);
    expect(tunnelled.headers['x-echo']).toBe('1');
    const echo = JSON.parse(tunnelled.body.toString());
    expect(echo.url).toBe('/healthz');
    expect(echo.method).toBe('GET');
  });
});

describe('a claimed host without a worker', () => {
  it('answers 503 with retry-after once the online window has passed, and 404 after the claim expires', async () => {
    const up = await recordingUpstream();
    let offset = 0;
    const relay = await relayWith({ now: () => Date.now() + offset, claimGraceMs: 30_000, queueTimeoutMs: 300 });
    const host = 'gone.test';
    const tunnel = await tunnelTo(relay, up.url, { profile: { relay: { host, token: 'first' } } });
    await tunnel.stop(0);
    await until(() => hostState(relay, host)?.polls === 0, 'the held polls to close');

    // The worker said it was stopping (fpw-close): a visitor hears so at once, rather than waiting in
    // the queue for a worker that may come back.
    const waiting = await visit(relay.port, host, { path: '/early' });
    expect(waiting.status).toBe(503);
    expect(waiting.body.toString()).toContain(`The tunnel of ${host} is stopping.`);

    offset += 5_001;
    const r = await visit(relay.port, host, { path: '/down' });
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toMatch(/^\d+$/);
    expect(r.headers['content-type']).toContain('text/html');
    expect(r.body.toString()).toContain(host);

    // Still claimed: another token is refused.
    const thief = await startTunnel(relay.url, up.url, {
      profile: { relay: { host, token: 'second' } },
      wait: false,
    });
    cleanups.push(() => thief.close(0));
    await expect(thief.whenOnline()).rejects.toThrow(/403.*already claimed/);

    offset += 30_000;
    await until(() => hostState(relay, host) === undefined, 'the claim to expire');
    const expired = await visit(relay.port, host, { path: '/expired' });
    expect(expired.status).toBe(404);
    expect(expired.body.toString()).toContain(host);

    const next = await tunnelTo(relay, up.url, { profile: { relay: { host, token: 'second' } } });
    expect(next.state.phase).toBe('online');
    const served = await visit(relay.port, host, { path: '/new-owner' });
    expect(served.status).toBe(200);
    expect(served.body.toString()).toBe('/new-owner');
    expect(up.arrived).toEqual(['/new-owner']);
  });
});

describe('the queue', () => {
  it('queues up to queueLimit visitors behind a busy worker and answers the next one 503 busy', async () => {
    const up = await recordingUpstream();
    const relay = await relayWith({ queueLimit: 2 });
    const tunnel = await tunnelTo(relay, up.url, { profile: { workers: 1 } });
    const host = tunnel.profile.relay.host;
    await heldPolls(relay, host, 1);

    const first = visit(relay.port, host, { path: '/hold/1' });
    await until(() => up.arrived.includes('/hold/1'), 'the first visitor at the upstream');
    const second = visit(relay.port, host, { path: '/hold/2' });
    const third = visit(relay.port, host, { path: '/hold/3' });
    await until(() => hostState(relay, host)?.queued === 2, 'two queued visitors');

    const fourth = await visit(relay.port, host, { path: '/hold/4' });
    expect(fourth.status).toBe(503);
    expect(fourth.body.toString()).toContain('busy');
    expect(fourth.headers['retry-after']).toMatch(/^\d+$/);

    up.release();
    const answers = await Promise.all([first, second, third]);
    answers.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe(`/hold/${i + 1}`);
    });
    expect(up.arrived).toEqual(['/hold/1', '/hold/2', '/hold/3']);
  });

  it('answers 504 to a visitor that waited queueTimeoutMs for a free worker', async () => {
    const up = await recordingUpstream();
    const relay = await relayWith({ queueTimeoutMs: 300 });
    const tunnel = await tunnelTo(relay, up.url, { profile: { workers: 1 } });
    const host = tunnel.profile.relay.host;
    await heldPolls(relay, host, 1);

    const first = visit(relay.port, host, { path: '/hold/busy' });
    await until(() => up.arrived.includes('/hold/busy'), 'the worker to be busy');
    const started = Date.now();
    const late = await visit(relay.port, host, { path: '/queued' });
    expect(late.status).toBe(504);
    expect(late.headers['content-type']).toContain('text/html');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(hostState(relay, host)?.queued).toBe(0);

    up.release();
    const r = await first;
    expect(r.status).toBe(200);
    // The timed-out visitor was never handed to the worker.
    await heldPolls(relay, host, 1);
    expect(up.arrived).toEqual(['/hold/busy']);
  });
});

describe('reply timeout', () => {
  it("answers 504 when the worker is too slow, then takes the worker's late reply as a poll", async () => {
    const up = await recordingUpstream();
    const relay = await relayWith({ replyTimeoutMs: 300 });
    const tunnel = await tunnelTo(relay, up.url, { profile: { workers: 1, upstreamTimeoutMs: 60_000 } });
    const host = tunnel.profile.relay.host;
    const seenPhases = phases(tunnel);
    await heldPolls(relay, host, 1);

    const r = await visit(relay.port, host, { path: '/hold/late' });
    expect(r.status).toBe(504);
    expect(r.body.toString()).toContain('did not answer');
    expect(hostState(relay, host)?.pending).toBe(0);

    up.release();
    await until(
      () => tunnel.log.list().some((rec) => rec.url === '/hold/late' && rec.status === 200 && rec.durationMs !== null),
      'the late reply to be sent',
    );
    // The only worker's late reply is held as its next poll: no refusal, no back-off.
    await heldPolls(relay, host, 1);
    const after = await visit(relay.port, host, { path: '/after' });
    expect(after.status).toBe(200);
    expect(after.body.toString()).toBe('/after');
    expect(tunnel.state.phase).toBe('online');
    expect(seenPhases).not.toContain('reconnecting');
    expect(seenPhases).not.toContain('failed');
  });
});

describe('size limits', () => {
  it('answers 413 to a body declared larger than maxBodyBytes, without bothering the worker', async () => {
    const up = await recordingUpstream();
    const relay = await relayWith({ maxBodyBytes: 1024 });
    const tunnel = await tunnelTo(relay, up.url);
    const host = tunnel.profile.relay.host;

    const small = await visit(relay.port, host, { method: 'POST', path: '/small', body: Buffer.alloc(1024, 1) });
    expect(small.status).toBe(200);
    expect(up.seen.find((s) => s.url === '/small')?.body.length).toBe(1024);

    const big = await visit(relay.port, host, { method: 'POST', path: '/big', body: Buffer.alloc(2048, 2) });
    expect(big.status).toBe(413);
    expect(big.headers['content-type']).toContain('text/html');

    // The declared length alone decides: the answer comes before the body does.
    const socket = connect(relay.port, '127.0.0.1');
    cleanups.push(async () => socket.destroy());
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.write(`POST /declared HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 2048\r\n\r\n${'x'.repeat(100)}`);
    await until(() => answer.includes('\r\n\r\n'), 'an answer before the body is complete', 3000);
    expect(answer.split('\r\n')[0]).toMatch(/^HTTP\/1\.1 413 /);

    expect(up.arrived).toEqual(['/small']);
  });

  it('answers 413 to a chunked body that grows over maxBodyBytes, and the worker gets no truncated request', async () => {
    const up = await recordingUpstream();
    const relay = await relayWith({ maxBodyBytes: 1024 });
    const tunnel = await tunnelTo(relay, up.url, { options: { backoff: quickBackoff() } });
    const host = tunnel.profile.relay.host;
    await heldPolls(relay, host, 1);

    // A slow uploader without content-length: 4 × 512 bytes, a moment apart.
    async function* upload(): AsyncIterable<Buffer> {
      for (let i = 0; i < 4; i++) {
        yield Buffer.alloc(512, 0x41 + i);
        await sleep(100);
      }
    }
    const agent = new Agent();
    cleanups.push(() => agent.close());
    const res = await request(`http://127.0.0.1:${relay.port}/chunked`, {
      method: 'POST',
      headers: { host },
      body: upload() as RequestBody,
      dispatcher: agent,
    });
    const text = await res.body.text();
    expect(res.statusCode).toBe(413);
    expect(res.headers['content-type']).toContain('text/html');
    expect(text).toContain('413');

    // The tunnel still serves; its upstream never saw the oversized request, not even its head.
    await until(() => tunnel.state.phase === 'online', 'the tunnel online');
    const after = await visit(relay.port, host, { path: '/after' });
    expect(after.status).toBe(200);
    expect(up.arrived).not.toContain('/chunked');
    expect(tunnel.log.list().map((r) => r.url)).not.toContain('/chunked');
  });

  it('answers 431 to visitor headers over maxHeaderBytes', async () => {
    const up = await recordingUpstream();
    const relay = await relayWith({ maxHeaderBytes: 1024 });
    const tunnel = await tunnelTo(relay, up.url);
    const host = tunnel.profile.relay.host;

    const fits = await visit(relay.port, host, { path: '/fits', headers: { 'x-big': 'a'.repeat(500) } });
    expect(fits.status).toBe(200);

    const r = await visit(relay.port, host, { path: '/huge', headers: { 'x-big': 'a'.repeat(2000) } });
    expect(r.status).toBe(431);
    expect(r.headers['content-type']).toContain('text/html');
    expect(up.arrived).toEqual(['/fits']);
  });
});

describe('what FPW cannot carry', () => {
  it('answers a WebSocket upgrade 501 with a page that says WebSocket cannot travel through FPW', async () => {
    const up = await recordingUpstream();
    const relay = await relayWith();
    const tunnel = await tunnelTo(relay, up.url);
    const host = tunnel.profile.relay.host;

    const socket = connect(relay.port, '127.0.0.1');
    cleanups.push(async () => socket.destroy());
    socket.write(
      `GET /chat HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    const chunks: Buffer[] = [];
    for await (const c of socket) chunks.push(c as Buffer);
    const answer = Buffer.concat(chunks).toString();
    const [head, body] = answer.split('\r\n\r\n', 2) as [string, string];
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 501 Not Implemented');
    expect(head.toLowerCase()).toContain('content-type: text/html');
    expect(body).toContain('WebSocket');
    expect(body).toContain('FPW');
    expect(up.arrived).toEqual([]);
  });
});

describe('the visitor IP', () => {
  it('ignores X-Forwarded-For without trusted proxies', async () => {
    const up = await recordingUpstream();
    const relay = await relayWith();
    const tunnel = await tunnelTo(relay, up.url);
    const host = tunnel.profile.relay.host;

    const r = await visit(relay.port, host, { path: '/ip', headers: { 'x-forwarded-for': '6.6.6.6' } });
    expect(r.status).toBe(200);
    expect(up.seen.find((s) => s.url === '/ip')?.headers['x-forwarded-for']).toBe('127.0.0.1');
    await until(() => tunnel.log.list().some((rec) => rec.url === '/ip'), 'the log record');
    expect(tunnel.log.list().find((rec) => rec.url === '/ip')?.visitorIp).toBe('127.0.0.1');
  });

  it('takes the last untrusted address of X-Forwarded-For behind trusted proxies', async () => {
    const up = await recordingUpstream();
    const relay = await relayWith({ trustProxy: ['127.0.0.1/32', '10.0.0.0/8'] });
    const tunnel = await tunnelTo(relay, up.url);
    const host = tunnel.profile.relay.host;

    const r = await visit(relay.port, host, {
      path: '/ip',
      headers: { 'x-forwarded-for': '203.0.113.7, 10.0.0.2' },
    });
    expect(r.status).toBe(200);
    expect(up.seen.find((s) => s.url === '/ip')?.headers['x-forwarded-for']).toBe('203.0.113.7, 10.0.0.2, 127.0.0.1');
    await until(() => tunnel.log.list().some((rec) => rec.url === '/ip'), 'the log record');
    expect(tunnel.log.list().find((rec) => rec.url === '/ip')?.visitorIp).toBe('203.0.113.7');
  });

  it('stops at the first untrusted hop from the right', async () => {
    const up = await recordingUpstream();
    const relay = await relayWith({ trustProxy: ['127.0.0.1/32'] });
    const tunnel = await tunnelTo(relay, up.url);
    const host = tunnel.profile.relay.host;

    await visit(relay.port, host, { path: '/ip', headers: { 'x-forwarded-for': '203.0.113.7, 10.0.0.2' } });
    expect(up.seen.find((s) => s.url === '/ip')?.headers['x-forwarded-for']).toBe('10.0.0.2, 127.0.0.1');
    await until(() => tunnel.log.list().some((rec) => rec.url === '/ip'), 'the log record');
    expect(tunnel.log.list().find((rec) => rec.url === '/ip')?.visitorIp).toBe('10.0.0.2');
  });
});

describe('defaultHost', () => {
  it("sends visitors with any Host to the default host's tunnel", async () => {
    const up = await recordingUpstream();
    const relay = await relayWith({ defaultHost: 'main.test' });
    await tunnelTo(relay, up.url, { profile: { relay: { host: 'main.test' } } });

    const byAddress = await visit(relay.port, `127.0.0.1:${relay.port}`, { path: '/by-address' });
    expect(byAddress.status).toBe(200);
    expect(byAddress.body.toString()).toBe('/by-address');
    const byName = await visit(relay.port, 'anything.example', { path: '/by-name' });
    expect(byName.status).toBe(200);
    expect(byName.body.toString()).toBe('/by-name');
    expect(up.arrived).toEqual(['/by-address', '/by-name']);
  });
});

describe("visitors' fpw-* headers", () => {
  it('strips every fpw-* header a visitor sends', async () => {
    const up = await recordingUpstream();
    const relay = await relayWith();
    const tunnel = await tunnelTo(relay, up.url);
    const host = tunnel.profile.relay.host;

    const r = await visit(relay.port, host, {
      path: '/spoof',
      headers: { 'fpw-id': 'spoof', 'fpw-status': '200', 'fpw-ip': '6.6.6.6', 'x-kept': 'yes' },
    });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('/spoof');
    // Not a POST, so not a poll even with both fpw-host and fpw-token: a visitor, whose secrets go nowhere.
    const get = await visit(relay.port, host, {
      path: '/spoof-get',
      headers: { 'fpw-host': host, 'fpw-token': tunnel.profile.relay.token },
    });
    expect(get.status).toBe(200);
    for (const path of ['/spoof', '/spoof-get']) {
      const seen = up.seen.find((s) => s.url === path)!;
      expect(Object.keys(seen.headers).filter((n) => n.startsWith('fpw-'))).toEqual([]);
    }
    expect(up.seen.find((s) => s.url === '/spoof')?.headers['x-kept']).toBe('yes');
    expect(up.seen.find((s) => s.url === '/spoof')?.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it("hands a worker none of the visitor's fpw-* headers, under ids of its own", async () => {
    const relay = await relayWith();
    const host = 'raw.test';
    const agent = new Agent({ connections: 1 });
    cleanups.push(() => agent.destroy());
    const poll = async (extra: Record<string, string> = {}, body = '') => {
      const res = await request(`${relay.url}/`, {
        method: 'POST',
        headers: { 'fpw-host': host, 'fpw-token': 'raw-token', 'user-agent': 'php-worker-v1', ...extra },
        body,
        dispatcher: agent,
      });
      return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
    };
    // A Porthole worker's first poll on a connection is answered at once; the second is held.
    const first = await poll({ 'fpw-features': 'public-url' });
    expect(first.headers['fpw-public-url']).toBe(`http://${host}:${relay.port}/`);
    const held = poll();
    await heldPolls(relay, host, 1);

    const visitor = visit(relay.port, host, {
      path: '/spoof?q=1',
      headers: { 'fpw-id': 'spoof', 'fpw-rid': 'spoof', 'fpw-status': '200', 'fpw-ip': '6.6.6.6', 'x-kept': 'yes' },
    });
    const job = await held;
    expect(job.status).toBe(200);
    const id = job.headers['fpw-id'] as string;
    expect(id).toMatch(/^[0-9a-f]{32,}$/);
    expect(job.headers['fpw-rid']).toBe(id);
    expect(job.headers['fpw-ip']).toBe('127.0.0.1');
    expect(job.headers['fpw-url']).toBe('/spoof?q=1');
    const json = JSON.parse(job.headers['fpw-header'] as string) as Record<string, unknown>;
    expect(Object.keys(json).filter((n) => n.startsWith('fpw-'))).toEqual([]);
    expect(json['x-kept']).toBe('yes');
    expect(json['x-forwarded-for']).toBe('127.0.0.1');

    // Answered with the relay's id, the visitor gets the worker's reply.
    const reply = await poll(
      { 'fpw-id': id, 'fpw-status': '201', 'fpw-header': '{"content-type":"text/plain"}', 'fpw-close': '1' },
      'from the worker',
    );
    expect(reply.status).toBe(200);
    const r = await visitor;
    expect(r.status).toBe(201);
    expect(r.body.toString()).toBe('from the worker');
  });

  it('answers 400 to fpw-token without fpw-host', async () => {
    const up = await recordingUpstream();
    const relay = await relayWith();
    const tunnel = await tunnelTo(relay, up.url);
    const host = tunnel.profile.relay.host;

    for (const method of ['GET', 'POST']) {
      const r = await visit(relay.port, host, { method, path: '/token-only', headers: { 'fpw-token': 'x' } });
      expect(r.status).toBe(400);
      expect(r.body.toString()).toContain('fpw-host');
    }
    expect(up.arrived).toEqual([]);
  });
});

describe('HTTPS', () => {
  it('serves workers and visitors over TLS and announces an https:// public URL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'porthole-tls-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const host = 'secure.test';
    // Node checks the address it dialled (the worker: 127.0.0.1) or the SNI name (the visitor: Host).
    const args = 'req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost'.split(' ');
    args.push('-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'));
    args.push('-addext', `subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:${host}`);
    execFileSync('openssl', args, { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'cert.pem'));
    const key = readFileSync(join(dir, 'key.pem'));

    const up = await recordingUpstream();
    const relay = await relayWith({ tls: { cert, key } });
    expect(relay.url).toBe(`https://127.0.0.1:${relay.port}`);
    const workerAgent = new Agent({ connect: { ca: cert } });
    cleanups.push(() => workerAgent.close());
    const tunnel = await tunnelTo(relay, up.url, {
      profile: { relay: { host } },
      options: { dispatcher: workerAgent },
    });
    expect(tunnel.publicUrl).toBe(`https://${host}:${relay.port}/`);
    expect(tunnel.state.phase === 'online' && tunnel.state.publicUrl).toMatch(/^https:\/\//);

    const visitorAgent = new Agent({ connect: { ca: cert } });
    cleanups.push(() => visitorAgent.close());
    const res = await request(`https://127.0.0.1:${relay.port}/over-tls`, {
      headers: { host },
      dispatcher: visitorAgent,
    });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('/over-tls');
    expect(up.seen.find((s) => s.url === '/over-tls')?.headers['x-forwarded-proto']).toBe('https');
  });
});

describe('graceful close', () => {
  it('lets a visitor in flight finish when the relay closes', async () => {
    const up = await recordingUpstream();
    const relay = await relayWith();
    const tunnel = await tunnelTo(relay, up.url, { options: { backoff: quickBackoff() } });
    const host = tunnel.profile.relay.host;

    const pending = visit(relay.port, host, { path: '/slow' });
    await until(() => up.arrived.includes('/slow'), 'the visitor at the upstream');
    const closing = relay.close(2000);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('/slow');
    await closing;
  });
});

describe('workers that open a new connection for every poll', () => {
  it('holds their polls (only a Porthole worker that asks gets the first poll answered at once)', async () => {
    const { request } = await import('node:http');
    const relay = await startRelay({ holdMs: 5000 });
    try {
      // Like the Python reference worker (requests.post without a session): no keep-alive.
      const poll = () =>
        new Promise<{ status: number; id: string | undefined; url: string | undefined }>((resolve, reject) => {
          const req = request(
            {
              host: '127.0.0.1',
              port: relay.port,
              method: 'POST',
              path: '/',
              agent: false,
              headers: { 'fpw-host': 'fresh.test', 'fpw-token': 'tok', 'content-length': '0' },
            },
            (res) => {
              res.resume();
              resolve({
                status: res.statusCode!,
                id: res.headers['fpw-rid'] as string | undefined,
                url: res.headers['fpw-url'] as string | undefined,
              });
            },
          );
          req.on('error', reject);
          req.end();
        });
      const held = poll();
      await until(() => relay.hosts().some((h) => h.host === 'fresh.test' && h.polls === 1), 'the poll to be held');
      const visitor = visit(relay.port, 'fresh.test', { path: '/first' });
      const answer = await held;
      expect(answer).toMatchObject({ status: 200, url: '/first' });
      expect(answer.id).toMatch(/^[0-9a-f]{32}$/);
      visitor.catch(() => undefined);
    } finally {
      await relay.close(0);
    }
  });
});

describe('large bodies to and from slow peers', () => {
  /** Collects the process warnings emitted while `run` runs. */
  async function warningsDuring(run: () => Promise<void>): Promise<string[]> {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      await run();
      await sleep(50); // warnings are emitted on a later tick
    } finally {
      process.off('warning', onWarning);
    }
    return warnings;
  }

  /** Reads a whole HTTP/1.1 answer from a raw socket, pausing after every chunk (a slow visitor). */
  function slowDownload(port: number, host: string, path: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      });
      socket.on('data', (d: Buffer) => {
        chunks.push(d);
        socket.pause();
        setTimeout(() => socket.resume(), 1);
      });
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
    });
  }

  it('streams 8 MiB to a slow visitor whole, without piling up listeners on every pause', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
    const up = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': big.length });
      res.end(big);
    });
    cleanups.push(() => up.close());
    const relay = await relayWith();
    const tunnel = await tunnelTo(relay, up.url);
    const host = tunnel.profile.relay.host;

    let answer: Buffer = Buffer.alloc(0);
    const warnings = await warningsDuring(async () => {
      answer = await slowDownload(relay.port, host, '/big');
    });
    const split = answer.indexOf('\r\n\r\n');
    expect(answer.subarray(0, split).toString('latin1')).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.subarray(split + 4).equals(big)).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('streams an 8 MiB upload to a slow upstream whole, without piling up listeners on every pause', async () => {
    let received = 0;
    const up = await startServer((req, res) => {
      req.on('data', (d: Buffer) => {
        received += d.length;
        req.pause();
        setTimeout(() => req.resume(), 1);
      });
      req.on('end', () => res.end(String(received)));
    });
    cleanups.push(() => up.close());
    const relay = await relayWith({ maxBodyBytes: 16 * 1024 * 1024 });
    const tunnel = await tunnelTo(relay, up.url);
    const host = tunnel.profile.relay.host;

    let r: Awaited<ReturnType<typeof visit>> | undefined;
    const warnings = await warningsDuring(async () => {
      r = await visit(relay.port, host, { method: 'POST', path: '/upload', body: Buffer.alloc(8 * 1024 * 1024, 7) });
    });
    expect(r!.status).toBe(200);
    expect(r!.body.toString()).toBe(String(8 * 1024 * 1024));
    expect(warnings).toEqual([]);
  });
});
