/**
 * Porthole's WebSocket transport, as worker and relay both speak it: the worker opens one WebSocket
 * to the relay (the claim in its upgrade request, as FPW's poll headers: `fpw-host`, `fpw-token`,
 * `fpw-worker`, `fpw-rules`; the subprotocol `TUNNEL_PROTOCOL`), and Porthole's own multiplexer
 * (`ws-mux.ts`) runs inside its binary messages, the relay opening one stream per visitor request,
 * each with flow control of its own. A stream's head carries the fields of `HEAD` and the visitor's
 * headers (or the upstream's) as the FPW codec's JSON (exact bytes, repeated headers).
 */

/** Where the relay takes tunnel WebSockets (when the relay URL names no path). */
export const WS_TUNNEL_PATH = '/_porthole/tunnel';

/**
 * The WebSocket subprotocol of the tunnel, with its version: a worker offers it, and the relay
 * refuses a worker that does not (version 1 ran HTTP/2 over the WebSocket and named none).
 */
export const TUNNEL_PROTOCOL = 'porthole-mux.2';

/** Headers of the tunnel's upgrade request and answer. */
export const TUNNEL = {
  /**
   * On the tunnel's upgrade request: the public TCP port the worker asks for (`any` for any free one);
   * on the relay's answer, the port it got.
   */
  tcp: 'porthole-tcp',
} as const;

/** The fields of a stream's head from the relay (`Head.meta`); the visitor's headers go beside them. */
export interface RequestMeta {
  /** The visitor's method and request target (origin form). */
  method: string;
  path: string;
  /** The visitor's IP, as the relay resolved it. */
  ip: string;
  /** The `X-Forwarded-For` chain from the visitor to the relay. */
  chain?: string;
  /** A visitor's upgrade: the protocol asked for, `websocket`. After a 101 the stream carries its bytes both ways. */
  upgrade?: string;
  /** `connect`: the stream is one visitor TCP connection, its bytes both ways. */
  tcp?: string;
}

/** The fields of the worker's answer head; the upstream's headers go beside them. */
export interface ReplyMeta {
  /** The status code; `101` when the upstream switched protocols: the stream then carries the connection's bytes. */
  status: number;
  /** The upstream's reason phrase (`I am a teapot`), which the status code alone loses. */
  reason?: string;
  /** The length of the body that follows, when known. */
  length?: number;
}

/** How often each side pings the other. */
export const HEARTBEAT_MS = 10_000;
/** Silence after which a side takes the connection for dead (within 30 s, whichever side notices). */
export const DEAD_AFTER_MS = 25_000;

/** The WebSocket URL a worker dials for a relay URL: its own path, or the tunnel path when it has none. */
export function tunnelUrl(relayUrl: string): URL {
  const url = new URL(relayUrl);
  if (url.pathname === '/' || url.pathname === '') url.pathname = WS_TUNNEL_PATH;
  return url;
}
