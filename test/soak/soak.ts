// The soak: a real relay and real tunnels (FPW and WebSocket) under mixed traffic while a fault
// injector cuts, stalls and slows the links between workers and relay, and the relay and the
// upstream are restarted at random moments. Every answer is checked against what the upstream sent.
//
// Used by `npm run soak` (test/soak/run.ts) and by the one-minute version in `npm test`. Nothing
// here asserts a time: a request is "hung" only past a deadline far above any normal latency.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { spawnCli, type CliProcess } from '../helpers/cli.ts';

export interface SoakOptions {
  /** How long traffic and faults run, in seconds. */
  seconds: number;
  seed: number;
  /** Concurrent visitors. */
  clients?: number;
  /** Seconds between the end of one fault and the start of the next (drawn between these). */
  faultGap?: [number, number];
  /** Size of the large downloads, in bytes (10 MiB by default). */
  bigBytes?: number;
  log?: (line: string) => void;
}

export interface ProcessStats {
  name: string;
  rssStartKiB: number;
  rssEndKiB: number;
  fdsStart: number;
  fdsEnd: number;
  /** True when the process was restarted during the run, so start and end are two processes. */
  restarted: boolean;
}

export interface SoakReport {
  sent: number;
  ok: number;
  cleanErrors: number;
  wrong: number;
  hung: number;
  reconnects: number;
  faults: Record<string, number>;
  unrecovered: number;
  recoveryMaxS: number;
  recoveryP95S: number;
  processes: ProcessStats[];
  /** The first few wrong or hung requests, for a person to read. */
  problems: string[];
  /** How the clean errors looked (status or client error), with counts. */
  errorKinds: Record<string, number>;
  summary: string;
}

/** mulberry32: a small seeded generator, so a run can be repeated. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The 64 KiB block a download with this id repeats, so the visitor can check every byte. */
function block(id: number): Buffer {
  const b = Buffer.allocUnsafe(64 * 1024);
  let x = (id * 2654435761) >>> 0 || 1;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

// ---- the upstream: restartable on the same port ----

class Upstream {
  port = 0;
  private server: http.Server | null = null;
  private wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });

  private handle = (req: IncomingMessage, res: ServerResponse): void => {
    const m = /^\/(small|big|upload)\/(\d+)(?:\?size=(\d+))?$/.exec(req.url ?? '');
    if (!m) return void res.writeHead(404).end('no such route');
    const id = Number(m[2]);
    if (m[1] === 'small') return void res.end(`ok ${id}`);
    if (m[1] === 'upload') {
      const hash = createHash('sha256');
      req.on('data', (c: Buffer) => hash.update(c));
      req.on('end', () => res.end(`${id}:${hash.digest('hex')}`));
      return;
    }
    const size = Number(m[3]);
    const b = block(id);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    let sent = 0;
    const pump = (): void => {
      while (sent < size) {
        const n = Math.min(b.length, size - sent);
        sent += n;
        if (!res.write(n === b.length ? b : b.subarray(0, n))) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  };

  async start(): Promise<void> {
    const server = http.createServer(this.handle);
    server.on('upgrade', (req, socket, head) => {
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
        ws.on('error', () => {});
      });
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    for (const c of this.wss.clients) c.terminate();
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

// ---- the fault injector: a TCP proxy between workers and relay ----

class Gate extends Transform {
  private proxy: FaultProxy;
  constructor(proxy: FaultProxy) {
    super();
    this.proxy = proxy;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    void this.proxy.pass().then(() => done(null, chunk));
  }
}

class FaultProxy {
  port = 0;
  private server = net.createServer((client) => this.accept(client));
  private pairs = new Set<[net.Socket, net.Socket]>();
  private stalled: Promise<void> | null = null;
  private delayMs = 0;
  accepted = 0;
  private target: () => number;

  constructor(target: () => number) {
    this.target = target;
  }

  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    this.accepted += 1;
    const upstream = net.connect(this.target(), '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.pairs.add(pair);
    const end = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(new Gate(this)).pipe(upstream);
    upstream.pipe(new Gate(this)).pipe(client);
  }

  /** Resolves when a chunk may go on: after a stall ends and after the current delay. */
  async pass(): Promise<void> {
    while (this.stalled) await this.stalled;
    if (this.delayMs) await sleep(this.delayMs);
  }

  /** Every connection dies at once, without a goodbye. */
  cut(): void {
    for (const [a, b] of this.pairs) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    this.pairs.clear();
  }

  /** No byte moves either way for `ms`; the connections stay open. */
  async stall(ms: number): Promise<void> {
    let release!: () => void;
    this.stalled = new Promise((r) => (release = r));
    await sleep(ms);
    this.stalled = null;
    release();
  }

  /** Every chunk waits `perChunkMs` for `ms`. */
  async slow(perChunkMs: number, ms: number): Promise<void> {
    this.delayMs = perChunkMs;
    await sleep(ms);
    this.delayMs = 0;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

// ---- process measurements ----

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]);
}
async function fds(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

// ---- the run ----

type Outcome = { kind: 'ok' } | { kind: 'clean'; why: string } | { kind: 'wrong'; why: string };

const FPW_HOST = 'soak-fpw.localhost';
const WS_HOST = 'soak-ws.localhost';
/** A request still open this long after it started is hung: far above the relay's own deadlines. */
const DEADLINE_MS = { small: 20_000, upload: 30_000, big: 60_000, ws: 30_000 } as const;
const CLEAN_STATUSES = new Set([502, 503, 504]);

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  // Two generators: the faults' schedule stays the same for a seed however the traffic interleaves.
  const random = rng(opts.seed);
  const faultRandom = rng(opts.seed ^ 0x5eed);
  const pick = <T>(xs: readonly T[], r = random): T => xs[Math.floor(r() * xs.length)]!;
  const between = (lo: number, hi: number, r = random) => lo + r() * (hi - lo);
  const log = opts.log ?? (() => {});
  const clients = opts.clients ?? 8;
  const bigBytes = opts.bigBytes ?? 10 * 1024 * 1024;
  const [gapLo, gapHi] = opts.faultGap ?? [3, 8];

  const configDir = await mkdtemp(join(tmpdir(), 'porthole-soak-'));
  const env = { PORTHOLE_CONFIG_DIR: configDir, FPW_HOST: '', FPW_TOKEN: '' };
  const upstream = new Upstream();
  await upstream.start();

  let relayPort = 0;
  const startRelay = async (): Promise<CliProcess> => {
    const p = spawnCli(['relay', '--port', String(relayPort)], env);
    const [, port] = await p.waitFor(/^Listening on http:\/\/127\.0\.0\.1:(\d+)$/, 30_000);
    relayPort = Number(port);
    return p;
  };
  let relay = await startRelay();
  let relayRestarted = false;
  const proxy = new FaultProxy(() => relayPort);
  await proxy.start();

  const workers = [
    { name: 'worker (fpw)', host: FPW_HOST, scheme: 'http', token: 'soak-fpw' },
    { name: 'worker (ws)', host: WS_HOST, scheme: 'ws', token: 'soak-ws' },
  ].map((w) => ({
    ...w,
    proc: spawnCli(
      [
        'http',
        String(upstream.port),
        '--relay',
        `${w.scheme}://127.0.0.1:${proxy.port}/`,
        '--host',
        w.host,
        '--token',
        w.token,
      ],
      env,
    ),
  }));
  await Promise.all(workers.map((w) => w.proc.waitFor(/^Forwarding /, 30_000)));

  const agent = new http.Agent({ keepAlive: true, maxSockets: clients * 2 });
  const counts = { sent: 0, ok: 0, clean: 0, wrong: 0, hung: 0 };
  const errorKinds: Record<string, number> = {};
  const problems: string[] = [];
  const note = (line: string): void => {
    if (problems.length < 20) problems.push(line);
    log(`soak: ${line}`);
  };
  let nextId = 1;

  /** One HTTP exchange with the relay; `check` judges the body as it streams in. */
  const exchange = (
    host: string,
    method: string,
    path: string,
    body: Buffer | null,
    onBody: (res: IncomingMessage) => Promise<Outcome>,
  ): Promise<Outcome> =>
    new Promise<Outcome>((resolve) => {
      const req = http.request(
        { host: '127.0.0.1', port: relayPort, method, path, agent, headers: { host } },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            const status = res.statusCode ?? 0;
            res.on('error', () => {});
            return resolve(
              CLEAN_STATUSES.has(status)
                ? { kind: 'clean', why: `HTTP ${status}` }
                : { kind: 'wrong', why: `HTTP ${status} for ${method} ${path} on ${host}` },
            );
          }
          onBody(res).then(resolve, (err: Error) => resolve({ kind: 'clean', why: errName(err) }));
        },
      );
      req.on('error', (err) => resolve({ kind: 'clean', why: errName(err) }));
      req.end(body ?? undefined);
    });

  const download = (host: string, id: number, size: number, mode: 'whole' | 'slow' | 'abort') =>
    exchange(host, 'GET', `/big/${id}?size=${size}`, null, async (res) => {
      const b = block(id);
      let at = 0;
      for await (const chunk of res as AsyncIterable<Buffer>) {
        for (let off = 0; off < chunk.length;) {
          const pos = at % b.length;
          const n = Math.min(chunk.length - off, b.length - pos);
          if (chunk.compare(b, pos, pos + n, off, off + n) !== 0) {
            res.destroy();
            return { kind: 'wrong', why: `byte ${at} of download ${id} on ${host} differs` };
          }
          off += n;
          at += n;
        }
        if (mode === 'slow') await sleep(20);
        if (mode === 'abort' && at >= size / 4) {
          res.destroy();
          return { kind: 'ok' };
        }
      }
      if (at !== size) return { kind: 'clean', why: 'short body' };
      return { kind: 'ok' };
    });

  const text = async (res: IncomingMessage): Promise<string> => {
    const parts: Buffer[] = [];
    for await (const c of res as AsyncIterable<Buffer>) parts.push(c);
    return Buffer.concat(parts).toString('utf8');
  };

  const small = (host: string, id: number) =>
    exchange(host, 'GET', `/small/${id}`, null, async (res) => {
      const got = await text(res);
      return got === `ok ${id}`
        ? { kind: 'ok' }
        : { kind: 'wrong', why: `small ${id} on ${host} got ${JSON.stringify(got.slice(0, 60))}` };
    });

  const upload = (host: string, id: number) => {
    const body = Buffer.concat(Array.from({ length: 16 }, () => block(id)));
    const want = `${id}:${createHash('sha256').update(body).digest('hex')}`;
    return exchange(host, 'POST', `/upload/${id}`, body, async (res) => {
      const got = await text(res);
      return got === want
        ? { kind: 'ok' }
        : { kind: 'wrong', why: `upload ${id} on ${host} got ${JSON.stringify(got.slice(0, 80))}` };
    });
  };

  const websocket = (id: number): Promise<Outcome> =>
    new Promise<Outcome>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${relayPort}/ws/${id}`, { headers: { host: WS_HOST } });
      const sent: Buffer[] = [];
      let settled = false;
      const done = (o: Outcome): void => {
        if (settled) return;
        settled = true;
        ws.terminate();
        resolve(o);
      };
      ws.on('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        done(
          CLEAN_STATUSES.has(status)
            ? { kind: 'clean', why: `HTTP ${status}` }
            : { kind: 'wrong', why: `ws ${id}: HTTP ${status}` },
        );
      });
      ws.on('error', (err) => done({ kind: 'clean', why: errName(err) }));
      ws.on('close', () => done({ kind: 'clean', why: 'ws closed' }));
      const sendNext = (): void => {
        if (sent.length === 5) return done({ kind: 'ok' });
        const msg = block(id * 7 + sent.length).subarray(0, 1 + Math.floor(random() * 60_000));
        sent.push(msg);
        ws.send(msg);
      };
      ws.on('open', sendNext);
      ws.on('message', (data: Buffer) => {
        const want = sent[sent.length - 1]!;
        if (!want.equals(data)) return done({ kind: 'wrong', why: `ws ${id}: echo ${sent.length} differs` });
        sendNext();
      });
    });

  const kinds = ['small', 'small', 'small', 'small', 'upload', 'big', 'slow', 'abort', 'ws'] as const;
  let running = true;

  const one = async (): Promise<void> => {
    const kind = pick(kinds);
    const host = kind === 'ws' ? WS_HOST : pick([FPW_HOST, WS_HOST]);
    const id = nextId++;
    counts.sent += 1;
    const started = Date.now();
    const deadline = DEADLINE_MS[kind === 'slow' || kind === 'abort' ? 'big' : kind];
    const work =
      kind === 'small'
        ? small(host, id)
        : kind === 'upload'
          ? upload(host, id)
          : kind === 'ws'
            ? websocket(id)
            : download(
                host,
                id,
                kind === 'slow' ? Math.min(bigBytes, 2 * 1024 * 1024) : bigBytes,
                kind === 'big' ? 'whole' : kind,
              );
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), deadline)));
    const outcome = await Promise.race([work, hung]);
    clearTimeout(timer);
    if (outcome === 'hung') {
      counts.hung += 1;
      note(`hung: ${kind} ${id} on ${host} still open after ${deadline / 1000} s`);
      return;
    }
    if (outcome.kind === 'ok') counts.ok += 1;
    else if (outcome.kind === 'clean') {
      counts.clean += 1;
      errorKinds[outcome.why] = (errorKinds[outcome.why] ?? 0) + 1;
    } else {
      counts.wrong += 1;
      note(`wrong after ${Date.now() - started} ms: ${outcome.why}`);
    }
  };

  const client = async (): Promise<void> => {
    while (running) {
      const clean = counts.clean;
      await one();
      // A visitor who got an error comes back a little later, as a browser's user would.
      if (counts.clean > clean) await sleep(between(100, 500));
    }
  };

  // ---- faults ----
  const faults: Record<string, number> = {};
  const recoveries: number[] = [];
  let unrecovered = 0;

  /** Seconds until both tunnels answer a small request correctly again. */
  const recover = async (): Promise<number | null> => {
    const t0 = Date.now();
    for (const host of [FPW_HOST, WS_HOST]) {
      for (;;) {
        if (Date.now() - t0 > 30_000) return null;
        const o = await small(host, 0).catch(() => null);
        if (o?.kind === 'ok') break;
        await sleep(100);
      }
    }
    return (Date.now() - t0) / 1000;
  };

  const faultKinds = ['cut', 'stall', 'slow', 'restart relay', 'restart upstream'] as const;
  const injector = async (): Promise<void> => {
    while (running) {
      await sleep(between(gapLo, gapHi, faultRandom) * 1000);
      if (!running) return;
      const kind = pick(faultKinds, faultRandom);
      faults[kind] = (faults[kind] ?? 0) + 1;
      log(`soak: fault: ${kind}`);
      if (kind === 'cut') proxy.cut();
      else if (kind === 'stall') await proxy.stall(between(500, 4000, faultRandom));
      else if (kind === 'slow') await proxy.slow(Math.round(between(5, 50, faultRandom)), 3000);
      else if (kind === 'restart relay') {
        relay.proc.kill('SIGKILL');
        await relay.exited;
        relay = await startRelay();
        relayRestarted = true;
      } else {
        await upstream.stop();
        await sleep(between(200, 2000, faultRandom));
        await upstream.start();
      }
      const took = await recover();
      if (took === null) {
        unrecovered += 1;
        note(`no recovery within 30 s after ${kind}`);
      } else {
        recoveries.push(took);
        log(`soak: recovered from ${kind} in ${took.toFixed(1)} s`);
      }
    }
  };

  const snapshot = async () => {
    const procs = [
      { name: 'relay', pid: relay.proc.pid! },
      ...workers.map((w) => ({ name: w.name, pid: w.proc.proc.pid! })),
    ];
    return Promise.all(procs.map(async (p) => ({ name: p.name, rss: await rssKiB(p.pid), fds: await fds(p.pid) })));
  };

  const loops = Array.from({ length: clients }, client);
  // Warm-up: a tenth of the run (at least 5 s) before the first measurement and the first fault.
  await sleep(Math.max(5, opts.seconds / 10) * 1000);
  const before = await snapshot();
  const faultLoop = injector();
  await sleep(Math.max(0, opts.seconds - Math.max(5, opts.seconds / 10)) * 1000);
  running = false;
  await faultLoop;
  await Promise.all(loops);
  const finalRecovery = await recover();
  if (finalRecovery === null) {
    unrecovered += 1;
    note('the tunnels did not answer at the end');
  }
  const after = await snapshot();

  const reconnects = workers.reduce((n, w) => n + w.proc.stdout.filter((l) => l.startsWith('Back online:')).length, 0);
  agent.destroy();
  for (const w of workers) await w.proc.stop('SIGTERM');
  await relay.stop('SIGTERM');
  await proxy.close();
  await upstream.stop();
  await rm(configDir, { recursive: true, force: true });

  const sorted = [...recoveries].sort((a, b) => a - b);
  const recoveryMaxS = sorted.at(-1) ?? 0;
  const recoveryP95S = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)] ?? 0;
  const processes: ProcessStats[] = before.map((b, i) => ({
    name: b.name,
    rssStartKiB: b.rss,
    rssEndKiB: after[i]!.rss,
    fdsStart: b.fds,
    fdsEnd: after[i]!.fds,
    restarted: b.name === 'relay' && relayRestarted,
  }));
  const summary = `soak: ${counts.sent} sent, ${counts.ok} ok, ${counts.clean} clean errors, ${counts.wrong} wrong, ${counts.hung} hung, ${reconnects} reconnects, recovery max ${recoveryMaxS.toFixed(1)} s`;
  return {
    sent: counts.sent,
    ok: counts.ok,
    cleanErrors: counts.clean,
    wrong: counts.wrong,
    hung: counts.hung,
    reconnects,
    faults,
    unrecovered,
    recoveryMaxS,
    recoveryP95S,
    processes,
    problems,
    errorKinds,
    summary,
  };
}

function errName(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code ? `client: ${code}` : `client: ${err.message.slice(0, 60)}`;
}
