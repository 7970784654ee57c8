import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { unmapIpv4 } from '../protocol/address.ts';
import type { HeaderMap } from '../protocol/fpw-codec.ts';
import { HTML_TYPE, errorPage } from '../protocol/pages.ts';
import { normaliseHost } from '../protocol/host-words.ts';

/** The relay's own answers: small HTML pages that say what happened. */

/** Answers with a page of the relay's, or cuts the connection when a head already went out. */
export function page(
  res: ServerResponse,
  status: number,
  title: string,
  message: string,
  extra: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorPage(status, title, message, 'Porthole relay');
  res.writeHead(status, {
    'content-type': HTML_TYPE,
    'content-length': body.length,
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** A page written straight to a socket (no ServerResponse: a parse error, an upgrade) and the connection closed. */
export function rawPage(
  socket: Duplex,
  status: number,
  title: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = errorPage(status, title, message, 'Porthole relay');
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.on('error', () => undefined);
  socket.end(
    Buffer.concat([
      Buffer.from(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: ${HTML_TYPE}\r\ncontent-length: ${body.length}\r\n${extra}connection: close\r\n\r\n`,
      ),
      body,
    ]),
  );
}

/**
 * The size of a request's head: the URL and every header. The URL counts twice, as it travels twice
 * to the worker (fpw-url and the JSON); with escaping growing bytes up to sixfold, a head under the
 * 32 KiB default stays well under the worker's 256 KiB header limit.
 */
export function headBytes(req: IncomingMessage): number {
  let n = (req.url ?? '').length * 2;
  for (const h of req.rawHeaders) n += h.length + 2;
  return n;
}

export function peerAddress(socket: Socket): string {
  return unmapIpv4(socket.remoteAddress ?? '');
}

export function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round(n / 1024 / 1024)} MiB` : `${Math.round(n / 1024)} KiB`;
}

/**
 * The host a visitor's request is for: the authority of an absolute-form target when it has one
 * (RFC 9112 3.2.2: it wins over Host), else Host.
 */
export function requestHost(req: IncomingMessage): string {
  const target = req.url ?? '';
  if (/^https?:\/\//i.test(target)) {
    try {
      return normaliseHost(new URL(target).host);
    } catch {
      // not a URL: Host decides
    }
  }
  return normaliseHost(req.headers.host);
}

/**
 * A visitor request's headers as a worker gets them (fpw-header JSON): repeated names as lists, and
 * neither FPW's own headers nor X-Forwarded-For, which the relay sets itself.
 */
export function visitorHeaders(req: IncomingMessage): HeaderMap {
  const json: HeaderMap = Object.create(null) as HeaderMap;
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (name.startsWith('fpw-') || name === 'x-forwarded-for') continue;
    const value = req.rawHeaders[i + 1]!;
    const existing = json[name];
    if (existing === undefined) json[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else json[name] = [existing, value];
  }
  return json;
}
