// The cluster row of `npm run bench`: three relays on one Redis, the workers on one of them, and
// visitors spread over all three (two thirds of them forwarded), against the same load on that one
// relay alone: what the extra hop costs.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ClusterBenchOptions {
  bin: string;
  bindTo: string;
  upstream: string;
  duration: number;
  connections: number;
  workers: number;
  /** Starts a child process (killed when the benchmark exits) and waits for a line. */
  start(args: string[], ready: RegExp): Promise<{ proc: ChildProcess; match: RegExpMatchArray }>;
  parseWrk(text: string): { requests: number; rps: number; p99ms: number; errors: number };
}

async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, host, resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function wrk(url: string, host: string, conns: number, duration: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'wrk',
      ['-t', '1', '-c', String(conns), '-d', `${duration}s`, '--latency', '-H', `Host: ${host}`, url],
      { encoding: 'utf8' },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
  });
}

/** One line for the report, or why the row was left out. */
export async function benchCluster(o: ClusterBenchOptions): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-bench-cluster-'));
  let redis: ChildProcess | null = null;
  try {
    const redisPort = await freePort(o.bindTo);
    redis = spawn(
      'redis-server',
      ['--port', String(redisPort), '--bind', o.bindTo, '--save', '', '--appendonly', 'no', '--dir', dir],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    const up = await new Promise<boolean>((resolve) => {
      let out = '';
      redis!.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('Ready to accept connections')) resolve(true);
      });
      redis!.once('error', () => resolve(false));
      redis!.once('exit', () => resolve(false));
    });
    if (!up) return 'cluster: left out (redis-server is not installed)\n';
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'bench-cluster-secret-0123456789\n');
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort(o.bindTo);
      await o.start(
        [
          o.bin,
          'relay',
          '--bind',
          o.bindTo,
          '--port',
          String(port),
          '--redis',
          `redis://${o.bindTo}:${redisPort}/`,
          '--cluster-secret-file',
          secret,
        ],
        /^Cluster node /m,
      );
      ports.push(port);
    }
    const host = 'bench-cluster.test';
    await o.start(
      [
        o.bin,
        'http',
        o.upstream,
        '--relay',
        `http://${o.bindTo}:${ports[0]}/`,
        '--host',
        host,
        '--token',
        'bench',
        '--workers',
        String(o.workers),
        '--json',
      ],
      /"event":"online"/,
    );
    // Give the others a heartbeat to learn where the worker is.
    await new Promise((r) => setTimeout(r, 1500));
    const share = Math.max(1, Math.round(o.connections / 3));
    const run = async (targets: number[]): Promise<{ rps: number; p99ms: number; errors: number }> => {
      const outs = await Promise.all(targets.map((p) => wrk(`http://${o.bindTo}:${p}/small`, host, share, o.duration)));
      const loads = outs.map((t) => o.parseWrk(t));
      return {
        rps: loads.reduce((a, l) => a + l.rps, 0),
        p99ms: Math.max(...loads.map((l) => l.p99ms)),
        errors: loads.reduce((a, l) => a + l.errors, 0),
      };
    };
    const alone = await run([ports[0]!, ports[0]!, ports[0]!]);
    const spread = await run(ports);
    const f = (n: number, d = 1): string => n.toFixed(d);
    return (
      `Cluster, small body, ${share * 3} conns: visitors on the relay with the worker ${f(alone.rps, 0)} req/s (p99 ${f(alone.p99ms, 2)} ms, ` +
      `${alone.errors} errors); spread over three relays (two thirds forwarded) ${f(spread.rps, 0)} req/s (p99 ${f(spread.p99ms, 2)} ms, ` +
      `${spread.errors} errors): ${f((spread.rps / alone.rps) * 100)} % of the single relay\n`
    );
  } finally {
    redis?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
