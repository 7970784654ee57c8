import type { ReadStream } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable, type TransformCallback } from 'node:stream';
import send from 'send';
import { firstValue, type HeaderMap } from '../../protocol/fpw-codec.ts';
import { HTML_TYPE, errorPage } from '../../protocol/pages.ts';
import { UpstreamError, type UpstreamRequest, type UpstreamResponse } from './upstream.ts';

/** A small HTML page of Porthole's as an upstream's answer. */
export function htmlPage(status: number, title: string, message: string, extra: HeaderMap = {}): UpstreamResponse {
  const html = errorPage(status, title, message);
  return {
    status,
    headers: { 'content-type': HTML_TYPE, ...extra },
    body: html,
    bodyLength: html.length,
  };
}

/**
 * A stand-in for `http.ServerResponse` that `send` can write to: it records the status and
 * headers, and passes the body through as a stream with back-pressure.
 */
class CapturedResponse extends PassThrough {
  statusCode = 200;
  headersSent = false;
  // on-finished (used by send) looks for a socket; null tells it there is none to watch.
  readonly socket = null;
  readonly #headers = new Map<string, { name: string; value: string | string[] }>();
  readonly #onHead: () => void;

  constructor(onHead: () => void) {
    super({ highWaterMark: 64 * 1024 });
    this.#onHead = onHead;
  }

  setHeader(name: string, value: number | string | readonly string[]): this {
    const v = typeof value === 'number' ? String(value) : Array.isArray(value) ? [...value] : (value as string);
    this.#headers.set(name.toLowerCase(), { name, value: v });
    return this;
  }

  getHeader(name: string): string | string[] | undefined {
    return this.#headers.get(name.toLowerCase())?.value;
  }

  removeHeader(name: string): void {
    this.#headers.delete(name.toLowerCase());
  }

  getHeaderNames(): string[] {
    return [...this.#headers.keys()];
  }

  headerMap(): HeaderMap {
    const out: HeaderMap = Object.create(null) as HeaderMap;
    for (const [name, { value }] of this.#headers) out[name] = value;
    return out;
  }

  #sent(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.#onHead();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#sent();
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.#sent();
    cb();
  }
}

export interface ServeFileOptions {
  /** Send `Cache-Control: public, max-age=0` (files that may change at any time). @default false */
  cacheControl?: boolean;
  /** The name whose extension gives the content type (the name asked for, when a link leads elsewhere). */
  typeName?: string;
}

/**
 * Serves one file with `send` (content type, ETag, Last-Modified, ranges, conditional requests, HEAD),
 * for the folder and the FastCGI upstreams alike. `realFile` is the checked real path (inside the
 * root, or where a followed link leads): send gets its folder as the root and its name as the path,
 * so it opens that file and no other.
 */
export function serveFile(
  req: UpstreamRequest,
  realFile: string,
  opts: ServeFileOptions = {},
): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    let file: ReadStream | null = null;
    const out = new CapturedResponse(() => {
      const headers = out.headerMap();
      const length = firstValue(headers['content-length']);
      resolve({
        status: out.statusCode,
        headers,
        body: out,
        bodyLength: length !== undefined && /^\d+$/.test(length) ? Number(length) : null,
      });
    });
    // A reader that stops early leaves the file open otherwise: send only closes it when the response finishes.
    out.on('close', () => file?.destroy());
    const requestHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      requestHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    // send reads only the method and headers of the request it is given.
    const visitor = { method: req.method, headers: requestHeaders } as unknown as Readable;
    const stream = send(visitor, '/' + encodeURIComponent(path.basename(realFile)), {
      root: path.dirname(realFile),
      // Dotfiles and the index were decided by the caller; send sees one regular file.
      dotfiles: 'allow',
      index: false,
      etag: true,
      lastModified: true,
      acceptRanges: true,
      cacheControl: opts.cacheControl ?? false,
      maxAge: 0,
    });
    const typeName = opts.typeName;
    if (typeName !== undefined) {
      // send types a file by the path it opens; set first, its own guess leaves it be.
      stream.on('headers', () => (stream as unknown as { type(p: string): void }).type(typeName));
    }
    stream.on('stream', (s: ReadStream) => {
      file = s;
      s.on('error', (err) => out.destroy(err));
    });
    stream.on('error', (err: Error & { status?: number; headers?: Record<string, string> }) => {
      if (out.headersSent) {
        out.destroy(err);
        return;
      }
      const status = err.status ?? 500;
      if (status >= 500) {
        reject(
          new UpstreamError(502, `reading ${realFile} failed: ${err.message}`, 'a file of the site could not be read'),
        );
        return;
      }
      const extra: HeaderMap = {};
      for (const [name, value] of Object.entries(err.headers ?? {})) extra[name.toLowerCase()] = value;
      // send's message can be a system error naming the file (a 404 for a file deleted just now):
      // the page says it in its own words, the log keeps send's.
      const shown =
        status === 416
          ? htmlPage(416, 'Range Not Satisfiable', 'The requested range is outside the file.', extra)
          : status === 412
            ? htmlPage(412, 'Precondition Failed', 'The file has changed.', extra)
            : status === 404
              ? htmlPage(404, 'Not Found', 'There is no such page.', extra)
              : htmlPage(status, 'Error', 'The file could not be sent.', extra);
      // A range or a precondition that does not hold is the visitor's business, not a fault.
      resolve(status === 416 || status === 412 ? shown : { ...shown, diagnostics: `${realFile}: ${err.message}` });
    });
    stream.pipe(out as unknown as NodeJS.WritableStream);
  });
}
