import type { Readable } from 'node:stream';
import type { HeaderMap } from '../../protocol/fpw-codec.ts';
import type { UpgradeResponse } from './upgrade.ts';

/** A visitor request, as the tunnel hands it to an upstream. */
export interface UpstreamRequest {
  method: string;
  /** Path and query, starting with `/`. */
  path: string;
  /** The visitor's headers (lower-case names, repeats as arrays), hop-by-hop headers removed. */
  headers: HeaderMap;
  /** The request body, or null when there is none. */
  body: Readable | AsyncIterable<Buffer> | Buffer | null;
  /** The body's length when known. */
  bodyLength: number | null;
  /** The visitor's IP as the relay reports it. */
  visitorIp: string;
  /** The `X-Forwarded-For` chain the relay sent, if any. */
  forwardedFor: string | undefined;
  /** `http` or `https`: how the visitor reached the relay. */
  publicScheme: 'http' | 'https';
}

/** The upstream's answer. */
export interface UpstreamResponse {
  status: number;
  /** The upstream's own reason phrase, when it was not the standard one. */
  reason?: string;
  /** Response headers (lower-case names, repeats as arrays). */
  headers: HeaderMap;
  /** The response body: whole when it was small, else a stream. */
  body: Buffer | AsyncIterable<Buffer>;
  /** The body's length, when the upstream said. */
  bodyLength: number | null;
  /** Text the upstream reported on a side channel (PHP's stderr), for the request log. */
  diagnostics?: string;
}

/**
 * Thrown by an upstream for failures the visitor sees as a Porthole page. The message is for the
 * owner (the request log): it may name local paths and system errors. The visitor's page shows only
 * `publicMessage`, which must not.
 */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
  /** 502 for an unreachable or broken upstream, 504 for one that took too long. */
  readonly status: 502 | 504;
  /** What the visitor's page says went wrong: no local path, no system error text. */
  readonly publicMessage: string;

  constructor(status: 502 | 504, message: string, publicMessage?: string) {
    super(message);
    this.status = status;
    this.publicMessage =
      publicMessage ?? (status === 504 ? 'the local service took too long to answer' : 'the local service failed');
  }
}

/** Something a tunnel forwards visitor requests to. */
export interface Upstream {
  /** A short description for pages and logs, e.g. `http://127.0.0.1:3000`. */
  readonly target: string;
  /**
   * Sends one request upstream and resolves with the response head; the body streams after.
   * @throws UpstreamError when the upstream cannot answer.
   */
  handle(request: UpstreamRequest, signal: AbortSignal): Promise<UpstreamResponse>;
  /**
   * Why the upstream cannot serve at all (its folder is missing), asked when the tunnel starts so
   * that nothing is published; null when it can.
   */
  check?(): string | null;
  /** Releases connections. */
  close(): Promise<void>;
  /**
   * Opens a visitor's upgrade (a WebSocket handshake) on a connection of its own; upstreams that
   * cannot carry one (FastCGI, folders) have none.
   * @throws UpstreamError when the upstream cannot answer.
   */
  upgrade?(request: UpstreamRequest, signal: AbortSignal): Promise<UpgradeResponse>;
}
