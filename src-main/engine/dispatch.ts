import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { RequestBody } from './undici-body.ts';

/** An HTTP response as the engine's hot paths take it from undici. */
export interface DispatchResponse {
  statusCode: number;
  /** The reason phrase of the status line, as the peer sent it. */
  statusText?: string;
  headers: Record<string, string | string[] | undefined>;
  /**
   * The body: null when there is none (idle poll answers and bodyless visitor requests, most of the
   * traffic, then cost no stream at all), a Buffer when it was small enough to collect whole, else a
   * stream.
   */
  body: Buffer | Readable | null;
}

export interface DispatchOptions {
  origin: string;
  path: string;
  method: string;
  headers: Record<string, string | string[]>;
  body: RequestBody;
  signal: AbortSignal;
  headersTimeout?: number;
  bodyTimeout?: number;
  /** Bodies that announce a length up to this are collected into one Buffer. @default 0 */
  collectUpTo?: number;
  /** Called once undici has written the whole request body to the socket. */
  onSent?: () => void;
}

/**
 * One request through undici's `dispatch`, without the `request()` wrapper and its body stream for
 * every response: the worker's hot paths (every visitor request is one poll answer, one upstream
 * request and one reply), where `npm run bench` showed the wrapper's cost.
 */
export function dispatchRequest(dispatcher: Dispatcher, opts: DispatchOptions): Promise<DispatchResponse> {
  return new Promise<DispatchResponse>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | null = null;
    let body: Readable | null = null;
    let started = false;
    let ended = false;
    let collect: {
      statusCode: number;
      statusText?: string;
      headers: DispatchResponse['headers'];
      chunks: Buffer[];
    } | null = null;
    const onAbort = (): void => {
      const reason = opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted');
      if (controller) controller.abort(reason);
      else if (!started) reject(reason);
    };
    if (opts.signal.aborted) {
      onAbort();
      return;
    }
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const finish = (): void => opts.signal.removeEventListener('abort', onAbort);
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        // Aborted while the request waited for a connection: it must not go out at all.
        if (opts.signal.aborted)
          c.abort(opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
      },
      onRequestSent() {
        opts.onSent?.();
      },
      onResponseStart(c, statusCode, headers, statusText) {
        started = true;
        const text = statusText ? { statusText } : {};
        const length = headers['content-length'];
        if (length === '0' || statusCode === 204 || statusCode === 304 || opts.method === 'HEAD') {
          resolve({ statusCode, ...text, headers, body: null });
          return;
        }
        const size = typeof length === 'string' && /^\d+$/.test(length) ? Number(length) : -1;
        if (size >= 0 && size <= (opts.collectUpTo ?? 0)) {
          collect = { statusCode, ...text, headers, chunks: [] };
          return;
        }
        body = new Readable({
          read() {
            c.resume();
          },
          destroy(err, cb) {
            // Discarded before its end (say, the upstream failed first): the connection goes too.
            if (!ended) c.abort(err ?? new Error('response body discarded'));
            cb(err);
          },
        });
        resolve({ statusCode, ...text, headers, body });
      },
      onResponseData(c, chunk) {
        if (collect) collect.chunks.push(chunk);
        else if (body && !body.push(chunk)) c.pause();
      },
      onResponseEnd() {
        ended = true;
        finish();
        if (collect) {
          const { chunks } = collect;
          resolve({
            statusCode: collect.statusCode,
            ...(collect.statusText ? { statusText: collect.statusText } : {}),
            headers: collect.headers,
            body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
          });
        } else body?.push(null);
      },
      onResponseError(_c, err) {
        finish();
        if (!started || collect) reject(err);
        else body?.destroy(err);
      },
    };
    try {
      dispatcher.dispatch(
        {
          origin: opts.origin,
          path: opts.path,
          method: opts.method,
          headers: opts.headers,
          body: opts.body,
          ...(opts.headersTimeout !== undefined ? { headersTimeout: opts.headersTimeout } : {}),
          ...(opts.bodyTimeout !== undefined ? { bodyTimeout: opts.bodyTimeout } : {}),
        },
        handler,
      );
    } catch (err) {
      finish();
      reject(err as Error);
    }
  });
}

/** Reads and discards what is left of a body. */
export async function drain(body: Buffer | Readable | null): Promise<void> {
  if (!body || Buffer.isBuffer(body) || body.readableEnded || body.destroyed) return;
  try {
    for await (const _ of body) void _;
  } catch {
    // a broken body is as good as drained: the connection is gone with it
  }
}

/** A body as text (for a relay's refusal message), at most 2000 characters. */
export async function bodyText(body: Buffer | Readable | null): Promise<string> {
  if (!body) return '';
  if (Buffer.isBuffer(body)) return body.subarray(0, 2000).toString('utf8');
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of body as AsyncIterable<Buffer>) {
      if (size < 64 * 1024) chunks.push(c);
      size += c.length;
    }
  } catch {
    return '';
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text.length > 2000 ? text.slice(0, 2000) : text;
}
