import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { visit } from '../helpers/net.ts';
import { killAll, spawnCli } from '../helpers/cli.ts';
import { startPhpFpm, type PhpFpm } from '../helpers/php-fpm.ts';

let dir: string;
let php: PhpFpm;
const PHP_ROOT = fileURLToPath(new URL('../fixtures/php/', import.meta.url));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'porthole-cli-up-'));
  await writeFile(join(dir, 'hello.txt'), 'hello from a folder\n');
  await writeFile(join(dir, '.env'), 'SECRET=1\n');
  php = await startPhpFpm();
});
afterEach(killAll);
afterAll(async () => {
  await php.stop();
  await rm(dir, { recursive: true, force: true });
});

const env = () => ({ PORTHOLE_CONFIG_DIR: dir, FPW_HOST: '', FPW_TOKEN: '' });

async function relay() {
  const p = spawnCli(['relay', '--port', '0'], env());
  const [, url, port] = await p.waitFor(/^Listening on (http:\/\/127\.0\.0\.1:(\d+))$/);
  return { url: url!, port: Number(port) };
}

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('porthole folder', () => {
  it('shares a folder behind basic auth, dotfiles hidden', async () => {
    const r = await relay();
    const cli = spawnCli(
      ['folder', dir, '--relay', `${r.url}/`, '--host', 'files.test', '--token', 'f', '--basic-auth', 'me:pa:ss'],
      env(),
    );
    const [, , target] = await cli.waitFor(/^Forwarding (\S+) -> (\S+)$/);
    expect(target).toBe(`folder:${dir}`);
    expect((await visit(r.port, 'files.test', { path: '/hello.txt' })).status).toBe(401);
    const ok = await visit(r.port, 'files.test', {
      path: '/hello.txt',
      headers: { authorization: basic('me', 'pa:ss') },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toBe('hello from a folder\n');
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
    const env_ = await visit(r.port, 'files.test', { path: '/.env', headers: { authorization: basic('me', 'pa:ss') } });
    expect(env_.status).toBe(404);
    await cli.waitFor(/ GET \/hello\.txt {2}401 .*basic-auth/);
  });
});

describe('porthole fastcgi', () => {
  it('serves a PHP app straight from PHP-FPM, with the visitor IP as REMOTE_ADDR', async () => {
    const r = await relay();
    const cli = spawnCli(
      [
        'fastcgi',
        php.address,
        '--root',
        PHP_ROOT,
        '--relay',
        `${r.url}/`,
        '--host',
        'php.test',
        '--token',
        'p',
        '--deny',
        '198.51.100.0/24',
      ],
      env(),
    );
    await cli.waitFor(/^Forwarding /);
    const res = await visit(r.port, 'php.test', { path: '/some/route?x=1' });
    expect(res.status).toBe(200);
    const seen = JSON.parse(res.body.toString());
    expect(seen).toMatchObject({
      script: 'index.php',
      REQUEST_URI: '/some/route?x=1',
      REMOTE_ADDR: '127.0.0.1',
      GET: { x: '1' },
    });
  });

  it('wants --root', async () => {
    const p = spawnCli(['fastcgi', '127.0.0.1:9000'], env());
    expect(await p.exited).toBe(2);
    expect(p.stderr.join('\n')).toContain('--root');
  });

  it('refuses a bad CIDR with a usage error', async () => {
    const p = spawnCli(['http', '3000', '--allow', '10.0.0.0/99'], env());
    expect(await p.exited).toBe(2);
    expect(p.stderr.join('\n')).toContain('not an IP address or CIDR range');
  });
});
