import type { Duplex, Readable } from 'node:stream';
import type { HeaderMap, VisitorRequest } from '../../protocol/fpw-codec.ts';
import type { PhaseState } from '../shapes.ts';

/**
 * A way to the relay. A tunnel is given one and never knows which: the FPW long-poll is the first.
 * A transport takes visitor requests from its relay, hands each to the {@link RequestHandler} with
 * its body as a stream, and streams the {@link Reply} back; a transport that carries upgraded
 * connections or raw byte streams hands them to the handler the same way, as duplex streams.
 */
export interface Transport {
  /** The phase the tunnel is in, as this transport sees it. */
  readonly state: PhaseState;
  /** The URL visitors use: what the relay announced, else derived from the relay URL. */
  readonly publicUrl: string;
  /** Starts; resolves at once: follow the phase through `onPhase`. */
  start(): void;
  /** Stops taking requests; those in flight get `graceMs`, then everything is closed. */
  stop(graceMs?: number): Promise<void>;
}

/** What the worker sends back for one visitor request. */
export interface Reply {
  status: number;
  /** The upstream's reason phrase, when it had its own (`I am a teapot`); transports that can carry it do. */
  reason?: string;
  /** Response headers, hop-by-hop and framing headers already removed (content-length only for HEAD/304). */
  headers: HeaderMap;
  /** The body: whole (a Buffer, or its chunks in order) or streamed. */
  body: Buffer | Buffer[] | AsyncIterable<Buffer>;
  /** The body's length, when known. */
  bodyLength: number | null;
  /** Called once: when the body has been handed to the relay connection, or with the error that stopped it. */
  done?: (err?: Error) => void;
  /**
   * Called when the POST that carried the reply failed after `done()` reported success: the bytes
   * had left for the socket but may not have reached the relay.
   */
  lostAfter?: (err: Error) => void;
}

/** What the transport calls for each visitor request. */
export interface RequestHandler {
  /** Answers one visitor request; `body` is null when the request has none. */
  request(req: VisitorRequest, body: Readable | null, bodyLength: number | null): Promise<Reply>;
  /** Answers a poll whose visitor request could not be understood. */
  malformed(id: string, error: string): Reply;
  /** Answers a visitor request that arrived after the tunnel began to stop (a 503, at once). */
  stopping(req: VisitorRequest): Reply;
  /**
   * Answers a visitor's upgrade request: the upstream's 101 and its connection, or a plain answer.
   * Transports that carry upgrades (the WebSocket transport) call it; a handler without it refuses them.
   */
  upgrade?(req: VisitorRequest): Promise<UpgradeReply>;
  /**
   * A visitor's TCP connection (a TCP tunnel): the local service's connection, to be joined to it, or
   * null when the service refused (the visitor's connection is then closed at once).
   */
  tcp?(visitorIp: string): Promise<Duplex | null>;
  /** Cuts short the upstream requests still running (the stop's grace period is over). */
  cancel?(): void;
}

/** What the handler answers to a visitor's upgrade (a WebSocket handshake). */
export interface UpgradeReply {
  /** 101 when the upstream switched protocols; anything else is a plain answer (a refusal, an error). */
  status: number;
  reason?: string;
  /** The upstream's answer headers (for a 101: `upgrade`, `connection`, `sec-websocket-accept`...). */
  headers: HeaderMap;
  /** After a 101: the upstream connection, to be joined to the visitor's. */
  socket?: Duplex;
  /** Without a 101: the answer's body. */
  body?: Buffer;
  /** Called once the session (or the plain answer) is over. */
  done?: (err?: Error) => void;
}

/**
 * The largest header block a reply may need on its way to the relay (the upstream's headers, as
 * fpw-header JSON, where bytes above 0x7F grow sixfold): Porthole's relay reads 256 KiB of head.
 * A reply over it is answered 502 instead, so that one upstream cannot wedge a tunnel.
 */
export const MAX_REPLY_HEADER_BYTES = 192 * 1024;

/** The reply that stands in for one whose headers are too large to carry; `done` reports why. */
export function tooLargeReply(reply: Reply, size: number): Reply {
  const message = `the upstream's headers are too large to carry (${Math.round(size / 1024)} KiB once encoded; the limit is ${MAX_REPLY_HEADER_BYTES / 1024} KiB)`;
  const page = Buffer.from(
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><p>The local service answered with headers too large for the tunnel to carry.</p></body></html>\n`,
  );
  const done = reply.done;
  // Its own body is not read: dropped.
  if (!Buffer.isBuffer(reply.body) && !Array.isArray(reply.body)) {
    const it = reply.body[Symbol.asyncIterator]();
    void it.return?.();
  }
  return {
    status: 502,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: page,
    bodyLength: page.length,
    done: (err) => done?.(err ?? new Error(message)),
  };
}
