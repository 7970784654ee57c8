import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { appendHeader, headerListFromMap, type HeaderMap } from '../../protocol/fpw-codec.ts';
import { UpstreamError } from './upstream.ts';

/** The upstream's answer to an upgrade request: its head, and the connection, which carries what follows. */
export interface UpgradeResponse {
  status: number;
  reason: string;
  headers: HeaderMap;
  /** The upstream connection, positioned after the head (any bytes read past it are put back). */
  socket: Duplex;
}

const MAX_HEAD_BYTES = 64 * 1024;

/**
 * Sends an HTTP/1.1 upgrade request (a visitor's WebSocket handshake) to an upstream on a connection
 * of its own, and reads the answer's head. After a 101 the connection is the visitor's: bytes flow
 * both ways as they are, so frames, pings and close codes pass untouched.
 */
export function openUpgrade(opts: {
  url: URL;
  path: string;
  headers: HeaderMap;
  insecure: boolean;
  socketPath?: string;
  timeoutMs: number;
  signal: AbortSignal;
}): Promise<UpgradeResponse> {
  return new Promise((resolve, reject) => {
    const { url } = opts;
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const socket: net.Socket = opts.socketPath
      ? net.connect(opts.socketPath)
      : url.protocol === 'https:'
        ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: !opts.insecure })
        : net.connect({ host, port, noDelay: true });
    let settled = false;
    const fail = (err: UpstreamError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(new UpstreamError(502, 'the tunnel stopped', 'the tunnel stopped'));
    opts.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () =>
        fail(
          new UpstreamError(
            504,
            `${url.origin} did not answer the upgrade within ${Math.round(opts.timeoutMs / 1000)} s`,
          ),
        ),
      opts.timeoutMs,
    );
    socket.once('error', (err: NodeJS.ErrnoException) => {
      fail(
        new UpstreamError(
          502,
          err.code === 'ECONNREFUSED'
            ? `nothing is listening at ${url.origin} (connection refused)`
            : `${url.origin} failed: ${err.message}${err.code ? ` (${err.code})` : ''}`,
        ),
      );
    });
    const lines = [`GET ${opts.path} HTTP/1.1`];
    for (const [name, value] of headerListFromMap(opts.headers)) lines.push(`${name}: ${value}`);
    socket.write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
    let buffered: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buffered.length > MAX_HEAD_BYTES)
          fail(new UpstreamError(502, `${url.origin} sent an answer head over 64 KiB`));
        return;
      }
      socket.off('data', onData);
      socket.pause();
      const head = buffered.subarray(0, end).toString('latin1').split('\r\n');
      const rest = buffered.subarray(end + 4);
      const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(head[0] ?? '');
      if (!m)
        return fail(
          new UpstreamError(502, `${url.origin} answered the upgrade with "${(head[0] ?? '').slice(0, 80)}"`),
        );
      const headers: HeaderMap = Object.create(null) as HeaderMap;
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        appendHeader(headers, line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      if (rest.length) socket.unshift(rest);
      settled = true;
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      resolve({ status: Number(m[1]), reason: m[2] ?? '', headers, socket });
    };
    socket.on('data', onData);
  });
}
