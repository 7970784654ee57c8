import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayServer } from '../../src-main/relay/RelayServer.ts';
import type { Tunnel } from '../../src-main/engine/Tunnel.ts';
import { FolderUpstream } from '../../src-main/engine/upstreams/folder.ts';
import { bytes, sha256, startRelay, startTunnel, until, visit, type Visit } from '../helpers/net.ts';
import { expectNothingLocal } from '../helpers/leaks.ts';

const SECRET = 'TOP SECRET next to the folder';
const SPACED = 'a file with spaces & <tags>.txt';
const UNICODE = 'ünïcødé 文件.txt';
const BLOB = bytes(1024 * 1024, 42);

let base: string;
let root: string;
let relay: RelayServer;
let plain: Tunnel;
let withDots: Tunnel;
let noListing: Tunnel;
let following: Tunnel;

beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'porthole-folder-'));
  root = path.join(base, 'site');
  await mkdir(path.join(root, 'sub'), { recursive: true });
  await mkdir(path.join(root, 'docs'));
  await mkdir(path.join(root, '.git'));
  await writeFile(path.join(base, 'secret.txt'), SECRET);
  await writeFile(path.join(root, 'hello.txt'), 'hello world\n');
  await writeFile(path.join(root, SPACED), 'spaced');
  await writeFile(path.join(root, UNICODE), 'unicode');
  await writeFile(path.join(root, 'blob.bin'), BLOB);
  await writeFile(path.join(root, 'sub', 'nested.txt'), 'nested');
  await writeFile(path.join(root, 'docs', 'index.html'), '<h1>docs</h1>');
  await writeFile(path.join(root, '.env'), 'API_KEY=dotenv-secret');
  await writeFile(path.join(root, '.git', 'config'), '[core] git-secret');
  await symlink(path.join(base, 'secret.txt'), path.join(root, 'out-link.txt'));
  await symlink(base, path.join(root, 'out-dir'));
  await symlink('hello.txt', path.join(root, 'in-link.txt'));
  await symlink('.git', path.join(root, 'git-alias'));

  relay = await startRelay();
  const tunnelTo = (upstream: FolderUpstream) => startTunnel(relay.url, 'http://unused', { options: { upstream } });
  plain = await tunnelTo(new FolderUpstream({ root }));
  withDots = await tunnelTo(new FolderUpstream({ root, dotfiles: true }));
  noListing = await tunnelTo(new FolderUpstream({ root, listing: false }));
  following = await tunnelTo(new FolderUpstream({ root, followSymlinks: true }));
});

afterAll(async () => {
  await Promise.all([plain, withDots, noListing, following].map((t) => t?.close(0)));
  await relay?.close(0);
  await rm(base, { recursive: true, force: true });
});

const get = (tunnel: Tunnel, p: string, opts: Parameters<typeof visit>[2] = {}): Promise<Visit> =>
  visit(relay.port, tunnel.profile.relay.host, { path: p, ...opts });

async function logged(tunnel: Tunnel, url: string) {
  await until(() => tunnel.log.list().some((r) => r.url === url), `the log entry of ${url}`);
  return tunnel.log.list().find((r) => r.url === url)!;
}

/**
 * A request whose path goes to the relay byte for byte: undici (like any WHATWG URL parser) would
 * resolve `..` and `%2e%2e` before sending, which is exactly what an attacker does not do.
 */
function rawGet(tunnel: Tunnel, rawPath: string): Promise<Visit> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: relay.port,
        path: rawPath,
        headers: { host: tunnel.profile.relay.host },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('folder upstream: listing', () => {
  it('lists the root with escaped names, encoded links, sizes and times, and no dotfiles', async () => {
    const r = await get(plain, '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = r.body.toString();
    expect(html).toContain('Index of /');
    expect(html).toContain('a file with spaces &amp; &lt;tags&gt;.txt');
    expect(html).not.toContain('<tags>');
    expect(html).toContain(`href="${encodeURIComponent(SPACED)}"`);
    expect(html).toContain(UNICODE);
    expect(html).toContain(`href="${encodeURIComponent(UNICODE)}"`);
    expect(html).toContain('href="sub/"');
    expect(html).toContain('href="in-link.txt"');
    expect(html).toContain('1.0 MiB');
    const mtime = (await stat(path.join(root, 'hello.txt'))).mtime.toISOString();
    expect(html).toContain(`datetime="${mtime}"`);
    // Dotfiles and anything that would be refused are not offered.
    for (const hidden of ['.env', '.git', 'out-link.txt', 'out-dir', 'git-alias']) expect(html).not.toContain(hidden);
    expect(html).not.toContain('href="../"');
  });

  it('lists a subfolder with a parent link', async () => {
    const r = await get(plain, '/sub/');
    expect(r.status).toBe(200);
    const html = r.body.toString();
    expect(html).toContain('Index of /sub/');
    expect(html).toContain('href="../"');
    expect(html).toContain('href="nested.txt"');
    expect(html).toContain('6 B');
  });

  it('redirects a folder without a trailing slash, keeping the query', async () => {
    const r = await get(plain, '/sub?x=1');
    expect(r.status).toBe(301);
    expect(r.headers['location']).toBe('/sub/?x=1');
  });

  it('serves index.html instead of the listing', async () => {
    const r = await get(plain, '/docs/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.body.toString()).toBe('<h1>docs</h1>');
  });

  it('answers 404 for a folder without index.html when listings are off', async () => {
    expect((await get(noListing, '/sub/')).status).toBe(404);
    expect((await get(noListing, '/docs/')).body.toString()).toBe('<h1>docs</h1>');
  });
});

describe('folder upstream: files', () => {
  it('serves a file with its content type', async () => {
    const r = await get(plain, '/hello.txt');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(r.body.toString()).toBe('hello world\n');
  });

  it('serves 1 MiB of binary byte for byte', async () => {
    const r = await get(plain, '/blob.bin');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/octet-stream');
    expect(r.body.length).toBe(BLOB.length);
    expect(sha256(r.body)).toBe(sha256(BLOB));
  });

  it('serves names with spaces and unicode from their percent-encoded form', async () => {
    expect((await get(plain, `/${encodeURIComponent(SPACED)}`)).body.toString()).toBe('spaced');
    expect((await get(plain, `/${encodeURIComponent(UNICODE)}`)).body.toString()).toBe('unicode');
  });

  it('answers a range with 206 and exactly those bytes', async () => {
    const r = await get(plain, '/blob.bin', { headers: { range: 'bytes=1000-1999' } });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes 1000-1999/${BLOB.length}`);
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.body.equals(BLOB.subarray(1000, 2000))).toBe(true);
  });

  it('answers 416 for a range past the end', async () => {
    const r = await get(plain, '/hello.txt', { headers: { range: 'bytes=500-600' } });
    expect(r.status).toBe(416);
    expect(r.headers['content-range']).toBe('bytes */12');
  });

  it('answers 304 to If-None-Match with the ETag and to If-Modified-Since', async () => {
    const first = await get(plain, '/hello.txt');
    const etag = String(first.headers['etag']);
    expect(etag).toMatch(/^W\/".+"$/);
    const byTag = await get(plain, '/hello.txt', { headers: { 'if-none-match': etag } });
    expect(byTag.status).toBe(304);
    expect(byTag.body.length).toBe(0);
    const byDate = await get(plain, '/hello.txt', {
      headers: { 'if-modified-since': String(first.headers['last-modified']) },
    });
    expect(byDate.status).toBe(304);
  });

  it('answers HEAD with the length and no body', async () => {
    const r = await get(plain, '/blob.bin', { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(BLOB.length));
    expect(r.body.length).toBe(0);
  });

  it('answers 405 with Allow to other methods', async () => {
    const r = await get(plain, '/hello.txt', { method: 'POST', body: 'x=1' });
    expect(r.status).toBe(405);
    expect(r.headers['allow']).toBe('GET, HEAD');
  });
});

describe('folder upstream: no way out', () => {
  const CLIMBS = [
    '/../secret.txt',
    '/sub/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2e%2e%2fsecret.txt',
    '/..%2fsecret.txt',
    '/..%5csecret.txt',
    '/..\\secret.txt',
    '/sub/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/hello.txt%00.png',
    '/%c0%ae%c0%ae/secret.txt',
  ];

  it.each([...CLIMBS, '/out-dir/secret.txt', '/out-dir/'])('refuses %s', async (p) => {
    const r = await rawGet(plain, p);
    expect([400, 403, 404]).toContain(r.status);
    expect(r.body.toString()).not.toContain(SECRET);
  });

  it('refuses a link that points outside, and serves one that points inside', async () => {
    const out = await get(plain, '/out-link.txt');
    expect(out.status).toBe(403);
    expect(out.body.toString()).not.toContain(SECRET);
    expect(out.body.toString()).toContain('outside the shared folder');
    expectNothingLocal(out.body.toString(), base);
    // The owner learns why, and what would serve it.
    const record = await logged(plain, '/out-link.txt');
    expect(record.status).toBe(403);
    expect(record.error).toContain('/out-link.txt: a symbolic link leads it outside the folder');
    expect(record.error).toContain(path.join(base, 'secret.txt'));
    expect(record.error).toContain('--follow-symlinks');
    const inside = await get(plain, '/in-link.txt');
    expect(inside.status).toBe(200);
    expect(inside.body.toString()).toBe('hello world\n');
  });

  it('hides dotfiles, also encoded or behind a link', async () => {
    for (const p of ['/.env', '/%2eenv', '/.git/config', '/.git/', '/git-alias/config']) {
      const r = await rawGet(plain, p);
      expect(r.status, p).toBe(404);
      expect(r.body.toString()).not.toMatch(/dotenv-secret|git-secret/);
    }
  });

  it('follows symbolic links out of the folder when told to', async () => {
    const file = await get(following, '/out-link.txt');
    expect(file.status).toBe(200);
    expect(file.body.toString()).toBe(SECRET);
    expect(file.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect((await get(following, '/out-dir/secret.txt')).body.toString()).toBe(SECRET);
    const listing = (await get(following, '/')).body.toString();
    expect(listing).toContain('href="out-link.txt"');
    expect(listing).toContain('href="out-dir/"');
  });

  it.each(CLIMBS)('still refuses %s when following links', async (p) => {
    const r = await rawGet(following, p);
    expect([400, 403, 404]).toContain(r.status);
    expect(r.body.toString()).not.toContain(SECRET);
  });

  it('still hides dotfiles when following links', async () => {
    for (const p of ['/.env', '/%2eenv', '/.git/config', '/git-alias/config', '/out-dir/site/.env']) {
      const r = await rawGet(following, p);
      expect(r.status, p).toBe(404);
      expect(r.body.toString()).not.toMatch(/dotenv-secret|git-secret/);
    }
  });

  it('serves dotfiles when allowed', async () => {
    const env = await get(withDots, '/.env');
    expect(env.status).toBe(200);
    expect(env.body.toString()).toBe('API_KEY=dotenv-secret');
    expect((await get(withDots, '/git-alias/config')).body.toString()).toBe('[core] git-secret');
    const listing = (await get(withDots, '/')).body.toString();
    expect(listing).toContain('href=".env"');
    expect(listing).toContain('href=".git/"');
  });
});

describe('folder upstream: faults', () => {
  it('does not start when the folder does not exist, and says so', async () => {
    const missing = path.join(base, 'not-there');
    const tunnel = await startTunnel(relay.url, 'http://unused', {
      options: { upstream: new FolderUpstream({ root: missing }) },
      wait: false,
    });
    try {
      expect(tunnel.state).toEqual({ phase: 'failed', reason: `the folder ${missing} does not exist` });
      await expect(tunnel.whenOnline()).rejects.toThrow(`the folder ${missing} does not exist`);
    } finally {
      await tunnel.close(0);
    }
  });

  it('answers 502 without local paths once the folder is gone, the log naming it', async () => {
    const gone = path.join(base, 'gone-later');
    await mkdir(gone);
    await writeFile(path.join(gone, 'a.txt'), 'a');
    const tunnel = await startTunnel(relay.url, 'http://unused', {
      options: { upstream: new FolderUpstream({ root: gone }) },
    });
    try {
      expect((await get(tunnel, '/a.txt')).status).toBe(200);
      await rm(gone, { recursive: true });
      const r = await get(tunnel, '/a.txt?after');
      expect(r.status).toBe(502);
      const page = r.body.toString();
      expect(page).toContain('the shared folder is missing');
      expectNothingLocal(page, gone);
      expect((await logged(tunnel, '/a.txt?after')).error).toBe(`the folder ${gone} does not exist`);
    } finally {
      await tunnel.close(0);
    }
  });
});
