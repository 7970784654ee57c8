import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import type { HeaderMap } from '../../protocol/fpw-codec.ts';
import { HTML_TYPE, escapeHtml } from '../../protocol/pages.ts';
import { linkOutMessage, rootProblem, rootProblemNow } from './root.ts';
import { htmlPage, serveFile } from './static-file.ts';
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
 * separators, and no symbolic link that leads out of it unless `followSymlinks` says so. Files go
 * out through {@link serveFile}, as the FastCGI upstream's static files do.
 */
export class FolderUpstream implements Upstream {
  readonly target: string;
  readonly #root: string;
  readonly #dotfiles: boolean;
  readonly #listing: boolean;
  readonly #followSymlinks: boolean;
  #closed = false;

  constructor(opts: FolderUpstreamOptions) {
    this.#root = path.resolve(opts.root);
    this.#dotfiles = opts.dotfiles ?? false;
    this.#listing = opts.listing ?? true;
    this.#followSymlinks = opts.followSymlinks ?? false;
    this.target = `folder:${this.#root}`;
  }

  /** Why the folder cannot be published now (it does not exist, or is no folder), or null. */
  check(): string | null {
    return rootProblem(this.#root, 'the folder')?.message ?? null;
  }

  async handle(req: UpstreamRequest, _signal: AbortSignal): Promise<UpstreamResponse> {
    if (this.#closed) throw new UpstreamError(502, `${this.target} is closed`, 'the shared folder is closed');
    const problem = await rootProblemNow(this.#root, 'the folder');
    if (problem) {
      const shown = problem.missing ? 'the shared folder is missing' : 'the shared folder cannot be read';
      throw new UpstreamError(502, problem.message, shown);
    }
    // The visitor's body means nothing to a folder: it is read off, so the connection stays usable.
    await drain(req.body);
    try {
      return await this.#serve(req);
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      throw new UpstreamError(502, `${this.target}: ${(err as Error).message}`, 'the shared folder could not be read');
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  async #serve(req: UpstreamRequest): Promise<UpstreamResponse> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return page(req, 405, 'Method Not Allowed', `A shared folder answers GET and HEAD only, not ${req.method}.`, {
        headers: { allow: 'GET, HEAD' },
      });
    }
    const raw = req.path;
    const q = raw.indexOf('?');
    const pathname = q === -1 ? raw : raw.slice(0, q);
    const search = q === -1 ? '' : raw.slice(q);
    const parsed = parsePath(pathname);
    if (parsed === 'malformed') return page(req, 400, 'Bad Request', 'The path is not valid percent-encoded UTF-8.');
    if (parsed === 'forbidden') return page(req, 403, 'Forbidden', 'The path tries to leave the shared folder.');
    const shown = '/' + parsed.join('/');
    if (!this.#dotfiles && parsed.some(isDotName)) return notFound(req, shown);
    const found = await this.#resolve(parsed);
    if (found.kind !== 'ok') {
      if (found.kind === 'outside') {
        return page(req, 403, 'Forbidden', `${shown} points outside the shared folder.`, {
          diagnostics: linkOutMessage(shown, found.real, 'the folder'),
        });
      }
      if (found.kind === 'denied') return page(req, 403, 'Forbidden', `${shown} cannot be read.`);
      return notFound(req, shown);
    }
    if (found.stat.isDirectory()) {
      const canonical = '/' + parsed.map((seg) => encodeURIComponent(seg) + '/').join('');
      if (!pathname.endsWith('/')) {
        // Built from the checked segments, not the raw path, so `//evil.example` cannot become an
        // open redirect.
        return {
          status: 301,
          headers: { location: canonical + search, 'content-length': '0' },
          body: Buffer.alloc(0),
          bodyLength: 0,
        };
      }
      const index = await this.#resolve([...parsed, 'index.html']);
      if (index.kind === 'ok' && index.stat.isFile()) return this.#file(req, index.real, 'index.html', shown);
      if (!this.#listing) return notFound(req, shown);
      return this.#listingOf(req, parsed, found.real);
    }
    // Only regular files: reading a FIFO or a device would hang or never end.
    if (!found.stat.isFile() || pathname.endsWith('/')) return notFound(req, shown);
    return this.#file(req, found.real, parsed[parsed.length - 1]!, shown);
  }

  /** A file, typed by the name asked for (a link's own name, not its target's). */
  async #file(req: UpstreamRequest, real: string, name: string, shown: string): Promise<UpstreamResponse> {
    const res = await serveFile(req, real, { cacheControl: true, typeName: name });
    // send's 404 (a file deleted just now) names no folder: the folder's own page is clearer.
    return res.status === 404
      ? { ...notFound(req, shown), ...(res.diagnostics ? { diagnostics: res.diagnostics } : {}) }
      : res;
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

  async #listingOf(req: UpstreamRequest, segments: string[], dir: string): Promise<UpstreamResponse> {
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
    return {
      status: 200,
      headers: {
        'content-type': HTML_TYPE,
        'content-length': String(html.length),
        // The folder can change at any time; a listing is never reused without asking.
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
      },
      body: req.method === 'HEAD' ? Buffer.alloc(0) : html,
      bodyLength: req.method === 'HEAD' ? 0 : html.length,
    };
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

/** A page for the visitor; a `diagnostics` detail is for the owner's request log only. */
function page(
  req: UpstreamRequest,
  status: number,
  title: string,
  message: string,
  extra: { headers?: HeaderMap; diagnostics?: string } = {},
): UpstreamResponse {
  const answer = htmlPage(status, title, message, extra.headers);
  if (req.method === 'HEAD') {
    answer.headers['content-length'] = String(answer.bodyLength);
    answer.body = Buffer.alloc(0);
    answer.bodyLength = 0;
  }
  return extra.diagnostics ? { ...answer, diagnostics: extra.diagnostics } : answer;
}

function notFound(req: UpstreamRequest, shown: string): UpstreamResponse {
  return page(req, 404, 'Not Found', `There is no file at ${shown} in this folder.`);
}

async function drain(body: UpstreamRequest['body']): Promise<void> {
  if (body === null || Buffer.isBuffer(body)) return;
  try {
    for await (const _ of body as AsyncIterable<Buffer>) void _;
  } catch {
    // a visitor body that breaks off does not change the answer
  }
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
