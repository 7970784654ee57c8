import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { echoHandler, startServer, visit, type Server } from '../helpers/net.ts';
import { killAll, spawnCli } from '../helpers/cli.ts';

let configDir: string;
let upstream: Server;

beforeAll(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'porthole-cli-'));
  upstream = await startServer(echoHandler());
});
afterEach(killAll);
afterAll(async () => {
  await upstream.close();
  await rm(configDir, { recursive: true, force: true });
});

const env = () => ({ PORTHOLE_CONFIG_DIR: configDir, FPW_HOST: '', FPW_TOKEN: '' });

async function relay(args: string[] = []) {
  const p = spawnCli(['relay', '--port', '0', ...args], env());
  const [, url, port] = await p.waitFor(/^Listening on (http:\/\/127\.0\.0\.1:(\d+))$/);
  return { p, url: url!, port: Number(port) };
}

describe('porthole demo', () => {
  it('prints a public URL that answers 200 with the demo page', async () => {
    const demo = spawnCli(['demo'], env());
    const [, url, host, port] = await demo.waitFor(
      /^Public URL: (http:\/\/([a-z]+(?:-[a-z]+){4}\.localhost):(\d+)\/)$/,
    );
    expect(url).toBeTruthy();
    const page = await visit(Number(port), `${host}:${port}`);
    expect(page.status).toBe(200);
    expect(page.body.toString()).toContain('<h1>Porthole demo</h1>');
    // The same site answers at the relay's own address (the demo's default host).
    const direct = await visit(Number(port), `127.0.0.1:${port}`);
    expect(direct.status).toBe(200);
    expect(direct.body.toString()).toContain('Porthole demo');
    // Each request gets one line: time, visitor IP, method, path, status, duration.
    await demo.waitFor(/^\d\d:\d\d:\d\d {2}127\.0\.0\.1 {2}GET \/ {2}200 {2}\d+ ms$/);
    expect(await demo.stop('SIGINT')).toBe(0);
  });
});

describe('porthole relay + porthole http', () => {
  it('tunnels a local server and logs each request', async () => {
    const r = await relay();
    const http = spawnCli(
      ['http', String(upstream.port), '--relay', `${r.url}/`, '--host', 'cli-app.test', '--token', 'tok-1'],
      env(),
    );
    const [, publicUrl, target] = await http.waitFor(/^Forwarding (\S+) -> (\S+)$/);
    expect(publicUrl).toBe(`http://cli-app.test:${r.port}/`);
    expect(target).toBe(upstream.url);
    const res = await visit(r.port, 'cli-app.test', { method: 'POST', path: '/via/cli?x=1', body: 'hi' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString()).url).toBe('/via/cli?x=1');
    await http.waitFor(/ {2}POST \/via\/cli\?x=1 {2}200 {2}\d+ ms$/);
    // The relay logs one line per visitor request too.
    await r.p.waitFor(/ 127\.0\.0\.1 cli-app\.test POST \/via\/cli\?x=1 200 /);
    expect(await http.stop()).toBe(0);
    expect(await r.p.stop()).toBe(0);
  });

  it('prints NDJSON with --json', async () => {
    const r = await relay();
    const http = spawnCli(
      ['http', upstream.url, '--relay', `${r.url}/`, '--host', 'json-app.test', '--token', 'tok-j', '--json'],
      env(),
    );
    const [line] = await http.waitFor(/^\{.*"event":"online".*\}$/);
    const online = JSON.parse(line!);
    expect(online.publicUrl).toBe(`http://json-app.test:${r.port}/`);
    await visit(r.port, 'json-app.test', { path: '/j' });
    const [reqLine] = await http.waitFor(/^\{.*"event":"request".*\}$/);
    const req = JSON.parse(reqLine!);
    expect(req).toMatchObject({ method: 'GET', url: '/j', status: 200, visitorIp: '127.0.0.1' });
  });

  it('exits with 3 when the relay refuses the claim (host taken by another token)', async () => {
    const r = await relay();
    const owner = spawnCli(
      ['http', String(upstream.port), '--relay', `${r.url}/`, '--host', 'taken.test', '--token', 'first'],
      env(),
    );
    await owner.waitFor(/^Forwarding /);
    const thief = spawnCli(
      ['http', String(upstream.port), '--relay', `${r.url}/`, '--host', 'taken.test', '--token', 'second'],
      env(),
    );
    expect(await thief.exited).toBe(3);
    expect(thief.stderr.join('\n')).toContain('already claimed');
  });

  it('keeps a generated host and token, so the same command gets the same URL next time', async () => {
    const r = await relay(['--domain', 'tunnels.test']);
    const args = ['http', String(upstream.port), '--relay', `${r.url}/`];
    const first = spawnCli(args, env());
    const [, url1] = await first.waitFor(/^Forwarding (\S+) ->/);
    expect(url1).toMatch(new RegExp(`^http://[a-z]+(-[a-z]+){4}\\.tunnels\\.test:${r.port}/$`));
    await first.stop();
    const second = spawnCli(args, env());
    const [, url2] = await second.waitFor(/^Forwarding (\S+) ->/);
    expect(url2).toBe(url1);
  });

  it('takes FPW_HOST and FPW_TOKEN from the environment', async () => {
    const r = await relay();
    const http = spawnCli(['http', String(upstream.port), '--relay', `${r.url}/`], {
      ...env(),
      FPW_HOST: 'from-env.test',
      FPW_TOKEN: 'env-token',
    });
    const [, url] = await http.waitFor(/^Forwarding (\S+) ->/);
    expect(url).toBe(`http://from-env.test:${r.port}/`);
  });

  it('restricts claims to the tokens of --tokens FILE', async () => {
    const file = join(configDir, 'tokens.txt');
    await writeFile(file, '# allowed\nalpha\n\nbeta # the second\n');
    const r = await relay(['--tokens', file]);
    expect(r.p.stderr.join('\n')).not.toContain('Open relay');
    const ok = spawnCli(
      ['http', String(upstream.port), '--relay', `${r.url}/`, '--host', 'ok.test', '--token', 'beta'],
      env(),
    );
    await ok.waitFor(/^Forwarding /);
    const no = spawnCli(
      ['http', String(upstream.port), '--relay', `${r.url}/`, '--host', 'no.test', '--token', 'gamma'],
      env(),
    );
    expect(await no.exited).toBe(3);
  });
});

describe('usage and failures', () => {
  it('exits 2 with the usage on a bad command line', async () => {
    for (const args of [
      ['nope'],
      ['http'],
      ['http', 'ftp://x'],
      ['http', '3000', '--workers', '0'],
      ['relay', '--bogus'],
    ]) {
      const p = spawnCli(args, env());
      expect(await p.exited, args.join(' ')).toBe(2);
      expect(p.stderr.join('\n')).toContain('Usage: porthole');
    }
  });

  it('exits 1 with a clear message when the relay port is in use', async () => {
    const r = await relay();
    const second = spawnCli(['relay', '--port', String(r.port)], env());
    expect(await second.exited).toBe(1);
    expect(second.stderr.join('\n')).toContain(`port ${r.port} on 127.0.0.1 is in use`);
  });

  it('keeps retrying (no exit) while the relay is unreachable, and says so', async () => {
    const gone = await startServer(() => undefined);
    const url = gone.url;
    await gone.close();
    const http = spawnCli(
      ['http', String(upstream.port), '--relay', `${url}/`, '--host', 'wait.test', '--token', 't'],
      env(),
    );
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (http.stderr.some((l) => l.includes('Relay unreachable') && l.includes('refused the connection'))) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    expect(http.proc.exitCode).toBeNull();
    expect(await http.stop()).toBe(0);
  });
});
