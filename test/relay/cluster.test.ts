// A relay cluster on Redis, with real components: Debian's redis-server and HAProxy (the README's
// configuration), three `porthole relay` processes, and `porthole http` workers connected through
// HAProxy, so that their polls spread over the relays.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis as RedisClient } from 'ioredis';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { FPW } from '../../src-main/protocol/fpw-codec.ts';
import { TUNNEL_PROTOCOL, WS_TUNNEL_PATH } from '../../src-main/protocol/ws-tunnel.ts';
import { RelayServer } from '../../src-main/relay/RelayServer.ts';
import { signedHeaders } from '../../src-main/relay/cluster/sign.ts';
import { killAll, spawnCli, type CliProcess } from '../helpers/cli.ts';
import { readmeHaproxyConfig, startHaproxy, type Haproxy } from '../helpers/haproxy.ts';
import { bytes, echoHandler, sha256, startServer, visit, type Server } from '../helpers/net.ts';
import { freePort, startRedis, type Redis } from '../helpers/redis.ts';

const SECRET = 'cluster-secret-for-tests-0123456789';
const BINARY = bytes(256 * 1024, 7);

let dir: string;
let secretFile: string;
let redis: Redis;
let upstream: Server;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'porthole-cluster-'));
  secretFile = join(dir, 'secret');
  await writeFile(secretFile, `${SECRET}\n`);
  redis = await startRedis();
  const echo = echoHandler();
  upstream = await startServer((req, res) => {
    if (req.url === '/binary') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BINARY.length });
      return void res.end(BINARY);
    }
    echo(req, res);
  });
  const wss = new WebSocketServer({ server: upstream.server });
  wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
});
afterEach(killAll);
afterAll(async () => {
  await upstream.close();
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
});

const env = () => ({ PORTHOLE_CONFIG_DIR: dir, FPW_HOST: '', FPW_TOKEN: '' });
const redisUrl = () => `redis://127.0.0.1:${redis.port}/`;

interface Cluster {
  relays: Array<{ p: CliProcess; port: number }>;
  haproxy: Haproxy;
}

/** Three relays on Redis behind HAProxy, as the README says. */
async function startCluster(): Promise<Cluster> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const hp = await freePort();
  const relays = await Promise.all(
    ports.map(async (port) => {
      const p = spawnCli(
        [
          'relay',
          '--port',
          String(port),
          '--redis',
          redisUrl(),
          '--node-url',
          `http://127.0.0.1:${port}`,
          '--cluster-secret-file',
          secretFile,
          '--trust-proxy',
          '127.0.0.1/32',
          '--public-port',
          String(hp),
        ],
        env(),
      );
      await p.waitFor(/^Cluster node [0-9a-f]{8} at http:\/\/127\.0\.0\.1:\d+, Redis \S+ reachable$/);
      return { p, port };
    }),
  );
  const haproxy = await startHaproxy(readmeHaproxyConfig(hp, ports), hp);
  return { relays, haproxy };
}

async function healthz(
  port: number,
): Promise<{ hosts: number; cluster: { node: string; redis: string; holding: number } }> {
  const res = await request(`http://127.0.0.1:${port}/healthz`);
  return (await res.body.json()) as never;
}

/** `porthole http` to the test upstream through `relay`; resolves with its public URL once online. */
async function startWorker(relay: string, host: string, token: string): Promise<string> {
  const worker = spawnCli(['http', String(upstream.port), '--relay', relay, '--host', host, '--token', token], env());
  return (await worker.waitFor(/^Forwarding (\S+) -> /))[1]!;
}

/** Every relay's /healthz, in the cluster's order. */
function healthOfAll(c: Cluster): Promise<Array<Awaited<ReturnType<typeof healthz>>>> {
  return Promise.all(c.relays.map((r) => healthz(r.port)));
}

/** One visitor's check: a binary download and an echoed POST, both exact; one that hangs fails. */
async function check(port: number, host: string, i: number): Promise<'ok' | 'wrong' | 'failed'> {
  const visit = async (port: number, host: string, opts: { method?: string; path: string; body?: Buffer }) => {
    const res = await request(`http://127.0.0.1:${port}${opts.path}`, {
      method: opts.method ?? 'GET',
      headers: { host },
      body: opts.body ?? null,
      signal: AbortSignal.timeout(8000),
    });
    return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
  };
  try {
    if (i % 2 === 0) {
      const r = await visit(port, host, { path: '/binary' });
      if (r.status !== 200) return 'failed';
      return sha256(r.body) === sha256(BINARY) ? 'ok' : 'wrong';
    }
    const body = bytes(1000 + i, i);
    const r = await visit(port, host, { method: 'POST', path: `/echo/${i}`, body });
    if (r.status !== 200) return 'failed';
    const echo = JSON.parse(r.body.toString()) as { url: string; bodySha: string };
    return echo.url === `/echo/${i}` && echo.bodySha === sha256(body) ? 'ok' : 'wrong';
  } catch {
    return 'failed';
  }
}

async function waitFor<T>(what: string, fn: () => Promise<T | null>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('claims are cluster-wide and atomic', () => {
  it('two tokens claiming one host at the same moment on two relays: exactly one owns it, 100 times', async () => {
    let windows = 0;
    // Between reading a claim and writing it, each relay waits: a check-then-set would let both win.
    const beforeClaimWrite = async (): Promise<void> => {
      windows += 1;
      await new Promise((r) => setTimeout(r, 3));
    };
    const make = () =>
      new RelayServer({
        port: 0,
        holdMs: 10,
        startupGraceMs: 0,
        // Every round has a loser: its refusals must not turn into 429s for this one address.
        failedClaimsLimit: 1000,
        cluster: { redisUrl: redisUrl(), secret: SECRET, beforeClaimWrite },
      });
    const a = make();
    const b = make();
    await a.listen();
    await b.listen();
    const direct = new RedisClient(redisUrl());
    try {
      const poll = async (relay: RelayServer, host: string, token: string): Promise<number> => {
        const res = await request(`${relay.url}/`, {
          method: 'POST',
          headers: { [FPW.host]: host, [FPW.token]: token, 'content-length': '0' },
        });
        await res.body.dump();
        return res.statusCode;
      };
      for (let i = 0; i < 100; i++) {
        const host = `race${i}.test`;
        const [sa, sb] = await Promise.all([poll(a, host, 'token-a'), poll(b, host, 'token-b')]);
        expect([sa, sb].sort()).toEqual([200, 403]);
        expect(await direct.get(`porthole:claim:${host}`)).toBe(sa === 200 ? 'token-a' : 'token-b');
      }
      // Both relays read each claim as free and waited before writing it, every time.
      expect(windows).toBeGreaterThanOrEqual(200);
    } finally {
      direct.disconnect();
      await Promise.all([a.close(100), b.close(100)]);
    }
  });
});

describe('claims live while any relay holds a worker', () => {
  it('a relay whose worker left does not release a claim another relay still holds; the last one does', async () => {
    const lines: string[] = [];
    const make = () =>
      new RelayServer({
        port: 0,
        holdMs: 20,
        // Over the relays' one-second renewal, so that only a release can end the claim early.
        claimGraceMs: 1500,
        startupGraceMs: 0,
        log: (line) => lines.push(line),
        cluster: { redisUrl: redisUrl(), secret: SECRET },
      });
    const a = make();
    const b = make();
    await a.listen();
    await b.listen();
    const direct = new RedisClient(redisUrl());
    // Every write to the claim, as Redis sees it: a release that deletes it shows as "del".
    const events: string[] = [];
    const watcher = new RedisClient(redisUrl());
    await direct.config('SET', 'notify-keyspace-events', 'Kgx$');
    await watcher.subscribe('__keyspace@0__:porthole:claim:shared.test');
    watcher.on('message', (_channel: string, event: string) => events.push(event));
    const poll = async (relay: RelayServer): Promise<number> => {
      const res = await request(`${relay.url}/`, {
        method: 'POST',
        headers: { [FPW.host]: 'shared.test', [FPW.token]: 'tok-shared', [FPW.worker]: 'w1', 'content-length': '0' },
      });
      await res.body.dump();
      return res.statusCode;
    };
    try {
      // The worker polls A once, then only B.
      expect(await poll(a)).toBe(200);
      let polling = true;
      const onB = (async () => {
        while (polling) expect(await poll(b)).toBe(200);
      })();
      await waitFor('A to let the host go', async () => lines.some((l) => l.includes(' release shared.test')) || null);
      // B holds it: the claim was never deleted, not even for the moment until B renews it.
      await new Promise((r) => setTimeout(r, 300));
      expect(events).not.toContain('del');
      expect(await direct.get('porthole:claim:shared.test')).toBe('tok-shared');
      const stolen = await request(`${a.url}/`, {
        method: 'POST',
        headers: { [FPW.host]: 'shared.test', [FPW.token]: 'tok-thief', 'content-length': '0' },
      });
      await stolen.body.dump();
      expect(stolen.statusCode).toBe(403);
      polling = false;
      await onB;
      // The last relay that held it lets it go after the grace period.
      await waitFor(
        'the claim to lapse',
        async () => (await direct.get('porthole:claim:shared.test')) === null || null,
        15_000,
      );
    } finally {
      direct.disconnect();
      watcher.disconnect();
      await Promise.all([a.close(100), b.close(100)]);
    }
  }, 30_000);
});

describe('three relays behind HAProxy', { timeout: 60_000 }, () => {
  it('serves a worker whose polls spread over the relays to visitors of every relay, byte-exact', async () => {
    const c = await startCluster();
    try {
      const url = await startWorker(`http://127.0.0.1:${c.haproxy.port}/`, 'spread.test', 'tok-spread');
      // The public URL is HAProxy's, not the relay's own port.
      expect(url).toBe(`http://spread.test:${c.haproxy.port}/`);
      // Its 8 polls went round-robin: more than one relay holds it (HAProxy keeps a connection's
      // requests on one relay, so how many depends on how many connections the worker opened).
      await waitFor('the worker to be held by more than one relay', async () => {
        const all = await healthOfAll(c);
        return all.filter((h) => h.cluster.holding === 1).length >= 2 || null;
      });
      const ports = [...c.relays.map((r) => r.port), c.haproxy.port];
      const results = await Promise.all(
        Array.from({ length: 80 }, (_, i) => check(ports[i % ports.length]!, 'spread.test', i)),
      );
      expect(results.filter((r) => r !== 'ok')).toEqual([]);
    } finally {
      await c.haproxy.stop();
    }
  });

  it('forwards visitors to the one relay holding a WebSocket worker, visitor WebSockets too', async () => {
    const c = await startCluster();
    try {
      await startWorker(`ws://127.0.0.1:${c.haproxy.port}/`, 'one.test', 'tok-one');
      const holding = await waitFor('one relay to hold the worker', async () => {
        const all = await healthOfAll(c);
        return all.filter((h) => h.cluster.holding === 1).length === 1 ? all : null;
      });
      expect(holding.filter((h) => h.cluster.holding === 0)).toHaveLength(2);
      const ports = [...c.relays.map((r) => r.port), c.haproxy.port];
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => check(ports[i % ports.length]!, 'one.test', i)),
      );
      expect(results.filter((r) => r !== 'ok')).toEqual([]);
      for (const port of ports) {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`, { headers: { host: 'one.test' } });
        await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
        const echoed = new Promise<Buffer>((resolve) => ws.once('message', (d) => resolve(d as Buffer)));
        ws.send(BINARY.subarray(0, 70_000));
        expect(sha256(await echoed)).toBe(sha256(BINARY.subarray(0, 70_000)));
        const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
        ws.close(4001);
        expect(await closed).toBe(4001);
      }
    } finally {
      await c.haproxy.stop();
    }
  });

  it('refuses internal requests without the cluster secret, and never forwards a forwarded one', async () => {
    const c = await startCluster();
    try {
      await startWorker(`ws://127.0.0.1:${c.relays[0]!.port}/`, 'signed.test', 'tok-s');
      const other = c.relays[1]!.port;
      await waitFor(
        'the worker to be known to the others',
        async () => (await check(other, 'signed.test', 1)) === 'ok' || null,
      );
      const forged = signedHeaders(
        'not-the-secret-0123456789',
        { node: 'deadbeef', ip: '203.0.113.9', chain: '203.0.113.9', replyOnly: false },
        'GET',
        'signed.test',
        '/x',
      );
      const refused = await visit(other, 'signed.test', { path: '/x', headers: forged });
      expect(refused.status).toBe(403);
      expect(refused.body.toString()).toContain('not signed with this cluster secret');
      // Signed, as a relay forwards: answered where it landed, not sent on to the relay with the worker.
      const signed = signedHeaders(
        SECRET,
        { node: 'deadbeef', ip: '203.0.113.9', chain: '203.0.113.9', replyOnly: false },
        'GET',
        'signed.test',
        '/x',
      );
      const here = await visit(other, 'signed.test', { path: '/x', headers: signed });
      expect([404, 503]).toContain(here.status);
      expect(here.body.toString()).toContain('No tunnel serves signed.test');
      // And the visitor address it carries is the one the worker sees.
      const carried = signedHeaders(
        SECRET,
        { node: 'deadbeef', ip: '203.0.113.9', chain: '203.0.113.9', replyOnly: false },
        'GET',
        'signed.test',
        '/ip',
      );
      const echoed = await visit(c.relays[0]!.port, 'signed.test', { path: '/ip', headers: carried });
      expect(echoed.status).toBe(200);
      expect(JSON.parse(echoed.body.toString()).headers['x-forwarded-for']).toContain('203.0.113.9');
    } finally {
      await c.haproxy.stop();
    }
  });

  it('a relay killed mid-traffic: the worker is served through the others within 10 s, no wrong answer', async () => {
    const c = await startCluster();
    try {
      await startWorker(`http://127.0.0.1:${c.haproxy.port}/`, 'kill.test', 'tok-kill');
      // The relay to be killed is one that holds some of its polls.
      const victim = await waitFor('a relay to hold the worker', async () => {
        const all = await healthOfAll(c);
        const k = all.findIndex((h) => h.cluster.holding === 1);
        return k === -1 ? null : c.relays[k]!;
      });
      const survivors = [...c.relays.filter((r) => r !== victim).map((r) => r.port), c.haproxy.port];
      const ports = [...c.relays.map((r) => r.port), c.haproxy.port];
      const tally = { ok: 0, wrong: 0, failed: 0 };
      let stop = false;
      let i = 0;
      const load = Array.from({ length: 6 }, async () => {
        while (!stop) {
          const n = i++;
          tally[await check(ports[n % ports.length]!, 'kill.test', n)] += 1;
        }
      });
      await new Promise((r) => setTimeout(r, 1500));
      victim.p.proc.kill('SIGKILL');
      const killedAt = Date.now();
      ports.splice(ports.indexOf(victim.port), 1);
      // Within 10 s, every survivor answers again.
      await waitFor(
        'the survivors to serve the worker',
        async () => {
          const rs = await Promise.all(survivors.map((p, k) => check(p, 'kill.test', k)));
          return rs.every((r) => r === 'ok') || null;
        },
        10_000,
      );
      expect(Date.now() - killedAt).toBeLessThan(10_000);
      await new Promise((r) => setTimeout(r, 1500));
      stop = true;
      await Promise.all(load);
      expect(tally.wrong).toBe(0);
      expect(tally.ok).toBeGreaterThan(50);
      // After the recovery, nothing fails.
      const after = await Promise.all(Array.from({ length: 30 }, (_, k) => check(survivors[k % 3]!, 'kill.test', k)));
      expect(after.filter((r) => r !== 'ok')).toEqual([]);
    } finally {
      await c.haproxy.stop();
    }
  });

  it('Redis stopped and started: local workers keep being served, new claims get 503, all is whole within 10 s of its return', async () => {
    const c = await startCluster();
    let redisDown = false;
    try {
      await startWorker(`ws://127.0.0.1:${c.relays[0]!.port}/`, 'outage.test', 'tok-out');
      await waitFor(
        'the others to forward',
        async () => (await check(c.relays[2]!.port, 'outage.test', 1)) === 'ok' || null,
      );
      await redis.stop();
      redisDown = true;
      await waitFor('every relay to say Redis is unreachable', async () => {
        const all = await healthOfAll(c);
        return all.every((h) => h.cluster.redis === 'unreachable') || null;
      });
      // The relay holding the worker serves it; one that forwarded to it before goes on doing so.
      expect(await check(c.relays[0]!.port, 'outage.test', 2)).toBe('ok');
      expect(await check(c.relays[2]!.port, 'outage.test', 3)).toBe('ok');
      // A new claim cannot be checked: 503 with Retry-After.
      const claim = await request(`http://127.0.0.1:${c.relays[1]!.port}/`, {
        method: 'POST',
        headers: { [FPW.host]: 'new.test', [FPW.token]: 'tok-new', 'content-length': '0' },
      });
      expect(claim.statusCode).toBe(503);
      expect(claim.headers['retry-after']).toBeDefined();
      const why = await claim.body.text();
      expect(why).toContain('cannot check claims');
      expect(why).toContain('the cluster&#39;s Redis does not answer');
      expect(why).not.toContain('enableOfflineQueue');
      // The same over the WebSocket transport: its upgrade is refused 503 with Retry-After.
      const refused = await new Promise<{ status: number; retryAfter: unknown }>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${c.relays[1]!.port}${WS_TUNNEL_PATH}`, TUNNEL_PROTOCOL, {
          headers: { [FPW.host]: 'new-ws.test', [FPW.token]: 'tok-new' },
        });
        ws.once('unexpected-response', (_req, res) => {
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
          res.resume();
          ws.terminate();
        });
        ws.once('open', () => reject(new Error('the claim was taken without Redis')));
        ws.once('error', () => undefined);
      });
      expect(refused).toEqual({ status: 503, retryAfter: '5' });

      redis = await startRedis({ port: redis.port });
      redisDown = false;
      const back = Date.now();
      await waitFor('every relay to see Redis again and every host to answer through every relay', async () => {
        const all = await healthOfAll(c);
        if (!all.every((h) => h.cluster.redis === 'reachable')) return null;
        const rs = await Promise.all(c.relays.map((r, k) => check(r.port, 'outage.test', k)));
        return rs.every((r) => r === 'ok') || null;
      });
      expect(Date.now() - back).toBeLessThan(10_000);
      // The claim was made again: the host is still this token's.
      const direct = new RedisClient(redisUrl());
      try {
        await waitFor(
          'the claim to be renewed',
          async () => (await direct.get('porthole:claim:outage.test')) === 'tok-out' || null,
          5000,
        );
      } finally {
        direct.disconnect();
      }
    } finally {
      // The tests after this one need it, whatever happened here.
      if (redisDown) redis = await startRedis({ port: redis.port });
      await c.haproxy.stop();
    }
  });

  it('TCP ports: one owner in the cluster, and every relay takes connections to every port', async () => {
    // Three relays on three loopback addresses, as on three machines: each listens on every port.
    const port = await freePort();
    const range = `${32000 + (port % 500) * 4}-${32000 + (port % 500) * 4 + 3}`;
    const addresses = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
    const relays = await Promise.all(
      addresses.map(async (bind) => {
        const p = spawnCli(
          [
            'relay',
            '--bind',
            bind,
            '--port',
            String(port),
            '--tcp-ports',
            range,
            '--redis',
            redisUrl(),
            '--node-url',
            `http://${bind}:${port}`,
            '--cluster-secret-file',
            secretFile,
            '--trust-proxy',
            '127.0.0.0/8',
          ],
          env(),
        );
        await p.waitFor(/^Cluster node [0-9a-f]{8} .* reachable$/);
        return { p, bind };
      }),
    );
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const local = (echo.address() as net.AddressInfo).port;
    try {
      // Two workers on two relays ask for any port: they get two different ones.
      const workers = [0, 1].map((k) =>
        spawnCli(
          [
            'tcp',
            String(local),
            '--relay',
            `ws://${addresses[k]}:${port}/`,
            '--host',
            `tcp${k}.test`,
            '--token',
            `tok-tcp${k}`,
          ],
          env(),
        ),
      );
      const granted = await Promise.all(
        workers.map(async (w) => Number((await w.waitFor(/^Forwarding tcp:\/\/\S+:(\d+) -> /))[1])),
      );
      expect(new Set(granted).size).toBe(2);
      // Every relay passes a connection to either port to the relay that holds its worker, byte for byte.
      const payload = bytes(300_000, 11);
      for (const publicPort of granted) {
        for (const bind of addresses) {
          const got = await waitFor(`an echo through ${bind}:${publicPort}`, async () => {
            const socket = net.connect(publicPort, bind);
            socket.on('error', () => undefined);
            const chunks: Buffer[] = [];
            socket.on('data', (c: Buffer) => chunks.push(c));
            await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
            socket.end(payload);
            await new Promise((resolve) => socket.once('close', resolve));
            return sha256(Buffer.concat(chunks)) === sha256(payload) || null;
          });
          expect(got).toBe(true);
        }
      }
    } finally {
      echo.close();
      for (const r of relays) r.p.proc.kill('SIGTERM');
    }
  });
});
