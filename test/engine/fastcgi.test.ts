import { once } from 'node:events';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayServer } from '../../src-main/relay/RelayServer.ts';
import type { Tunnel } from '../../src-main/engine/Tunnel.ts';
import { FastCgiUpstream, type FastCgiUpstreamOptions } from '../../src-main/engine/upstreams/fastcgi.ts';
import {
  FcgiProtocolStatus,
  FcgiType,
  decodeNameValues,
  encodeRecord,
  encodeStream,
} from '../../src-main/engine/upstreams/fastcgi-records.ts';
import { UpstreamError, type UpstreamRequest } from '../../src-main/engine/upstreams/upstream.ts';
import { bytes, sha256, startRelay, startTunnel, until, visit, type Visit } from '../helpers/net.ts';
import { startPhpFpm, type PhpFpm } from '../helpers/php-fpm.ts';
import { expectNothingLocal } from '../helpers/leaks.ts';

const FIXTURES = path.join(import.meta.dirname, '../fixtures/php');
const SECRET = 'top-secret-outside-the-root';

let tmp: string;
let www: string;
let fpm: PhpFpm;
let relay: RelayServer;
let tunnel: Tunnel;
const host = (t: Tunnel = tunnel): string => t.profile.relay.host;

async function fastcgiTunnel(
  opts: Partial<FastCgiUpstreamOptions> & { address: string },
  workers = 8,
): Promise<Tunnel> {
  const upstream = new FastCgiUpstream({ root: www, ...opts });
  return startTunnel(relay.url, 'http://unused', { options: { upstream }, profile: { workers } });
}

/**
 * Runs `fn` with a tunnel of its own, closed at the end: each kept FastCGI connection holds a
 * PHP-FPM worker, so a tunnel left open would take workers from the next tests.
 */
async function withTunnel(
  opts: Partial<FastCgiUpstreamOptions> & { address: string },
  workers: number,
  fn: (t: Tunnel) => Promise<void>,
): Promise<void> {
  const t = await fastcgiTunnel(opts, workers);
  try {
    await fn(t);
  } finally {
    await t.close(0);
  }
}

const rawAgent = new Agent({ keepAliveTimeout: 1000 });

/** A request whose path goes out byte for byte (a URL object would resolve `..` before sending). */
async function raw(t: Tunnel, rawPath: string): Promise<Visit> {
  const res = await rawAgent.request({
    origin: `http://127.0.0.1:${relay.port}`,
    path: rawPath,
    method: 'GET',
    headers: { host: host(t) },
  });
  return { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
}

function json(r: Visit): Record<string, unknown> {
  expect(String(r.headers['content-type'])).toMatch(/json/);
  return JSON.parse(r.body.toString()) as Record<string, unknown>;
}

async function logged(t: Tunnel, url: string) {
  await until(() => t.log.list().some((r) => r.url === url), `the log entry of ${url}`);
  return t.log.list().find((r) => r.url === url)!;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'porthole-php-'));
  www = path.join(tmp, 'www');
  await cp(FIXTURES, www, { recursive: true });
  // Next to the root, where no request may reach it, directly or through a symlink.
  await writeFile(path.join(tmp, 'secret.txt'), SECRET);
  await symlink(path.join(tmp, 'secret.txt'), path.join(www, 'escape.txt'));
  await symlink(tmp, path.join(www, 'escape-dir'));
  await symlink('style.css', path.join(www, 'alias.css'));
  // A folder of the site kept elsewhere, as Debian's dokuwiki keeps lib/tpl in /var/lib/dokuwiki.
  await mkdir(path.join(tmp, 'shared'));
  await writeFile(path.join(tmp, 'shared', 'logo.txt'), 'logo from elsewhere\n');
  await writeFile(path.join(tmp, 'shared', 'tool.php'), '<?php echo "ran " . basename(__FILE__) . " " . $_GET["x"];');
  await writeFile(path.join(tmp, 'shared', '.htpasswd'), 'hidden-outside');
  await symlink(path.join(tmp, 'shared'), path.join(www, 'lib'));
  // On a case-insensitive file system /INDEX.PHP opens index.php; the extension must match the same way.
  await writeFile(path.join(www, 'Upper.PHP'), '<?php echo "ran " . basename(__FILE__);');
  fpm = await startPhpFpm();
  relay = await startRelay();
  tunnel = await fastcgiTunnel({ address: fpm.address });
});

afterAll(async () => {
  await tunnel?.close(0);
  await relay?.close(0);
  await fpm?.stop();
  await rawAgent.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('PHP through PHP-FPM, the relay and a tunnel', () => {
  it('names its target with the address and the document root', () => {
    expect(tunnel.upstream.target).toBe(`fastcgi://${fpm.address} (root ${www})`);
  });

  it('runs a script with the query string and the CGI variables PHP expects', async () => {
    const r = await visit(relay.port, host(), {
      path: '/index.php?a=1&b=two%20words',
      // UTF-8 bytes of "café", one latin-1 character per byte as header values travel.
      headers: { 'x-custom': Buffer.from('caf\u00e9').toString('latin1'), proxy: 'http://evil.example/' },
    });
    expect(r.status).toBe(200);
    const j = json(r);
    expect(j['GET']).toEqual({ a: '1', b: 'two words' });
    expect(j['QUERY_STRING']).toBe('a=1&b=two%20words');
    expect(j['REQUEST_URI']).toBe('/index.php?a=1&b=two%20words');
    expect(j['REQUEST_METHOD']).toBe('GET');
    expect(j['SCRIPT_NAME']).toBe('/index.php');
    expect(j['SCRIPT_FILENAME']).toBe(path.join(www, 'index.php'));
    expect(j['DOCUMENT_ROOT']).toBe(www);
    expect(j['PATH_INFO']).toBeNull();
    expect(j['HTTPS']).toBeNull();
    expect(j['HTTP_HOST']).toBe(host());
    expect(j['SERVER_NAME']).toBe(host().split(':')[0]);
    expect(j['SERVER_PORT']).toBe(host().includes(':') ? host().split(':')[1] : '80');
    expect(j['HTTP_X_CUSTOM']).toBe('caf\u00e9');
    // httpoxy: a `Proxy` header must not become HTTP_PROXY.
    expect(j['HTTP_PROXY']).toBeNull();
  });

  it("reports the visitor's IP as REMOTE_ADDR", async () => {
    const j = json(await visit(relay.port, host(), { path: '/index.php' }));
    expect(j['REMOTE_ADDR']).toBe('127.0.0.1');
  });

  it('posts a form', async () => {
    const r = await visit(relay.port, host(), {
      method: 'POST',
      path: '/index.php',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=Ada+Lovelace&lang=%E2%9C%93&list%5B%5D=1&list%5B%5D=2',
    });
    expect(r.status).toBe(200);
    const j = json(r);
    expect(j['REQUEST_METHOD']).toBe('POST');
    expect(j['POST']).toEqual({ name: 'Ada Lovelace', lang: '\u2713', list: ['1', '2'] });
  });

  it('posts a JSON body that PHP reads from php://input', async () => {
    const payload = { id: 42, tags: ['a', 'b'], text: 'x'.repeat(100_000) };
    const r = await visit(relay.port, host(), {
      method: 'POST',
      path: '/json.php',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    expect(r.status).toBe(200);
    expect(json(r)).toEqual({ received: payload, type: 'application/json' });
  });

  it('uploads a 2 MiB file whose sha256 PHP reports back', async () => {
    const file = bytes(2 * 1024 * 1024, 11);
    const boundary = '----porthole' + Date.now();
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="data.bin"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      ),
      file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const r = await visit(relay.port, host(), {
      method: 'POST',
      path: '/upload.php',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
    });
    expect(r.status).toBe(200);
    expect(json(r)).toEqual({ error: 0, name: 'data.bin', size: file.length, sha256: sha256(file) });
  });

  it('sends every route that is not a file to the front controller, REQUEST_URI preserved', async () => {
    const j = json(await visit(relay.port, host(), { path: '/some/route?x=1' }));
    expect(j['script']).toBe('index.php');
    expect(j['REQUEST_URI']).toBe('/some/route?x=1');
    expect(j['SCRIPT_NAME']).toBe('/index.php');
    expect(j['GET']).toEqual({ x: '1' });
    expect(j['PATH_INFO']).toBeNull();
    // A .php name that is no file is a route too.
    expect(json(await visit(relay.port, host(), { path: '/missing.php' }))['REQUEST_URI']).toBe('/missing.php');
  });

  it('runs a script named before PATH_INFO', async () => {
    const j = json(await visit(relay.port, host(), { path: '/pathinfo.php/extra/more?q=1' }));
    expect(j).toEqual({
      script: 'pathinfo.php',
      PATH_INFO: '/extra/more',
      SCRIPT_NAME: '/pathinfo.php',
      REQUEST_URI: '/pathinfo.php/extra/more?q=1',
    });
  });

  it("runs a directory's index", async () => {
    for (const p of ['/sub/', '/sub']) {
      const j = json(await visit(relay.port, host(), { path: p }));
      expect(j).toEqual({ script: 'sub/index.php', SCRIPT_NAME: '/sub/index.php', REQUEST_URI: p });
    }
  });

  it('serves a static file with its content type, an ETag, conditional requests and ranges', async () => {
    const r = await visit(relay.port, host(), { path: '/style.css?v=3' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(r.body.toString()).toBe('body { color: #123456; }\n');
    const etag = String(r.headers['etag']);
    expect(etag).toMatch(/^W\/"/);
    expect(r.headers['last-modified']).toBeDefined();
    expect(r.headers['x-powered-by']).toBeUndefined();

    const again = await visit(relay.port, host(), { path: '/style.css', headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);

    const part = await visit(relay.port, host(), { path: '/style.css', headers: { range: 'bytes=0-3' } });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe('bytes 0-3/25');
    expect(part.body.toString()).toBe('body');

    const unsatisfiable = await visit(relay.port, host(), { path: '/style.css', headers: { range: 'bytes=100-' } });
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers['content-range']).toBe('bytes */25');

    const head = await visit(relay.port, host(), { method: 'HEAD', path: '/style.css' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('25');

    // A symlink that stays inside the root is fine.
    const alias = await visit(relay.port, host(), { path: '/alias.css' });
    expect(alias.status).toBe(200);
    expect(alias.body.toString()).toBe('body { color: #123456; }\n');
  });

  it('refuses to POST to a static file', async () => {
    const r = await visit(relay.port, host(), { method: 'POST', path: '/style.css', body: 'x=1' });
    expect(r.status).toBe(405);
    expect(r.headers['allow']).toBe('GET, HEAD');
  });

  it('turns header("Location: ...") into a 302', async () => {
    const r = await visit(relay.port, host(), { path: '/redirect.php' });
    expect(r.status).toBe(302);
    expect(r.headers['location']).toBe('/elsewhere');
  });

  it('keeps a 404 set by PHP', async () => {
    const r = await visit(relay.port, host(), { path: '/notfound.php' });
    expect(r.status).toBe(404);
    expect(r.body.toString()).toBe('no such thing');
  });

  it("keeps PHP's three set-cookie headers apart", async () => {
    const r = await visit(relay.port, host(), { path: '/cookies.php' });
    expect(r.headers['set-cookie']).toEqual(['a=1; path=/', 'b=2; HttpOnly', 'c=3; SameSite=Lax']);
  });

  it("answers a PHP fatal error with 500 and puts PHP's error text in the request log", async () => {
    const r = await visit(relay.port, host(), { path: '/fatal.php?run=1' });
    expect(r.status).toBe(500);
    const record = await logged(tunnel, '/fatal.php?run=1');
    expect(record.status).toBe(500);
    expect(record.error).toContain('PHP Fatal error');
    expect(record.error).toContain('Call to undefined function porthole_undefined_function()');
  });

  it('streams a large output intact', async () => {
    const n = 3 * 1024 * 1024 + 5;
    const r = await visit(relay.port, host(), { path: `/big.php?n=${n}` });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(n);
    const line = Buffer.from('0123456789abcdef'.repeat(4096));
    expect(r.body.subarray(0, line.length).equals(line)).toBe(true);
    expect(r.body.subarray(n - 5).toString()).toBe('01234');
  });

  it('answers HEAD for a script without a body', async () => {
    const r = await visit(relay.port, host(), { method: 'HEAD', path: '/index.php' });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(0);
  });

  it.each([
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E%2Fsecret.txt',
    '/sub/../../secret.txt',
    '/sub/%2e%2e/%2e%2e/secret.txt',
    '/escape.txt',
    '/escape-dir/secret.txt',
    '/style.css%00.php',
  ])('refuses %s with 403, never serving what lies outside the root', async (p) => {
    const r = await raw(tunnel, p);
    expect(r.status).toBe(403);
    expect(r.body.toString()).not.toContain(SECRET);
  });

  it('refuses a symbolic link out of the root, the log saying why and naming the option', async () => {
    for (const p of ['/lib/logo.txt', '/lib/tool.php']) {
      const r = await visit(relay.port, host(), { path: p });
      expect(r.status, p).toBe(403);
      expectNothingLocal(r.body.toString(), tmp);
      const record = await logged(tunnel, p);
      expect(record.error).toContain(`${p}: a symbolic link leads it outside the document root`);
      expect(record.error).toContain(path.join(tmp, 'shared'));
      expect(record.error).toContain('--follow-symlinks');
    }
  });

  it('follows symbolic links out of the root when told to: static files and scripts', async () => {
    await withTunnel({ address: fpm.address, followSymlinks: true }, 8, async (t) => {
      const logo = await visit(relay.port, host(t), { path: '/lib/logo.txt' });
      expect(logo.status).toBe(200);
      expect(logo.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(logo.body.toString()).toBe('logo from elsewhere\n');
      const part = await visit(relay.port, host(t), { path: '/lib/logo.txt', headers: { range: 'bytes=0-3' } });
      expect(part.status).toBe(206);
      expect(part.body.toString()).toBe('logo');
      const tool = await visit(relay.port, host(t), { path: '/lib/tool.php?x=42' });
      expect(tool.status).toBe(200);
      expect(tool.body.toString()).toBe('ran tool.php 42');
      // Neither `..` nor dotfiles open up.
      for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E%2Fsecret.txt', '/sub/../../secret.txt']) {
        const r = await raw(t, p);
        expect(r.status, p).toBe(403);
        expect(r.body.toString()).not.toContain(SECRET);
      }
      for (const p of ['/.env', '/lib/.htpasswd', '/lib/%2ehtpasswd']) {
        const r = await raw(t, p);
        expect(r.status, p).toBe(404);
        expect(r.body.toString()).not.toMatch(/SECRET_KEY|hidden-outside/);
      }
    });
  });

  it('hands .PHP in any case to PHP-FPM instead of serving its source', async () => {
    const r = await visit(relay.port, host(), { path: '/Upper.PHP' });
    expect(r.body.toString()).not.toContain('<?php');
    // PHP-FPM's security.limit_extensions (.php, case-sensitive) then refuses it, and says why.
    expect(r.status).toBe(403);
    expect((await logged(tunnel, '/Upper.PHP')).error).toContain('security.limit_extensions');
  });

  it('resolves ../ that stays inside the root', async () => {
    const r = await raw(tunnel, '/sub/../style.css');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('body { color: #123456; }\n');
  });

  it('does not serve dotfiles, except under .well-known', async () => {
    for (const p of ['/.env', '/%2eenv', '/sub/../.env']) {
      const r = await raw(tunnel, p);
      expect(r.status).toBe(404);
      expect(r.body.toString()).not.toContain('SECRET_KEY');
    }
    const wk = await visit(relay.port, host(), { path: '/.well-known/check.txt' });
    expect(wk.status).toBe(200);
    expect(wk.body.toString()).toBe('verification\n');
  });

  it('answers 20 concurrent requests over a pool of 4 connections, each with its own result', async () => {
    await withTunnel({ address: fpm.address, maxConnections: 4 }, 20, async (t) => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          visit(relay.port, host(t), { path: `/who.php?marker=m${i}&ms=${20 + (i % 4) * 10}` }),
        ),
      );
      const pids = new Set<number>();
      results.forEach((r, i) => {
        expect(r.status).toBe(200);
        const j = json(r);
        expect(j['marker']).toBe(`m${i}`);
        pids.add(j['pid'] as number);
      });
      const stats = (t.upstream as FastCgiUpstream).stats();
      expect(stats.created).toBeGreaterThan(0);
      expect(stats.created).toBeLessThanOrEqual(4);
      expect(pids.size).toBeLessThanOrEqual(4);
    });
  });

  it('keeps connections open between requests', async () => {
    await withTunnel({ address: fpm.address, maxConnections: 4 }, 8, async (t) => {
      for (let i = 0; i < 5; i++) {
        expect((await visit(relay.port, host(t), { path: `/who.php?marker=k${i}` })).status).toBe(200);
      }
      expect((t.upstream as FastCgiUpstream).stats().created).toBe(1);
      // As many visitors in a row as connections: each connection goes back to the pool, not closed.
      await Promise.all(
        Array.from({ length: 4 }, async (_, v) => {
          for (let i = 0; i < 5; i++) {
            const r = await visit(relay.port, host(t), { path: `/who.php?marker=v${v}-${i}` });
            expect(json(r)['marker']).toBe(`v${v}-${i}`);
          }
        }),
      );
      expect((t.upstream as FastCgiUpstream).stats().created).toBeLessThan(10);
    });
  });

  it('does not hang with more pooled connections than PHP-FPM workers', async () => {
    // 16 connections against 4 workers: each kept connection holds a worker, so a pool that kept
    // them all would leave the rest in PHP-FPM's listen backlog until they time out.
    await withTunnel({ address: fpm.address, maxConnections: 16, timeoutMs: 20_000 }, 24, async (t) => {
      const started = performance.now();
      for (let round = 0; round < 2; round++) {
        const results = await Promise.all(
          Array.from({ length: 24 }, (_, i) =>
            visit(relay.port, host(t), { path: `/who.php?marker=r${round}-${i}&ms=30` }),
          ),
        );
        results.forEach((r, i) => {
          expect(r.status).toBe(200);
          expect(json(r)['marker']).toBe(`r${round}-${i}`);
        });
      }
      expect(performance.now() - started).toBeLessThan(5000);
    });
  });

  it('sends a request again when PHP-FPM closed its kept connection (workers recycled by pm.max_requests)', async () => {
    const recycling = await startPhpFpm({ maxRequests: 2 });
    try {
      await withTunnel({ address: recycling.address, maxConnections: 4 }, 20, async (t) => {
        for (let i = 0; i < 12; i++) {
          const r = await visit(relay.port, host(t), { path: `/who.php?marker=s${i}` });
          expect(r.status).toBe(200);
          expect(json(r)['marker']).toBe(`s${i}`);
        }
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            visit(relay.port, host(t), {
              method: 'POST',
              path: '/json.php',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ i, pad: 'p'.repeat(i * 5000) }),
            }),
          ),
        );
        results.forEach((r, i) => {
          expect(r.status).toBe(200);
          expect(json(r)['received']).toEqual({ i, pad: 'p'.repeat(i * 5000) });
        });
      });
    } finally {
      await recycling.stop();
    }
  });

  it('works over a unix socket', async () => {
    const unixFpm = await startPhpFpm({ unixSocket: true });
    try {
      expect(unixFpm.address).toMatch(/^unix:\//);
      await withTunnel({ address: unixFpm.address }, 8, async (t) => {
        expect(t.upstream.target).toBe(`fastcgi://${unixFpm.address} (root ${www})`);
        const j = json(await visit(relay.port, host(t), { path: '/route?via=unix' }));
        expect(j['GET']).toEqual({ via: 'unix' });
        expect(j['REQUEST_URI']).toBe('/route?via=unix');
      });
    } finally {
      await unixFpm.stop();
    }
  });

  it.each([false, true])(
    'answers 502 saying PHP-FPM is not running once it stopped (unix socket: %s)',
    async (unixSocket) => {
      const own = await startPhpFpm({ unixSocket });
      await withTunnel({ address: own.address }, 8, async (t) => {
        expect((await visit(relay.port, host(t), { path: '/index.php' })).status).toBe(200);
        await own.stop();
        const r = await visit(relay.port, host(t), { path: '/index.php?after=stop' });
        expect(r.status).toBe(502);
        const page = r.body.toString();
        // A TCP address tells nothing of the machine; a unix socket's path does, and stays in the log.
        if (unixSocket) expect(page).toContain('the local PHP-FPM is not running');
        else expect(page).toContain(`PHP-FPM is not running at ${own.address}`);
        expectNothingLocal(page, www);
        const record = await logged(t, '/index.php?after=stop');
        expect(record.error).toMatch(/^PHP-FPM is not running at .* \((connection refused|no socket at .*)\)$/);
        expect(record.error).toContain(own.address);
      });
    },
  );

  it('does not start when the document root does not exist, and says so', async () => {
    const missing = path.join(tmp, 'no-such-root');
    const t = await startTunnel(relay.url, 'http://unused', {
      options: { upstream: new FastCgiUpstream({ address: fpm.address, root: missing }) },
      wait: false,
    });
    try {
      expect(t.state).toEqual({ phase: 'failed', reason: `the document root ${missing} does not exist` });
    } finally {
      await t.close(0);
    }
  });

  it('answers 502 without local paths once the document root is gone, the log naming it', async () => {
    const root = path.join(tmp, 'gone-later');
    await cp(FIXTURES, root, { recursive: true });
    await withTunnel({ address: fpm.address, root }, 8, async (t) => {
      expect((await visit(relay.port, host(t), { path: '/style.css' })).status).toBe(200);
      await rm(root, { recursive: true });
      const r = await visit(relay.port, host(t), { path: '/style.css?after' });
      expect(r.status).toBe(502);
      const page = r.body.toString();
      expect(page).toContain('the document root of the site is missing');
      expectNothingLocal(page, root);
      expect((await logged(t, '/style.css?after')).error).toBe(`the document root ${root} does not exist`);
    });
  });

  it('answers 504 when PHP takes longer than the timeout, and drops that connection', async () => {
    await withTunnel({ address: fpm.address, timeoutMs: 1000 }, 8, async (t) => {
      const r = await visit(relay.port, host(t), { path: '/who.php?marker=slow&ms=2500' });
      expect(r.status).toBe(504);
      expect(r.body.toString()).toContain(`PHP-FPM at ${fpm.address} did not answer within 1 s`);
      const next = await visit(relay.port, host(t), { path: '/who.php?marker=next' });
      expect(next.status).toBe(200);
      expect(json(next)['marker']).toBe('next');
      expect((t.upstream as FastCgiUpstream).stats().created).toBe(2);
    });
  });
});

/** What a scripted FastCGI server does once it has read a whole request. */
type Script = (socket: net.Socket, request: { params: Map<string, string>; stdin: Buffer }) => void;

/** A real FastCGI server on 127.0.0.1 that answers as told: for what PHP-FPM cannot be made to do. */
async function scriptedServer(
  script: Script,
): Promise<{ address: string; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections += 1;
    let buf = Buffer.alloc(0);
    let params = Buffer.alloc(0);
    let stdin = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 8) {
        const length = buf.readUInt16BE(4);
        const total = 8 + length + buf[6]!;
        if (buf.length < total) return;
        const type = buf[1]!;
        const content = buf.subarray(8, 8 + length);
        buf = buf.subarray(total);
        if (type === FcgiType.Params) params = Buffer.concat([params, content]);
        if (type === FcgiType.Stdin && length > 0) stdin = Buffer.concat([stdin, content]);
        if (type === FcgiType.Stdin && length === 0) {
          script(socket, { params: new Map(decodeNameValues(params)), stdin });
          params = Buffer.alloc(0);
          stdin = Buffer.alloc(0);
        }
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function end(protocolStatus = 0): Buffer {
  const body = Buffer.alloc(8);
  body[4] = protocolStatus;
  return encodeRecord(FcgiType.EndRequest, 1, body);
}

function upstreamRequest(p: string, body: Buffer | null = null): UpstreamRequest {
  return {
    method: body ? 'POST' : 'GET',
    path: p,
    headers: { host: 'site.test' },
    body,
    bodyLength: body?.length ?? null,
    visitorIp: '192.0.2.1',
    forwardedFor: undefined,
    publicScheme: 'https',
  };
}

async function readAll(body: Buffer | AsyncIterable<Buffer>): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

describe('FastCGI failures, against a scripted FastCGI server', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'porthole-fcgi-'));
    await writeFile(path.join(root, 'index.php'), '');
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function withUpstream(
    script: Script,
    fn: (up: FastCgiUpstream, server: { connections(): number }) => Promise<void>,
  ) {
    const server = await scriptedServer(script);
    const up = new FastCgiUpstream({ address: server.address, root, remoteRoot: '/var/www/html/' });
    try {
      await fn(up, server);
    } finally {
      await up.close();
      await server.close();
    }
  }

  it('sends the CGI variables, mapped to the remote root, and the body as STDIN', async () => {
    let seen: { params: Map<string, string>; stdin: Buffer } | null = null;
    await withUpstream(
      (socket, req) => {
        seen = req;
        socket.write(
          Buffer.concat([...encodeStream(FcgiType.Stdout, 1, Buffer.from('Status: 201 Created\n\nok')), end()]),
        );
      },
      async (up) => {
        const body = bytes(200_000, 9);
        const res = await up.handle(upstreamRequest('/a/b?c=d', body), new AbortController().signal);
        expect(res.status).toBe(201);
        expect((await readAll(res.body)).toString()).toBe('ok');
        const p = seen!.params;
        expect(p.get('SCRIPT_FILENAME')).toBe('/var/www/html/index.php');
        expect(p.get('DOCUMENT_ROOT')).toBe('/var/www/html');
        expect(p.get('HTTPS')).toBe('on');
        expect(p.get('REQUEST_SCHEME')).toBe('https');
        expect(p.get('SERVER_NAME')).toBe('site.test');
        expect(p.get('SERVER_PORT')).toBe('443');
        expect(p.get('REMOTE_ADDR')).toBe('192.0.2.1');
        expect(p.get('REMOTE_PORT')).toBe('0');
        expect(p.get('CONTENT_LENGTH')).toBe('200000');
        expect(p.get('GATEWAY_INTERFACE')).toBe('CGI/1.1');
        expect(p.get('SERVER_SOFTWARE')).toBe('Porthole');
        expect(p.has('PATH_INFO')).toBe(false);
        expect(sha256(seen!.stdin)).toBe(sha256(body));
      },
    );
  });

  it('reports an END_REQUEST that refuses the request (overloaded) as a 502 that says so', async () => {
    await withUpstream(
      (socket) => socket.write(end(FcgiProtocolStatus.Overloaded)),
      async (up) => {
        const err = await up.handle(upstreamRequest('/'), new AbortController().signal).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UpstreamError);
        expect((err as UpstreamError).status).toBe(502);
        expect((err as UpstreamError).message).toMatch(/PHP-FPM refused the request: it is overloaded/);
      },
    );
  });

  it('fails a request whose connection closes mid-response, and drops that connection', async () => {
    await withUpstream(
      (socket, req) => {
        const out = encodeStream(FcgiType.Stdout, 1, Buffer.from('Content-Type: text/plain\r\n\r\npartial'));
        if (req.params.get('QUERY_STRING') === 'cut') socket.end(Buffer.concat(out));
        else socket.write(Buffer.concat([...out, end()]));
      },
      async (up, server) => {
        const res = await up.handle(upstreamRequest('/?cut'), new AbortController().signal);
        expect(res.status).toBe(200);
        await expect(readAll(res.body)).rejects.toThrow(/closed the connection before the response was complete/);
        const ok = await up.handle(upstreamRequest('/?whole'), new AbortController().signal);
        expect((await readAll(ok.body)).toString()).toBe('partial');
        expect(server.connections()).toBe(2);
        expect(up.stats().open).toBe(1);
      },
    );
  });

  it('answers 502 when the server closes without answering', async () => {
    await withUpstream(
      (socket) => socket.destroy(),
      async (up) => {
        await expect(up.handle(upstreamRequest('/'), new AbortController().signal)).rejects.toThrow(
          /closed the connection without answering/,
        );
      },
    );
  });

  it('keeps at most 64 KiB of stderr, saying how much was left out', async () => {
    await withUpstream(
      (socket) =>
        socket.write(
          Buffer.concat([
            ...encodeStream(FcgiType.Stderr, 1, Buffer.alloc(100_000, 0x65)),
            ...encodeStream(FcgiType.Stdout, 1, Buffer.from('Status: 500\r\n\r\n')),
            end(),
          ]),
        ),
      async (up) => {
        const res = await up.handle(upstreamRequest('/'), new AbortController().signal);
        expect(res.status).toBe(500);
        await readAll(res.body);
        expect(res.diagnostics).toContain('e'.repeat(65_536));
        expect(res.diagnostics).toContain(`[${100_000 - 65_536} more bytes of stderr not kept]`);
      },
    );
  });

  it('refuses headers over 256 KiB', async () => {
    await withUpstream(
      (socket) =>
        socket.write(Buffer.concat([...encodeStream(FcgiType.Stdout, 1, Buffer.alloc(300_000, 0x61)), end()])),
      async (up) => {
        await expect(up.handle(upstreamRequest('/'), new AbortController().signal)).rejects.toThrow(
          /256 KiB of headers/,
        );
      },
    );
  });
});
