import { afterEach, describe, expect, it } from 'vitest';
import { Backoff } from '../../src-main/engine/backoff.ts';
import type { PhaseState } from '../../src-main/engine/transports/fpw.ts';
import type { Tunnel } from '../../src-main/engine/Tunnel.ts';
import { RelayServer } from '../../src-main/relay/RelayServer.ts';
import { echoHandler, startRelay, startServer, startTunnel, until, visit, type Server } from '../helpers/net.ts';
import { expectNothingLocal } from '../helpers/leaks.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

/** Back-off fast enough for tests; the real one starts at 1 s. */
const quickBackoff = () => new Backoff({ baseMs: 50, capMs: 200, floorMs: 20 });

function phases(tunnel: Tunnel): PhaseState[] {
  const seen: PhaseState[] = [];
  tunnel.on('status', (s) => seen.push(s.state));
  return seen;
}

function nextPhase(tunnel: Tunnel, phase: PhaseState['phase']): Promise<PhaseState> {
  return new Promise((resolve) => {
    const on = (): void => {
      if (tunnel.state.phase === phase) {
        tunnel.off('status', on);
        resolve(tunnel.state);
      }
    };
    tunnel.on('status', on);
  });
}

async function upstream(): Promise<Server> {
  const s = await startServer(echoHandler());
  cleanups.push(() => s.close());
  return s;
}

describe('relay restarts', () => {
  it('comes back online by itself after a restart while idle', async () => {
    const up = await upstream();
    let relay = await startRelay();
    const port = relay.port;
    const tunnel = await startTunnel(relay.url, up.url, { options: { backoff: quickBackoff() } });
    cleanups.push(() => tunnel.close(0));
    const seen = phases(tunnel);
    const down = nextPhase(tunnel, 'reconnecting');
    await relay.close(0);
    await down;
    const back = nextPhase(tunnel, 'online');
    relay = await startRelay({ port });
    cleanups.push(() => relay.close(0));
    await back;
    expect(seen.map((s) => s.phase)).not.toContain('failed');
    const r = await visit(port, tunnel.profile.relay.host, { path: '/after-restart' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).url).toBe('/after-restart');
  });

  it("never gives a visitor another visitor's response across a restart with requests in flight", async () => {
    const up = await upstream();
    let relay = await startRelay();
    const port = relay.port;
    const tunnel = await startTunnel(relay.url, up.url, { options: { backoff: quickBackoff() } });
    cleanups.push(() => tunnel.close(0));
    const host = tunnel.profile.relay.host;
    // 16 visitors whose answers take a while, over 8 workers: some in flight, some queued.
    const before = Array.from({ length: 16 }, (_, i) =>
      visit(port, host, { path: '/who?delay=300', headers: { 'x-marker': `before-${i}` } }).then(
        (r) => ({ i, r }),
        () => ({ i, r: null }),
      ),
    );
    await new Promise((r) => setTimeout(r, 100));
    await relay.close(0);
    relay = await startRelay({ port });
    const fresh = relay;
    cleanups.push(() => fresh.close(0));
    const settled = await Promise.all(before);
    for (const { i, r } of settled) {
      if (r && r.status === 200) expect(r.body.toString()).toBe(`before-${i}`);
    }
    // The workers' replies for the old relay's visitors arrive at the new one as plain polls; the
    // tunnel is back once the new relay holds its polls.
    await until(() => fresh.hosts().some((h) => h.host === host && h.polls > 0), 'polls at the new relay');
    // Online once a poll is held for a moment (or answered): it need not be the instant the relay holds it.
    await until(() => tunnel.state.phase === 'online', 'the tunnel back online');
    const after = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        visit(port, host, { path: `/who?delay=${i % 3}`, headers: { 'x-marker': `after-${i}` } }),
      ),
    );
    after.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe(`after-${i}`);
    });
  });
});

describe('upstream faults', () => {
  it('answers 502 with a page naming the tunnel and target when the upstream is down', async () => {
    const dead = await startServer(() => undefined);
    const target = dead.url;
    await dead.close();
    const relay = await startRelay();
    cleanups.push(() => relay.close(0));
    const tunnel = await startTunnel(relay.url, target, { profile: { name: 'my shop' } });
    cleanups.push(() => tunnel.close(0));
    const r = await visit(relay.port, tunnel.profile.relay.host);
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toContain('text/html');
    const page = r.body.toString();
    expect(page).toContain('my shop');
    expect(page).toContain(target);
    expect(tunnel.log.list().at(-1)?.error).toContain('connection refused');
  });

  it("answers 502 without Node's error text when the upstream drops the connection, the log keeping it", async () => {
    const rude = await startServer((req) => req.socket.destroy());
    cleanups.push(() => rude.close());
    const relay = await startRelay();
    cleanups.push(() => relay.close(0));
    const tunnel = await startTunnel(relay.url, rude.url);
    cleanups.push(() => tunnel.close(0));
    const r = await visit(relay.port, tunnel.profile.relay.host, { path: '/rude' });
    expect(r.status).toBe(502);
    const page = r.body.toString();
    expect(page).toContain(rude.url);
    expectNothingLocal(page);
    expect(page).not.toContain('other side closed');
    await until(() => tunnel.log.list().some((x) => x.url === '/rude'), 'the log entry');
    expect(tunnel.log.list().find((x) => x.url === '/rude')?.error).toMatch(
      /other side closed|socket hang up|ECONNRESET/,
    );
  });

  it("answers 504 when the upstream is slower than the tunnel's timeout", async () => {
    const slow = await startServer(() => undefined); // never answers
    cleanups.push(() => slow.close());
    const relay = await startRelay();
    cleanups.push(() => relay.close(0));
    const tunnel = await startTunnel(relay.url, slow.url, { profile: { upstreamTimeoutMs: 1000 } });
    cleanups.push(() => tunnel.close(0));
    const r = await visit(relay.port, tunnel.profile.relay.host);
    expect(r.status).toBe(504);
    expect(r.body.toString()).toContain('did not answer within 1 s');
  });
});

describe('claims', () => {
  it("refuses a second token claiming a taken host, with the relay's message", async () => {
    const up = await upstream();
    const relay = await startRelay();
    cleanups.push(() => relay.close(0));
    const first = await startTunnel(relay.url, up.url, { profile: { relay: { host: 'taken.test', token: 'one' } } });
    cleanups.push(() => first.close(0));
    const second = await startTunnel(relay.url, up.url, {
      profile: { relay: { host: 'taken.test', token: 'two' } },
      options: { heldAfterMs: 5000 },
      wait: false,
    });
    cleanups.push(() => second.close(0));
    await expect(second.whenOnline()).rejects.toThrow(/403.*already claimed/);
    expect(second.state.phase).toBe('failed');
    // The owner is untouched.
    expect(first.state.phase).toBe('online');
    const r = await visit(relay.port, 'taken.test', { path: '/still-mine' });
    expect(r.status).toBe(200);
  });

  it('refuses hosts outside --domain and tokens outside --tokens', async () => {
    const up = await upstream();
    const relay = await startRelay({ domain: 'example.test', tokens: new Set(['good']) });
    cleanups.push(() => relay.close(0));
    const outside = await startTunnel(relay.url, up.url, {
      profile: { relay: { host: 'a.other.test', token: 'good' } },
      wait: false,
    });
    cleanups.push(() => outside.close(0));
    await expect(outside.whenOnline()).rejects.toThrow(/under example\.test/);
    const badToken = await startTunnel(relay.url, up.url, {
      profile: { relay: { host: 'a.example.test', token: 'bad' } },
      wait: false,
    });
    cleanups.push(() => badToken.close(0));
    await expect(badToken.whenOnline()).rejects.toThrow(/may not claim/);
    const ok = await startTunnel(relay.url, up.url, { profile: { relay: { host: 'a.example.test', token: 'good' } } });
    cleanups.push(() => ok.close(0));
    expect(ok.state.phase).toBe('online');
  });
});

describe('an unreachable relay means back-off, not failure', () => {
  it('backs off with growing attempts when the relay answers 502 (as Cloudflare does)', async () => {
    let polls = 0;
    const cf = await startServer((req, res) => {
      polls += 1;
      req.resume();
      res.writeHead(502, { 'content-type': 'text/html' }).end(Buffer.from('<h1>502 Bad gateway</h1>'));
    });
    cleanups.push(() => cf.close());
    const up = await upstream();
    const tunnel = await startTunnel(cf.url, up.url, {
      profile: { workers: 4 },
      options: { backoff: quickBackoff() },
      wait: false,
    });
    cleanups.push(() => tunnel.close(0));
    const seen = phases(tunnel);
    await new Promise<void>((resolve) => {
      const on = (): void => {
        const s = tunnel.state;
        if (s.phase === 'reconnecting' && s.attempt >= 4) {
          tunnel.off('status', on);
          resolve();
        }
      };
      tunnel.on('status', on);
    });
    const attempts = seen.flatMap((s) => (s.phase === 'reconnecting' ? [s.attempt] : []));
    expect(attempts.slice(0, 4)).toEqual([1, 2, 3, 4]);
    expect(seen.some((s) => s.phase === 'failed')).toBe(false);
    const last = tunnel.state as Extract<PhaseState, { phase: 'reconnecting' }>;
    expect(last.lastError).toContain('502');
    // Four pollers, four rounds: every round waits, none spins.
    expect(polls).toBeLessThanOrEqual(4 * 5);
  });

  it('paces the re-sends of a reply by the same back-off (never a tight loop)', async () => {
    let posts = 0;
    let handedOut = false;
    const flaky = await startServer((req, res) => {
      posts += 1;
      req.resume();
      req.on('end', () => {
        if (!handedOut) {
          handedOut = true;
          res
            .writeHead(200, {
              'fpw-id': 'r1',
              'fpw-method': 'GET',
              'fpw-url': '/x',
              'fpw-header': '{}',
              'content-length': '0',
            })
            .end();
        } else {
          res.writeHead(503).end(Buffer.from('down for maintenance'));
        }
      });
    });
    cleanups.push(() => flaky.close());
    const up = await upstream();
    const tunnel = await startTunnel(flaky.url, up.url, {
      profile: { workers: 1 },
      options: { backoff: quickBackoff() },
      wait: false,
    });
    cleanups.push(() => tunnel.close(0));
    await new Promise<void>((resolve) => {
      const on = (): void => {
        const s = tunnel.state;
        if (s.phase === 'reconnecting' && s.attempt >= 5) {
          tunnel.off('status', on);
          resolve();
        }
      };
      tunnel.on('status', on);
    });
    // One poll that got the request, then one re-send of the reply per back-off round.
    expect(posts).toBeLessThanOrEqual(1 + 5);
  });

  it('backs off when nothing listens at the relay address', async () => {
    const gone = await startServer(() => undefined);
    const url = gone.url;
    await gone.close();
    const up = await upstream();
    const tunnel = await startTunnel(url, up.url, { options: { backoff: quickBackoff() }, wait: false });
    cleanups.push(() => tunnel.close(0));
    const s = await nextPhase(tunnel, 'reconnecting');
    expect(s.phase === 'reconnecting' && s.lastError).toContain('refused the connection');
  });

  it('serves again once a relay appears at the address', async () => {
    const gone = await startServer(() => undefined);
    const port = gone.port;
    await gone.close();
    const up = await upstream();
    const tunnel = await startTunnel(`http://127.0.0.1:${port}`, up.url, {
      options: { backoff: quickBackoff() },
      wait: false,
    });
    cleanups.push(() => tunnel.close(0));
    await nextPhase(tunnel, 'reconnecting');
    const relay = new RelayServer({ port });
    await relay.listen();
    cleanups.push(() => relay.close(0));
    await tunnel.whenOnline();
    expect((await visit(port, tunnel.profile.relay.host)).status).toBe(200);
  });
});

describe('stop', () => {
  it('lets a request in flight finish before stopping', async () => {
    const up = await upstream();
    const relay = await startRelay();
    cleanups.push(() => relay.close(0));
    const tunnel = await startTunnel(relay.url, up.url);
    const pending = visit(relay.port, tunnel.profile.relay.host, {
      path: '/who?delay=300',
      headers: { 'x-marker': 'last one' },
    });
    await new Promise((r) => setTimeout(r, 100));
    await tunnel.stop(5000);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('last one');
    expect(tunnel.state.phase).toBe('stopped');
    await tunnel.close(0);
  });
});

describe('an upstream that dies mid-response', () => {
  it('never hands the visitor a cut body as a whole one, and the tunnel goes on', async () => {
    const dying = await startServer((req, res) => {
      if (req.url === '/ok') {
        res.end(Buffer.from('fine'));
        return;
      }
      const big = req.url === '/big';
      // Announces more than it sends, then drops the connection.
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': big ? 4 * 1024 * 1024 : 1000,
      });
      res.write(Buffer.alloc(big ? 1024 * 1024 : 100, 0x61), () => res.destroy());
    });
    cleanups.push(() => dying.close());
    const relay = await startRelay();
    cleanups.push(() => relay.close(0));
    const tunnel = await startTunnel(relay.url, dying.url);
    cleanups.push(() => tunnel.close(0));
    const host = tunnel.profile.relay.host;
    // Small: the worker has the answer whole before it replies, so the visitor gets a clear 502.
    const small = await visit(relay.port, host, { path: '/small' });
    expect(small.status).toBe(502);
    expect(small.body.toString()).toContain('could not get an answer');
    // Big: the reply was already streaming, so the visitor's connection is cut rather than ended.
    await expect(visit(relay.port, host, { path: '/big' })).rejects.toThrow();
    // The relay was never at fault: the tunnel stays online and serves the next visitor.
    expect(tunnel.state.phase).toBe('online');
    const next = await visit(relay.port, host, { path: '/ok' });
    expect(next.status).toBe(200);
    expect(next.body.toString()).toBe('fine');
  });
});

describe('found in review', () => {
  it('keeps pacing by back-off after a stop and a start (the wake-up signal is renewed)', async () => {
    let connections = 0;
    const { createServer } = await import('node:net');
    const resetter = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((r) => resetter.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => resetter.close(() => r())));
    const port = (resetter.address() as { port: number }).port;
    const up = await upstream();
    const tunnel = await startTunnel(`http://127.0.0.1:${port}`, up.url, {
      profile: { workers: 2 },
      options: { backoff: new Backoff({ baseMs: 100, capMs: 200, floorMs: 100 }) },
      wait: false,
    });
    cleanups.push(() => tunnel.close(0));
    await nextPhase(tunnel, 'reconnecting');
    await tunnel.stop(0);
    tunnel.start();
    await nextPhase(tunnel, 'reconnecting');
    const before = connections;
    await new Promise((r) => setTimeout(r, 500));
    // 2 workers, one try per round of at least 100 ms: a handful of connections, not thousands.
    expect(connections - before).toBeLessThanOrEqual(2 * 6);
  });

  it('slows down when a "relay" answers every poll idle at once (no tight loop)', async () => {
    let polls = 0;
    const eager = await startServer((req, res) => {
      polls += 1;
      req.resume();
      res.writeHead(200, { 'content-length': '0' }).end();
    });
    cleanups.push(() => eager.close());
    const up = await upstream();
    const tunnel = await startTunnel(eager.url, up.url, { profile: { workers: 2 }, wait: false });
    cleanups.push(() => tunnel.close(0));
    await new Promise((r) => setTimeout(r, 1000));
    // Unchecked, two loops answered at once poll thousands of times a second.
    expect(polls).toBeLessThan(200);
  });

  it('streams a large body both ways to an upstream that answers while it still reads', async () => {
    const echo = await startServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    });
    cleanups.push(() => echo.close());
    const relay = await startRelay();
    cleanups.push(() => relay.close(0));
    const tunnel = await startTunnel(relay.url, echo.url);
    cleanups.push(() => tunnel.close(0));
    const payload = Buffer.alloc(5 * 1024 * 1024, 0x5a);
    const r = await visit(relay.port, tunnel.profile.relay.host, { method: 'POST', path: '/duplex', body: payload });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(payload.length);
    expect(r.body.equals(payload)).toBe(true);
  });

  it('ends stop() after its grace period even when the upstream never answers', async () => {
    const silent = await startServer(() => undefined);
    cleanups.push(() => silent.close());
    const relay = await startRelay();
    cleanups.push(() => relay.close(0));
    const tunnel = await startTunnel(relay.url, silent.url, { profile: { upstreamTimeoutMs: 600_000 } });
    const pending = visit(relay.port, tunnel.profile.relay.host, { path: '/never' }).catch(() => null);
    await until(() => tunnel.snapshot().counters.inFlight === 1, 'the request in flight');
    // Without the grace being enforced this would wait for the 10-minute upstream timeout.
    await tunnel.close(200);
    expect(tunnel.state.phase).toBe('stopped');
    void pending;
  });

  it('answers 431 to a visitor whose URL alone would overflow the worker leg', async () => {
    const relay = await startRelay();
    cleanups.push(() => relay.close(0));
    const up = await upstream();
    const tunnel = await startTunnel(relay.url, up.url);
    cleanups.push(() => tunnel.close(0));
    const r = await visit(relay.port, tunnel.profile.relay.host, { path: `/${'a'.repeat(20_000)}` });
    expect(r.status).toBe(431);
    expect(tunnel.state.phase).toBe('online');
  });
});

describe('a visitor who leaves during a big answer', () => {
  it('does not leave the worker slot stuck: the next visitor is served', async () => {
    const up = await upstream();
    const relay = await startRelay({ queueTimeoutMs: 5000 });
    cleanups.push(() => relay.close(0));
    const tunnel = await startTunnel(relay.url, up.url, {
      profile: { workers: 1 },
      options: { resendCapBytes: 64 * 1024 },
    });
    cleanups.push(() => tunnel.close(0));
    const host = tunnel.profile.relay.host;
    const { request } = await import('node:http');
    // Reads a little of a 16 MiB answer, then hangs up.
    await new Promise<void>((resolve) => {
      const req = request(
        { host: '127.0.0.1', port: relay.port, path: `/bytes/${16 * 1024 * 1024}`, headers: { host } },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => resolve());
      req.end();
    });
    const next = await visit(relay.port, host, { path: '/after-hang-up' });
    expect(next.status).toBe(200);
    expect(JSON.parse(next.body.toString()).url).toBe('/after-hang-up');
  });
});
