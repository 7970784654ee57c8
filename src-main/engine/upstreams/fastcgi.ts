import { realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { appendHeader, firstValue, stripHopByHop, type HeaderMap } from '../../protocol/fpw-codec.ts';
import { FastCgiClient, FastCgiError, formatFastCgiAddress, parseFastCgiAddress } from './fastcgi-client.ts';
import type { ParamValue } from './fastcgi-records.ts';
import { linkOutMessage, rootProblem, rootProblemNow } from './root.ts';
import { htmlPage, serveFile } from './static-file.ts';
import { UpstreamError, type Upstream, type UpstreamRequest, type UpstreamResponse } from './upstream.ts';

export interface FastCgiUpstreamOptions {
  /** Where PHP-FPM listens: `host:port`, a port (on 127.0.0.1), or a unix socket (`/path`, `unix:/path`). */
  address: string;
  /** The document root on this machine: static files are served from it and PHP scripts looked up in it. */
  root: string;
  /** The script that answers for a directory, and the front controller. @default 'index.php' */
  index?: string;
  /**
   * The document root as PHP-FPM sees it, when it runs elsewhere (a container): SCRIPT_FILENAME
   * and DOCUMENT_ROOT use it. @default root
   */
  remoteRoot?: string;
  /** Time allowed for the response head, and between body chunks. @default 60000 */
  timeoutMs?: number;
  /**
   * Serve and run what symbolic links in the root lead to outside it, as nginx and Apache do (a
   * Debian package's `lib/tpl -> /var/lib/...`). Off, such a request answers 403 and the request log
   * says why. `..` and dotfiles stay refused either way. @default false
   */
  followSymlinks?: boolean;
  /** SERVER_NAME for every request; by default the host of the visitor's `Host` header. */
  serverName?: string;
  /**
   * Connections to PHP-FPM kept at most. Each open connection holds a PHP-FPM worker, so this is
   * best kept at or below the pool's `pm.max_children`. @default 16
   */
  maxConnections?: number;
}

const WINDOWS = process.platform === 'win32';
// Windows also takes `\` as a separator: `..\` must count as `..` there.
const SEPARATORS = WINDOWS ? /[\\/]/ : '/';

/**
 * Case-insensitive: on a case-insensitive file system (macOS, Windows) `/INDEX.PHP` opens
 * index.php, and must run it rather than serve its source.
 */
function isPhp(name: string): boolean {
  return /\.php$/i.test(name);
}

/** Response headers PHP may send are capped like an HTTP upstream's. */
const MAX_HEAD_BYTES = 256 * 1024;

/** What a request path leads to. */
type Route =
  | { kind: 'script'; scriptName: string; pathInfo: string | null; documentUri: string }
  | { kind: 'static'; realFile: string }
  | { kind: 'page'; status: number; title: string; message: string; headers?: HeaderMap; detail?: string };

/**
 * Runs PHP sites through PHP-FPM, routed like nginx's
 * `try_files $uri $uri/ /index.php?$query_string`: static files are served from the document root,
 * `.php` files (with an optional PATH_INFO) run, and everything else goes to the front controller.
 */
export class FastCgiUpstream implements Upstream {
  readonly target: string;
  readonly #client: FastCgiClient;
  readonly #address: string;
  /** PHP-FPM as the visitor's page may name it: a TCP address, but not a unix socket's path. */
  readonly #shownFpm: string;
  readonly #root: string;
  readonly #index: string;
  readonly #remoteRoot: string;
  readonly #timeoutMs: number;
  readonly #serverName: string | undefined;
  readonly #followSymlinks: boolean;

  constructor(opts: FastCgiUpstreamOptions) {
    const address = parseFastCgiAddress(opts.address);
    if (!opts.root) throw new Error('a FastCGI upstream needs a document root');
    this.#address = formatFastCgiAddress(address);
    this.#shownFpm = address.kind === 'unix' ? 'the local PHP-FPM' : `PHP-FPM at ${this.#address}`;
    this.#root = path.resolve(opts.root);
    this.#index = opts.index ?? 'index.php';
    if (!this.#index || this.#index.includes('/') || this.#index.startsWith('.')) {
      throw new Error(`the index must be a plain file name, not "${this.#index}"`);
    }
    this.#remoteRoot = trimSlash(opts.remoteRoot ?? this.#root);
    this.#timeoutMs = opts.timeoutMs ?? 60_000;
    this.#serverName = opts.serverName;
    this.#followSymlinks = opts.followSymlinks ?? false;
    this.#client = new FastCgiClient({
      address,
      ...(opts.maxConnections !== undefined ? { maxConnections: opts.maxConnections } : {}),
    });
    this.target = `fastcgi://${this.#address} (root ${this.#root})`;
  }

  /** The connection pool's counters. */
  stats(): ReturnType<FastCgiClient['stats']> {
    return this.#client.stats();
  }

  async handle(req: UpstreamRequest, signal: AbortSignal): Promise<UpstreamResponse> {
    const route = await this.#route(req.path);
    if (route.kind === 'page') {
      await drain(req.body);
      const answer = htmlPage(route.status, route.title, route.message, route.headers);
      return route.detail ? { ...answer, diagnostics: route.detail } : answer;
    }
    if (route.kind === 'static') {
      await drain(req.body);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return htmlPage(405, 'Method Not Allowed', `${req.method} is not allowed on a static file.`, {
          allow: 'GET, HEAD',
        });
      }
      return serveFile(req, route.realFile, { cacheControl: false });
    }
    return this.#runScript(req, route, signal);
  }

  check(): string | null {
    return rootProblem(this.#root, 'the document root')?.message ?? null;
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  async #route(rawPath: string): Promise<Route> {
    const q = rawPath.indexOf('?');
    const encoded = q < 0 ? rawPath : rawPath.slice(0, q);
    const bytes = percentDecode(encoded);
    const utf8 = decodeUtf8(bytes);
    // Checked on the bytes (as latin-1), so a path that is not UTF-8 cannot slip past.
    const decoded = bytes.toString('latin1');
    const forbidden: Route = {
      kind: 'page',
      status: 403,
      title: 'Forbidden',
      message: 'This path is outside the site.',
    };
    if (decoded.includes('\0')) return forbidden;
    const segments: string[] = [];
    for (const seg of (utf8 ?? decoded).split(SEPARATORS)) {
      // Windows opens `index.php::$DATA` and `index.php.` as index.php: names that would serve its source.
      if (WINDOWS && /:|[. ]$/.test(seg) && seg !== '.' && seg !== '..') return forbidden;
      if (seg === '' || seg === '.') continue;
      if (seg === '..') {
        if (!segments.length) return forbidden;
        segments.pop();
      } else {
        segments.push(seg);
      }
    }
    if (segments.some((s) => s.startsWith('.') && s !== '.well-known')) {
      return { kind: 'page', status: 404, title: 'Not Found', message: 'There is no such page.' };
    }
    let realRoot: string;
    try {
      realRoot = await realpath(this.#root);
    } catch (err) {
      const problem = await rootProblemNow(this.#root, 'the document root');
      throw new UpstreamError(
        502,
        problem?.message ?? `the document root ${this.#root} cannot be read (${(err as Error).message})`,
        problem?.missing ? 'the document root of the site is missing' : 'the document root of the site cannot be read',
      );
    }
    const inside = realRoot === path.sep ? realRoot : realRoot + path.sep;
    // The segments hold no `..` by now: path.join stays in the root, and only a symbolic link can lead out.
    const look = async (segs: string[]): Promise<{ real: string; stats: Stats } | Route | null> => {
      let real: string;
      try {
        real = await realpath(path.join(this.#root, ...segs));
      } catch {
        return null;
      }
      if (real !== realRoot && !real.startsWith(inside) && !this.#followSymlinks) {
        return { ...forbidden, detail: linkOutMessage('/' + segs.join('/'), real, 'the document root') };
      }
      try {
        return { real, stats: await stat(real) };
      } catch {
        return null;
      }
    };
    const trailing = decoded.endsWith('/') && segments.length > 0 ? '/' : '';
    const uri = '/' + segments.join('/');
    const script = (segs: string[], pathInfo: string | null): Route => {
      const scriptName = '/' + segs.join('/');
      return { kind: 'script', scriptName, pathInfo, documentUri: scriptName + (pathInfo ?? '') };
    };

    // A path that is not UTF-8 cannot name a file here: it can only be a route of the front controller.
    if (utf8 !== null) {
      const found = await look(segments);
      if (found && 'kind' in found) return found;
      if (found?.stats.isFile()) {
        if (isPhp(uri)) return script(segments, null);
        return { kind: 'static', realFile: found.real };
      }
      if (found?.stats.isDirectory()) {
        const index = await look([...segments, this.#index]);
        if (index && 'kind' in index) return index;
        if (index?.stats.isFile()) return script([...segments, this.#index], null);
      }
      // `/app.php/extra`: the first `.php` segment that is a file runs, the rest is PATH_INFO.
      const at = segments.findIndex((s, i) => isPhp(s) && i < segments.length - 1);
      if (at >= 0) {
        const prefix = segments.slice(0, at + 1);
        const php = await look(prefix);
        if (php && 'kind' in php) return php;
        if (php?.stats.isFile()) return script(prefix, '/' + segments.slice(at + 1).join('/') + trailing);
      }
    }
    const front = await look([this.#index]);
    if (front && 'kind' in front) return front;
    if (front?.stats.isFile()) return script([this.#index], null);
    return { kind: 'page', status: 404, title: 'Not Found', message: 'There is no such page.' };
  }

  async #runScript(
    req: UpstreamRequest,
    route: Extract<Route, { kind: 'script' }>,
    signal: AbortSignal,
  ): Promise<UpstreamResponse> {
    let stdin = req.body;
    let length = req.bodyLength;
    if (stdin !== null && length === null) {
      // PHP reads the body by CONTENT_LENGTH, so one of unknown length is gathered first (as nginx does).
      const whole = await collect(stdin);
      stdin = whole;
      length = whole.length;
    }
    const params = this.#params(
      req,
      route,
      stdin !== null || req.headers['content-length'] !== undefined ? length : null,
    );

    const controller = new AbortController();
    const seconds = Math.round(this.#timeoutMs / 1000);
    const timedOut = new UpstreamError(
      504,
      `PHP-FPM at ${this.#address} did not answer within ${seconds} s`,
      `${this.#shownFpm} did not answer within ${seconds} s`,
    );
    // The clock runs while Porthole waits for PHP: from the request to the end of the head (queue
    // and connect included), then for each body chunk. Time the visitor takes to read does not count.
    let timer: NodeJS.Timeout | null = null;
    const arm = (): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => controller.abort(timedOut), this.#timeoutMs);
    };
    const disarm = (): void => {
      if (timer) clearTimeout(timer);
      timer = null;
    };
    const onAbort = (): void => controller.abort(signal.reason);
    const cleanup = (): void => {
      disarm();
      signal.removeEventListener('abort', onAbort);
    };
    if (signal.aborted) throw signal.reason;
    signal.addEventListener('abort', onAbort, { once: true });
    arm();

    let it: AsyncIterator<Buffer>;
    let res;
    let head: Buffer = Buffer.alloc(0);
    let end = -1;
    let sep = 0;
    try {
      res = await this.#client.request({
        params,
        stdin: stdin === null ? null : Buffer.isBuffer(stdin) ? stdin : (stdin as AsyncIterable<Buffer>),
        signal: controller.signal,
      });
      it = (res.stdout as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      for (;;) {
        const next = await it.next();
        if (next.done) break;
        head = head.length ? Buffer.concat([head, next.value]) : next.value;
        const m = /\r?\n\r?\n/.exec(head.toString('latin1'));
        if (m) {
          end = m.index;
          sep = m[0].length;
          break;
        }
        if (head.length > MAX_HEAD_BYTES) {
          await it.return?.();
          throw new UpstreamError(
            502,
            `PHP-FPM at ${this.#address} sent over 256 KiB of headers`,
            `${this.#shownFpm} sent over 256 KiB of headers`,
          );
        }
      }
    } catch (err) {
      cleanup();
      throw this.#toUpstreamError(err, res?.stderr);
    }

    if (end < 0 && head.length === 0) {
      cleanup();
      const stderr = res.stderr.trim();
      throw new UpstreamError(
        502,
        `PHP-FPM at ${this.#address} ended the request without a response${stderr ? `: ${stderr}` : ''}`,
        `${this.#shownFpm} ended the request without a response`,
      );
    }
    disarm();
    const { status, headers } = parseCgiHead(head.toString('latin1', 0, end < 0 ? head.length : end));
    const rest = end < 0 ? Buffer.alloc(0) : head.subarray(end + sep);
    const toError = (err: unknown): UpstreamError => this.#toUpstreamError(err, res.stderr);
    const iterator = it;
    async function* body(): AsyncGenerator<Buffer> {
      try {
        if (rest.length) yield rest;
        for (;;) {
          arm();
          const next = await iterator.next();
          disarm();
          if (next.done) return;
          yield next.value;
        }
      } catch (err) {
        throw toError(err);
      } finally {
        cleanup();
        await iterator.return?.();
      }
    }
    return {
      status,
      headers,
      body: body(),
      bodyLength: null,
      // A getter: PHP may still write to stderr while the body streams.
      get diagnostics() {
        return res.stderr.trim() || undefined;
      },
    };
  }

  #params(
    req: UpstreamRequest,
    route: Extract<Route, { kind: 'script' }>,
    contentLength: number | null,
  ): Array<[string, ParamValue]> {
    const q = req.path.indexOf('?');
    const host = firstValue(req.headers['host']) ?? '';
    const hostMatch = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host);
    const defaultPort = req.publicScheme === 'https' ? '443' : '80';
    const docRoot = this.#remoteRoot || '/';
    const p: Array<[string, ParamValue]> = [
      ['GATEWAY_INTERFACE', 'CGI/1.1'],
      ['SERVER_SOFTWARE', 'Porthole'],
      ['SERVER_PROTOCOL', 'HTTP/1.1'],
      ['SERVER_NAME', this.#serverName ?? (hostMatch?.[1] || 'localhost')],
      ['SERVER_PORT', hostMatch?.[2] ?? defaultPort],
      ['REQUEST_SCHEME', req.publicScheme],
      ['REQUEST_METHOD', req.method],
      ['REQUEST_URI', req.path],
      ['QUERY_STRING', q < 0 ? '' : req.path.slice(q + 1)],
      ['DOCUMENT_ROOT', docRoot],
      ['DOCUMENT_URI', route.documentUri],
      ['SCRIPT_NAME', route.scriptName],
      ['SCRIPT_FILENAME', this.#remoteRoot + route.scriptName],
      ['REMOTE_ADDR', req.visitorIp],
      ['REMOTE_PORT', '0'],
    ];
    if (route.pathInfo !== null) p.push(['PATH_INFO', route.pathInfo]);
    if (req.publicScheme === 'https') p.push(['HTTPS', 'on']);
    const type = firstValue(req.headers['content-type']);
    if (type !== undefined) p.push(['CONTENT_TYPE', Buffer.from(type, 'latin1')]);
    if (contentLength !== null) p.push(['CONTENT_LENGTH', String(contentLength)]);
    for (const [name, value] of Object.entries(stripHopByHop(req.headers))) {
      // `Proxy` would become HTTP_PROXY, which many HTTP clients read as their proxy (httpoxy).
      if (name === 'content-type' || name === 'content-length' || name === 'proxy') continue;
      // `X-Real_IP` and `X-Real-IP` would both become HTTP_X_REAL_IP; like nginx and Apache, names
      // with underscores are dropped so that a visitor cannot shadow a header set by the relay.
      if (name.includes('_')) continue;
      const joined = Array.isArray(value) ? value.join(name === 'cookie' ? '; ' : ', ') : value;
      p.push([`HTTP_${name.toUpperCase().replace(/-/g, '_')}`, Buffer.from(joined, 'latin1')]);
    }
    return p;
  }

  /**
   * The message keeps the system error and PHP's stderr for the request log; the public message
   * names no socket path and no error code.
   */
  #toUpstreamError(err: unknown, stderr: string | undefined): UpstreamError {
    if (err instanceof UpstreamError) return err;
    const e = err as { code?: string; message?: string };
    const at = this.#address;
    const socketPath = at.startsWith('unix:') ? at.slice(5) : at;
    const fpm = this.#shownFpm;
    const notRunning = at.startsWith('unix:') ? 'the local PHP-FPM is not running' : `PHP-FPM is not running at ${at}`;
    switch (e.code) {
      case 'ECONNREFUSED':
        return new UpstreamError(502, `PHP-FPM is not running at ${at} (connection refused)`, notRunning);
      case 'ENOENT':
        return new UpstreamError(502, `PHP-FPM is not running at ${at} (no socket at ${socketPath})`, notRunning);
      case 'EACCES':
        return new UpstreamError(
          502,
          `PHP-FPM's socket ${socketPath} cannot be opened (permission denied)`,
          "PHP-FPM's socket cannot be opened",
        );
      case 'ETIMEDOUT':
        return new UpstreamError(504, `connecting to PHP-FPM at ${at} timed out`, `connecting to ${fpm} timed out`);
    }
    const tail = stderr?.trim() ? ` (stderr: ${stderr.trim()})` : '';
    if (err instanceof FastCgiError) {
      if (err.code === 'rejected') {
        // "PHP-FPM refused the request: it is overloaded": the client's own words, nothing local.
        return new UpstreamError(502, `${err.message}, at ${at}; try again later`, `${err.message}; try again later`);
      }
      const shown =
        err.code === 'closed'
          ? `${fpm} closed the connection without a complete answer`
          : err.code === 'protocol'
            ? `${fpm} answered with something that is not FastCGI`
            : 'the request body could not be passed on';
      return new UpstreamError(502, `${err.message} (${at})${tail}`, shown);
    }
    return new UpstreamError(502, `PHP-FPM at ${at} failed: ${e.message ?? String(err)}${tail}`, `${fpm} failed`);
  }
}

/**
 * Reads a CGI response head (RFC 3875 §6.3): `Status` sets the status, `Location` alone means 302,
 * otherwise 200; names lower-cased, repeats kept as arrays.
 */
export function parseCgiHead(text: string): { status: number; headers: HeaderMap } {
  const headers: HeaderMap = Object.create(null) as HeaderMap;
  let status: number | null = null;
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name)) continue;
    if (name === 'status') {
      const m = /^(\d{3})\b/.exec(value);
      if (m) status = Number(m[1]);
      continue;
    }
    appendHeader(headers, name, value);
  }
  if (status === null) status = headers['location'] !== undefined ? 302 : 200;
  return { status, headers };
}

function trimSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p === '/' ? '' : p;
}

function percentDecode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(c & 0xff);
    }
  }
  return Buffer.from(out);
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(b: Buffer): string | null {
  try {
    return utf8Decoder.decode(b);
  } catch {
    return null;
  }
}

async function drain(body: UpstreamRequest['body']): Promise<void> {
  if (body === null || Buffer.isBuffer(body)) return;
  try {
    for await (const _ of body as AsyncIterable<Buffer>) void _;
  } catch {
    // a visitor body that breaks off does not change the answer
  }
}

async function collect(body: Readable | AsyncIterable<Buffer> | Buffer): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
