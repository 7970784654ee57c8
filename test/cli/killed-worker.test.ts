// A worker killed with requests in flight (SIGKILL: no goodbye): its visitors hear so within seconds,
// not at the relay's 90 s reply timeout, and no other visitor is disturbed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, visit, type Server } from '../helpers/net.ts';
import { killAll, spawnCli } from '../helpers/cli.ts';

let configDir: string;
let upstream: Server;
const arrived: string[] = [];

beforeAll(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'porthole-killed-'));
  upstream = await startServer((req, res) => {
    arrived.push(req.url ?? '');
    if (req.url?.startsWith('/hang')) return; // never answers
    res.end(`ok ${req.url}`);
  });
});
afterEach(killAll);
afterAll(async () => {
  await upstream.close();
  await rm(configDir, { recursive: true, force: true });
});

const env = () => ({ PORTHOLE_CONFIG_DIR: configDir, FPW_HOST: '', FPW_TOKEN: '' });

describe.each(['http', 'ws'])('a worker killed mid-request (%s transport)', (scheme) => {
  it('gets its visitors a 502 within seconds', async () => {
    const relay = spawnCli(['relay', '--port', '0'], env());
    const [, port] = await relay.waitFor(/^Listening on http:\/\/127\.0\.0\.1:(\d+)$/);
    const host = `killed-${scheme}.localhost`;
    const worker = spawnCli(['http', String(upstream.port), '--relay', `${scheme}://127.0.0.1:${port}/`, '--host', host], env());
    await worker.waitFor(/^Forwarding /);
    const inFlight = Array.from({ length: 3 }, (_, i) => visit(Number(port), host, { path: `/hang-${scheme}-${i}` }));
    for (let i = 0; i < 200 && arrived.filter((a) => a.startsWith(`/hang-${scheme}`)).length < 3; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    worker.proc.kill('SIGKILL');
    const answers = await Promise.all(inFlight);
    for (const a of answers) {
      expect(a.status).toBe(502);
      expect(a.body.toString()).toMatch(/went away/);
    }
  }, 20_000);
});
