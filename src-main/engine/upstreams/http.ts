import { STATUS_CODES } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { dispatchRequest, type DispatchResponse } from '../dispatch.ts';
import type { RequestBody } from '../undici-body.ts';
import { firstValue, stripHopByHop, type HeaderMap } from '../../protocol/fpw-codec.ts';
import { openUpgrade, type UpgradeResponse } from './upgrade.ts';
import { UpstreamError, type Upstream, type UpstreamRequest, type UpstreamResponse } from './upstream.ts';

export interface HttpUpstreamOptions {
  /** The service, e.g. `http://127.0.0.1:3000` (a path prefix is kept). */
  target: string;
  /** `upstream` rewrites Host to the target's; `visitor` keeps the visitor's. @default 'upstream' */
  hostHeader?: 'upstream' | 'visitor';
  /** Time allowed for the response head, and between body chunks. @default 60000 */
  timeoutMs?: number;
  /**
   * For an `https://` target, accept a certificate that does not verify (self-signed, expired, for
   * another name): for local services with a development certificate. Ignored with `dispatcher`.
   * @default false
   */
  insecure?: boolean;
  /** Connect to this unix socket instead of the target's host and port. */
  socketPath?: string;
  /** Injected for tests and for a proxy; by default one keep-alive pool to the target. */
  dispatcher?: Dispatcher;
}

// One read's worth: bigger answers stream, so that no large buffer is allocated and copied per request.
const COLLECT_UP_TO = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/** Forwards visitor requests to an HTTP(S) service over a keep-alive undici pool. */
export class HttpUpstream implements Upstream {
  readonly target: string;
  readonly #url: URL;
  readonly #prefix: string;
  readonly #hostHeader: 'upstream' | 'visitor';
  readonly #timeoutMs: number;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #insecure: boolean;
  readonly #socketPath: string | undefined;

  constructor(opts: HttpUpstreamOptions) {
    this.#url = new URL(opts.target);
    if (this.#url.protocol !== 'http:' && this.#url.protocol !== 'https:') {
      throw new Error(`upstream must be an http:// or https:// URL, not ${opts.target}`);
    }
    this.target = this.#url.origin + (this.#url.pathname === '/' ? '' : this.#url.pathname);
    this.#prefix = this.#url.pathname.replace(/\/$/, '');
    this.#hostHeader = opts.hostHeader ?? 'upstream';
    this.#timeoutMs = opts.timeoutMs ?? 60_000;
    this.#ownsDispatcher = !opts.dispatcher;
    this.#insecure = opts.insecure ?? false;
    this.#socketPath = opts.socketPath;
    this.#dispatcher =
      opts.dispatcher ??
      new Pool(this.#url.origin, {
        keepAliveTimeout: 30_000,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        maxHeaderSize: 256 * 1024,
        connect: {
          noDelay: true,
          ...(opts.insecure ? { rejectUnauthorized: false } : {}),
          ...(opts.socketPath ? { socketPath: opts.socketPath } : {}),
        },
      });
  }

  async handle(req: UpstreamRequest, signal: AbortSignal): Promise<UpstreamResponse> {
    const headers = stripHopByHop(req.headers, { dropContentLength: true });
    // undici refuses Expect (it cannot do 100-continue); the relay already has the whole body.
    delete headers['expect'];
    this.#forwardHeaders(req, headers);
    if (req.bodyLength !== null && req.body !== null) headers['content-length'] = String(req.bodyLength);

    let res: DispatchResponse;
    try {
      res = await dispatchRequest(this.#dispatcher, {
        origin: this.#url.origin,
        path: this.#prefix + req.path,
        method: req.method,
        headers,
        body: req.body as RequestBody,
        signal,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        // Small answers (most of them) arrive whole, with no stream in between.
        collectUpTo: COLLECT_UP_TO,
      });
    } catch (err) {
      throw toUpstreamError(err, this.target, this.#timeoutMs);
    }
    const length = firstValue(res.headers['content-length']);
    const out: HeaderMap = Object.create(null) as HeaderMap;
    for (const name in res.headers) {
      const value = res.headers[name];
      if (value !== undefined) out[name] = value;
    }
    // Only a phrase of the upstream's own is kept (`418 I am a teapot`): the standard one goes without saying.
    const reason = res.statusText && res.statusText !== STATUS_CODES[res.statusCode] ? { reason: res.statusText } : {};
    return {
      status: res.statusCode,
      ...reason,
      headers: out,
      body: res.body ?? EMPTY,
      bodyLength: length !== undefined && /^\d+$/.test(length) ? Number(length) : null,
    };
  }

  /** Opens a visitor's upgrade (a WebSocket) to the service on a connection of its own. */
  async upgrade(req: UpstreamRequest, signal: AbortSignal): Promise<UpgradeResponse> {
    const headers = this.#forwardHeaders(req, stripHopByHop(req.headers, { dropContentLength: true }));
    // The upgrade itself is hop-by-hop: said again, for this hop.
    headers['connection'] = 'Upgrade';
    headers['upgrade'] = firstValue(req.headers['upgrade']) ?? 'websocket';
    return openUpgrade({
      url: this.#url,
      path: this.#prefix + req.path,
      headers,
      insecure: this.#insecure,
      ...(this.#socketPath ? { socketPath: this.#socketPath } : {}),
      timeoutMs: this.#timeoutMs,
      signal,
    });
  }

  /** Host as the profile says, and the X-Forwarded-* headers. */
  #forwardHeaders(req: UpstreamRequest, headers: HeaderMap): HeaderMap {
    const visitorHost = firstValue(headers['host']);
    if (this.#hostHeader === 'upstream' || !visitorHost) headers['host'] = this.#url.host;
    headers['x-forwarded-for'] = req.forwardedFor ?? req.visitorIp;
    if (!headers['x-forwarded-for']) delete headers['x-forwarded-for'];
    headers['x-forwarded-proto'] = req.publicScheme;
    if (visitorHost) headers['x-forwarded-host'] = visitorHost;
    return headers;
  }

  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }
}

/** Why Node refused an upstream's certificate, by the code of the TLS error. */
const UNTRUSTED_CERTIFICATE = new Map<string, string>(
  Object.entries({
    DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed',
    SELF_SIGNED_CERT_IN_CHAIN: 'it was issued by a self-signed authority',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its issuer is not known',
    UNABLE_TO_GET_ISSUER_CERT: 'its issuer is not known',
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its issuer is not known',
    CERT_UNTRUSTED: 'it is not trusted for this use',
    CERT_SIGNATURE_FAILURE: 'its signature does not verify',
    CERT_HAS_EXPIRED: 'it has expired',
    CERT_NOT_YET_VALID: 'it is not valid yet',
    ERR_TLS_CERT_ALTNAME_INVALID: 'it is for another host name',
  }),
);

/**
 * Maps a network or undici error to an UpstreamError: the message keeps the error's text and code for
 * the request log, the public message says what happened in words that show nothing of the machine.
 */
export function toUpstreamError(err: unknown, target: string, timeoutMs: number): UpstreamError {
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  const same = (status: 502 | 504, message: string): UpstreamError => new UpstreamError(status, message, message);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return same(504, `${target} did not answer within ${Math.round(timeoutMs / 1000)} s`);
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return same(504, `connecting to ${target} timed out`);
  if (code === 'ECONNREFUSED') return same(502, `nothing is listening at ${target} (connection refused)`);
  const untrusted = UNTRUSTED_CERTIFICATE.get(code);
  if (untrusted) {
    const advice = `if you trust this service, turn on "accept invalid certificates" (--insecure-upstream)`;
    return new UpstreamError(
      502,
      `the certificate of ${target} is not trusted: ${untrusted} (${code}); ${advice}`,
      `the certificate of ${target} is not trusted: ${untrusted}; ${advice}`,
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return same(502, `the name in ${target} does not resolve`);
  return new UpstreamError(
    502,
    `${target} failed: ${e.message ?? String(err)}${code ? ` (${code})` : ''}`,
    code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE'
      ? `${target} closed the connection without a complete answer`
      : `${target} did not give a usable answer`,
  );
}
