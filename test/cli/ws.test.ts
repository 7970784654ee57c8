// The WebSocket transport from the command line: `--relay ws://...`, refusals, and a large download
// through real relay and worker processes whose memory stays bounded.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { echoHandler, startServer, visit, type Server } from '../helpers/net.ts';
import { killAll, spawnCli } from '../helpers/cli.ts';

let configDir: string;
let upstream: Server;
const HUGE = 256 * 1024 * 1024;

beforeAll(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'porthole-ws-'));
  const echo = echoHandler();
  const chunk = Buffer.alloc(1024 * 1024, 0x5a);
  upstream = await startServer((req, res) => {
    if (req.url !== '/huge') return echo(req, res);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': HUGE });
    let left = HUGE / chunk.length;
    const pump = (): void => {
      while (left > 0) {
        left -= 1;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
});
afterEach(killAll);
afterAll(async () => {
  await upstream.close();
  await rm(configDir, { recursive: true, force: true });
});

const env = () => ({ PORTHOLE_CONFIG_DIR: configDir, FPW_HOST: '', FPW_TOKEN: '' });

async function relay() {
  const p = spawnCli(['relay', '--port', '0'], env());
  const [, port] = await p.waitFor(/^Listening on http:\/\/127\.0\.0\.1:(\d+)$/);
  return { p, port: Number(port), ws: `ws://127.0.0.1:${port}/` };
}

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]);
}

describe('porthole http --relay ws://', () => {
  it('tunnels over one WebSocket and says where', async () => {
    const r = await relay();
    const http = spawnCli(['http', String(upstream.port), '--relay', r.ws, '--host', 'ws-cli.localhost'], env());
    const [, url] = await http.waitFor(/^Forwarding (\S+) -> /);
    expect(url).toBe(`http://ws-cli.localhost:${r.port}/`);
    const res = await visit(r.port, 'ws-cli.localhost', { method: 'POST', path: '/over/ws', body: 'hi' });
    expect(JSON.parse(res.body.toString()).url).toBe('/over/ws');
    await http.waitFor(/ {2}POST \/over\/ws {2}200 {2}\d+ ms$/);
    expect(await http.stop('SIGINT')).toBe(0);
  });

  it("exits with 3 and the relay's message when the claim is refused", async () => {
    const r = await relay();
    const first = spawnCli(
      ['http', String(upstream.port), '--relay', r.ws, '--host', 'taken.localhost', '--token', 'a'],
      env(),
    );
    await first.waitFor(/^Forwarding /);
    const second = spawnCli(
      ['http', String(upstream.port), '--relay', r.ws, '--host', 'taken.localhost', '--token', 'b'],
      env(),
    );
    expect(await second.exited).toBe(3);
    expect(second.stderr.join('\n')).toMatch(/HTTP 403.*already claimed/);
  });

  it('refuses a relay URL of the wrong kind for --transport, as a usage error', async () => {
    const p = spawnCli(['http', '3000', '--transport', 'fpw', '--relay', 'ws://127.0.0.1:9/'], env());
    expect(await p.exited).toBe(2);
    expect(p.stderr.join('\n')).toContain('is not an http:// or https:// URL');
  });

  it('carries a 256 MiB download with the memory of relay and worker growing by less than 64 MiB', async () => {
    const r = await relay();
    const http = spawnCli(['http', String(upstream.port), '--relay', r.ws, '--host', 'big.localhost'], env());
    await http.waitFor(/^Forwarding /);
    // Warm both up, so that what is measured is the download, not the first request's code.
    expect((await visit(r.port, 'big.localhost', { path: '/bytes/1048576' })).status).toBe(200);
    const base = { relay: await rssKiB(r.p.proc.pid!), worker: await rssKiB(http.proc.pid!) };
    const peak = { ...base };
    const sampler = setInterval(() => {
      void rssKiB(r.p.proc.pid!).then(
        (v) => (peak.relay = Math.max(peak.relay, v)),
        () => undefined,
      );
      void rssKiB(http.proc.pid!).then(
        (v) => (peak.worker = Math.max(peak.worker, v)),
        () => undefined,
      );
    }, 50);
    const received = await new Promise<number>((resolve, reject) => {
      const s = net.connect(r.port, '127.0.0.1', () =>
        s.write('GET /huge HTTP/1.1\r\nHost: big.localhost\r\nConnection: close\r\n\r\n'),
      );
      let n = 0;
      s.on('data', (c: Buffer) => (n += c.length));
      s.on('end', () => resolve(n));
      s.on('error', reject);
    });
    clearInterval(sampler);
    expect(received).toBeGreaterThan(HUGE);
    expect(peak.relay - base.relay).toBeLessThan(64 * 1024);
    expect(peak.worker - base.worker).toBeLessThan(64 * 1024);
  }, 120_000);
});
