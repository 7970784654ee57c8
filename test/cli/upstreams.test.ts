import { once } from 'node:events';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { visit } from '../helpers/net.ts';
import { killAll, spawnCli } from '../helpers/cli.ts';
import { startPhpFpm, type PhpFpm } from '../helpers/php-fpm.ts';
import { expectNothingLocal } from '../helpers/leaks.ts';

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

/** A relay address where nothing answers, that counts who connects to it. */
async function watchedPort(): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The exit code, or 'running' when the process is still up after `ms`. */
function exitWithin(p: ReturnType<typeof spawnCli>, ms = 10_000): Promise<number | null | 'running'> {
  return Promise.race([p.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), ms).unref())]);
}

/** A folder with a file, and a symbolic link in it to a folder elsewhere (as Debian's dokuwiki has). */
async function siteWithLinkOut(name: string): Promise<string> {
  const site = join(dir, name);
  const elsewhere = join(dir, `${name}-elsewhere`);
  await mkdir(site);
  await mkdir(elsewhere);
  await writeFile(join(site, 'index.php'), '<?php echo "front";');
  await writeFile(join(elsewhere, 'logo.png'), Buffer.from('89504e470d0a1a0a', 'hex'));
  await writeFile(join(elsewhere, 'tool.php'), '<?php echo "ran " . basename(__FILE__);');
  await symlink(elsewhere, join(site, 'tpl'));
  return site;
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

describe('porthole folder: symbolic links and missing folders', () => {
  it('refuses a link out of the folder, saying why on the request line; --follow-symlinks serves it', async () => {
    const site = await siteWithLinkOut('folder-links');
    const r = await relay();
    const strict = spawnCli(['folder', site, '--relay', `${r.url}/`, '--host', 'strict.test', '--token', 's'], env());
    await strict.waitFor(/^Forwarding /);
    const refused = await visit(r.port, 'strict.test', { path: '/tpl/logo.png' });
    expect(refused.status).toBe(403);
    expectNothingLocal(refused.body.toString(), dir);
    const [line] = await strict.waitFor(/^.* GET \/tpl\/logo\.png {2}403 .*$/);
    expect(line).toContain('a symbolic link leads it outside the folder');
    expect(line).toContain('--follow-symlinks');

    const loose = spawnCli(
      ['folder', site, '--follow-symlinks', '--relay', `${r.url}/`, '--host', 'loose.test', '--token', 'l'],
      env(),
    );
    await loose.waitFor(/^Forwarding /);
    const served = await visit(r.port, 'loose.test', { path: '/tpl/logo.png' });
    expect(served.status).toBe(200);
    expect(served.headers['content-type']).toBe('image/png');
    expect(served.body.toString('hex')).toBe('89504e470d0a1a0a');
  });

  it('stops at start with exit code 1 when the folder does not exist, before any relay', async () => {
    const watched = await watchedPort();
    try {
      const missing = join(dir, 'does-not-exist');
      const p = spawnCli(
        ['folder', relative(process.cwd(), missing), '--relay', watched.url, '--host', 'm.test', '--token', 'm'],
        env(),
      );
      expect(await exitWithin(p)).toBe(1);
      expect(p.stderr.join('\n')).toContain(`the folder ${missing} does not exist`);
      expect(p.stdout.join('\n')).not.toContain('Forwarding');
      expect(watched.connections()).toBe(0);
    } finally {
      await watched.close();
    }
  });

  it('shows the visitor no local path once the folder is gone; the request line names it', async () => {
    const gone = join(dir, 'gone-later');
    await mkdir(gone);
    await writeFile(join(gone, 'a.txt'), 'a');
    const r = await relay();
    const cli = spawnCli(['folder', gone, '--relay', `${r.url}/`, '--host', 'gone.test', '--token', 'g'], env());
    await cli.waitFor(/^Forwarding /);
    await rm(gone, { recursive: true });
    const res = await visit(r.port, 'gone.test', { path: '/a.txt' });
    expect(res.status).toBe(502);
    expectNothingLocal(res.body.toString(), gone);
    const [line] = await cli.waitFor(/^.* GET \/a\.txt {2}502 .*$/);
    expect(line).toContain(`the folder ${gone} does not exist`);
  });
});

describe('porthole fastcgi: symbolic links and a missing root', () => {
  it('refuses a link out of the root, saying why; --follow-symlinks serves its files and runs its scripts', async () => {
    const site = await siteWithLinkOut('php-links');
    const r = await relay();
    const args = (h: string) => ['fastcgi', php.address, '--root', site, '--relay', `${r.url}/`, '--host', h];
    const strict = spawnCli([...args('strict-php.test'), '--token', 's'], env());
    await strict.waitFor(/^Forwarding /);
    for (const p of ['/tpl/logo.png', '/tpl/tool.php']) {
      const refused = await visit(r.port, 'strict-php.test', { path: p });
      expect(refused.status, p).toBe(403);
      expectNothingLocal(refused.body.toString(), dir);
    }
    const [line] = await strict.waitFor(/^.* GET \/tpl\/tool\.php {2}403 .*$/);
    expect(line).toContain('a symbolic link leads it outside the document root');
    expect(line).toContain('--follow-symlinks');

    const loose = spawnCli([...args('loose-php.test'), '--token', 'l', '--follow-symlinks'], env());
    await loose.waitFor(/^Forwarding /);
    const logo = await visit(r.port, 'loose-php.test', { path: '/tpl/logo.png' });
    expect(logo.status).toBe(200);
    expect(logo.headers['content-type']).toBe('image/png');
    const tool = await visit(r.port, 'loose-php.test', { path: '/tpl/tool.php' });
    expect(tool.status).toBe(200);
    expect(tool.body.toString()).toBe('ran tool.php');
  });

  it('stops at start with exit code 1 when the document root does not exist, before any relay', async () => {
    const watched = await watchedPort();
    try {
      const missing = join(dir, 'nope');
      const p = spawnCli(
        [
          'fastcgi',
          php.address,
          '--root',
          relative(process.cwd(), missing),
          '--relay',
          watched.url,
          '--host',
          'n.test',
        ],
        env(),
      );
      expect(await exitWithin(p)).toBe(1);
      expect(p.stderr.join('\n')).toContain(`the document root ${missing} does not exist`);
      expect(p.stdout.join('\n')).not.toContain('Forwarding');
      expect(watched.connections()).toBe(0);
    } finally {
      await watched.close();
    }
  });

  it('tells about --follow-symlinks and its risk in help', async () => {
    const p = spawnCli(['help'], env());
    expect(await p.exited).toBe(0);
    const help = p.stdout.join('\n');
    // Both commands take it.
    expect(help.match(/--follow-symlinks/g)?.length).toBeGreaterThanOrEqual(2);
    expect(help).toContain('anyone can read what they lead to');
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
