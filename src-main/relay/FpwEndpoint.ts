import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
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
import { Admission, isRefusal, type Refusal } from './admission.ts';
import { formatBytes, page, visitorHeaders } from './answers.ts';
import type { RelayContext } from './context.ts';
import { hasWorkerOnline, release, type HostEntry, type Poll, type Visitor, type Worker } from './state.ts';
import type { VisitorIntake, WorkerPool } from './VisitorIntake.ts';

/**
 * The FPW worker endpoint: workers' long-polls (claims, held polls, visitor requests written into
 * their answers) and their replies, streamed to the visitors they answer.
 */
export class FpwEndpoint implements WorkerPool {
  readonly #ctx: RelayContext;
  #intake!: VisitorIntake;
  readonly #seenSockets = new WeakSet<Socket>();
  readonly #admission: Admission;

  constructor(ctx: RelayContext, admission: Admission) {
    this.#ctx = ctx;
    this.#admission = admission;
  }

  /** The intake whose visitors this endpoint answers (set once, as the two refer to each other). */
  attach(intake: VisitorIntake): void {
    this.#intake = intake;
  }

  hasFree(entry: HostEntry): boolean {
    return entry.polls.length > 0;
  }

  /** Takes one worker POST: a poll, a reply, or both. */
  handle(req: IncomingMessage, res: ServerResponse, rawHost: string, token: string): void {
    const ctx = this.#ctx;
    // Guessing tokens costs: refusals are counted per client address (through --trust-proxy).
    const ip = this.#intake.visitorIp(req).ip;
    const wait = ctx.failures.blockedFor(ip);
    if (wait > 0) {
      req.resume();
      return page(res, 429, 'Too Many Requests', `Too many failed claims from ${ip}: try again in ${wait} s.`, {
        'retry-after': String(wait),
      });
    }
    const refuse = (r: Refusal): void => {
      req.resume();
      if (r.status === 403) ctx.failures.failed(ip);
      page(res, r.status, r.title, r.message, r.status === 503 ? { 'retry-after': '5' } : {});
    };
    const refuseWith = (status: number, title: string, message: string): void => {
      req.resume();
      page(res, status, title, message);
    };
    const checked = this.#admission.check(rawHost, token);
    if (isRefusal(checked)) return refuse(checked);
    const { host } = checked;
    const replyId = firstValue(req.headers[FPW.id]) ?? firstValue(req.headers[FPW.rid]);
    const answersPending = replyId !== undefined && ctx.hosts.get(host)?.pending.has(replyId) === true;
    if (workerHeadBytes(req) > MAX_WORKER_HEAD_BYTES) {
      // A reply this relay will not take: its visitor hears so now, and the worker why, so that it
      // drops this one reply and polls on.
      const entry = ctx.hosts.get(host);
      const v = entry?.token === token && replyId !== undefined ? entry.pending.get(replyId) : undefined;
      if (entry && v) {
        this.#intake.fail(
          entry,
          v,
          502,
          'Bad Gateway',
          `The worker of ${entry.host} answered with headers too large to pass on.`,
        );
      }
      return refuseWith(
        431,
        'Request Header Fields Too Large',
        `This reply's headers are over ${MAX_WORKER_HEAD_BYTES / 1024} KiB, more than the relay takes; its visitor was answered 502.`,
      );
    }
    // While closing, replies to visitors still waiting are taken (that is what the grace period is
    // for); anything else is turned away.
    if (ctx.closing() && !answersPending) {
      return refuse({ status: 503, title: 'Service Unavailable', message: 'The relay is shutting down.' });
    }
    const entry = ctx.hosts.get(host);
    if (entry) return this.#admit(req, res, entry, token, refuse);
    if (ctx.internal.get(req)?.replyOnly) {
      // A reply brought here by another relay of the cluster, for a host this relay no longer holds:
      // its visitor is gone with it.
      req.resume();
      req.once('end', () => this.answerIdle(res));
      return;
    }
    // A host this relay holds nothing of: the registry decides whether the token may have it.
    void this.#admission.claim(host, token, req.socket).then((claimed) => {
      if (res.destroyed) return;
      if (isRefusal(claimed)) return refuse(claimed);
      this.#admit(req, res, claimed, token, refuse);
    });
  }

  /** A POST whose host this relay holds: checked against its token and its workers' rules, then read. */
  #admit(
    req: IncomingMessage,
    res: ServerResponse,
    entry: HostEntry,
    token: string,
    refuse: (r: Refusal) => void,
  ): void {
    const ctx = this.#ctx;
    const workerId = firstValue(req.headers[FPW.worker]) ?? '';
    const joined = this.#admission.join(entry, {
      rawHost: entry.host,
      token,
      workerId,
      rules: firstValue(req.headers[FPW.rules]) ?? '',
      socket: req.socket,
    });
    if (isRefusal(joined)) return refuse(joined);
    const worker = joined;
    const final = req.headers[FPW.close] !== undefined;
    const internal = ctx.internal.get(req);
    const working = req.headers[FPW.working];
    if (typeof working === 'string' && workerId) {
      worker.workingAt = ctx.opts.now();
      this.#reapLost(entry, worker, working);
    }
    // A connection from another relay of the cluster says nothing of the worker's own connections.
    if (workerId && !internal) this.#track(entry, worker, req.socket);
    if (final) this.#leaving(entry, worker);
    const id = firstValue(req.headers[FPW.id]) ?? firstValue(req.headers[FPW.rid]);
    const status = req.headers[FPW.status];
    const visitor = id !== undefined && status !== undefined ? entry.pending.get(id) : undefined;
    const w = worker;
    entry.busy += 1;
    w.busy += 1;
    let settled = false;
    let onAbort = (): void => undefined;
    req.once('close', () => {
      if (req.complete || settled) return;
      settled = true;
      entry.busy -= 1;
      w.busy -= 1;
      onAbort();
    });
    const afterBody = (): void => {
      if (settled) return;
      settled = true;
      entry.busy -= 1;
      w.busy -= 1;
      entry.lastSeen = ctx.opts.now();
      w.lastSeen = entry.lastSeen;
      if (res.destroyed) return;
      if (final || w.leaving || ctx.closing() || internal?.replyOnly) return this.answerIdle(res);
      this.#hold(entry, w, req, res);
    };
    const issuer =
      !visitor && id !== undefined && status !== undefined && !internal ? ctx.cluster?.node.issuerOf(id) : null;
    if (issuer) {
      // A reply to a request another relay of the cluster issued (the worker's POSTs are spread over
      // the relays): taken there, and this POST is held here as the worker's next poll.
      void this.#forwardReply(entry, req, issuer, id!).then(afterBody);
      return;
    }
    if (!visitor) {
      // A plain poll, or a reply to a request that is already answered or unknown (after a restart,
      // or a worker that re-sends its last reply): the body is not for anyone.
      req.resume();
      req.once('end', afterBody);
      return;
    }
    // A streamed reply that breaks off: the visitor must not take a truncated body for a whole one.
    onAbort = () => visitor.res.destroy();
    this.#deliver(entry, visitor, req, String(status), afterBody);
  }

  /** Brings a reply to the relay of the cluster that issued its request; resolves once its body is read. */
  async #forwardReply(entry: HostEntry, req: IncomingMessage, issuer: string, id: string): Promise<void> {
    const cluster = this.#ctx.cluster!;
    const node = await cluster.node.node(issuer).catch(() => null);
    let error: string | null = 'that relay is not in the cluster (any more)';
    if (node) {
      const { ip, chain } = this.#intake.visitorIp(req);
      error = await cluster.forwarder.reply(node.url, req, { ip, chain });
    } else {
      req.resume();
      if (!req.readableEnded) await new Promise((resolve) => req.once('end', resolve).once('close', resolve));
    }
    if (error)
      this.#ctx.log(`${new Date().toISOString()} reply ${id} of ${entry.host} for relay ${issuer} dropped: ${error}`);
  }

  /** Hands a visitor request to a held poll: the request goes out in the poll's answer. */
  dispatch(entry: HostEntry, v: Visitor): void {
    const { opts } = this.#ctx;
    const poll = entry.polls.shift()!;
    clearTimeout(poll.timer);
    if (v.timer) clearTimeout(v.timer);
    const i = entry.queue.indexOf(v);
    if (i !== -1) entry.queue.splice(i, 1);
    const id = this.#ctx.requestId();
    v.id = id;
    v.dispatchedAt = opts.now();
    v.worker = poll.worker;
    entry.pending.set(id, v);
    const workerRes = poll.res;
    v.timer = setTimeout(() => {
      this.#intake.fail(
        entry,
        v,
        504,
        'Gateway Timeout',
        `The worker of ${entry.host} did not answer within ${Math.round(opts.replyTimeoutMs / 1000)} s.`,
      );
      // A body still trickling in must not hold the worker's poll after its visitor is answered.
      if (!workerRes.writableFinished) workerRes.destroy();
    }, opts.replyTimeoutMs);

    const { req } = v;
    const json = visitorHeaders(req);
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
    workerRes.writeHead(200, headers);
    let received = prefix?.size ?? 0;
    if (prefix) {
      for (const chunk of prefix.chunks) workerRes.write(chunk);
      if (prefix.complete) {
        workerRes.end();
        this.#watchWorker(entry, v, workerRes);
        return;
      }
    }
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > opts.maxBodyBytes) {
        req.off('data', onData);
        workerRes.destroy();
        this.#intake.fail(
          entry,
          v,
          413,
          'Content Too Large',
          `The request body exceeds ${formatBytes(opts.maxBodyBytes)}.`,
        );
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
    this.#watchWorker(entry, v, workerRes);
  }

  /** A worker connection that dies before it has the whole request: the visitor hears of it. */
  #watchWorker(entry: HostEntry, v: Visitor, workerRes: ServerResponse): void {
    workerRes.once('close', () => {
      if (!workerRes.writableFinished) {
        // The worker's connection died while the request was on its way: it never got all of it.
        this.#intake.fail(
          entry,
          v,
          502,
          'Bad Gateway',
          `The worker of ${entry.host} went away before it received the request.`,
        );
      }
    });
  }

  /** Streams a worker's reply to its visitor. */
  #deliver(entry: HostEntry, v: Visitor, req: IncomingMessage, statusText: string, afterBody: () => void): void {
    const fail = (message: string): void => {
      req.resume();
      req.once('end', afterBody);
      this.#intake.fail(entry, v, 502, 'Bad Gateway', message);
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
    // Answered now: nothing else may answer it (its timer, the queue, a dying connection).
    release(entry, v);
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

  /** Keeps a worker's POST open until a visitor comes, or answers it idle after the hold time. */
  #hold(entry: HostEntry, worker: Worker, req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    if (!this.#seenSockets.has(socket) && String(req.headers[FPW.features] ?? '').includes('public-url')) {
      // Porthole's extension: a Porthole worker's first poll on a connection is answered at once with
      // the public URL, so that it knows at once that it is online and where. Only workers that ask:
      // one that opens a new connection for every poll (the Python reference does) would otherwise
      // never be held, and would spin.
      this.#seenSockets.add(socket);
      return this.answerIdle(res, entry.host);
    }
    const poll: Poll = {
      res,
      worker,
      timer: setTimeout(() => {
        const i = entry.polls.indexOf(poll);
        if (i !== -1) entry.polls.splice(i, 1);
        this.releasePoll(poll, entry.host);
      }, this.#ctx.opts.holdMs),
    };
    res.once('close', () => {
      clearTimeout(poll.timer);
      const i = entry.polls.indexOf(poll);
      if (i !== -1) entry.polls.splice(i, 1);
    });
    entry.polls.push(poll);
    while (entry.polls.length && entry.queue.length) this.dispatch(entry, entry.queue[0]!);
  }

  /**
   * A worker said it is stopping: its held polls are answered, it gets no new visitors, and when no
   * other worker serves the host, visitors waiting in the queue hear it at once.
   */
  #leaving(entry: HostEntry, worker: Worker): void {
    if (worker.leaving) return;
    worker.leaving = true;
    this.#ctx.log(`${new Date().toISOString()} worker of ${entry.host} is stopping`);
    for (const poll of entry.polls.filter((p) => p.worker === worker)) {
      entry.polls.splice(entry.polls.indexOf(poll), 1);
      this.releasePoll(poll);
    }
    if (!hasWorkerOnline(entry, this.#ctx.opts.now()))
      this.#intake.failQueue(entry, `The tunnel of ${entry.host} is stopping.`);
  }

  /**
   * Follows a named worker's connections: once it has said it is leaving and the last one closes,
   * the visitors it had taken will never get an answer, and hear so at once.
   */
  #track(entry: HostEntry, worker: Worker, socket: Socket): void {
    if (worker.sockets.has(socket)) return;
    worker.sockets.add(socket);
    // A connection the relay itself closes (an idle keep-alive timing out) says nothing of the worker.
    let timedOut = false;
    socket.once('timeout', () => (timedOut = true));
    socket.once('close', () => {
      worker.sockets.delete(socket);
      if (worker.sockets.size > 0) return;
      if (worker.leaving)
        return this.#orphaned(entry, worker, `The tunnel of ${entry.host} stopped before it answered.`);
      if (timedOut) return;
      // The worker's last connection closed from its side: if it does not come back within a
      // moment, it is gone (killed, crashed), and the visitors it had taken will never be answered.
      setTimeout(() => {
        if (worker.sockets.size === 0)
          this.#orphaned(entry, worker, `The worker of ${entry.host} went away before it answered.`);
      }, WORKER_GONE_MS).unref();
    });
  }

  /**
   * A Porthole worker lists on every POST the requests it has and has not answered (`fpw-working`).
   * One it was given a while ago and does not list never reached it (the poll's answer died with its
   * connection): its visitor is answered now, not at the reply timeout. "A while" leaves room for
   * the answer and this POST to cross on the way.
   */
  #reapLost(entry: HostEntry, worker: Worker, working: string): void {
    const now = this.#ctx.opts.now();
    // On every POST of the worker: no copy of the pending map, and the list is read only when a
    // request is old enough to be asked about.
    let ids: Set<string> | null = null;
    let lost: Visitor[] | null = null;
    for (const v of entry.pending.values()) {
      if (v.worker !== worker || v.dispatchedAt === undefined || now - v.dispatchedAt < LOST_AFTER_MS) continue;
      ids ??= new Set(working.split(',').map((s) => s.trim()));
      if (v.id !== null && !ids.has(v.id)) (lost ??= []).push(v);
    }
    for (const v of lost ?? []) {
      this.#ctx.log(`${new Date().toISOString()} request ${v.id} of ${entry.host} never reached its worker`);
      this.#intake.fail(
        entry,
        v,
        502,
        'Bad Gateway',
        `The request never reached the worker of ${entry.host} (its connection broke on the way). Try again.`,
      );
    }
  }

  /**
   * Once a second: a request given a while ago to a worker that lists its requests, with no POST from
   * that worker since that could say whether it has it (its polls are held), gets one of the
   * worker's held polls answered idle, so that the worker's next POST says.
   */
  askAboutLost(entry: HostEntry): void {
    if (!entry.pending.size || !entry.polls.length) return;
    const now = this.#ctx.opts.now();
    const asked = new Set<Worker>();
    for (const v of entry.pending.values()) {
      const w = v.worker;
      if (!w || asked.has(w) || w.workingAt === undefined || v.dispatchedAt === undefined) continue;
      if (now - v.dispatchedAt < LOST_AFTER_MS || w.workingAt >= v.dispatchedAt + LOST_AFTER_MS) continue;
      const held = entry.polls.find((p) => p.worker === w);
      if (!held) continue;
      asked.add(w);
      entry.polls.splice(entry.polls.indexOf(held), 1);
      this.releasePoll(held);
    }
  }

  /** Answers every visitor a worker had taken: it will not. */
  #orphaned(entry: HostEntry, worker: Worker, message: string): void {
    for (const v of [...entry.pending.values()]) {
      if (v.worker === worker) this.#intake.fail(entry, v, 502, 'Bad Gateway', message);
    }
  }

  /** Gives a held poll back: its hold timer stops and it is answered idle. */
  releasePoll(poll: Poll, host?: string): void {
    clearTimeout(poll.timer);
    this.answerIdle(poll.res, host);
  }

  /** Answers a worker's POST with nothing to do (and, given the host, its public URL). */
  answerIdle(res: ServerResponse, host?: string): void {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string> = { 'content-length': '0', 'cache-control': 'no-store' };
    if (host) headers[FPW.publicUrl] = this.#ctx.publicUrl(host);
    res.writeHead(200, headers);
    res.end();
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

/** A request a worker does not list this long after it was sent to it was lost on the way (`fpw-working`). */
const LOST_AFTER_MS = 5000;

/** How long a named worker with no connection left may take to come back before its visitors hear it is gone. */
const WORKER_GONE_MS = 2000;

/** The most head a worker's POST may have: fpw-header holds all the upstream's headers. */
const MAX_WORKER_HEAD_BYTES = 256 * 1024;

function workerHeadBytes(req: IncomingMessage): number {
  let n = (req.url ?? '').length;
  for (const h of req.rawHeaders) n += h.length + 2;
  return n;
}
