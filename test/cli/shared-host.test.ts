// Two `porthole http` runs on one machine for the same local service: the second must not quietly
// join the first one's host (its workers would serve visitors without the first one's password).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { echoHandler, startServer, visit, type Server } from '../helpers/net.ts';
import { killAll, spawnCli } from '../helpers/cli.ts';

let configDir: string;
let upstream: Server;

beforeAll(async () => {
  upstream = await startServer(echoHandler());
});
afterEach(async () => {
  await killAll();
  await rm(configDir, { recursive: true, force: true });
});
afterAll(async () => {
  await upstream.close();
});

const env = () => ({ PORTHOLE_CONFIG_DIR: configDir, FPW_HOST: '', FPW_TOKEN: '' });

async function relay() {
  configDir = await mkdtemp(join(tmpdir(), 'porthole-shared-'));
  const p = spawnCli(['relay', '--port', '0'], env());
  const [, url, port] = await p.waitFor(/^Listening on (http:\/\/127\.0\.0\.1:(\d+))$/);
  return { p, url: `${url!}/`, port: Number(port) };
}

const FORWARDING = /^Forwarding http:\/\/(\S+?):\d+\/ -> /;

describe('a second run for the same relay and target', () => {
  it('gets its own host while the first runs, and the first keeps its password for every visitor', async () => {
    const r = await relay();
    const first = spawnCli(['http', String(upstream.port), '--relay', r.url, '--basic-auth', 'admin:s3cret'], env());
    const [, host1] = await first.waitFor(FORWARDING);
    const second = spawnCli(['http', String(upstream.port), '--relay', r.url], env());
    const [, host2] = await second.waitFor(FORWARDING);
    expect(host2).not.toBe(host1);
    // It says why, and how to share on purpose.
    expect(second.stderr.join('\n')).toMatch(new RegExp(`${host1!.replaceAll('.', '\\.')} is already served by another porthole`));
    expect(second.stderr.join('\n')).toContain('--host');
    for (let i = 0; i < 12; i++) {
      expect((await visit(r.port, host1!, { path: `/v${i}` })).status).toBe(401);
      expect((await visit(r.port, host2!, { path: `/v${i}` })).status).toBe(200);
    }
    expect(await second.stop()).toBe(0);
    expect(await first.stop()).toBe(0);
    // Once the first has stopped, the saved host is the command's again.
    const third = spawnCli(['http', String(upstream.port), '--relay', r.url], env());
    const [, host3] = await third.waitFor(FORWARDING);
    expect(host3).toBe(host1);
  });

  it('does not let an explicit --host replace the host the command keeps', async () => {
    const r = await relay();
    const plain = spawnCli(['http', String(upstream.port), '--relay', r.url], env());
    const [, kept] = await plain.waitFor(FORWARDING);
    expect(await plain.stop()).toBe(0);
    const named = spawnCli(['http', String(upstream.port), '--relay', r.url, '--host', 'named.localhost'], env());
    const [, namedHost] = await named.waitFor(FORWARDING);
    expect(namedHost).toBe('named.localhost');
    expect(await named.stop()).toBe(0);
    const again = spawnCli(['http', String(upstream.port), '--relay', r.url], env());
    const [, againHost] = await again.waitFor(FORWARDING);
    expect(againHost).toBe(kept);
  });

  it('stops with exit code 3 and the relay\'s reason when an explicit --host is served with other rules', async () => {
    const r = await relay();
    const common = ['http', String(upstream.port), '--relay', r.url, '--host', 'both.localhost', '--token', 't1'];
    const first = spawnCli([...common, '--basic-auth', 'admin:s3cret'], env());
    await first.waitFor(FORWARDING);
    const second = spawnCli(common, env());
    expect(await second.exited).toBe(3);
    expect(second.stderr.join('\n')).toMatch(/409.*different access or header rules/);
    expect((await visit(r.port, 'both.localhost')).status).toBe(401);
  });
});
