// Stopping a tunnel (Ctrl+C): requests in flight get the grace period and then a 502 that reaches
// the visitor, and requests that come after the stop get a 503 at once, never the relay's timeouts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, visit, type Server } from '../helpers/net.ts';
import { killAll, spawnCli } from '../helpers/cli.ts';

let configDir: string;
let upstream: Server;
/** Requests that reached the upstream, by path. */
const arrived: string[] = [];

beforeAll(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'porthole-stop-'));
  upstream = await startServer((req, res) => {
    arrived.push(req.url ?? '/');
    // /slow takes 9 s, longer than the 5 s grace of a stop.
    const delay = req.url?.startsWith('/slow') ? 9000 : 0;
    const timer = setTimeout(() => res.end(`done ${req.url}`), delay);
    res.once('close', () => clearTimeout(timer));
  });
});
afterEach(killAll);
afterAll(async () => {
  await upstream.close();
  await rm(configDir, { recursive: true, force: true });
});

const env = () => ({ PORTHOLE_CONFIG_DIR: configDir, FPW_HOST: '', FPW_TOKEN: '' });

async function tunnel(host: string) {
  const relay = spawnCli(['relay', '--port', '0'], env());
  const [, url, port] = await relay.waitFor(/^Listening on (http:\/\/127\.0\.0\.1:(\d+))$/);
  const http = spawnCli(['http', String(upstream.port), '--relay', `${url!}/`, '--host', host], env());
  await http.waitFor(/^Forwarding /);
  return { relay, http, port: Number(port) };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await sleep(20);
  if (!check()) throw new Error(`timed out waiting until ${what}`);
}

describe('stopping a tunnel with Ctrl+C', () => {
  it('answers a request still running after the grace period with a 502 from the tunnel, before it exits', async () => {
    const { http, port } = await tunnel('sig1.localhost');
    const answer = visit(port, 'sig1.localhost', { path: '/slow/1' });
    await until('the request reached the upstream', () => arrived.includes('/slow/1'));
    http.proc.kill('SIGINT');
    const r = await answer;
    expect(r.status).toBe(502);
    // The tunnel's own page, not the relay's timeout.
    expect(r.body.toString()).toContain('Porthole tunnel');
    expect(r.body.toString()).toMatch(/stopped before the upstream answered/);
    expect(await http.exited).toBe(0);
  }, 30_000);

  it('answers a request that arrives after the stop with a 503 at once, and exits', async () => {
    const { http, port } = await tunnel('sig2.localhost');
    // The tunnel is busy with one slow request, so it takes the whole grace period to stop.
    const slow = visit(port, 'sig2.localhost', { path: '/slow/2' });
    await until('the request reached the upstream', () => arrived.includes('/slow/2'));
    http.proc.kill('SIGINT');
    await until('the tunnel said it is stopping', () => http.stderr.some((l) => l.startsWith('Stopping')));
    await sleep(200);
    const late = await visit(port, 'sig2.localhost', { path: '/late' });
    expect(late.status).toBe(503);
    expect(late.body.toString()).toMatch(/stopping/);
    expect(arrived).not.toContain('/late');
    expect((await slow).status).toBe(502);
    expect(await http.exited).toBe(0);
  }, 30_000);

  it('exits at once when nothing is in flight, and the relay then answers 503 for the host at once', async () => {
    const { http, port } = await tunnel('sig3.localhost');
    expect((await visit(port, 'sig3.localhost', { path: '/quick' })).status).toBe(200);
    http.proc.kill('SIGINT');
    expect(await http.exited).toBe(0);
    const after = await visit(port, 'sig3.localhost', { path: '/after' });
    expect(after.status).toBe(503);
  }, 20_000);
});
