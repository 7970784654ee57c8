import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { RequestBody } from '../undici-body.ts';

/** A relay's answer to a poll. */
export interface PollResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  /**
   * The body, or null when the answer has none: idle answers and bodyless visitor requests, most of
   * the traffic, then cost no stream at all.
   */
  body: Readable | null;
}

export interface PollOptions {
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: RequestBody;
  signal: AbortSignal;
  /** Called once undici has written the whole request body to the socket. */
  onSent?: () => void;
}

/**
 * One POST to the relay through undici's `dispatch`, without the `request()` wrapper: the hot path
 * of the worker (every visitor request is one poll answer and one reply), measured by
 * `npm run bench`, where the wrapper's per-request body stream showed up.
 */
export function sendPoll(dispatcher: Dispatcher, opts: PollOptions): Promise<PollResponse> {
  return new Promise<PollResponse>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | null = null;
    let body: Readable | null = null;
    let started = false;
    let ended = false;
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
      },
      onRequestSent() {
        opts.onSent?.();
      },
      onResponseStart(c, statusCode, headers) {
        started = true;
        const length = headers['content-length'];
        if (length === '0' || statusCode === 204) {
          resolve({ statusCode, headers, body: null });
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
        resolve({ statusCode, headers, body });
      },
      onResponseData(c, chunk) {
        if (body && !body.push(chunk)) c.pause();
      },
      onResponseEnd() {
        ended = true;
        finish();
        body?.push(null);
      },
      onResponseError(_c, err) {
        finish();
        if (!started) reject(err);
        else body?.destroy(err);
      },
    };
    try {
      dispatcher.dispatch(
        { origin: opts.origin, path: opts.path, method: 'POST', headers: opts.headers, body: opts.body },
        handler,
      );
    } catch (err) {
      finish();
      reject(err as Error);
    }
  });
}

/** Reads and discards what is left of a body. */
export async function drain(body: Readable | null): Promise<void> {
  if (!body || body.readableEnded || body.destroyed) return;
  try {
    for await (const _ of body) void _;
  } catch {
    // a broken body is as good as drained: the connection is gone with it
  }
}

/** A body as text (for a relay's refusal message), at most 2000 characters. */
export async function bodyText(body: Readable | null): Promise<string> {
  if (!body) return '';
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
