/**
 * Porthole's WebSocket transport, as worker and relay both speak it: the worker opens one WebSocket
 * to the relay (the claim in its upgrade request, as FPW's poll headers: `fpw-host`, `fpw-token`,
 * `fpw-worker`, `fpw-rules`), and HTTP/2 runs over it, the relay as the client: one stream per
 * visitor request, with flow control of its own. The visitor's headers travel in one header as the
 * FPW codec's JSON (exact bytes, repeated headers), and so do the upstream's.
 */

/** Where the relay takes tunnel WebSockets (when the relay URL names no path). */
export const WS_TUNNEL_PATH = '/_porthole/tunnel';

/** Header names on the HTTP/2 streams of a tunnel. */
export const TUNNEL = {
  /** The visitor's IP, as the relay resolved it. */
  ip: 'porthole-ip',
  /** The `X-Forwarded-For` chain from the visitor to the relay. */
  chain: 'porthole-forwarded-for',
  /** The visitor's request headers (relay to worker) or the upstream's response headers (back), as fpw-header JSON. */
  headers: 'porthole-headers',
  /** The upstream's reason phrase (`I am a teapot`), which the status code alone loses. */
  reason: 'porthole-reason',
  /** The length of the body that follows, when known. */
  length: 'porthole-length',
  /** On a visitor's upgrade (relay to worker): the protocol asked for, `websocket`. */
  upgrade: 'porthole-upgrade',
  /**
   * On the answer (worker to relay): `101` when the upstream switched protocols. HTTP/2 has no 101,
   * so the stream answers 200 with this, and from then on carries the connection's bytes both ways.
   */
  upgraded: 'porthole-upgraded',
  /**
   * On the tunnel's upgrade request: the public TCP port the worker asks for (`any` for any free one);
   * on the relay's answer, the port it got; on a stream (relay to worker), one visitor TCP connection.
   */
  tcp: 'porthole-tcp',
} as const;

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
