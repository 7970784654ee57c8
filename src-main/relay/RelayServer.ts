import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { BlockList, isIPv4, isIPv6, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
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
import { isValidHostName, normaliseHost } from '../protocol/host-words.ts';
import { HTML_TYPE, errorPage } from '../protocol/pages.ts';
import { parseCidr, unmapIpv4 } from '../protocol/address.ts';

export interface RelayOptions {
  /** @default 8080 (0 picks a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  bind?: string;
  /** Hosts must be this domain or under it. @default null (any host) */
  domain?: string | null;
  /** Tokens allowed to claim hosts; null lets any token claim a free host. @default null */
  tokens?: ReadonlySet<string> | null;
  /** Proxies (CIDR) whose `X-Forwarded-For` is believed. @default [] */
  trustProxy?: readonly string[];
  /** Visitors whose Host matches no claim go to this host. @default null */
  defaultHost?: string | null;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer } | null;
  /** How long a poll is held before an idle answer. @default 55000 */
  holdMs?: number;
  /** How long a visitor waits for the worker's reply. @default 90000 */
  replyTimeoutMs?: number;
  /** How long a visitor waits in the queue for a free worker. @default 30000 */
  queueTimeoutMs?: number;
  /** Visitors waiting per host. @default 256 */
  queueLimit?: number;
  /** Largest visitor request body. @default 100 MiB */
  maxBodyBytes?: number;
  /** Largest visitor request head (all headers). @default 32 KiB */
  maxHeaderBytes?: number;
  /** How long a claim outlives its last worker. @default 60000 */
  claimGraceMs?: number;
  /** The port visitors use, when it is not the one the relay listens on (behind a proxy). */
  publicPort?: number | null;
  /** The scheme visitors use, when it is not the relay's own. */
  publicScheme?: 'http' | 'https' | null;
  /** One line per visitor request and notable events. @default nothing */
  log?: (line: string) => void;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

interface Poll {
  res: ServerResponse;
  timer: NodeJS.Timeout;
  worker: Worker;
}

/**
 * One worker process of a host, as far as the relay can tell: Porthole's workers name themselves
 * (`fpw-worker`, new at each start) and send a digest of their access and header rules
 * (`fpw-rules`); every other worker is one anonymous worker with no rules.
 */
interface Worker {
  id: string;
  rules: string;
  /** Polls of this worker held now. */
  polls: number;
  /** POSTs of this worker being read now. */
  busy: number;
  lastSeen: number;
  /** It said it is stopping (`fpw-close`): it gets no new visitors. */
  leaving: boolean;
  /** Open connections of a named worker; when the last one closes after it said it is leaving, its visitors are answered. */
  sockets: Set<Socket>;
}

interface Visitor {
  req: IncomingMessage;
  res: ServerResponse;
  host: string;
  ip: string;
  chain: string;
  started: number;
  timer: NodeJS.Timeout | null;
  /** Set once a worker has taken the request. */
  id: string | null;
  /** The worker that took it. */
  worker: Worker | null;
  done: boolean;
  bytesOut: number;
  /** The start (or all) of a body of unknown length, read before dispatch. */
  prefix?: { chunks: Buffer[]; size: number; complete: boolean };
}

interface HostEntry {
  host: string;
  token: string;
  polls: Poll[];
  queue: Visitor[];
  pending: Map<string, Visitor>;
  /** Worker POSTs currently being read (replies streaming in). */
  busy: number;
  lastSeen: number;
  workers: Map<string, Worker>;
}

/** Answers a visitor sees, so that the README and the tests speak of the same thing. */
export const RELAY_ANSWERS = {
  unknownHost: 404,
  noWorker: 503,
  queueFull: 503,
  queueTimeout: 504,
  replyTimeout: 504,
  bodyTooLarge: 413,
  headersTooLarge: 431,
  upgrade: 501,
} as const;

const ONLINE_WINDOW_MS = 5000;
/** Bodies without a length are read up to this before a worker gets them. */
const UNSIZED_BUFFER_BYTES = 8 * 1024 * 1024;
/** Bodies without a length held at once by the whole relay, at most. */
const UNSIZED_TOTAL_BYTES = 64 * 1024 * 1024;

/** The server side of the FPW long-poll protocol. */
export class RelayServer {
  readonly #opts: Required<
    Omit<RelayOptions, 'tls' | 'log' | 'publicPort' | 'publicScheme' | 'domain' | 'defaultHost' | 'tokens'>
  > &
    Pick<RelayOptions, 'tls' | 'log' | 'publicPort' | 'publicScheme'>;
  readonly #domain: string | null;
  readonly #defaultHost: string | null;
  readonly #tokens: ReadonlySet<string> | null;
  readonly #trusted = new BlockList();
  readonly #hasTrusted: boolean;
  readonly #hosts = new Map<string, HostEntry>();
  readonly #seenSockets = new WeakSet<Socket>();
  readonly #server: http.Server | https.Server;
  #sweep: NodeJS.Timeout | null = null;
  #closing = false;
  #port = 0;
  /** TCP connections accepted since start (visitors and workers), for /healthz. */
  #connections = 0;
  /** Bytes of bodies without a length being read before dispatch, over all visitors. */
  #unsizedBytes = 0;

  constructor(opts: RelayOptions = {}) {
    this.#opts = {
      port: opts.port ?? 8080,
      bind: opts.bind ?? '127.0.0.1',
      trustProxy: opts.trustProxy ?? [],
      holdMs: opts.holdMs ?? 55_000,
      replyTimeoutMs: opts.replyTimeoutMs ?? 90_000,
      queueTimeoutMs: opts.queueTimeoutMs ?? 30_000,
      queueLimit: opts.queueLimit ?? 256,
      maxBodyBytes: opts.maxBodyBytes ?? 100 * 1024 * 1024,
      maxHeaderBytes: opts.maxHeaderBytes ?? 32 * 1024,
      claimGraceMs: opts.claimGraceMs ?? 60_000,
      now: opts.now ?? Date.now,
      tls: opts.tls,
      log: opts.log,
      publicPort: opts.publicPort,
      publicScheme: opts.publicScheme,
    };
    this.#domain = opts.domain ? opts.domain.toLowerCase().replace(/^\.|\.$/g, '') : null;
    this.#defaultHost = opts.defaultHost ? opts.defaultHost.toLowerCase() : null;
    this.#tokens = opts.tokens ?? null;
    for (const cidr of this.#opts.trustProxy) {
      const { address, prefix, type } = parseCidr(cidr);
      this.#trusted.addSubnet(address, prefix, type);
    }
    this.#hasTrusted = this.#opts.trustProxy.length > 0;
    const serverOpts: http.ServerOptions = {
      // fpw-header carries every header of a response in one header: the worker leg needs room.
      maxHeaderSize: 256 * 1024,
      keepAliveTimeout: 30_000,
      requestTimeout: 0,
      noDelay: true,
    };
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.#onRequest(req, res);
    this.#server = opts.tls
      ? https.createServer({ ...serverOpts, cert: opts.tls.cert, key: opts.tls.key }, handler)
      : http.createServer(serverOpts, handler);
    this.#server.on('connection', () => (this.#connections += 1));
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex) => this.#refuseRaw(req, socket, 'upgrade'));
    this.#server.on('connect', (req: IncomingMessage, socket: Duplex) => this.#refuseRaw(req, socket, 'connect'));
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const page = errorPage(
        status,
        status === 431 ? 'Request Header Fields Too Large' : 'Bad Request',
        'The relay could not read this request.',
      );
      socket.end(
        Buffer.concat([
          Buffer.from(
            `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: ${HTML_TYPE}\r\ncontent-length: ${page.length}\r\nconnection: close\r\n\r\n`,
          ),
          page,
        ]),
      );
    });
  }

  /** Starts listening; resolves with the bound port. */
  async listen(): Promise<number> {
    this.#server.listen(this.#opts.port, this.#opts.bind);
    await once(this.#server, 'listening');
    this.#port = (this.#server.address() as AddressInfo).port;
    this.#sweep = setInterval(() => this.#expire(), 1000);
    this.#sweep.unref();
    return this.#port;
  }

  /** The port the relay listens on. */
  get port(): number {
    return this.#port;
  }

  /** `http://127.0.0.1:PORT` (or https), the address workers poll. */
  get url(): string {
    const host = this.#opts.bind.includes(':')
      ? `[${this.#opts.bind}]`
      : this.#opts.bind === '0.0.0.0'
        ? '127.0.0.1'
        : this.#opts.bind;
    return `${this.#opts.tls ? 'https' : 'http'}://${host}:${this.#port}`;
  }

  /** The URL visitors use for a host. */
  publicUrl(host: string): string {
    const scheme = this.#opts.publicScheme ?? (this.#opts.tls ? 'https' : 'http');
    const port = this.#opts.publicPort ?? this.#port;
    const defaultPort = scheme === 'https' ? 443 : 80;
    return `${scheme}://${host}${port === defaultPort ? '' : `:${port}`}/`;
  }

  /** Hosts claimed now, with their workers' state; for /healthz and tests. */
  hosts(): Array<{ host: string; polls: number; queued: number; pending: number }> {
    return [...this.#hosts.values()].map((e) => ({
      host: e.host,
      polls: e.polls.length,
      queued: e.queue.length,
      pending: e.pending.size,
    }));
  }

  /**
   * Stops accepting connections, answers held polls, lets visitors in flight finish for up to
   * `graceMs`, then closes every connection.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#sweep) clearInterval(this.#sweep);
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const entry of this.#hosts.values()) {
      for (const poll of entry.polls.splice(0)) this.#release(poll);
      for (const v of entry.queue.splice(0)) this.#fail(v, 503, 'Service Unavailable', 'The relay is shutting down.');
    }
    const deadline = this.#opts.now() + graceMs;
    while (this.#inFlight() > 0 && this.#opts.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const entry of this.#hosts.values()) {
      for (const v of entry.pending.values())
        this.#fail(v, 503, 'Service Unavailable', 'The relay shut down before the worker answered.');
      for (const poll of entry.polls.splice(0)) this.#release(poll);
    }
    this.#server.closeIdleConnections();
    setTimeout(() => this.#server.closeAllConnections(), 200).unref();
    await closed;
  }

  #inFlight(): number {
    let n = 0;
    for (const e of this.#hosts.values()) n += e.pending.size + e.busy;
    return n;
  }

  #log(line: string): void {
    this.#opts.log?.(line);
  }

  // ---- routing -------------------------------------------------------------------------------

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    res.on('error', () => undefined);
    const fpwHost = req.headers[FPW.host];
    const fpwToken = req.headers[FPW.token];
    if (fpwToken !== undefined && fpwHost === undefined) {
      return this.#page(res, 400, 'Bad Request', 'A poll must carry fpw-host with fpw-token.');
    }
    if (req.method === 'POST' && typeof fpwHost === 'string' && typeof fpwToken === 'string') {
      return this.#onWorker(req, res, fpwHost, fpwToken);
    }
    this.#onVisitor(req, res);
  }

  #page(res: ServerResponse, status: number, title: string, message: string, extra: Record<string, string> = {}): void {
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

  #refuseRaw(req: IncomingMessage, socket: Duplex, kind: 'upgrade' | 'connect'): void {
    const ws = kind === 'upgrade' && /websocket/i.test(String(req.headers.upgrade ?? ''));
    const message = ws
      ? 'WebSocket connections cannot travel through an FPW tunnel: the FPW protocol carries only request/response HTTP.'
      : `This relay does not support ${kind === 'connect' ? 'CONNECT' : 'protocol upgrades'}.`;
    const page = errorPage(501, 'Not Implemented', message, 'Porthole relay');
    socket.on('error', () => undefined);
    socket.end(
      Buffer.concat([
        Buffer.from(
          `HTTP/1.1 501 Not Implemented\r\ncontent-type: ${HTML_TYPE}\r\ncontent-length: ${page.length}\r\nconnection: close\r\n\r\n`,
        ),
        page,
      ]),
    );
    this.#log(
      `${new Date().toISOString()} ${peerAddress(req.socket)} ${normaliseHost(req.headers.host)} ${req.method} ${req.url} 501 0ms upgrade refused`,
    );
  }

  // ---- visitors ------------------------------------------------------------------------------

  #onVisitor(req: IncomingMessage, res: ServerResponse): void {
    const started = this.#opts.now();
    const host = normaliseHost(req.headers.host);
    const { ip, chain } = this.#visitorIp(req);
    let entry = this.#hosts.get(host);
    const v: Visitor = {
      req,
      res,
      host,
      ip,
      chain,
      started,
      timer: null,
      id: null,
      worker: null,
      done: false,
      bytesOut: 0,
    };
    res.on('finish', () => this.#logVisitor(v, res.statusCode));
    if (!entry) {
      if (req.method === 'GET' && (req.url === '/healthz' || req.url?.startsWith('/healthz?'))) {
        const body = Buffer.from(
          JSON.stringify({ ok: true, domain: this.#domain, hosts: this.#hosts.size, connections: this.#connections }),
        );
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': body.length,
          'cache-control': 'no-store',
        });
        res.end(body);
        return;
      }
      if (this.#defaultHost) entry = this.#hosts.get(this.#defaultHost);
      if (!entry) {
        const wanted = this.#defaultHost ?? host;
        if (this.#defaultHost) {
          return this.#page(res, 503, 'Service Unavailable', `No worker is online for ${wanted}.`, {
            'retry-after': '5',
          });
        }
        return this.#page(res, 404, 'Not Found', `No tunnel serves ${host || 'this address'} on this relay.`);
      }
    }
    if (headBytes(req) > this.#opts.maxHeaderBytes) {
      return this.#page(
        res,
        431,
        'Request Header Fields Too Large',
        `The request's headers exceed ${this.#opts.maxHeaderBytes} bytes.`,
      );
    }
    const length = req.headers['content-length'];
    if (length !== undefined && Number(length) > this.#opts.maxBodyBytes) {
      req.resume();
      return this.#page(
        res,
        413,
        'Content Too Large',
        `The request body exceeds ${formatBytes(this.#opts.maxBodyBytes)}.`,
        { connection: 'close' },
      );
    }
    v.host = entry.host;
    res.once('close', () => {
      if (!res.writableFinished && !v.done) this.#abandon(v, entry);
    });
    if (length === undefined && req.headers['transfer-encoding'] !== undefined) {
      // No length announced: read the start of the body first, so that one over the limit is
      // refused before any worker sees a byte of it (up to a buffer cap; beyond it, it streams).
      const e = entry;
      return this.#readUnsized(v, () => this.#route(e, v));
    }
    this.#route(entry, v);
  }

  /** Reads a body of unknown length into `v.prefix`, up to the buffer cap or its end. */
  #readUnsized(v: Visitor, next: () => void): void {
    const { req } = v;
    const cap = Math.min(this.#opts.maxBodyBytes, UNSIZED_BUFFER_BYTES);
    const chunks: Buffer[] = [];
    let size = 0;
    // Bounded in time (a body that stalls) and, over all visitors, in memory.
    const timer = setTimeout(() => {
      stop();
      this.#fail(v, 408, 'Request Timeout', 'The request body did not arrive in time.');
    }, this.#opts.queueTimeoutMs);
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      this.#unsizedBytes += chunk.length;
      if (size > this.#opts.maxBodyBytes) {
        stop();
        this.#fail(v, 413, 'Content Too Large', `The request body exceeds ${formatBytes(this.#opts.maxBodyBytes)}.`);
        return;
      }
      chunks.push(chunk);
      if (size > cap || this.#unsizedBytes > UNSIZED_TOTAL_BYTES) {
        // Over the cap (or the relay holds too much already): stream the rest instead.
        stop();
        req.pause();
        v.prefix = { chunks, size, complete: false };
        next();
      }
    };
    const onEnd = (): void => {
      stop();
      v.prefix = { chunks, size, complete: true };
      next();
    };
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      this.#unsizedBytes -= size;
      req.off('data', onData);
      req.off('end', onEnd);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.once('close', stop);
  }

  /** Hands a visitor to a free worker, or queues it. */
  #route(entry: HostEntry, v: Visitor): void {
    const { res } = v;
    if (v.done || res.destroyed) return;
    if (entry.polls.length) return this.#dispatch(entry, v);
    if (!this.#workerOnline(entry)) {
      const stopping = [...entry.workers.values()].some((w) => w.leaving && this.#live(entry, w));
      return this.#page(
        res,
        503,
        'Service Unavailable',
        stopping
          ? `The tunnel of ${entry.host} is stopping.`
          : `No worker is online for ${entry.host}. Start the tunnel and try again.`,
        { 'retry-after': '5' },
      );
    }
    if (entry.queue.length >= this.#opts.queueLimit) {
      return this.#page(
        res,
        503,
        'Service Unavailable',
        `${entry.host} is busy: ${this.#opts.queueLimit} requests are already waiting.`,
        { 'retry-after': '2' },
      );
    }
    v.timer = setTimeout(() => {
      const i = entry.queue.indexOf(v);
      if (i !== -1) entry.queue.splice(i, 1);
      this.#fail(
        v,
        504,
        'Gateway Timeout',
        `No worker of ${entry.host} was free within ${Math.round(this.#opts.queueTimeoutMs / 1000)} s.`,
      );
    }, this.#opts.queueTimeoutMs);
    entry.queue.push(v);
  }

  /** The visitor's IP and the X-Forwarded-For chain from it to us. */
  #visitorIp(req: IncomingMessage): { ip: string; chain: string } {
    const peer = peerAddress(req.socket);
    if (!this.#hasTrusted || !this.#isTrusted(peer)) return { ip: peer, chain: peer };
    const raw = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(raw) ? raw.join(',') : (raw ?? ''))
      .split(',')
      .map((s) => unmapIpv4(s.trim()))
      .filter(Boolean);
    hops.push(peer);
    let i = hops.length - 1;
    while (i > 0 && this.#isTrusted(hops[i]!)) i--;
    const ip = hops[i]!;
    return { ip, chain: hops.slice(i).join(', ') };
  }

  #isTrusted(ip: string): boolean {
    if (isIPv4(ip)) return this.#trusted.check(ip, 'ipv4');
    if (isIPv6(ip)) return this.#trusted.check(ip, 'ipv6');
    return false;
  }

  /** Whether a worker that has not said it is leaving serves the host. */
  #workerOnline(entry: HostEntry): boolean {
    for (const w of entry.workers.values()) if (!w.leaving && this.#live(entry, w)) return true;
    return false;
  }

  /** A worker is live while it has a poll held, a POST being read, a visitor waiting on it, or was seen lately. */
  #live(entry: HostEntry, w: Worker): boolean {
    if (w.busy > 0 || this.#opts.now() - w.lastSeen < ONLINE_WINDOW_MS) return true;
    if (entry.polls.some((p) => p.worker === w)) return true;
    for (const v of entry.pending.values()) if (v.worker === w) return true;
    return false;
  }

  #logVisitor(v: Visitor, status: number): void {
    const ms = this.#opts.now() - v.started;
    this.#log(
      `${new Date().toISOString()} ${v.ip} ${v.host || '-'} ${v.req.method} ${v.req.url} ${status} ${ms}ms ${v.bytesOut}B`,
    );
  }

  /** Answers a visitor with a page of ours, if nothing was sent yet, and forgets it. */
  #fail(v: Visitor, status: number, title: string, message: string): void {
    if (v.done) return;
    v.done = true;
    if (v.timer) clearTimeout(v.timer);
    if (v.res.headersSent) {
      v.res.destroy();
      return;
    }
    v.req.resume();
    this.#page(v.res, status, title, message, status === 503 ? { 'retry-after': '5' } : {});
  }

  /** The visitor went away: forget it, so that a late reply is treated as a poll. */
  #abandon(v: Visitor, entry: HostEntry): void {
    v.done = true;
    if (v.timer) clearTimeout(v.timer);
    const i = entry.queue.indexOf(v);
    if (i !== -1) entry.queue.splice(i, 1);
    if (v.id) entry.pending.delete(v.id);
  }

  /** Hands a visitor request to a held poll. */
  #dispatch(entry: HostEntry, v: Visitor): void {
    const poll = entry.polls.shift()!;
    clearTimeout(poll.timer);
    if (v.timer) clearTimeout(v.timer);
    const id = newRequestId();
    v.id = id;
    v.worker = poll.worker;
    entry.pending.set(id, v);
    v.timer = setTimeout(() => {
      entry.pending.delete(id);
      this.#fail(
        v,
        504,
        'Gateway Timeout',
        `The worker of ${entry.host} did not answer within ${Math.round(this.#opts.replyTimeoutMs / 1000)} s.`,
      );
      // A body still trickling in must not hold the worker's poll after its visitor is answered.
      if (!workerRes.writableFinished) workerRes.destroy();
    }, this.#opts.replyTimeoutMs);

    const { req } = v;
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
    // Older workers read these three from the JSON.
    json['method'] = req.method ?? 'GET';
    json['url'] = req.url ?? '/';
    json['x-forwarded-for'] = v.chain;
    const headerJson = encodeHeaderJson(json);
    const headers: Record<string, string> = {
      [FPW.id]: id,
      [FPW.rid]: id,
      [FPW.method]: req.method ?? 'GET',
      [FPW.url]: req.url ?? '/',
      [FPW.ip]: v.ip,
      [FPW.uip]: v.ip,
      [FPW.header]: headerJson,
      'content-type': 'application/octet-stream',
      'cache-control': 'no-store',
    };
    const length = req.headers['content-length'];
    const prefix = v.prefix;
    if (prefix?.complete) headers['content-length'] = String(prefix.size);
    else if (prefix === undefined && req.headers['transfer-encoding'] === undefined)
      headers['content-length'] = length ?? '0';
    const workerRes = poll.res;
    workerRes.writeHead(200, headers);
    let received = prefix?.size ?? 0;
    if (prefix) {
      for (const chunk of prefix.chunks) workerRes.write(chunk);
      if (prefix.complete) {
        workerRes.end();
        this.#watchWorker(entry, v, id, workerRes);
        return;
      }
    }
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > this.#opts.maxBodyBytes) {
        req.off('data', onData);
        workerRes.destroy();
        entry.pending.delete(id);
        this.#fail(v, 413, 'Content Too Large', `The request body exceeds ${formatBytes(this.#opts.maxBodyBytes)}.`);
        return;
      }
      // A worker connection that is gone takes nothing more: the rest is read and dropped (pausing
      // for a 'drain' that never comes would hold this visitor's connection forever).
      if (workerRes.destroyed) return;
      if (!workerRes.write(chunk)) req.pause();
    };
    // Once per request, not once per pause: a large body pauses hundreds of times.
    const resume = (): void => void req.resume();
    workerRes.on('drain', resume);
    workerRes.once('close', resume);
    req.on('data', onData);
    req.once('end', () => {
      if (!workerRes.destroyed) workerRes.end();
    });
    req.once('close', () => {
      if (!req.complete) workerRes.destroy();
    });
    if (prefix) req.resume();
    this.#watchWorker(entry, v, id, workerRes);
  }

  /** A worker connection that dies before it has the whole request: the visitor hears of it. */
  #watchWorker(entry: HostEntry, v: Visitor, id: string, workerRes: ServerResponse): void {
    workerRes.once('close', () => {
      if (!workerRes.writableFinished && !v.done) {
        // The worker's connection died while the request was on its way: it never got all of it.
        entry.pending.delete(id);
        this.#fail(v, 502, 'Bad Gateway', `The worker of ${entry.host} went away before it received the request.`);
      }
    });
  }

  // ---- workers -------------------------------------------------------------------------------

  #onWorker(req: IncomingMessage, res: ServerResponse, rawHost: string, token: string): void {
    const host = normaliseHost(rawHost);
    if (!isValidHostName(host)) {
      req.resume();
      return this.#page(res, 400, 'Bad Request', `"${rawHost}" is not a host name.`);
    }
    if (this.#domain && host !== this.#domain && !host.endsWith(`.${this.#domain}`)) {
      req.resume();
      return this.#page(
        res,
        403,
        'Forbidden',
        `This relay serves hosts under ${this.#domain} only; ${host} is not one.`,
      );
    }
    if (this.#tokens && !this.#tokens.has(token)) {
      req.resume();
      return this.#page(res, 403, 'Forbidden', 'This token may not claim hosts on this relay.');
    }
    const replyId = firstValue(req.headers[FPW.id]) ?? firstValue(req.headers[FPW.rid]);
    const answersPending = replyId !== undefined && this.#hosts.get(host)?.pending.has(replyId) === true;
    // While closing, replies to visitors still waiting are taken (that is what the grace period is
    // for); anything else is turned away.
    if (this.#closing && !answersPending) {
      req.resume();
      return this.#page(res, 503, 'Service Unavailable', 'The relay is shutting down.', { 'retry-after': '5' });
    }
    let entry = this.#hosts.get(host);
    if (entry && entry.token !== token) {
      req.resume();
      return this.#page(res, 403, 'Forbidden', `${host} is already claimed with another token.`);
    }
    const workerId = firstValue(req.headers[FPW.worker]) ?? '';
    const rules = firstValue(req.headers[FPW.rules]) ?? '';
    let worker = entry?.workers.get(workerId);
    if (entry && (!worker || !this.#live(entry, worker))) {
      // A worker joining a host that others serve must enforce the same rules, or a visitor could
      // get past a password by landing on the worker without one.
      const e = entry;
      const other = [...e.workers.values()].some(
        (w) => w !== worker && !w.leaving && w.rules !== rules && this.#live(e, w),
      );
      if (other) {
        req.resume();
        this.#log(`${new Date().toISOString()} refused a worker of ${host} from ${peerAddress(req.socket)}: other rules`);
        return this.#page(
          res,
          409,
          'Conflict',
          `${host} is served right now by a worker with different access or header rules (password, allowed ` +
            'addresses, header changes). Two tunnels may share a host only with the same rules: stop the other ' +
            'tunnel, give this one the same rules, or use another host.',
        );
      }
    }
    if (!entry) {
      entry = {
        host,
        token,
        polls: [],
        queue: [],
        pending: new Map(),
        busy: 0,
        lastSeen: this.#opts.now(),
        workers: new Map(),
      };
      this.#hosts.set(host, entry);
      this.#log(`${new Date().toISOString()} claim ${host} by ${peerAddress(req.socket)}`);
    }
    const now = this.#opts.now();
    if (!worker) {
      worker = { id: workerId, rules, polls: 0, busy: 0, lastSeen: now, leaving: false, sockets: new Set() };
      entry.workers.set(workerId, worker);
    } else if (!this.#live(entry, worker)) {
      worker.rules = rules;
    }
    worker.lastSeen = now;
    entry.lastSeen = now;
    const final = req.headers[FPW.close] !== undefined;
    if (workerId) this.#track(entry, worker, req.socket);
    if (final) this.#leaving(entry, worker);
    const id = firstValue(req.headers[FPW.id]) ?? firstValue(req.headers[FPW.rid]);
    const status = req.headers[FPW.status];
    const visitor = id !== undefined && status !== undefined ? entry.pending.get(id) : undefined;
    const e = entry;
    const w = worker;
    e.busy += 1;
    w.busy += 1;
    let settled = false;
    let onAbort = (): void => undefined;
    req.once('close', () => {
      if (req.complete || settled) return;
      settled = true;
      e.busy -= 1;
      w.busy -= 1;
      onAbort();
    });
    const afterBody = (): void => {
      if (settled) return;
      settled = true;
      e.busy -= 1;
      w.busy -= 1;
      e.lastSeen = this.#opts.now();
      w.lastSeen = e.lastSeen;
      if (res.destroyed) return;
      if (final || w.leaving || this.#closing) return this.#answerIdle(res);
      this.#hold(e, w, req, res);
    };
    if (!visitor) {
      // A plain poll, or a reply to a request that is already answered or unknown (after a restart,
      // or a worker that re-sends its last reply): the body is not for anyone.
      req.resume();
      req.once('end', afterBody);
      return;
    }
    entry.pending.delete(id!);
    if (visitor.timer) clearTimeout(visitor.timer);
    // A streamed reply that breaks off: the visitor must not take a truncated body for a whole one.
    onAbort = () => visitor.res.destroy();
    this.#deliver(e, visitor, req, String(status), afterBody);
  }

  /** Streams a worker's reply to its visitor. */
  #deliver(entry: HostEntry, v: Visitor, req: IncomingMessage, statusText: string, afterBody: () => void): void {
    const fail = (message: string): void => {
      req.resume();
      req.once('end', afterBody);
      this.#fail(v, 502, 'Bad Gateway', message);
    };
    const status = /^\d{3}$/.test(statusText.trim()) ? Number(statusText.trim()) : NaN;
    if (!(status >= 200 && status <= 599))
      return fail(`The worker of ${entry.host} sent an invalid status "${statusText}".`);
    let headers: HeaderMap;
    try {
      headers = decodeHeaderJson(String(req.headers[FPW.header] ?? '{}'));
    } catch (err) {
      return fail(`The worker of ${entry.host} sent unreadable headers: ${(err as FpwProtocolError).message}`);
    }
    const { res } = v;
    if (v.done || res.destroyed) {
      // The visitor left while the worker was busy: drop the body, keep the poll.
      req.resume();
      req.once('end', afterBody);
      return;
    }
    const bodyless = v.req.method === 'HEAD' || status === 204 || status === 304;
    const clean = stripHopByHop(headers, { dropContentLength: !bodyless });
    if (status === 204) delete clean['content-length'];
    try {
      for (const [name, value] of headerListFromMap(clean)) res.appendHeader(name, value);
      const length = req.headers['content-length'];
      if (!bodyless && length !== undefined) res.setHeader('content-length', length);
      res.statusCode = status;
    } catch (err) {
      res.removeHeader('content-length');
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      return fail(`The worker of ${entry.host} sent a header this relay cannot pass on: ${(err as Error).message}`);
    }
    v.done = true;
    req.on('data', (chunk: Buffer) => {
      // A visitor who has gone (wrk stopping, a closed tab) takes nothing more: the reply is read to
      // its end and dropped, so that the worker's POST completes and its slot polls again.
      if (bodyless || res.destroyed) return;
      v.bytesOut += chunk.length;
      if (!res.write(chunk)) req.pause();
    });
    // Once per reply, not once per pause (a large reply pauses hundreds of times); 'close' below
    // resumes too.
    res.on('drain', () => req.resume());
    req.once('end', () => {
      res.end();
      afterBody();
    });
    res.once('close', () => {
      if (!res.writableFinished) req.resume();
    });
  }

  /**
   * A worker said it is stopping: its held polls are answered, it gets no new visitors, and when no
   * other worker serves the host, visitors waiting in the queue hear it at once.
   */
  #leaving(entry: HostEntry, worker: Worker): void {
    if (worker.leaving) return;
    worker.leaving = true;
    this.#log(`${new Date().toISOString()} worker of ${entry.host} is stopping`);
    for (const poll of entry.polls.filter((p) => p.worker === worker)) {
      entry.polls.splice(entry.polls.indexOf(poll), 1);
      this.#release(poll);
    }
    if (this.#workerOnline(entry)) return;
    for (const v of entry.queue.splice(0)) {
      this.#fail(v, 503, 'Service Unavailable', `The tunnel of ${entry.host} is stopping.`);
    }
  }

  /**
   * Follows a named worker's connections: once it has said it is leaving and the last one closes,
   * the visitors it had taken will never get an answer, and hear so at once.
   */
  #track(entry: HostEntry, worker: Worker, socket: Socket): void {
    if (worker.sockets.has(socket)) return;
    worker.sockets.add(socket);
    socket.once('close', () => {
      worker.sockets.delete(socket);
      if (!worker.leaving || worker.sockets.size > 0) return;
      for (const [id, v] of entry.pending) {
        if (v.worker !== worker) continue;
        entry.pending.delete(id);
        this.#fail(v, 502, 'Bad Gateway', `The tunnel of ${entry.host} stopped before it answered.`);
      }
    });
  }

  /** Keeps a worker's POST open until a visitor comes, or answers it idle after the hold time. */
  #hold(entry: HostEntry, worker: Worker, req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    if (!this.#seenSockets.has(socket) && String(req.headers[FPW.features] ?? '').includes('public-url')) {
      // Porthole's extension: a Porthole worker's first poll on a connection is answered at once with
      // the public URL, so that it knows at once that it is online and where. Only workers that ask:
      // one that opens a new connection for every poll (the Python reference does) would otherwise
      // never be held, and would spin.
      this.#seenSockets.add(socket);
      return this.#answerIdle(res, entry.host);
    }
    const poll: Poll = {
      res,
      worker,
      timer: setTimeout(() => {
        const i = entry.polls.indexOf(poll);
        if (i !== -1) entry.polls.splice(i, 1);
        this.#release(poll, entry.host);
      }, this.#opts.holdMs),
    };
    res.once('close', () => {
      clearTimeout(poll.timer);
      const i = entry.polls.indexOf(poll);
      if (i !== -1) entry.polls.splice(i, 1);
    });
    entry.polls.push(poll);
    while (entry.polls.length && entry.queue.length) this.#dispatch(entry, entry.queue.shift()!);
  }

  /** Gives a held poll back: its hold timer stops and it is answered idle. */
  #release(poll: Poll, host?: string): void {
    clearTimeout(poll.timer);
    this.#answerIdle(poll.res, host);
  }

  /** Answers a worker's POST with nothing to do (and, given the host, its public URL). */
  #answerIdle(res: ServerResponse, host?: string): void {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string> = { 'content-length': '0', 'cache-control': 'no-store' };
    if (host) headers[FPW.publicUrl] = this.publicUrl(host);
    res.writeHead(200, headers);
    res.end();
  }

  /** Forgets claims whose workers are gone for longer than the grace period. */
  #expire(): void {
    const now = this.#opts.now();
    for (const [host, e] of this.#hosts) {
      // Workers that stopped long ago are forgotten (each start of a Porthole worker is a new one).
      for (const [id, w] of e.workers) {
        if (w.sockets.size === 0 && now - w.lastSeen > this.#opts.claimGraceMs && !this.#live(e, w)) e.workers.delete(id);
      }
      if (e.polls.length || e.busy || e.pending.size || e.queue.length) continue;
      if (now - e.lastSeen > this.#opts.claimGraceMs) {
        this.#hosts.delete(host);
        this.#log(
          `${new Date().toISOString()} release ${host} (no worker for ${Math.round(this.#opts.claimGraceMs / 1000)} s)`,
        );
      }
    }
  }
}

let idPool = Buffer.alloc(0);
let idOffset = 0;

/**
 * A request id of 128 random bits, as hex. Random bytes are drawn 4 KiB at a time (as
 * crypto.randomUUID does), since one call per request showed in the relay's profile.
 */
export function newRequestId(): string {
  if (idOffset + 16 > idPool.length) {
    idPool = randomBytes(4096);
    idOffset = 0;
  }
  const id = idPool.toString('hex', idOffset, idOffset + 16);
  idOffset += 16;
  return id;
}

/**
 * The size of a request's head: the URL and every header. The URL counts twice, as it travels twice
 * to the worker (fpw-url and the JSON); with escaping growing bytes up to sixfold, a head under the
 * 32 KiB default stays well under the worker's 256 KiB header limit.
 */
function headBytes(req: IncomingMessage): number {
  let n = (req.url ?? '').length * 2;
  for (const h of req.rawHeaders) n += h.length + 2;
  return n;
}

function peerAddress(socket: Socket): string {
  return unmapIpv4(socket.remoteAddress ?? '');
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round(n / 1024 / 1024)} MiB` : `${Math.round(n / 1024)} KiB`;
}
