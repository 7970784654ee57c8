import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { CLUSTER_HEADER, signedHeaders, type Forwarded } from './sign.ts';

/** Hop-by-hop headers: they describe one connection, not the message, and are not passed on. */
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** What went wrong with a forwarded request, for the relay to answer (or not, if it had begun). */
export interface ForwardFailure {
  /** The other relay was never reached: the request may go to another one (no byte of it was sent). */
  unreached: boolean;
  /** The other relay has no worker of the host (any more) and did not touch the request. */
  requeue?: boolean;
  message: string;
}

/**
 * Requests from one relay of a cluster to another, signed with the cluster secret: visitors that
 * landed on a relay with no worker of their host, their WebSockets, and FPW replies brought to the
 * relay that issued the request. Connections are kept alive and pooled; bodies stream both ways.
 */
export class Forwarder {
  readonly #secret: string;
  readonly #node: string;
  readonly #http = new http.Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo', keepAliveMsecs: 1000 });
  readonly #https = new https.Agent({
    keepAlive: true,
    maxSockets: Infinity,
    scheduling: 'lifo',
    keepAliveMsecs: 1000,
  });

  constructor(opts: { secret: string; node: string }) {
    this.#secret = opts.secret;
    this.#node = opts.node;
  }

  #request(target: string, req: IncomingMessage, f: Omit<Forwarded, 'node'>, keepUpgrade: boolean): http.ClientRequest {
    const url = new URL(target);
    const headers: string[] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!.toLowerCase();
      if (name.startsWith('porthole-cluster-')) continue;
      if (HOP.has(name) && !(keepUpgrade && (name === 'connection' || name === 'upgrade'))) continue;
      headers.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    }
    const signed = signedHeaders(
      this.#secret,
      { ...f, node: this.#node },
      req.method ?? 'GET',
      String(req.headers.host ?? ''),
      req.url ?? '/',
    );
    for (const [name, value] of Object.entries(signed)) headers.push(name, value);
    const secure = url.protocol === 'https:';
    return (secure ? https : http).request({
      host: url.hostname,
      port: url.port || (secure ? 443 : 80),
      method: req.method,
      path: req.url,
      headers,
      agent: keepUpgrade ? false : secure ? this.#https : this.#http,
      setHost: false,
    });
  }

  /**
   * A visitor's request, to the relay at `target`; its answer streams back. A body the other relay
   * breaks off is not passed off as whole: the visitor's connection is cut.
   */
  http(
    target: string,
    req: IncomingMessage,
    res: ServerResponse,
    f: Omit<Forwarded, 'node'>,
    body: readonly Buffer[] | null,
    onFail: (failure: ForwardFailure) => void,
    onBytes: (n: number) => void = () => undefined,
  ): void {
    const out = this.#request(target, req, f, false);
    let sent = false;
    let failed = false;
    const fail = (message: string): void => {
      if (failed) return;
      failed = true;
      onFail({ unreached: !sent, message });
    };
    out.on('socket', (s) => {
      // A pooled connection is already connected; a new one counts as reached once it connects.
      if (!s.connecting) sent = true;
      else s.once('connect', () => (sent = true));
    });
    out.on('error', (err) => fail(err.message));
    out.on('response', (pres) => {
      if (pres.statusCode === 503 && pres.headers[CLUSTER_HEADER.requeue] !== undefined) {
        pres.resume();
        failed = true;
        return onFail({ unreached: false, requeue: true, message: 'no worker of the host there any more' });
      }
      const headers: string[] = [];
      for (let i = 0; i + 1 < pres.rawHeaders.length; i += 2) {
        if (!HOP.has(pres.rawHeaders[i]!.toLowerCase())) headers.push(pres.rawHeaders[i]!, pres.rawHeaders[i + 1]!);
      }
      try {
        res.writeHead(pres.statusCode ?? 502, pres.statusMessage, headers);
      } catch (err) {
        pres.resume();
        return fail((err as Error).message);
      }
      pres.on('data', (chunk: Buffer) => {
        onBytes(chunk.length);
        if (!res.write(chunk)) pres.pause();
      });
      res.on('drain', () => pres.resume());
      pres.once('end', () => res.end());
      pres.once('close', () => {
        // Broken off before its end: the visitor must not take what came for the whole answer.
        if (!pres.complete) res.destroy();
      });
    });
    res.once('close', () => {
      if (!res.writableFinished && !failed) out.destroy();
    });
    if (body) {
      // Read before forwarding (small): it can be sent again to another relay.
      for (const chunk of body) out.write(chunk);
      out.end();
      return;
    }
    req.pipe(out);
    req.once('close', () => {
      if (!req.complete) out.destroy();
    });
  }

  /**
   * A visitor's upgrade (a WebSocket), to the relay at `target`: the other relay's answer (its 101
   * and then raw bytes both ways, or a refusal) is passed on as it comes.
   */
  upgrade(
    target: string,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    f: Omit<Forwarded, 'node'>,
    onFail: (failure: ForwardFailure) => void,
  ): void {
    const out = this.#request(target, req, f, true);
    let answered = false;
    out.on('error', (err) => {
      if (!answered) onFail({ unreached: true, message: err.message });
    });
    const headOf = (msg: IncomingMessage): string => {
      let text = `HTTP/1.1 ${msg.statusCode} ${msg.statusMessage}\r\n`;
      for (let i = 0; i + 1 < msg.rawHeaders.length; i += 2)
        text += `${msg.rawHeaders[i]}: ${msg.rawHeaders[i + 1]}\r\n`;
      return `${text}\r\n`;
    };
    out.on('upgrade', (pres, upstream, upstreamHead) => {
      answered = true;
      socket.write(headOf(pres));
      if (upstreamHead.length) socket.write(upstreamHead);
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
      const end = (): void => {
        upstream.destroy();
        socket.destroy();
      };
      upstream.once('close', end);
      socket.once('close', end);
      upstream.on('error', () => undefined);
      socket.on('error', () => undefined);
    });
    out.on('response', (pres) => {
      // Refused (no worker there after all, 501 for FPW only...): the refusal, as it is.
      answered = true;
      socket.write(headOf(pres));
      pres.pipe(socket);
      pres.once('end', () => socket.end());
    });
    socket.once('close', () => {
      if (!answered) out.destroy();
    });
    out.end();
  }

  /**
   * A worker's FPW reply (its POST: headers and body), to the relay that issued the request; resolves
   * once that relay has taken it (or could not be reached), the body read in either case.
   */
  reply(target: string, req: IncomingMessage, f: Omit<Forwarded, 'node' | 'replyOnly'>): Promise<string | null> {
    return new Promise((resolve) => {
      const out = this.#request(target, req, { ...f, replyOnly: true }, false);
      let settled = false;
      const settle = (err: string | null): void => {
        if (settled) return;
        settled = true;
        // Whatever happened, the worker's POST is read to its end, so that it can be its next poll.
        req.unpipe(out);
        if (!req.complete) req.resume();
        if (req.complete || req.readableEnded) resolve(err);
        else {
          req.once('end', () => resolve(err));
          req.once('close', () => resolve(err));
        }
      };
      out.on('error', (err) => settle(err.message));
      out.on('response', (pres) => {
        pres.resume();
        pres.once('end', () => settle(pres.statusCode === 200 ? null : `answered ${pres.statusCode}`));
        pres.once('close', () => settle(pres.complete ? null : 'the connection broke'));
      });
      req.pipe(out);
    });
  }

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}
