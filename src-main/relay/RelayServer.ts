import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { FPW } from '../protocol/fpw-codec.ts';
import { HEARTBEAT_MS } from '../protocol/ws-tunnel.ts';
import { normaliseHost } from '../protocol/host-words.ts';
import { Admission } from './admission.ts';
import { page, peerAddress, rawPage, requestHost } from './answers.ts';
import type { RelayContext, RelaySettings } from './context.ts';
import { FpwEndpoint } from './FpwEndpoint.ts';
import { MemoryHostRegistry, type HostClaim, type HostRegistry } from './HostRegistry.ts';
import { FailureLimiter } from './limits.ts';
import { hasWorkerOnline, isLive, type HostEntry, type Visitor } from './state.ts';
import { VisitorIntake, type WorkerPool } from './VisitorIntake.ts';
import { WsEndpoint } from './WsEndpoint.ts';
import { GgrokEndpoint } from './GgrokEndpoint.ts';
import { Cluster } from './cluster/Cluster.ts';
import { Forwarder } from './cluster/forward.ts';
import { claimsInternal, verifySigned, type Forwarded } from './cluster/sign.ts';
import { TCP_UPGRADE, tcpPortOf } from './cluster/tcp.ts';
import { newRequestId } from './FpwEndpoint.ts';

export { newRequestId } from './FpwEndpoint.ts';

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
  /**
   * For this long after start, visitors of a host the relay does not know get 503 with Retry-After
   * instead of 404: after a restart, its workers are on their way back. @default 10000
   */
  startupGraceMs?: number;
  /** Failed claims and wrong tokens one client address may make in a window, before 429s. @default 30 */
  failedClaimsLimit?: number;
  /** That window. @default 60000 */
  failedClaimsWindowMs?: number;
  /** Time a connection has to send a whole request head (a silent connection too). @default 20000 */
  headersTimeoutMs?: number;
  /** Connections open at once from one address (trusted proxies excepted). @default 256 */
  maxConnectionsPerIp?: number;
  /** Connections open at once in all. @default 10000 */
  maxConnections?: number;
  /** Accept unchanged ggrok clients at `/$$ggrok` (they send no token). @default false */
  ggrok?: boolean;
  /** Public TCP ports workers of the WebSocket transport may ask for (`--tcp-ports 30000-30099`). @default none */
  tcpPorts?: { from: number; to: number } | null;
  /** WebSocket workers: how often they are pinged; one silent for 2.5 times this is dropped. @default 10000 */
  heartbeatMs?: number;
  /** Who owns which host. @default claims in this relay's memory ({@link MemoryHostRegistry}), or the cluster's */
  registry?: HostRegistry;
  /** Run as one relay of a cluster that shares claims and workers through Redis. @default alone */
  cluster?: RelayClusterOptions | null;
}

/** `porthole relay --redis URL --node-url URL --cluster-secret-file F`. */
export interface RelayClusterOptions {
  /** `redis://HOST:PORT/` */
  redisUrl: string;
  /** How the other relays reach this one. @default `http://<bind>:<port>` (a wildcard bind needs it said) */
  nodeUrl?: string | null;
  /** What internal requests are signed with; the same on every relay of the cluster. */
  secret: string;
  /** Prefix of the keys in Redis. @default 'porthole:' */
  prefix?: string;
  /** How often the relay says in Redis that it is alive. @default 1000 */
  heartbeatMs?: number;
  /** For tests: runs between reading a claim and writing it. */
  beforeClaimWrite?: (host: string) => Promise<void>;
}

/**
 * The relay: routes each request to its part (a worker's POST to the FPW endpoint, anything else to
 * visitor intake), keeps the hosts it holds, renews their claims while workers are live and lets
 * them go after the grace period, and closes gracefully.
 */
export class RelayServer {
  readonly #settings: RelaySettings;
  readonly #opts: Pick<RelayOptions, 'tls' | 'log' | 'publicPort' | 'publicScheme'>;
  readonly #ctx: RelayContext;
  readonly #hosts = new Map<string, HostEntry>();
  readonly #intake: VisitorIntake;
  readonly #fpw: FpwEndpoint;
  readonly #ws: WsEndpoint;
  readonly #ggrok: GgrokEndpoint | null;
  readonly #cluster: { node: Cluster; forwarder: Forwarder } | null = null;
  readonly #server: http.Server | https.Server;
  #sweep: NodeJS.Timeout | null = null;
  #closing = false;
  #port = 0;
  #startedAt = 0;
  /** TCP connections accepted since start (visitors and workers), for /healthz. */
  #connections = 0;
  /** Connections open now, by peer address, and in all. */
  readonly #open = new Map<string, number>();
  #openTotal = 0;
  /** When a refusal was last logged, by address. */
  readonly #refusedLogged = new Map<string, number>();

  constructor(opts: RelayOptions = {}) {
    this.#settings = {
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
      heartbeatMs: opts.heartbeatMs ?? HEARTBEAT_MS,
      tcpPorts: opts.tcpPorts ?? null,
      startupGraceMs: opts.startupGraceMs ?? 10_000,
      now: opts.now ?? Date.now,
    };
    this.#opts = { tls: opts.tls, log: opts.log, publicPort: opts.publicPort, publicScheme: opts.publicScheme };
    const settings = this.#settings;
    if (opts.cluster) {
      if (opts.cluster.secret.length < 16) throw new Error('the cluster secret must be at least 16 characters long');
      const bind = settings.bind;
      if (!opts.cluster.nodeUrl && (bind === '0.0.0.0' || bind === '::'))
        throw new Error(
          'a relay of a cluster that listens on every address must be told how the others reach it (--node-url)',
        );
      const node = new Cluster({
        redisUrl: opts.cluster.redisUrl,
        nodeUrl: opts.cluster.nodeUrl ?? null,
        secret: opts.cluster.secret,
        prefix: opts.cluster.prefix,
        claimGraceMs: settings.claimGraceMs,
        heartbeatMs: opts.cluster.heartbeatMs,
        log: (line) => opts.log?.(line),
        beforeClaimWrite: opts.cluster.beforeClaimWrite,
        tcpPorts: settings.tcpPorts,
        bind,
      });
      this.#cluster = { node, forwarder: new Forwarder({ secret: opts.cluster.secret, node: node.nodeId }) };
    }
    const cluster = this.#cluster;
    this.#ctx = {
      opts: settings,
      hosts: this.#hosts,
      registry:
        opts.registry ??
        cluster?.node.registry ??
        new MemoryHostRegistry({ graceMs: settings.claimGraceMs, now: settings.now }),
      failures: new FailureLimiter({
        limit: opts.failedClaimsLimit ?? 30,
        windowMs: opts.failedClaimsWindowMs ?? 60_000,
        now: settings.now,
        log: (line) => opts.log?.(line),
      }),
      domain: opts.domain ? opts.domain.toLowerCase().replace(/^\.|\.$/g, '') : null,
      tokens: opts.tokens ?? null,
      defaultHost: opts.defaultHost ? opts.defaultHost.toLowerCase() : null,
      closing: () => this.#closing,
      startedAt: () => this.#startedAt,
      log: (line) => this.#opts.log?.(line),
      publicUrl: (host) => this.publicUrl(host),
      requestId: cluster ? () => cluster.node.nodeId + newRequestId().slice(8) : newRequestId,
      cluster,
      internal: new WeakMap<IncomingMessage, Forwarded>(),
      hostAdded: () => {
        if (cluster) setImmediate(() => void cluster.node.beat());
      },
    };
    const admission = new Admission(this.#ctx);
    this.#fpw = new FpwEndpoint(this.#ctx, admission);
    this.#ws = new WsEndpoint(this.#ctx, admission);
    this.#ggrok = opts.ggrok ? new GgrokEndpoint(this.#ctx, admission) : null;
    const pools: WorkerPool[] = [this.#fpw, this.#ws];
    if (this.#ggrok) pools.push(this.#ggrok);
    this.#intake = new VisitorIntake(this.#ctx, new WorkerPools(pools));
    this.#fpw.attach(this.#intake);
    this.#ws.attach(this.#intake);
    this.#ggrok?.attach(this.#intake);
    const serverOpts: http.ServerOptions = {
      // fpw-header carries every header of a response in one header: the worker leg needs room. A
      // worker's reply head is allowed 256 KiB; read up to twice that, so that the visitor of a reply
      // over it can be told at once (a head that cannot be read names no visitor).
      maxHeaderSize: 512 * 1024,
      keepAliveTimeout: 30_000,
      // Long polls and long downloads have no overall deadline; a request head does, from the
      // connection's first moment, so that slowloris and silent connections are closed (408).
      requestTimeout: 0,
      headersTimeout: opts.headersTimeoutMs ?? 20_000,
      connectionsCheckingInterval: Math.min(1000, Math.max(100, (opts.headersTimeoutMs ?? 20_000) / 4)),
      noDelay: true,
    };
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.#onRequest(req, res);
    this.#server = opts.tls
      ? https.createServer({ ...serverOpts, cert: opts.tls.cert, key: opts.tls.key }, handler)
      : http.createServer(serverOpts, handler);
    const perIp = opts.maxConnectionsPerIp ?? 256;
    const total = opts.maxConnections ?? 10_000;
    this.#server.on('connection', (socket: Socket) => {
      this.#connections += 1;
      const ip = peerAddress(socket);
      const open = this.#open.get(ip) ?? 0;
      const exempt = this.#intake.isTrustedProxy(ip);
      if ((!exempt && open >= perIp) || this.#openTotal >= total) {
        // Said once a second at most per address: a flood must not flood the log too.
        const now = this.#settings.now();
        if ((this.#refusedLogged.get(ip) ?? 0) + 1000 <= now) {
          this.#refusedLogged.set(ip, now);
          this.#ctx.log(
            `${new Date().toISOString()} refused a connection from ${ip}: ${open >= perIp ? `${open} open from it (limit ${perIp})` : `${this.#openTotal} open in all (limit ${total})`}`,
          );
        }
        rawPage(socket, 503, 'Service Unavailable', 'Too many connections from your address.');
        setTimeout(() => socket.destroy(), 1000).unref();
        return;
      }
      this.#open.set(ip, open + 1);
      this.#openTotal += 1;
      socket.once('close', () => {
        this.#openTotal -= 1;
        const left = (this.#open.get(ip) ?? 1) - 1;
        if (left > 0) this.#open.set(ip, left);
        else this.#open.delete(ip);
      });
    });
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!this.#checkInternal(req, (message) => rawPage(socket, 403, 'Forbidden', message))) return;
      const tcpPort = this.#ctx.internal.has(req) ? tcpPortOf(req) : null;
      if (tcpPort !== null) {
        // A visitor of one of this relay's TCP ports, who reached another relay of the cluster.
        if (!this.#ws.hasTcpPort(tcpPort))
          return rawPage(socket, 404, 'Not Found', `No worker holds TCP port ${tcpPort} here.`);
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${TCP_UPGRADE}\r\n\r\n`);
        if (head.length) socket.unshift(head);
        return this.#ws.acceptTcp(tcpPort, socket as Socket, this.#ctx.internal.get(req)!.ip);
      }
      if (this.#ws.isTunnel(req)) return this.#ws.upgrade(req, socket, head);
      if (this.#ggrok?.isGgrok(req)) return this.#ggrok.upgrade(req, socket, head);
      this.#visitorUpgrade(req, socket, head);
    });
    this.#server.on('connect', (req: IncomingMessage, socket: Duplex) => this.#refuseRaw(req, socket, 'connect'));
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        return rawPage(socket, 408, 'Request Timeout', 'The request head did not arrive in time.');
      }
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      rawPage(
        socket,
        status,
        status === 431 ? 'Request Header Fields Too Large' : 'Bad Request',
        'The relay could not read this request.',
      );
    });
  }

  /** Starts listening; resolves with the bound port. */
  async listen(): Promise<number> {
    this.#server.listen(this.#settings.port, this.#settings.bind);
    await once(this.#server, 'listening');
    this.#port = (this.#server.address() as AddressInfo).port;
    this.#startedAt = this.#settings.now();
    this.#sweep = setInterval(() => void this.#expire(), 1000);
    this.#sweep.unref();
    if (this.#cluster) {
      await this.#cluster.node.start(this.url, () => {
        const now = this.#settings.now();
        return [...this.#hosts.values()].filter((e) => hasWorkerOnline(e, now)).map((e) => e.host);
      });
    }
    return this.#port;
  }

  /** This relay as a node of its cluster; null when it runs alone. */
  get clusterNode(): { id: string; url: string; redisReachable: boolean } | null {
    const c = this.#cluster?.node;
    return c ? { id: c.nodeId, url: c.nodeUrl, redisReachable: c.reachable } : null;
  }

  /** The port the relay listens on. */
  get port(): number {
    return this.#port;
  }

  /** `http://127.0.0.1:PORT` (or https), the address workers poll. */
  get url(): string {
    const bind = this.#settings.bind;
    const host = bind.includes(':') ? `[${bind}]` : bind === '0.0.0.0' ? '127.0.0.1' : bind;
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
      for (const poll of entry.polls.splice(0)) this.#fpw.releasePoll(poll);
      this.#intake.failQueue(entry, 'The relay is shutting down.');
    }
    const now = this.#settings.now;
    const deadline = now() + graceMs;
    while (this.#inFlight() > 0 && now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const entry of this.#hosts.values()) {
      for (const v of [...entry.pending.values()])
        this.#intake.fail(entry, v, 503, 'Service Unavailable', 'The relay shut down before the worker answered.');
      for (const poll of entry.polls.splice(0)) this.#fpw.releasePoll(poll);
    }
    this.#ws.closeAll();
    this.#ggrok?.closeAll();
    this.#server.closeIdleConnections();
    setTimeout(() => this.#server.closeAllConnections(), 200).unref();
    await closed;
    if (this.#cluster) {
      this.#cluster.forwarder.close();
      await this.#cluster.node.close();
    }
  }

  #inFlight(): number {
    let n = 0;
    for (const e of this.#hosts.values()) n += e.pending.size + e.busy;
    return n;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    res.on('error', () => undefined);
    if (req.httpVersionMajor !== 1) {
      return page(res, 505, 'HTTP Version Not Supported', `This relay speaks HTTP/1.1, not HTTP/${req.httpVersion}.`, {
        connection: 'close',
      });
    }
    let hosts = 0;
    for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts += 1;
    if (hosts > 1) {
      // Two Hosts could route one way here and another way behind: refused (RFC 9112 3.2).
      req.resume();
      return page(res, 400, 'Bad Request', 'The request has more than one Host header.', { connection: 'close' });
    }
    if (!this.#checkInternal(req, (message) => page(res, 403, 'Forbidden', message))) return void req.resume();
    const fpwHost = req.headers[FPW.host];
    const fpwToken = req.headers[FPW.token];
    if (fpwToken !== undefined && fpwHost === undefined) {
      return page(res, 400, 'Bad Request', 'A poll must carry fpw-host with fpw-token.');
    }
    if (req.method === 'POST' && typeof fpwHost === 'string' && typeof fpwToken === 'string') {
      return this.#fpw.handle(req, res, fpwHost, fpwToken);
    }
    if (
      req.method === 'GET' &&
      (req.url === '/healthz' || req.url?.startsWith('/healthz?')) &&
      !this.#hosts.has(requestHost(req))
    ) {
      return this.#healthz(res);
    }
    this.#intake.handle(req, res);
  }

  /**
   * A request that says it comes from another relay of the cluster: its signature is checked (and the
   * cluster's headers taken off). False when it was refused.
   */
  #checkInternal(req: IncomingMessage, refuse: (message: string) => void): boolean {
    if (!claimsInternal(req)) return true;
    if (!this.#cluster) {
      refuse('This relay is not part of a cluster.');
      return false;
    }
    const f = verifySigned(this.#cluster.node.secret, req);
    if ('refused' in f) {
      this.#ctx.log(`${new Date().toISOString()} refused ${f.refused} from ${peerAddress(req.socket)}`);
      refuse(`The relay refused ${f.refused}.`);
      return false;
    }
    this.#ctx.internal.set(req, f);
    return true;
  }

  /** `GET /healthz` on the relay's own address: alive, its domain (the CLI reads it), its load, its cluster. */
  #healthz(res: ServerResponse): void {
    const now = this.#settings.now();
    const c = this.#cluster?.node;
    const body = Buffer.from(
      JSON.stringify({
        ok: true,
        domain: this.#ctx.domain,
        hosts: this.#hosts.size,
        connections: this.#connections,
        cluster: c
          ? {
              node: c.nodeId,
              url: c.nodeUrl,
              redis: c.reachable ? 'reachable' : 'unreachable',
              holding: [...this.#hosts.values()].filter((e) => hasWorkerOnline(e, now)).length,
            }
          : null,
      }),
    );
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': body.length,
      'cache-control': 'no-store',
    });
    res.end(body);
  }

  /** A visitor's WebSocket: to a WebSocket worker of its host; a host served only over FPW cannot carry it. */
  #visitorUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const isWebSocket = /websocket/i.test(String(req.headers.upgrade ?? ''));
    const host = normaliseHost(req.headers.host);
    const here = this.#hosts.get(host);
    if (this.#cluster && isWebSocket && !this.#ctx.internal.has(req) && !(here && this.#ws.hasFree(here))) {
      // No WebSocket worker of the host here: another relay of the cluster may have one.
      void this.#upgradeViaCluster(req, socket, head, host);
      return;
    }
    this.#upgradeHere(req, socket, head, host);
  }

  async #upgradeViaCluster(req: IncomingMessage, socket: Duplex, head: Buffer, host: string): Promise<void> {
    const cluster = this.#cluster!;
    const nodes = await cluster.node.holders(host);
    const { ip, chain } = this.#intake.visitorIp(req);
    const attempt = (i: number): void => {
      if (socket.destroyed) return;
      if (i >= nodes.length) return this.#upgradeHere(req, socket, head, host);
      const node = nodes[i]!;
      cluster.forwarder.upgrade(node.url, req, socket, head, { ip, chain, replyOnly: false }, (failure) => {
        cluster.node.markDown(node.id);
        this.#ctx.log(
          `${new Date().toISOString()} forwarding an upgrade of ${host} to relay ${node.id} failed: ${failure.message}`,
        );
        attempt(i + 1);
      });
    };
    attempt(0);
  }

  #upgradeHere(req: IncomingMessage, socket: Duplex, head: Buffer, host: string): void {
    const isWebSocket = /websocket/i.test(String(req.headers.upgrade ?? ''));
    let entry = this.#hosts.get(host);
    if (!entry && this.#ctx.defaultHost) entry = this.#hosts.get(this.#ctx.defaultHost);
    if (isWebSocket && !entry) {
      // No tunnel for this host: the same answer a plain request gets, not "cannot upgrade".
      const status = this.#settings.now() - this.#startedAt < this.#settings.startupGraceMs ? 503 : 404;
      this.#ctx.log(
        `${new Date().toISOString()} ${peerAddress(req.socket)} ${host} ${req.method} ${req.url} ${status} 0ms upgrade to an unknown host`,
      );
      return status === 503
        ? rawPage(
            socket,
            503,
            'Service Unavailable',
            `No tunnel serves ${host || 'this address'} yet: this relay has just started.`,
            {
              'retry-after': '2',
            },
          )
        : rawPage(socket, 404, 'Not Found', `No tunnel serves ${host || 'this address'} on this relay.`);
    }
    if (!isWebSocket || !entry) return this.#refuseRaw(req, socket, 'upgrade');
    if (this.#closing) return rawPage(socket, 503, 'Service Unavailable', 'The relay is shutting down.');
    if (this.#ws.hasFree(entry)) {
      const { ip, chain } = this.#intake.visitorIp(req);
      return this.#ws.visitorUpgrade(entry, req, socket, head, ip, chain);
    }
    // FPW workers waiting (or replying) and none over WebSocket: the host cannot carry this one.
    if (!isWebSocket || entry.polls.length > 0 || entry.busy > 0) return this.#refuseRaw(req, socket, 'upgrade');
    // No worker at all right now (one is reconnecting, or it left): a visitor may try again soon.
    this.#ctx.log(
      `${new Date().toISOString()} ${peerAddress(req.socket)} ${host} ${req.method} ${req.url} 503 0ms upgrade with no worker online`,
    );
    rawPage(socket, 503, 'Service Unavailable', `No worker is online for ${entry.host} right now.`, {
      'retry-after': '2',
    });
  }

  #refuseRaw(req: IncomingMessage, socket: Duplex, kind: 'upgrade' | 'connect'): void {
    const ws = kind === 'upgrade' && /websocket/i.test(String(req.headers.upgrade ?? ''));
    const message = ws
      ? 'WebSocket connections cannot travel through an FPW tunnel: the FPW protocol carries only request/response HTTP. A tunnel over the WebSocket transport (a ws:// relay URL) carries them.'
      : `This relay does not support ${kind === 'connect' ? 'CONNECT' : 'protocol upgrades'}.`;
    rawPage(socket, 501, 'Not Implemented', message);
    this.#ctx.log(
      `${new Date().toISOString()} ${peerAddress(req.socket)} ${normaliseHost(req.headers.host)} ${req.method} ${req.url} 501 0ms upgrade refused`,
    );
  }

  /**
   * Once a second: the claims of hosts with live workers are renewed; hosts with no worker, visitor
   * or poll for longer than the grace period are let go, with their claims.
   */
  async #expire(): Promise<void> {
    const now = this.#settings.now();
    const grace = this.#settings.claimGraceMs;
    const live: HostClaim[] = [];
    this.#ctx.failures.sweep();
    for (const [host, e] of this.#hosts) {
      // Workers that stopped long ago are forgotten (each start of a Porthole worker is a new one).
      for (const [id, w] of e.workers) {
        if (w.sockets.size === 0 && now - w.lastSeen > grace && !isLive(e, w, now)) e.workers.delete(id);
      }
      this.#fpw.askAboutLost(e);
      if (e.queue.length && this.#cluster) await this.#intake.rehome(e);
      // A WebSocket worker's open session is a worker online, however long it has been idle.
      if (
        e.polls.length ||
        e.sessions.length ||
        e.busy ||
        e.pending.size ||
        e.queue.length ||
        now - e.lastSeen <= grace
      ) {
        live.push({ host, token: e.token });
        continue;
      }
      this.#hosts.delete(host);
      await this.#ctx.registry.release(host, e.token).catch(() => undefined);
      this.#ctx.log(`${new Date().toISOString()} release ${host} (no worker for ${Math.round(grace / 1000)} s)`);
    }
    await this.#ctx.registry.renew(live).catch(() => undefined);
  }
}

/**
 * The worker endpoints together, as intake sees them: a host may have workers of both kinds, and
 * visitors take turns among the kinds that have room.
 */
class WorkerPools implements WorkerPool {
  readonly #pools: readonly WorkerPool[];
  readonly #turn = new WeakMap<HostEntry, number>();

  constructor(pools: readonly WorkerPool[]) {
    this.#pools = pools;
  }

  hasFree(entry: HostEntry): boolean {
    return this.#pools.some((p) => p.hasFree(entry));
  }

  dispatch(entry: HostEntry, v: Visitor): void {
    const turn = this.#turn.get(entry) ?? 0;
    for (let i = 0; i < this.#pools.length; i++) {
      const pool = this.#pools[(turn + i) % this.#pools.length]!;
      if (!pool.hasFree(entry)) continue;
      this.#turn.set(entry, turn + i + 1);
      pool.dispatch(entry, v);
      return;
    }
  }
}
