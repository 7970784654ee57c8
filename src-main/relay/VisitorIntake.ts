import type { IncomingMessage, ServerResponse } from 'node:http';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { parseCidr, unmapIpv4 } from '../protocol/address.ts';
import { formatBytes, headBytes, page, peerAddress, requestHost } from './answers.ts';
import { CLUSTER_HEADER } from './cluster/sign.ts';
import type { RelayContext } from './context.ts';
import { hasWorkerOnline, isLive, release, type HostEntry, type Visitor } from './state.ts';

/** Bodies without a length are read up to this before a worker gets them. */
const UNSIZED_BUFFER_BYTES = 8 * 1024 * 1024;
/** In a cluster, a visitor queued this long where its host's worker no longer polls goes to another relay. */
const REHOME_AFTER_MS = 1000;
/** In a cluster, bodies up to this are read before forwarding, so that another relay can be tried. */
const RETRY_BODY_BYTES = 256 * 1024;
/** Bodies without a length held at once by the whole relay, at most. */
const UNSIZED_TOTAL_BYTES = 64 * 1024 * 1024;

/** Where visitors go once a host has them: the worker endpoints, which hand them to a free worker. */
export interface WorkerPool {
  /** True when a worker of the host can take a request now. */
  hasFree(entry: HostEntry): boolean;
  /** Hands the visitor to a free worker (only after {@link hasFree} said yes). */
  dispatch(entry: HostEntry, v: Visitor): void;
}

/**
 * Visitor intake: which host a request is for, the limits it must keep (head, body), the queue of a
 * host whose workers are all busy, and the relay's own answers when no worker can take it.
 */
export class VisitorIntake {
  readonly #ctx: RelayContext;
  readonly #workers: WorkerPool;
  readonly #trusted = new BlockList();
  readonly #hasTrusted: boolean;
  /** Bytes of bodies without a length being read before dispatch, over all visitors. */
  #unsizedBytes = 0;

  constructor(ctx: RelayContext, workers: WorkerPool) {
    this.#ctx = ctx;
    this.#workers = workers;
    for (const cidr of ctx.opts.trustProxy) {
      const { address, prefix, type } = parseCidr(cidr);
      this.#trusted.addSubnet(address, prefix, type);
    }
    this.#hasTrusted = ctx.opts.trustProxy.length > 0;
  }

  /** Takes one visitor request. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const { opts } = this.#ctx;
    const started = opts.now();
    const host = requestHost(req);
    if (/^https?:\/\//i.test(req.url ?? '')) {
      // An absolute-form target names the host: Host is made to say the same, as a proxy does
      // (RFC 9112 3.2.2), so that the worker and the upstream see the host that was routed.
      const authority = URL.canParse(req.url!) ? new URL(req.url!).host : null;
      if (authority) {
        for (let i = 0; i < req.rawHeaders.length; i += 2) {
          if (req.rawHeaders[i]!.toLowerCase() === 'host') req.rawHeaders[i + 1] = authority;
        }
        req.headers.host = authority;
      }
    }
    const { ip, chain } = this.visitorIp(req);
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
    const local = this.#ctx.hosts.get(host);
    const { cluster } = this.#ctx;
    if (cluster && !this.#ctx.internal.has(req) && !(local && this.#workers.hasFree(local))) {
      // No worker of the host free here: another relay of the cluster may have one (if none does,
      // the visitor waits here, as on a relay alone).
      void this.#viaCluster(v).catch((err: Error) => {
        if (!res.headersSent) page(res, 502, 'Bad Gateway', `The relay could not forward this request: ${err.message}`);
      });
      return;
    }
    this.#here(v);
  }

  /**
   * Forwards a visitor to a relay of the cluster that holds a worker of its host (once: a relay never
   * forwards a forwarded request), or answers it here when none does.
   */
  async #viaCluster(v: Visitor): Promise<void> {
    const cluster = this.#ctx.cluster!;
    const nodes = await cluster.node.holders(v.host);
    if (!nodes.length) return this.#here(v);
    const { req, res } = v;
    // A small body is read first, so that the request can go to another relay if the first has no
    // worker after all (or cannot be reached); a large one streams, and cannot.
    const length = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (!v.prefix && !chunked && length !== undefined && length !== '0' && Number(length) <= RETRY_BODY_BYTES) {
      const read = await this.#readSmall(req);
      if (!read) return;
      v.prefix = { chunks: read, size: Number(length), complete: true };
    }
    const retriable = v.prefix?.complete === true || (!chunked && (length === undefined || length === '0'));
    const first = Math.floor(Math.random() * nodes.length);
    const attempt = (i: number): void => {
      if (res.destroyed) return;
      if (i >= nodes.length) {
        v.done = false;
        return this.#here(v);
      }
      const node = nodes[(first + i) % nodes.length]!;
      v.done = true;
      cluster.forwarder.http(
        node.url,
        req,
        res,
        { ip: v.ip, chain: v.chain, replyOnly: false },
        v.prefix?.complete ? v.prefix.chunks : null,
        (failure) => {
          if (failure.unreached) cluster.node.markDown(node.id);
          if (!failure.requeue)
            this.#ctx.log(
              `${new Date().toISOString()} forwarding ${v.host} ${req.method} ${req.url} to relay ${node.id} failed: ${failure.message}`,
            );
          if ((failure.unreached || failure.requeue) && retriable && !res.headersSent) return attempt(i + 1);
          if (res.headersSent) return void res.destroy();
          req.resume();
          page(
            res,
            failure.requeue ? 503 : 502,
            failure.requeue ? 'Service Unavailable' : 'Bad Gateway',
            failure.requeue
              ? `No worker of ${v.host} was free: try again.`
              : `The relay that holds the tunnel of ${v.host} went away before it answered.`,
            failure.requeue ? { 'retry-after': '1' } : {},
          );
        },
        (n) => (v.bytesOut += n),
      );
    };
    attempt(0);
  }

  /** Reads a small body whole (its length announced), or answers the visitor why not and gives null. */
  #readSmall(req: IncomingMessage): Promise<Buffer[] | null> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => done(null), this.#ctx.opts.queueTimeoutMs);
      const onData = (chunk: Buffer): void => void chunks.push(chunk);
      const done = (result: Buffer[] | null): void => {
        clearTimeout(timer);
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('close', onClose);
        if (!result && !req.complete) req.destroy();
        resolve(result);
      };
      const onEnd = (): void => done(chunks);
      const onClose = (): void => done(req.complete ? chunks : null);
      req.on('data', onData);
      req.once('end', onEnd);
      req.once('close', onClose);
    });
  }

  /**
   * Visitors waiting here for a worker that has no poll or session here any more (its connections
   * went to other relays of the cluster): sent to a relay that holds one, rather than left to time out.
   */
  async rehome(entry: HostEntry): Promise<void> {
    const cluster = this.#ctx.cluster;
    const now = this.#ctx.opts.now();
    // Gone from here means: no poll or session free, and no worker POST for a while (a busy worker
    // posts again within milliseconds of each answer).
    if (!cluster || this.#workers.hasFree(entry) || now - entry.lastSeen < REHOME_AFTER_MS) return;
    const waited = entry.queue.filter((v) => now - v.started >= REHOME_AFTER_MS && !v.rehomed);
    // Forwarded here: the relay that sent them tries another (a relay never forwards them again).
    for (const v of waited.filter((v) => this.#ctx.internal.has(v.req))) {
      if (!release(entry, v)) continue;
      v.req.resume();
      page(v.res, 503, 'Service Unavailable', `No worker of ${entry.host} is here any more.`, {
        [CLUSTER_HEADER.requeue]: '1',
      });
    }
    const movable = waited.filter((v) => !this.#ctx.internal.has(v.req) && !(v.prefix && !v.prefix.complete));
    if (!movable.length || !(await cluster.node.holders(entry.host)).length) return;
    for (const v of movable) {
      const i = entry.queue.indexOf(v);
      if (i === -1 || v.done) continue;
      entry.queue.splice(i, 1);
      if (v.timer) clearTimeout(v.timer);
      v.timer = null;
      // Once: a visitor does not go round the cluster while every worker is busy.
      v.rehomed = true;
      void this.#viaCluster(v);
    }
  }

  /** A visitor of a host this relay holds (or of none: the relay's own answer). */
  #here(v: Visitor): void {
    const { req, res, host } = v;
    const { opts } = this.#ctx;
    let entry = this.#ctx.hosts.get(host);
    if (!entry) {
      if (this.#ctx.defaultHost) entry = this.#ctx.hosts.get(this.#ctx.defaultHost);
      if (!entry && this.#ctx.internal.has(req)) {
        // Forwarded here by another relay, which may know a relay with a worker.
        req.resume();
        return page(res, 503, 'Service Unavailable', `No tunnel serves ${host || 'this address'} on this relay.`, {
          [CLUSTER_HEADER.requeue]: '1',
        });
      }
      if (!entry) {
        if (this.#ctx.defaultHost) {
          return page(res, 503, 'Service Unavailable', `No worker is online for ${this.#ctx.defaultHost}.`, {
            'retry-after': '5',
          });
        }
        if (opts.now() - this.#ctx.startedAt() < opts.startupGraceMs) {
          // Just started (a restart?): the host's workers may be on their way back.
          return page(
            res,
            503,
            'Service Unavailable',
            `No tunnel serves ${host || 'this address'} yet: this relay has just started.`,
            {
              'retry-after': '2',
            },
          );
        }
        return page(res, 404, 'Not Found', `No tunnel serves ${host || 'this address'} on this relay.`);
      }
    }
    if (headBytes(req) > opts.maxHeaderBytes) {
      return page(
        res,
        431,
        'Request Header Fields Too Large',
        `The request's headers exceed ${opts.maxHeaderBytes} bytes.`,
      );
    }
    const length = req.headers['content-length'];
    if (length !== undefined && Number(length) > opts.maxBodyBytes) {
      req.resume();
      return page(res, 413, 'Content Too Large', `The request body exceeds ${formatBytes(opts.maxBodyBytes)}.`, {
        connection: 'close',
      });
    }
    v.host = entry.host;
    const e = entry;
    // The visitor went away: forgotten, so that a late reply is treated as a poll.
    res.once('close', () => {
      if (!res.writableFinished) release(e, v);
    });
    if (length === undefined && req.headers['transfer-encoding'] !== undefined) {
      // No length announced: read the start of the body first, so that one over the limit is
      // refused before any worker sees a byte of it (up to a buffer cap; beyond it, it streams).
      return this.#readUnsized(e, v, () => this.route(e, v));
    }
    this.route(entry, v);
  }

  /** Answers a visitor with a page of the relay's, if nothing was sent yet, and releases it. */
  fail(entry: HostEntry, v: Visitor, status: number, title: string, message: string): void {
    if (!release(entry, v)) return;
    if (v.res.headersSent) {
      v.res.destroy();
      return;
    }
    v.req.resume();
    page(v.res, status, title, message, status === 503 ? { 'retry-after': '5' } : {});
  }

  /** Hands a visitor to a free worker, or queues it. */
  route(entry: HostEntry, v: Visitor): void {
    const { res } = v;
    const { opts } = this.#ctx;
    if (v.done || res.destroyed) return;
    if (this.#workers.hasFree(entry)) return this.#workers.dispatch(entry, v);
    const now = opts.now();
    if (!hasWorkerOnline(entry, now)) {
      const stopping = [...entry.workers.values()].some((w) => w.leaving && isLive(entry, w, now));
      if (this.#ctx.internal.has(v.req)) {
        // Forwarded here by another relay, which may know a relay with a worker.
        v.req.resume();
        return page(res, 503, 'Service Unavailable', `No worker of ${entry.host} is here.`, {
          [CLUSTER_HEADER.requeue]: '1',
        });
      }
      return page(
        res,
        503,
        'Service Unavailable',
        stopping
          ? `The tunnel of ${entry.host} is stopping.`
          : `No worker is online for ${entry.host}. Start the tunnel and try again.`,
        { 'retry-after': '5' },
      );
    }
    if (entry.queue.length >= opts.queueLimit) {
      return page(
        res,
        503,
        'Service Unavailable',
        `${entry.host} is busy: ${opts.queueLimit} requests are already waiting.`,
        {
          'retry-after': '2',
        },
      );
    }
    v.timer = setTimeout(() => {
      this.fail(
        entry,
        v,
        504,
        'Gateway Timeout',
        `No worker of ${entry.host} was free within ${Math.round(opts.queueTimeoutMs / 1000)} s.`,
      );
    }, opts.queueTimeoutMs);
    entry.queue.push(v);
  }

  /** Fails every queued visitor of a host (its last worker left, or the relay closes). */
  failQueue(entry: HostEntry, message: string): void {
    for (const v of [...entry.queue]) this.fail(entry, v, 503, 'Service Unavailable', message);
  }

  /** The visitor's IP and the X-Forwarded-For chain from it to us. */
  visitorIp(req: IncomingMessage): { ip: string; chain: string } {
    // Forwarded by another relay of the cluster: the visitor is the one it found.
    const internal = this.#ctx.internal.get(req);
    if (internal) return { ip: internal.ip, chain: internal.chain };
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

  /** True for an address of a proxy the relay was told to trust (`--trust-proxy`). */
  isTrustedProxy(ip: string): boolean {
    return this.#hasTrusted && this.#isTrusted(ip);
  }

  #isTrusted(ip: string): boolean {
    if (isIPv4(ip)) return this.#trusted.check(ip, 'ipv4');
    if (isIPv6(ip)) return this.#trusted.check(ip, 'ipv6');
    return false;
  }

  /** Reads a body of unknown length into `v.prefix`, up to the buffer cap or its end. */
  #readUnsized(entry: HostEntry, v: Visitor, next: () => void): void {
    const { req } = v;
    const { opts } = this.#ctx;
    const cap = Math.min(opts.maxBodyBytes, UNSIZED_BUFFER_BYTES);
    const chunks: Buffer[] = [];
    let size = 0;
    // Bounded in time (a body that stalls) and, over all visitors, in memory.
    const timer = setTimeout(() => {
      stop();
      this.fail(entry, v, 408, 'Request Timeout', 'The request body did not arrive in time.');
    }, opts.queueTimeoutMs);
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      this.#unsizedBytes += chunk.length;
      if (size > opts.maxBodyBytes) {
        stop();
        this.fail(entry, v, 413, 'Content Too Large', `The request body exceeds ${formatBytes(opts.maxBodyBytes)}.`);
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

  #logVisitor(v: Visitor, status: number): void {
    const ms = this.#ctx.opts.now() - v.started;
    this.#ctx.log(
      `${new Date().toISOString()} ${v.ip} ${v.host || '-'} ${v.req.method} ${v.req.url} ${status} ${ms}ms ${v.bytesOut}B`,
    );
  }
}
