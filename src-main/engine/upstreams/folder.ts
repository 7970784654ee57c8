import { once } from 'node:events';
import { promises as fs, type Stats } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import send from 'send';
import { HTML_TYPE, errorPage, escapeHtml } from '../../protocol/pages.ts';
import { HttpUpstream } from './http.ts';
import { linkOutMessage, rootProblem, rootProblemNow } from './root.ts';
import { UpstreamError, type Upstream, type UpstreamRequest, type UpstreamResponse } from './upstream.ts';

export interface FolderUpstreamOptions {
  /** The folder to publish; a relative path resolves against the working directory. */
  root: string;
  /** Serve names that start with a dot (`.env`, `.git/`); when off they answer 404. @default false */
  dotfiles?: boolean;
  /** Answer a directory that has no `index.html` with a page listing its entries. @default true */
  listing?: boolean;
  /**
   * Serve what symbolic links in the folder lead to outside it. Off, such a link answers 403 and the
   * request log says why. `..` and encoded separators stay refused, and dotfiles hidden, either way.
   * @default false
   */
  followSymlinks?: boolean;
}

/**
 * Publishes a folder of static files: ranges, ETag/Last-Modified and conditional requests, content
 * types, HEAD, directory listings. Nothing outside the folder is ever served: no `..`, no encoded
 * separators, and no symbolic link that leads out of it unless `followSymlinks` says so.
 *
 * `send` answers into a real `ServerResponse`, so the folder is served by a private HTTP server on
 * 127.0.0.1 and visitor requests reach it through an {@link HttpUpstream}. The alternative, piping
 * `send` into a fake response object, would depend on which parts of the response API `send` and
 * its `on-finished` dependency happen to touch (headersSent, socket, finished...) and would have to
 * re-implement backpressure and aborts; the loopback hop costs a local socket and gets all of that
 * from Node and undici as they are already used for every other upstream. Every check runs in that
 * server's handler, so its port shows nothing the public URL would not.
 */
export class FolderUpstream implements Upstream {
  readonly target: string;
  readonly #root: string;
  readonly #dotfiles: boolean;
  readonly #listing: boolean;
  readonly #followSymlinks: boolean;
  #inner: Promise<{ server: http.Server; upstream: HttpUpstream }> | null = null;
  #closed = false;
  #socketDir: string | null = null;

  constructor(opts: FolderUpstreamOptions) {
    this.#root = path.resolve(opts.root);
    this.#dotfiles = opts.dotfiles ?? false;
    this.#listing = opts.listing ?? true;
    this.#followSymlinks = opts.followSymlinks ?? false;
    this.target = `folder:${this.#root}`;
  }

  check(): string | null {
    return rootProblem(this.#root, 'the folder')?.message ?? null;
  }

  async handle(req: UpstreamRequest, signal: AbortSignal): Promise<UpstreamResponse> {
    if (this.#closed) throw new UpstreamError(502, `${this.target} is closed`, 'the shared folder is closed');
    const problem = await rootProblemNow(this.#root, 'the folder');
    if (problem) {
      const shown = problem.missing ? 'the shared folder is missing' : 'the shared folder cannot be read';
      throw new UpstreamError(502, problem.message, shown);
    }
    const inner = await this.#start();
    let res: UpstreamResponse;
    try {
      res = await inner.upstream.handle(req, signal);
    } catch (err) {
      // The loopback address means nothing to the person reading the page or the log.
      if (err instanceof UpstreamError) {
        throw new UpstreamError(
          err.status,
          err.message.replaceAll(inner.upstream.target, 'the file server'),
          err.status === 504 ? 'the shared folder took too long to answer' : 'the shared folder could not be read',
        );
      }
      throw err;
    }
    // What the file server says for the owner alone travels in a header of its own, which goes no further.
    const detail = res.headers[DETAIL_HEADER];
    if (detail !== undefined) {
      delete res.headers[DETAIL_HEADER];
      res.diagnostics = decodeURIComponent(Array.isArray(detail) ? detail.join(' ') : detail);
    }
    return res;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const inner = await this.#inner?.catch(() => null);
    if (!inner) return;
    await inner.upstream.close();
    inner.server.closeAllConnections();
    await new Promise<void>((resolve) => inner.server.close(() => resolve()));
    if (this.#socketDir) await fs.rm(this.#socketDir, { recursive: true, force: true });
  }

  #start(): Promise<{ server: http.Server; upstream: HttpUpstream }> {
    this.#inner ??= (async () => {
      const server = http.createServer((req, res) => {
        this.#serve(req, res).catch((err: unknown) => {
          if (res.headersSent) res.destroy();
          else page(res, 500, 'Internal Server Error', 'The file could not be read.', (err as Error).message);
        });
      });
      // A unix socket in a folder only this user can enter: a TCP port on 127.0.0.1 would let any
      // local user read the folder without the tunnel's password or IP rules.
      let socketPath: string | null = null;
      if (process.platform !== 'win32') {
        this.#socketDir = await fs.mkdtemp(path.join(os.tmpdir(), 'porthole-folder-'));
        await fs.chmod(this.#socketDir, 0o700);
        socketPath = path.join(this.#socketDir, 'files.sock');
        server.listen(socketPath);
      } else {
        server.listen(0, '127.0.0.1');
      }
      await once(server, 'listening');
      // The tunnel keeps the process alive while it runs; this server alone never should.
      server.unref();
      const target = socketPath ? 'http://localhost' : `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      return { server, upstream: new HttpUpstream({ target, ...(socketPath ? { socketPath } : {}) }) };
    })();
    this.#inner.catch(() => {
      this.#inner = null;
    });
    return this.#inner;
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      page(res, 405, 'Method Not Allowed', `A shared folder answers GET and HEAD only, not ${req.method}.`);
      return;
    }
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const pathname = q === -1 ? raw : raw.slice(0, q);
    const search = q === -1 ? '' : raw.slice(q);
    const parsed = parsePath(pathname);
    if (parsed === 'malformed') {
      page(res, 400, 'Bad Request', 'The path is not valid percent-encoded UTF-8.');
      return;
    }
    if (parsed === 'forbidden') {
      page(res, 403, 'Forbidden', 'The path tries to leave the shared folder.');
      return;
    }
    const shown = '/' + parsed.join('/');
    if (!this.#dotfiles && parsed.some(isDotName)) {
      notFound(res, shown);
      return;
    }
    const found = await this.#resolve(parsed);
    if (found.kind !== 'ok') {
      if (found.kind === 'outside') {
        const detail = linkOutMessage(shown, found.real, 'the folder');
        page(res, 403, 'Forbidden', `${shown} points outside the shared folder.`, detail);
      } else if (found.kind === 'denied') page(res, 403, 'Forbidden', `${shown} cannot be read.`);
      else notFound(res, shown);
      return;
    }
    if (found.stat.isDirectory()) {
      const canonical = '/' + parsed.map((s) => encodeURIComponent(s) + '/').join('');
      if (!pathname.endsWith('/')) {
        // Built from the checked segments, not the raw path, so `//evil.example` cannot become an
        // open redirect.
        res.statusCode = 301;
        res.setHeader('location', canonical + search);
        res.setHeader('content-length', 0);
        res.end();
        return;
      }
      const index = await this.#resolve([...parsed, 'index.html']);
      if (index.kind === 'ok' && index.stat.isFile()) {
        this.#sendFile(req, res, [...parsed, 'index.html']);
        return;
      }
      if (!this.#listing) {
        notFound(res, shown);
        return;
      }
      await this.#sendListing(req, res, parsed, found.real);
      return;
    }
    // Only regular files: reading a FIFO or a device would hang or never end.
    if (!found.stat.isFile() || pathname.endsWith('/')) {
      notFound(res, shown);
      return;
    }
    this.#sendFile(req, res, parsed);
  }

  /** Follows the path to the file it names, and checks that the file is inside the folder. */
  async #resolve(segments: string[]): Promise<Resolved> {
    try {
      const rootReal = await fs.realpath(this.#root);
      const real = await fs.realpath(path.join(this.#root, ...segments));
      const rel = path.relative(rootReal, real);
      const outside = rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
      if (outside && !this.#followSymlinks) return { kind: 'outside', real };
      // Checked again on the real path: a link `public -> .git` or a Windows short name (`GIT~1`)
      // reaches a dotfile through a name without a dot. (Outside the folder, the names the visitor
      // asked for were checked: the path of a link's target is the owner's choice.)
      if (!outside && !this.#dotfiles && rel.split(path.sep).some(isDotName)) return { kind: 'missing' };
      return { kind: 'ok', real, stat: await fs.stat(real) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') return { kind: 'denied' };
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP') {
        return { kind: 'missing' };
      }
      throw err;
    }
  }

  #sendFile(req: IncomingMessage, res: ServerResponse, segments: string[]): void {
    // The path as it was asked for, not the link's target: its extension gives the content type.
    // It was checked just before; a link swapped in between would need write access to the folder.
    const stream = send(req, '/' + segments.map(encodeURIComponent).join('/'), {
      root: this.#root,
      dotfiles: this.#dotfiles ? 'allow' : 'ignore',
      index: false,
      etag: true,
      lastModified: true,
      acceptRanges: true,
      cacheControl: true,
      maxAge: 0,
    });
    stream.on('error', (err: { status?: number; statusCode?: number; headers?: Record<string, string> }) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const status = err.status ?? err.statusCode ?? 500;
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      for (const [name, value] of Object.entries(err.headers ?? {})) res.setHeader(name, value);
      if (status === 404) notFound(res, '/' + segments.join('/'));
      else if (status === 416) page(res, 416, 'Range Not Satisfiable', 'The requested range is outside the file.');
      else if (status === 412) page(res, 412, 'Precondition Failed', 'The file has changed.');
      else page(res, status, 'Error', 'The file could not be sent.', (err as { message?: string }).message);
    });
    stream.pipe(res);
  }

  async #sendListing(req: IncomingMessage, res: ServerResponse, segments: string[], dir: string): Promise<void> {
    const entries: Array<{ name: string; href: string; dir: boolean; size: number; mtime: Date }> = [];
    for (const dirent of await fs.readdir(dir, { withFileTypes: true })) {
      if (!this.#dotfiles && isDotName(dirent.name)) continue;
      const found = await this.#resolve([...segments, dirent.name]);
      // Whatever would be refused (a link out of the folder, a broken link) is not offered either.
      if (found.kind !== 'ok') continue;
      const isDir = found.stat.isDirectory();
      if (!isDir && !found.stat.isFile()) continue;
      let href: string;
      try {
        href = encodeURIComponent(dirent.name) + (isDir ? '/' : '');
      } catch {
        continue; // a name that is not valid Unicode cannot be asked for by URL
      }
      entries.push({ name: dirent.name, href, dir: isDir, size: found.stat.size, mtime: found.stat.mtime });
    }
    const collator = new Intl.Collator('en', { numeric: true });
    entries.sort((a, b) => Number(b.dir) - Number(a.dir) || collator.compare(a.name, b.name));
    const title = `Index of /${segments.map((s) => s + '/').join('')}`;
    const rows = entries.map(
      (e) =>
        `<tr><td><a href="${escapeHtml(e.href)}">${escapeHtml(e.name)}${e.dir ? '/' : ''}</a></td>` +
        `<td>${e.dir ? '-' : formatSize(e.size)}</td>` +
        `<td><time datetime="${e.mtime.toISOString()}">${formatTime(e.mtime)}</time></td></tr>`,
    );
    if (segments.length) rows.unshift('<tr><td><a href="../">../</a></td><td></td><td></td></tr>');
    const html = Buffer.from(
      `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem;word-break:break-all}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.2rem .8rem .2rem 0}td:nth-child(2){text-align:right;white-space:nowrap}
td:nth-child(3){white-space:nowrap;color:#555}</style></head>
<body><h1>${escapeHtml(title)}</h1>
<table><thead><tr><th>Name</th><th>Size</th><th>Modified</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></body></html>
`,
      'utf8',
    );
    res.statusCode = 200;
    res.setHeader('content-type', HTML_TYPE);
    res.setHeader('content-length', html.length);
    // The folder can change at any time; a listing is never reused without asking.
    res.setHeader('cache-control', 'no-cache');
    res.setHeader('x-content-type-options', 'nosniff');
    res.end(req.method === 'HEAD' ? undefined : html);
  }
}

type Resolved =
  | { kind: 'ok'; real: string; stat: Stats }
  | { kind: 'missing' }
  | { kind: 'outside'; real: string }
  | { kind: 'denied' };

/**
 * Splits a URL path into decoded segments, dropping empty and `.` ones. Refuses what could climb
 * out or mean another path on some file system: `..`, NUL, and a separator inside a segment once
 * decoded (`%2f`, `%5c`), or a raw backslash (a separator on Windows).
 */
function parsePath(pathname: string): string[] | 'malformed' | 'forbidden' {
  const out: string[] = [];
  for (const raw of pathname.split('/')) {
    if (raw.includes('\\')) return 'forbidden';
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return 'malformed';
    }
    if (segment === '..' || /[/\\\0]/.test(segment)) return 'forbidden';
    if (segment === '' || segment === '.') continue;
    out.push(segment);
  }
  return out;
}

function isDotName(name: string): boolean {
  return name.startsWith('.');
}

/**
 * Carries a detail for the owner (an error's text, a path) from the file server to the request log;
 * FolderUpstream takes it off, so the visitor never gets it.
 */
const DETAIL_HEADER = 'x-porthole-detail';

/** A page for the visitor; `detail`, for the owner, goes to the request log only. */
function page(res: ServerResponse, status: number, title: string, message: string, detail?: string): void {
  const body = errorPage(status, title, message);
  res.statusCode = status;
  res.setHeader('content-type', HTML_TYPE);
  if (detail) res.setHeader(DETAIL_HEADER, encodeURIComponent(detail));
  res.setHeader('content-length', body.length);
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function notFound(res: ServerResponse, shown: string): void {
  page(res, 404, 'Not Found', `There is no file at ${shown} in this folder.`);
}

function formatSize(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function formatTime(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
