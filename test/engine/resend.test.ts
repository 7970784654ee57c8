import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Backoff } from '../../src-main/engine/backoff.ts';
import { bytes, echoHandler, sha256, startRelay, startServer, startTunnel, until, visit } from '../helpers/net.ts';
import { ScriptedRelay } from '../helpers/scripted-relay.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

const quick = () => new Backoff({ baseMs: 20, capMs: 50, floorMs: 10 });

/**
 * A TCP proxy in front of the relay that cuts, once, the connection whose bytes going one way first
 * contain `marker`, passing none of that chunk on: a link that dies with a message on it.
 */
async function cuttingProxy(
  relayPort: number,
  direction: 'to relay' | 'to worker',
  marker: string,
): Promise<{ url: string; cuts: () => number }> {
  let cut = 0;
  const proxy = net.createServer((client) => {
    const relay = net.connect(relayPort, '127.0.0.1');
    client.on('error', () => undefined);
    relay.on('error', () => undefined);
    const [from, to] = direction === 'to relay' ? [client, relay] : [relay, client];
    // The other way, untouched.
    to.pipe(from);
    from.on('data', (chunk: Buffer) => {
      if (cut === 0 && chunk.includes(marker)) {
        cut += 1;
        client.resetAndDestroy();
        relay.destroy();
        return;
      }
      to.write(chunk);
    });
    from.once('close', () => to.destroy());
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  cleanups.push(() => new Promise<void>((r) => proxy.close(() => r())));
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, cuts: () => cut };
}

describe('replies that fail on their way to the relay', () => {
  it('re-sends a failed reply with the same id and the same body', async () => {
    const relay = await new ScriptedRelay().start();
    cleanups.push(() => relay.close());
    const up = await startServer(echoHandler());
    cleanups.push(() => up.close());
    const tunnel = await startTunnel(relay.url, `${up.url}`, {
      profile: { workers: 1 },
      options: { backoff: quick(), heldAfterMs: 50 },
      wait: false,
    });
    cleanups.push(() => tunnel.close(0));
    const poll = await relay.next();
    poll.res
      .writeHead(200, {
        'fpw-id': 'keep-me',
        'fpw-method': 'GET',
        'fpw-url': '/bytes/5000',
        'fpw-header': '{}',
        'content-length': '0',
      })
      .end();
    const first = await relay.nextReply();
    expect(first.header('fpw-id')).toBe('keep-me');
    // Cloudflare in front of the relay had a bad moment.
    first.res.writeHead(502, { 'content-type': 'text/html' }).end(Buffer.from('<h1>502</h1>'));
    const again = await relay.nextReply();
    expect(again.header('fpw-id')).toBe('keep-me');
    expect(again.header('fpw-rid')).toBe('keep-me');
    expect(again.header('fpw-status')).toBe('200');
    expect(again.body.length).toBe(5000);
    expect(sha256(again.body)).toBe(sha256(first.body));
    relay.idle(again);
    // Delivered: the next POST is a plain poll.
    const after = await relay.next();
    expect(after.header('fpw-id')).toBeUndefined();
    relay.idle(after);
  });

  it('does not re-send a reply above the cap whose stream broke, sends a short 502 under its id, and logs the failure', async () => {
    const seen: Array<{ id: string | undefined; received: number; status?: string }> = [];
    let polls = 0;
    // A relay that hands out one request, then cuts the reply's connection half way through its body.
    const server = http.createServer((req, res) => {
      const id = req.headers['fpw-id'] as string | undefined;
      if (id) {
        let received = 0;
        const status = req.headers['fpw-status'] as string;
        req.on('data', (c: Buffer) => {
          received += c.length;
          if (received > 256 * 1024 && !res.destroyed) {
            seen.push({ id, received, status });
            req.socket.destroy();
          }
        });
        req.on('end', () => {
          // A short reply (the notice that the big one was lost) is taken, and the POST answered idle.
          seen.push({ id, received, status });
          res.writeHead(200, { 'content-length': '0' }).end();
        });
        return;
      }
      req.resume();
      polls += 1;
      seen.push({ id: undefined, received: 0 });
      if (polls === 1) {
        res
          .writeHead(200, {
            'fpw-id': 'big-1',
            'fpw-method': 'GET',
            'fpw-url': `/bytes/${3 * 1024 * 1024}`,
            'fpw-header': '{}',
            'content-length': '0',
          })
          .end();
      }
      // later polls are held until the test ends
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    );
    const up = await startServer(echoHandler());
    cleanups.push(() => up.close());
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const tunnel = await startTunnel(url, up.url, {
      profile: { workers: 1 },
      options: { backoff: quick(), heldAfterMs: 50, resendCapBytes: 1024 * 1024 },
      wait: false,
    });
    cleanups.push(() => tunnel.close(0));
    await until(() => seen.filter((s) => s.id === undefined).length >= 2, 'a poll after the broken reply');
    // The broken reply was sent once; what follows under its id is a short 502 notice, not a
    // re-send of its body; then plain polls.
    const big = seen.filter((s) => s.id === 'big-1');
    expect(big).toHaveLength(2);
    expect(big[0]!.status).toBe('200');
    expect(big[0]!.received).toBeGreaterThan(256 * 1024);
    expect(big[1]!.status).toBe('502');
    expect(big[1]!.received).toBeLessThan(200);
    expect(seen.at(-1)!.id).toBeUndefined();
    // The failure reaches the log whether the break came before or after the last bytes left.
    await until(() => Boolean(tunnel.log.list()[0]?.error), 'the failure in the request log');
    expect(tunnel.log.list()[0]!.error).toMatch(/^the reply (did not reach|broke off on its way to) the relay: /);
  });
});

describe('a streamed reply lost before the relay had any of it', () => {
  it('answers its visitor 502 at once (a short notice under the same id), not after the reply timeout', async () => {
    // Without the notice, the visitor would wait for this and get the relay's own 504.
    const relay = await startRelay({ replyTimeoutMs: 20_000 });
    cleanups.push(() => relay.close(0));
    // Between worker and relay: the connection of the first POST that carries a reply dies before
    // any of it is passed on, as when a link is cut.
    const proxy = await cuttingProxy(relay.port, 'to relay', 'fpw-status');
    const up = await startServer(echoHandler());
    cleanups.push(() => up.close());
    const tunnel = await startTunnel(proxy.url, up.url, {
      profile: { workers: 2 },
      options: { backoff: quick(), resendCapBytes: 64 * 1024 },
    });
    cleanups.push(() => tunnel.close(0));
    const r = await visit(relay.port, tunnel.profile.relay.host, { path: `/bytes/${1024 * 1024}` });
    expect(proxy.cuts()).toBe(1);
    expect(r.status).toBe(502);
    expect(r.body.toString()).toContain('lost');
    // And the tunnel goes on.
    const next = await visit(relay.port, tunnel.profile.relay.host, { path: '/bytes/100' });
    expect(next.status).toBe(200);
  });
});

describe('a request lost on its way to the worker', () => {
  it('is answered 502 once the worker says, on a later poll, that it never got it', async () => {
    // Without that, the visitor would wait for this and get the relay's own 504.
    const relay = await startRelay({ replyTimeoutMs: 20_000 });
    cleanups.push(() => relay.close(0));
    // Between worker and relay: the first poll answer that carries a request dies with its
    // connection before the worker sees it, as when a link is cut.
    const proxy = await cuttingProxy(relay.port, 'to worker', 'fpw-method');
    const up = await startServer(echoHandler());
    cleanups.push(() => up.close());
    const tunnel = await startTunnel(proxy.url, up.url, {
      profile: { workers: 2 },
      options: { backoff: quick() },
    });
    cleanups.push(() => tunnel.close(0));
    const r = await visit(relay.port, tunnel.profile.relay.host, { path: '/bytes/100' });
    expect(proxy.cuts()).toBe(1);
    expect(r.status).toBe(502);
    expect(r.body.toString()).toContain('never reached');
    const next = await visit(relay.port, tunnel.profile.relay.host, { path: '/bytes/100' });
    expect(next.status).toBe(200);
  });
});

describe('a slow answer is not taken for a lost request', () => {
  it('keeps a visitor whose upstream takes longer than the relay waits before asking the worker', async () => {
    const relay = await startRelay({ replyTimeoutMs: 20_000 });
    cleanups.push(() => relay.close(0));
    const up = await startServer((_req, res) => {
      setTimeout(() => res.end('slow but here'), 7000);
    });
    cleanups.push(() => up.close());
    const tunnel = await startTunnel(relay.url, up.url, { profile: { workers: 2 }, options: { backoff: quick() } });
    cleanups.push(() => tunnel.close(0));
    const r = await visit(relay.port, tunnel.profile.relay.host, { path: '/slow' });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('slow but here');
  });
});

describe('big replies through the real relay', () => {
  it('streams a reply above the re-send cap to the visitor intact', async () => {
    const relay = await startRelay();
    cleanups.push(() => relay.close(0));
    const up = await startServer(echoHandler());
    cleanups.push(() => up.close());
    const tunnel = await startTunnel(relay.url, up.url, { options: { resendCapBytes: 64 * 1024 } });
    cleanups.push(() => tunnel.close(0));
    const n = 5 * 1024 * 1024 + 3;
    const r = await visit(relay.port, tunnel.profile.relay.host, { path: `/bytes/${n}` });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(n));
    expect(sha256(r.body)).toBe(sha256(bytes(n, 7)));
    const record = tunnel.log.list().at(-1)!;
    expect(record.responseBytes).toBe(n);
    expect(record.responseBody.truncated).toBe(true);
    expect(record.responseBody.bytes.length).toBe(64 * 1024);
  });
});

describe('proxies', () => {
  it('reaches the relay through HTTP_PROXY, and not when NO_PROXY names it', async () => {
    let proxied = 0;
    const proxy = http.createServer((req, res) => {
      // absolute-form requests (a proxy without CONNECT)
      proxied += 1;
      const target = new URL(req.url!);
      const out = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname + target.search,
          method: req.method,
          headers: req.headers,
        },
        (r) => {
          res.writeHead(r.statusCode!, r.headers);
          r.pipe(res);
        },
      );
      req.pipe(out);
    });
    proxy.on('connect', (req, socket, head) => {
      proxied += 1;
      const [host, port] = req.url!.split(':');
      const upstream = net.connect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length) upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          proxy.closeAllConnections();
          proxy.close(() => r());
        }),
    );
    const relay = await startRelay();
    cleanups.push(() => relay.close(0));
    const up = await startServer(echoHandler());
    cleanups.push(() => up.close());
    const saved = { HTTP_PROXY: process.env['HTTP_PROXY'], NO_PROXY: process.env['NO_PROXY'] };
    cleanups.push(async () => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
    process.env['HTTP_PROXY'] = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    process.env['NO_PROXY'] = '';
    const via = await startTunnel(relay.url, up.url);
    cleanups.push(() => via.close(0));
    expect(proxied).toBeGreaterThan(0);
    expect((await visit(relay.port, via.profile.relay.host, { path: '/via-proxy' })).status).toBe(200);

    await via.close(0);
    const before = proxied;
    process.env['NO_PROXY'] = '127.0.0.1';
    const direct = await startTunnel(relay.url, up.url);
    cleanups.push(() => direct.close(0));
    expect((await visit(relay.port, direct.profile.relay.host, { path: '/direct' })).status).toBe(200);
    expect(proxied).toBe(before);
  });
});
