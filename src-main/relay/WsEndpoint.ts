import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import net, { type Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  FPW,
  FpwProtocolError,
  decodeHeaderJson,
  encodeHeaderJson,
  firstValue,
  headerListFromMap,
  stripHopByHop,
  type HeaderMap,
} from '../protocol/fpw-codec.ts';
import { TUNNEL, TUNNEL_PROTOCOL, WS_TUNNEL_PATH, type ReplyMeta, type RequestMeta } from '../protocol/ws-tunnel.ts';
import { Mux, RESET, type Head, type MuxStream } from '../protocol/ws-mux.ts';
import { Admission, isRefusal, type Refusal } from './admission.ts';
import { formatBytes, peerAddress, rawPage, visitorHeaders } from './answers.ts';
import type { RelayContext } from './context.ts';
import { newRequestId } from './FpwEndpoint.ts';
import { hasWorkerOnline, release, type HostEntry, type Visitor, type Worker, type WorkerSession } from './state.ts';
import type { VisitorIntake, WorkerPool } from './VisitorIntake.ts';

/** A public TCP port of a worker's session. */
interface TcpPort {
  port: number;
  session: Session | null;
  close(): void;
  /** Takes a visitor's connection (`ip`: its address, when it came through another relay of the cluster). */
  accept(visitor: Socket, ip?: string): void;
}

/** One worker's WebSocket, with the multiplexer inside it, the relay opening the streams. */
interface Session extends WorkerSession {
  entry: HostEntry;
  ws: WebSocket;
  mux: Mux;
  /** The worker said it is stopping (GOAWAY): no new streams. */
  leaving: boolean;
  visitors: Set<Visitor>;
}

/**
 * The endpoint of Porthole's WebSocket transport: a worker's WebSocket is admitted as a FPW poll is
 * (the same claims, tokens, domain and rules, checked before the upgrade completes), then each
 * visitor request is one stream to that worker (`ws-mux.ts`), its body streaming both ways with the
 * stream's own flow control, so a slow download does not stall the others.
 */
export class WsEndpoint implements WorkerPool {
  readonly #ctx: RelayContext;
  readonly #admission: Admission;
  #intake!: VisitorIntake;
  readonly #wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 64 * 1024 * 1024,
    handleProtocols: (offered) => (offered.has(TUNNEL_PROTOCOL) ? TUNNEL_PROTOCOL : false),
  });
  /** Public URLs for the upgrade responses being written, by request. */
  readonly #publicUrls = new WeakMap<IncomingMessage, string>();
  readonly #sessions = new Set<Session>();
  /** The TCP port granted to an upgrade being answered. */
  readonly #tcpAnswers = new WeakMap<IncomingMessage, string>();
  /** TCP ports listened on now, by port. */
  readonly #tcpPorts = new Map<number, TcpPort>();

  constructor(ctx: RelayContext, admission: Admission) {
    this.#ctx = ctx;
    this.#admission = admission;
    // The worker learns its public URL from the answer to its upgrade, as an FPW worker does from a poll.
    this.#wss.on('headers', (headers: string[], req: IncomingMessage) => {
      const url = this.#publicUrls.get(req);
      if (url) headers.push(`${FPW.publicUrl}: ${url}`);
      const port = this.#tcpAnswers.get(req);
      if (port) headers.push(`${TUNNEL.tcp}: ${port}`);
    });
  }

  attach(intake: VisitorIntake): void {
    this.#intake = intake;
  }

  /** True for an upgrade request to the tunnel path. */
  isTunnel(req: IncomingMessage): boolean {
    const path = (req.url ?? '').split('?')[0];
    return path === WS_TUNNEL_PATH && /websocket/i.test(String(req.headers.upgrade ?? ''));
  }

  hasFree(entry: HostEntry): boolean {
    return entry.sessions.some((s) => s.kind === 'ws' && !(s as Session).leaving);
  }

  /** Takes a worker's WebSocket: admitted like an FPW poll, refused with the same pages. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const ip = this.#intake.visitorIp(req).ip;
    const wait = this.#ctx.failures.blockedFor(ip);
    if (wait > 0)
      return rawPage(socket, 429, 'Too Many Requests', `Too many failed claims from ${ip}: try again in ${wait} s.`);
    const refuse = (r: Refusal): void => {
      if (r.status === 403) this.#ctx.failures.failed(ip);
      rawPage(socket, r.status, r.title, r.message, r.status === 503 ? { 'retry-after': '5' } : {});
    };
    const rawHost = firstValue(req.headers[FPW.host]);
    const token = firstValue(req.headers[FPW.token]);
    if (rawHost === undefined || token === undefined) {
      return refuse({ status: 400, title: 'Bad Request', message: 'A tunnel must carry fpw-host and fpw-token.' });
    }
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',');
    if (!offered.some((p) => p.trim() === TUNNEL_PROTOCOL)) {
      return refuse({
        status: 400,
        title: 'Bad Request',
        message: `This relay speaks the tunnel protocol ${TUNNEL_PROTOCOL}, which this worker does not offer: update Porthole where the worker runs.`,
      });
    }
    if (this.#ctx.closing()) {
      return refuse({ status: 503, title: 'Service Unavailable', message: 'The relay is shutting down.' });
    }
    const checked = this.#admission.check(rawHost, token);
    if (isRefusal(checked)) return refuse(checked);
    const admit = (entry: HostEntry): void => {
      const worker = this.#admission.join(entry, {
        rawHost,
        token,
        workerId: firstValue(req.headers[FPW.worker]) ?? '',
        rules: firstValue(req.headers[FPW.rules]) ?? '',
        socket: req.socket,
      });
      if (isRefusal(worker)) return refuse(worker);
      const tcpAsked = firstValue(req.headers[TUNNEL.tcp]);
      const open = (port: TcpPort | null): void => {
        if (port) this.#tcpAnswers.set(req, String(port.port));
        this.#publicUrls.set(req, this.#ctx.publicUrl(entry.host));
        this.#wss.handleUpgrade(req, socket, head, (ws) => this.#open(entry, worker, ws, socket as Socket, port));
      };
      if (tcpAsked === undefined) return open(null);
      void this.#tcpPort(tcpAsked, entry).then((port) => {
        if (socket.destroyed) return port.close();
        open(port);
      }, refuse);
    };
    const entry = this.#ctx.hosts.get(checked.host);
    if (entry) return admit(entry);
    void this.#admission.claim(checked.host, token, req.socket).then((claimed) => {
      if (socket.destroyed) return;
      if (isRefusal(claimed)) return refuse(claimed);
      admit(claimed);
    });
  }

  #open(entry: HostEntry, worker: Worker, ws: WebSocket, socket: Socket, tcp: TcpPort | null = null): void {
    const mux = new Mux(ws, socket, { masked: false, client: true });
    const session: Session = { kind: 'ws', entry, worker, ws, mux, streams: 0, leaving: false, visitors: new Set() };
    this.#sessions.add(session);
    entry.sessions.push(session);
    this.#ctx.log(`${new Date().toISOString()} worker of ${entry.host} connected over WebSocket`);
    // Visitors that waited for a free worker take this one.
    while (entry.queue.length && !session.leaving) this.dispatch(entry, entry.queue[0]!);
    // The worker stops: no new visitors go to it; those it has get the grace period.
    mux.on('goaway', () => this.#leaving(session));
    let lastPong = this.#ctx.opts.now();
    ws.on('pong', () => (lastPong = this.#ctx.opts.now()));
    // Any frame from the worker shows it is alive as well as a pong does.
    ws.on('message', () => (lastPong = this.#ctx.opts.now()));
    const every = this.#ctx.opts.heartbeatMs;
    const heartbeat = setInterval(() => {
      if (this.#ctx.opts.now() - lastPong > every * 2.5) {
        this.#ctx.log(`${new Date().toISOString()} worker of ${entry.host} went silent: connection closed`);
        ws.terminate();
        return;
      }
      ws.ping();
    }, every);
    heartbeat.unref();
    if (tcp) tcp.session = session;
    ws.once('close', () => {
      clearInterval(heartbeat);
      tcp?.close();
      this.#sessions.delete(session);
      const i = entry.sessions.indexOf(session);
      if (i !== -1) entry.sessions.splice(i, 1);
      worker.lastSeen = this.#ctx.opts.now();
      mux.destroy();
      // Whatever it had taken will never be answered: its visitors hear so now, not at a timeout.
      for (const v of [...session.visitors]) {
        this.#intake.fail(entry, v, 502, 'Bad Gateway', `The worker of ${entry.host} went away before it answered.`);
      }
      if (!hasWorkerOnline(entry, this.#ctx.opts.now())) {
        const stopping = session.leaving ? 'is stopping' : 'went away';
        this.#intake.failQueue(entry, `The tunnel of ${entry.host} ${stopping}.`);
      }
    });
  }

  #leaving(session: Session): void {
    if (session.leaving) return;
    session.leaving = true;
    session.worker.leaving = true;
    const { entry } = session;
    this.#ctx.log(`${new Date().toISOString()} worker of ${entry.host} is stopping`);
    if (!hasWorkerOnline(entry, this.#ctx.opts.now()))
      this.#intake.failQueue(entry, `The tunnel of ${entry.host} is stopping.`);
  }

  /** Sends a visitor request to a worker as one stream, and its answer back. */
  dispatch(entry: HostEntry, v: Visitor): void {
    const { opts } = this.#ctx;
    const sessions = entry.sessions.filter((s) => s.kind === 'ws' && !(s as Session).leaving) as Session[];
    const session = sessions.reduce((a, b) => (b.streams < a.streams ? b : a));
    if (v.timer) clearTimeout(v.timer);
    const q = entry.queue.indexOf(v);
    if (q !== -1) entry.queue.splice(q, 1);
    const id = newRequestId();
    v.id = id;
    v.worker = session.worker;
    entry.pending.set(id, v);
    session.visitors.add(v);
    session.streams += 1;

    const { req, res } = v;
    const json = visitorHeaders(req);
    const length = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    const prefix = v.prefix;
    const empty = prefix ? prefix.complete && prefix.size === 0 : !chunked && (length === undefined || length === '0');
    let stream: MuxStream;
    try {
      const meta: RequestMeta = {
        method: req.method ?? 'GET',
        path: originForm(req.url ?? '/'),
        ip: v.ip,
        chain: v.chain,
      };
      stream = session.mux.open({ meta, headers: encodeHeaderJson(json) }, { end: empty });
    } catch (err) {
      this.#done(session, v);
      this.#intake.fail(
        entry,
        v,
        502,
        'Bad Gateway',
        `The request could not be sent to the worker of ${entry.host}: ${(err as Error).message}`,
      );
      return;
    }
    stream.on('error', () => undefined);
    let answered = false;
    v.timer = setTimeout(() => {
      this.#intake.fail(
        entry,
        v,
        504,
        'Gateway Timeout',
        `The worker of ${entry.host} did not answer within ${Math.round(opts.replyTimeoutMs / 1000)} s.`,
      );
      stream.close(RESET.cancel);
    }, opts.replyTimeoutMs);
    // The visitor went away: the worker stops working for it.
    res.once('close', () => {
      if (!res.writableFinished && !stream.closed) stream.close(RESET.cancel);
    });
    stream.once('close', () => {
      this.#done(session, v);
      if (!answered) {
        this.#intake.fail(entry, v, 502, 'Bad Gateway', `The worker of ${entry.host} went away before it answered.`);
      }
    });
    stream.once('response', (head: Head<Partial<ReplyMeta>>) => {
      answered = true;
      this.#deliver(entry, v, stream, head);
    });
    if (!empty) this.#sendBody(entry, v, stream);
  }

  /** Streams the visitor's body into the stream, within the relay's body limit. */
  #sendBody(entry: HostEntry, v: Visitor, stream: MuxStream): void {
    const { req } = v;
    const max = this.#ctx.opts.maxBodyBytes;
    const prefix = v.prefix;
    let received = prefix?.size ?? 0;
    if (prefix) {
      for (const chunk of prefix.chunks) stream.write(chunk);
      if (prefix.complete) {
        stream.end();
        return;
      }
    }
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > max) {
        req.off('data', onData);
        stream.close(RESET.cancel);
        this.#intake.fail(entry, v, 413, 'Content Too Large', `The request body exceeds ${formatBytes(max)}.`);
        return;
      }
      if (stream.destroyed) return;
      if (!stream.write(chunk)) req.pause();
    };
    stream.on('drain', () => req.resume());
    req.on('data', onData);
    req.once('end', () => {
      if (!stream.destroyed) stream.end();
    });
    req.once('close', () => {
      if (!req.complete && !stream.closed) stream.close(RESET.cancel);
    });
    if (prefix || req.isPaused()) req.resume();
  }

  /** The worker's answer: status, headers and body to the visitor; false when it could not be passed on. */
  #deliver(entry: HostEntry, v: Visitor, stream: MuxStream, head: Head<Partial<ReplyMeta>>): boolean {
    const { res } = v;
    const status = Number(head.meta.status);
    let headers: HeaderMap;
    try {
      headers = decodeHeaderJson(head.headers || '{}');
    } catch (err) {
      stream.close(RESET.cancel);
      this.#intake.fail(
        entry,
        v,
        502,
        'Bad Gateway',
        `The worker of ${entry.host} sent unreadable headers: ${(err as FpwProtocolError).message}`,
      );
      return false;
    }
    if (v.done || res.destroyed) {
      stream.close(RESET.cancel);
      return false;
    }
    const bodyless = v.req.method === 'HEAD' || status === 204 || status === 304;
    const clean = stripHopByHop(headers, { dropContentLength: !bodyless });
    if (status === 204) delete clean['content-length'];
    try {
      for (const [name, value] of headerListFromMap(clean)) res.appendHeader(name, value);
      const length = head.meta.length;
      if (!bodyless && Number.isSafeInteger(length) && length! >= 0) res.setHeader('content-length', String(length));
      res.statusCode = status;
      const reason = typeof head.meta.reason === 'string' ? head.meta.reason : undefined;
      // The upstream's own words (`418 I am a teapot`), which only this transport carries.
      if (reason && /^[\t\x20-\x7e\x80-\xff]*$/.test(reason)) res.statusMessage = reason;
    } catch (err) {
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      stream.close(RESET.cancel);
      this.#intake.fail(
        entry,
        v,
        502,
        'Bad Gateway',
        `The worker of ${entry.host} sent a header this relay cannot pass on: ${(err as Error).message}`,
      );
      return false;
    }
    // Answered now: nothing else may answer it (its timer, the queue, the session closing).
    release(entry, v);
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bodyless || res.destroyed) return;
      v.bytesOut += chunk.length;
      if (!res.write(chunk)) stream.pause();
    });
    res.on('drain', () => stream.resume());
    // Ended cleanly, and as long as announced: the visitor's answer is whole. A stream the worker
    // reset (its upstream broke off) can still end its readable side: the visitor's connection is cut,
    // never a truncated body passed off as whole.
    const announced = bodyless ? null : head.meta.length;
    stream.once('close', () => {
      const whole =
        stream.rstCode === RESET.none &&
        stream.readableEnded &&
        (announced === undefined || announced === null || bytes === Number(announced));
      if (whole) res.end();
      else res.destroy();
    });
    res.once('close', () => {
      if (!res.writableFinished) stream.resume();
    });
    return true;
  }

  /**
   * A public TCP port for a worker that asks for one (`porthole-tcp`: a port, or `any`), within the
   * relay's `--tcp-ports`: the relay listens on it, and each connection becomes a stream to the worker.
   */
  async #tcpPort(asked: string, entry: HostEntry): Promise<TcpPort> {
    const range = this.#ctx.opts.tcpPorts;
    if (!range)
      throw {
        status: 403,
        title: 'Forbidden',
        message: 'This relay offers no TCP ports (porthole relay --tcp-ports FROM-TO).',
      } satisfies Refusal;
    const wanted = asked === 'any' ? null : Number(asked);
    if (wanted !== null && !(Number.isInteger(wanted) && wanted >= range.from && wanted <= range.to)) {
      throw {
        status: 403,
        title: 'Forbidden',
        message: `Port ${asked} is not one of this relay's TCP ports (${range.from}-${range.to}).`,
      } satisfies Refusal;
    }
    const candidates =
      wanted !== null ? [wanted] : Array.from({ length: range.to - range.from + 1 }, (_, i) => range.from + i);
    const cluster = this.#ctx.cluster;
    for (const port of candidates) {
      if (this.#tcpPorts.has(port)) continue;
      if (cluster) {
        // One owner in the whole cluster: the port is taken in Redis before it is listened on.
        let reserved: boolean;
        try {
          reserved = await cluster.node.tcp.reserve(port, entry.host);
        } catch (err) {
          throw {
            status: 503,
            title: 'Service Unavailable',
            message: `The relay cannot give out TCP ports now: ${(err as Error).message}`,
          } satisfies Refusal;
        }
        if (!reserved) continue;
      }
      const listening = await this.#listenTcp(port, entry);
      if (listening) return listening;
      if (cluster) await cluster.node.tcp.release(port);
    }
    throw {
      status: 409,
      title: 'Conflict',
      message:
        wanted !== null
          ? `TCP port ${wanted} is taken.`
          : `All of this relay's TCP ports (${range.from}-${range.to}) are taken.`,
    } satisfies Refusal;
  }

  /** Whether a worker holds this public TCP port here. */
  hasTcpPort(port: number): boolean {
    return this.#tcpPorts.has(port);
  }

  /** A visitor's connection to one of this relay's TCP ports that arrived through another relay of the cluster. */
  acceptTcp(port: number, socket: Socket, ip: string): void {
    const tcp = this.#tcpPorts.get(port);
    if (!tcp) return void socket.destroy();
    tcp.accept(socket, ip);
  }

  /** Listens on a TCP port for a host's worker; null when the port cannot be had. */
  #listenTcp(port: number, entry: HostEntry): Promise<TcpPort | null> {
    return new Promise((resolve) => {
      const sockets = new Set<Socket>();
      const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (visitor) => tcp.accept(visitor));
      const tcp: TcpPort = {
        port,
        session: null,
        close: () => {
          if (this.#tcpPorts.get(port) === tcp) this.#tcpPorts.delete(port);
          server.close();
          for (const s of sockets) s.destroy();
          void this.#ctx.cluster?.node.tcp.release(port);
        },
        accept: (visitor, ip) => {
          sockets.add(visitor);
          visitor.once('close', () => sockets.delete(visitor));
          this.#tcpConnection(tcp, entry, visitor, ip);
        },
      };
      server.once('error', () => resolve(null));
      server.listen(port, this.#ctx.opts.bind, () => {
        this.#tcpPorts.set(port, tcp);
        this.#ctx.log(`${new Date().toISOString()} tcp port ${port} for ${entry.host}`);
        resolve(tcp);
      });
    });
  }

  /** One visitor TCP connection: a stream to the worker, bytes both ways with back-pressure, half-close passed on. */
  #tcpConnection(tcp: TcpPort, entry: HostEntry, visitor: Socket, forwardedIp?: string): void {
    visitor.on('error', () => undefined);
    const session = tcp.session;
    const ip = forwardedIp ?? peerAddress(visitor);
    const started = this.#ctx.opts.now();
    if (!session || session.leaving) {
      visitor.destroy();
      return;
    }
    let stream: MuxStream;
    try {
      const meta: RequestMeta = { method: 'POST', path: '/', ip, tcp: 'connect' };
      stream = session.mux.open({ meta, headers: '' });
    } catch {
      visitor.destroy();
      return;
    }
    session.streams += 1;
    stream.on('error', () => undefined);
    visitor.pause();
    stream.once('response', (h: Head<Partial<ReplyMeta>>) => {
      if (h.meta.status !== 200) {
        // The local service refused: the visitor's connection closes at once.
        visitor.destroy();
        stream.close();
        return;
      }
      visitor.pipe(stream);
      stream.pipe(visitor);
      visitor.resume();
    });
    stream.once('close', () => {
      session.streams -= 1;
      if (!visitor.writableEnded) visitor.end();
      this.#ctx.log(
        `${new Date().toISOString()} ${ip} tcp:${tcp.port} ${entry.host} ${this.#ctx.opts.now() - started}ms in ${visitor.bytesRead}B out ${visitor.bytesWritten}B`,
      );
    });
    visitor.once('close', () => {
      if (!stream.closed) stream.close();
    });
  }

  /**
   * A visitor's WebSocket for a host with WebSocket workers: its handshake goes to the worker on a
   * stream of its own; after the upstream's 101 the stream carries the connection's bytes both ways,
   * frames and close codes untouched.
   */
  visitorUpgrade(
    entry: HostEntry,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    ip: string,
    chain: string,
  ): void {
    const started = this.#ctx.opts.now();
    const log = (status: number | string, note = ''): void =>
      this.#ctx.log(
        `${new Date().toISOString()} ${ip} ${entry.host} ${req.method} ${req.url} ${status} ${this.#ctx.opts.now() - started}ms${note}`,
      );
    socket.on('error', () => undefined);
    const sessions = entry.sessions.filter((s) => s.kind === 'ws' && !(s as Session).leaving) as Session[];
    const session = sessions.reduce((a, b) => (b.streams < a.streams ? b : a));
    const json = visitorHeaders(req);
    let stream: MuxStream;
    try {
      const meta: RequestMeta = {
        method: req.method ?? 'GET',
        path: originForm(req.url ?? '/'),
        ip,
        chain,
        upgrade: String(req.headers.upgrade ?? 'websocket'),
      };
      // Not ended: this stream carries the visitor's bytes.
      stream = session.mux.open({ meta, headers: encodeHeaderJson(json) });
    } catch (err) {
      log(502);
      return rawPage(
        socket,
        502,
        'Bad Gateway',
        `The WebSocket could not be sent to the worker of ${entry.host}: ${(err as Error).message}`,
      );
    }
    session.streams += 1;
    stream.on('error', () => undefined);
    if (head.length) stream.write(head);
    let answered = false;
    const timer = setTimeout(() => {
      if (answered) return;
      answered = true;
      stream.close(RESET.cancel);
      log(504);
      rawPage(
        socket,
        504,
        'Gateway Timeout',
        `The worker of ${entry.host} did not answer the WebSocket within ${Math.round(this.#ctx.opts.replyTimeoutMs / 1000)} s.`,
      );
    }, this.#ctx.opts.replyTimeoutMs);
    stream.once('close', () => {
      session.streams -= 1;
      clearTimeout(timer);
      if (!answered) {
        answered = true;
        log(502);
        rawPage(socket, 502, 'Bad Gateway', `The worker of ${entry.host} went away before it answered.`);
        return;
      }
      // The session is over on the worker's side: what it sent is out; the visitor's connection ends.
      if (!socket.destroyed) socket.end();
    });
    socket.once('close', () => {
      if (!stream.closed) stream.close();
    });
    stream.once('response', (h: Head<Partial<ReplyMeta>>) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      let headers: HeaderMap;
      try {
        headers = decodeHeaderJson(h.headers || '{}');
      } catch {
        headers = Object.create(null) as HeaderMap;
      }
      const status = Number(h.meta.status);
      const upgraded = status === 101;
      const reason =
        (typeof h.meta.reason === 'string' && h.meta.reason) ||
        (upgraded ? 'Switching Protocols' : (STATUS_CODES[status] ?? ''));
      // After a 101 the upgrade headers are the point; otherwise the answer closes the connection.
      const shown = upgraded ? headers : stripHopByHop(headers, { dropContentLength: true });
      if (!upgraded) shown['connection'] = 'close';
      const lines = [`HTTP/1.1 ${status} ${reason}`];
      for (const [name, value] of headerListFromMap(shown)) lines.push(`${name}: ${value}`);
      socket.write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
      log(status, upgraded ? ' websocket' : '');
      // Both ways as they are, each with its own back-pressure; an end is passed on as a half-close.
      stream.pipe(socket);
      if (upgraded) socket.pipe(stream);
    });
  }

  #done(session: Session, v: Visitor): void {
    if (!session.visitors.delete(v)) return;
    session.streams -= 1;
  }

  /** Closes every worker's WebSocket (the relay is closing). */
  closeAll(): void {
    for (const s of this.#sessions) s.ws.close(1001, 'relay shutting down');
  }
}

/** The path and query of a request target (origin form). */
function originForm(target: string): string {
  if (target.startsWith('/') || target === '*') return target;
  try {
    const u = new URL(target);
    return u.pathname + u.search;
  } catch {
    return '/';
  }
}
