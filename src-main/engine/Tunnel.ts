import { EventEmitter } from 'node:events';
import type { Dispatcher } from 'undici';
import {
  appendHeader,
  headerListFromMap,
  stripHopByHop,
  type HeaderList,
  type HeaderMap,
  type VisitorRequest,
} from '../protocol/fpw-codec.ts';
import { HTML_TYPE, errorPage } from '../protocol/pages.ts';
import type { Profile } from './profile.ts';
import { BodyCapture, RequestLog, type RequestRecord } from './request-log.ts';
import { LatencyWindow } from './latency-window.ts';
import {
  createTransport,
  type Reply,
  type Transport,
  type UpgradeReply,
  type TransportFactory,
  type TransportTuning,
} from './transports/index.ts';
import type { PhaseState } from './shapes.ts';
import { WsFrameWatcher } from './ws-frames.ts';
import type { UpgradeResponse } from './upstreams/upgrade.ts';
import type { TcpUpstream } from './upstreams/tcp.ts';
import { Duplex, type Readable } from 'node:stream';
import { createUpstream } from './upstreams/index.ts';
import { AccessPolicy, applyHeaderRules, rulesDigest } from './access.ts';
import { UpstreamError, type Upstream, type UpstreamRequest } from './upstreams/upstream.ts';
import type { Backoff } from './backoff.ts';
import type { TunnelSnapshot } from './shapes.ts';

export type { TunnelCounters, TunnelSnapshot } from './shapes.ts';

export interface TunnelOptions {
  /** Shared relay dispatcher (one per origin). */
  dispatcher?: Dispatcher;
  /** Bytes of each body kept as a preview. @default 64 KiB */
  previewBytes?: number;
  /** Request bodies up to this size are kept whole for replay. @default 1 MiB */
  replayCapBytes?: number;
  /** Request log bounds. */
  log?: { maxEntries?: number; maxBytes?: number };
  /** A log to keep (the tunnel of an edited profile keeps its requests). */
  requestLog?: RequestLog;
  /** Counters to keep, with the log (so that the two still agree after an edit). */
  stats?: TunnelStats;
  /** Makes the way to the relay. @default {@link createTransport} (by the profile's relay kind) */
  transport?: TransportFactory;
  /** Overrides, for tests. */
  backoff?: Backoff;
  heldAfterMs?: number;
  /** WebSocket transport: silence from the relay after which the connection is taken for dead. @default 30 s */
  deadAfterMs?: number;
  /** Replies up to this size are kept for a re-send. @default 256 KiB */
  resendCapBytes?: number;
  upstream?: Upstream;
}

/** Changes to a request before it is replayed. */
export interface ReplayEdit {
  method?: string;
  /** Path and query. */
  path?: string;
  /** Replaces all request headers. */
  headers?: HeaderList;
  /** Replaces the body. */
  body?: Buffer;
}

/** Why a request cannot be replayed. */
export class ReplayError extends Error {
  override name = 'ReplayError';
  readonly code: 'gone' | 'body-not-kept';
  constructor(code: 'gone' | 'body-not-kept', message: string) {
    super(message);
    this.code = code;
  }
}

interface TunnelEvents {
  status: [TunnelSnapshot];
  request: [RequestRecord];
}

let nextRecordId = 1;
let nextTcp = 1;

/**
 * A tunnel's running totals and recent latencies. Kept apart from the tunnel so that the tunnel of an
 * edited profile carries them on, as it carries on the request log they count.
 */
export class TunnelStats {
  readonly counters = { requests: 0, inFlight: 0, bytesIn: 0, bytesOut: 0 };
  readonly recent = new LatencyWindow();
}

/** One tunnel: a transport to the relay, an upstream, a request log and counters. */
export class Tunnel extends EventEmitter<TunnelEvents> {
  readonly id: string;
  readonly profile: Profile;
  readonly log: RequestLog;
  readonly upstream: Upstream;
  readonly #transport: Transport;
  readonly #access: AccessPolicy;
  readonly #previewBytes: number;
  readonly #replayCap: number;
  readonly stats: TunnelStats;
  /** Aborted when the tunnel closes: upstream requests still running after the grace period end. */
  #cancel = new AbortController();
  /** Why the last start did not happen (the upstream's folder is missing); null when it did. */
  #notStarted: string | null = null;

  constructor(profile: Profile, opts: TunnelOptions = {}) {
    super();
    this.id = profile.id;
    this.profile = profile;
    this.log = opts.requestLog ?? new RequestLog(opts.log);
    this.stats = opts.stats ?? new TunnelStats();
    this.#previewBytes = opts.previewBytes ?? 64 * 1024;
    this.#replayCap = opts.replayCapBytes ?? 1024 * 1024;
    this.upstream = opts.upstream ?? createUpstream(profile);
    this.#access = new AccessPolicy(profile.access, `Porthole: ${profile.name}`);
    const tuning: TransportTuning = {
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      ...(opts.heldAfterMs !== undefined ? { heldAfterMs: opts.heldAfterMs } : {}),
      ...(opts.resendCapBytes !== undefined ? { resendCapBytes: opts.resendCapBytes } : {}),
      ...(opts.deadAfterMs !== undefined ? { deadAfterMs: opts.deadAfterMs } : {}),
    };
    this.#transport = (opts.transport ?? createTransport)({
      profile,
      rulesDigest: rulesDigest(profile.access, profile.headers, profile.relay.token),
      tuning,
      onPhase: () => this.emit('status', this.snapshot()),
      handler: {
        request: (req, body, length) => this.#handle(req, body, length),
        upgrade: (req) => this.#upgrade(req),
        tcp: (ip) => this.#tcp(ip),
        malformed: (id, error) => this.#malformed(id, error),
        stopping: (req) => this.#stoppingAnswer(req),
        cancel: () => {
          this.#cancel.abort(new Error('the tunnel stopped before the upstream answered'));
          this.#cancel = new AbortController();
        },
      },
    });
  }

  get state(): PhaseState {
    return this.#notStarted === null ? this.#transport.state : { phase: 'failed', reason: this.#notStarted };
  }

  get publicUrl(): string {
    return this.#transport.publicUrl;
  }

  snapshot(): TunnelSnapshot {
    return {
      id: this.id,
      name: this.profile.name,
      state: this.state,
      publicUrl: this.#transport.publicUrl,
      target: this.upstream.target,
      counters: { ...this.stats.counters, ...this.stats.recent.percentiles() },
    };
  }

  /**
   * Starts the tunnel; follow `status` events (or await {@link whenOnline}) for the outcome. An
   * upstream that cannot serve at all (its folder is missing) fails the tunnel at once, saying why,
   * before the relay is asked for anything: nothing is published.
   */
  /**
   * Records that the tunnel could not be started, and why (its demo relay's port taken...): it shows
   * as failed with the reason, as a tunnel refused by its relay does, until the next start.
   */
  failToStart(reason: string): void {
    this.#notStarted = reason;
    this.emit('status', this.snapshot());
  }

  start(): void {
    const phase = this.#transport.state.phase;
    if (phase === 'stopped' || phase === 'failed') {
      this.#notStarted = this.upstream.check?.() ?? null;
      if (this.#notStarted !== null) {
        this.emit('status', this.snapshot());
        return;
      }
    }
    this.#transport.start();
  }

  /** Resolves when the tunnel is online, or rejects when it failed or stopped. */
  whenOnline(): Promise<TunnelSnapshot> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const s = this.state;
        if (s.phase === 'online') resolve(this.snapshot());
        else if (s.phase === 'failed') reject(new Error(s.reason));
        else if (s.phase === 'stopped') reject(new Error('tunnel stopped'));
        else return false;
        this.off('status', check);
        return true;
      };
      if (!check()) this.on('status', check);
    });
  }

  /** Stops polling; in-flight requests get `graceMs` to finish. */
  async stop(graceMs = 5000): Promise<void> {
    await this.#transport.stop(graceMs);
  }

  /** Stops and releases the upstream's connections. */
  async close(graceMs = 5000): Promise<void> {
    await this.stop(graceMs);
    this.#cancel.abort(new Error('tunnel closed'));
    await this.upstream.close();
  }

  #newRecord(relayId: string, method: string, url: string, ip: string, headers: HeaderMap): RequestRecord {
    const empty = { bytes: Buffer.alloc(0), size: 0, truncated: false };
    return {
      id: String(nextRecordId++),
      relayId,
      tunnelId: this.id,
      startedAt: Date.now(),
      durationMs: null,
      upstreamMs: null,
      visitorIp: ip,
      method,
      url,
      status: null,
      requestBytes: 0,
      responseBytes: 0,
      error: null,
      refusedBy: null,
      replayOf: null,
      requestHeaders: headerListFromMap(headers),
      responseHeaders: [],
      requestBody: empty,
      responseBody: empty,
      replayBody: null,
    };
  }

  #finish(record: RequestRecord, started: number, err?: Error): void {
    record.durationMs = performance.now() - started;
    if (err && !record.error) record.error = `the reply did not reach the relay: ${err.message}`;
    this.stats.counters.inFlight -= 1;
    this.stats.counters.requests += 1;
    this.stats.counters.bytesIn += record.requestBytes;
    this.stats.counters.bytesOut += record.responseBytes;
    this.stats.recent.add(record.durationMs);
    this.log.put(record);
    this.emit('request', record);
  }

  async #handle(req: VisitorRequest, body: Readable | null, length: number | null): Promise<Reply> {
    const started = performance.now();
    const record = this.#newRecord(req.id, req.method, req.path, req.ip, req.headers);
    this.stats.counters.inFlight += 1;
    const reqCapture = new BodyCapture(this.#previewBytes, this.#replayCap);
    const captured = body
      ? (async function* () {
          for await (const chunk of body as AsyncIterable<Buffer>) {
            reqCapture.push(chunk);
            yield chunk;
          }
        })()
      : null;
    const settleRequestBody = (): void => {
      record.requestBytes = reqCapture.size;
      record.requestBody = reqCapture.preview();
      record.replayBody = reqCapture.whole();
    };
    const decision = this.#access.check(req.ip, req.headers);
    if (!decision.ok) {
      record.refusedBy = decision.refusedBy;
      const title = decision.status === 401 ? 'Unauthorized' : 'Forbidden';
      return this.#ownAnswer(record, started, captured, settleRequestBody, decision.status, title, decision.message, {
        error: `refused by the ${decision.refusedBy} rule: ${decision.message}`,
        headers: decision.headers,
      });
    }
    // Kept: a stop's cancel swaps the controller for the next run.
    const cancel = this.#cancel.signal;
    try {
      const res = await this.upstream.handle(this.#upstreamRequest(req, captured, captured ? length : null), cancel);
      record.upstreamMs = performance.now() - started;
      record.status = res.status;
      if (res.diagnostics) record.error = res.diagnostics;
      const resHeaders = stripHopByHop(res.headers, {
        dropContentLength: !(req.method === 'HEAD' || res.status === 304),
      });
      applyHeaderRules(resHeaders, this.profile.headers.response);
      record.responseHeaders = headerListFromMap(resHeaders);
      const resCapture = new BodyCapture(this.#previewBytes);
      const source = res.body;
      let out: Buffer | AsyncIterable<Buffer>;
      if (Buffer.isBuffer(source)) {
        resCapture.push(source);
        out = source;
      } else {
        out = (async function* () {
          for await (const chunk of source) {
            resCapture.push(chunk);
            yield chunk;
          }
        })();
      }
      const finish = (err?: Error): void => {
        // Read again at the end: PHP may write to stderr after its output has started.
        if (res.diagnostics && !err) record.error = res.diagnostics;
        settleRequestBody();
        record.responseBytes = resCapture.size;
        record.responseBody = resCapture.preview();
        this.#finish(record, started, err);
      };
      return {
        status: res.status,
        ...(res.reason ? { reason: res.reason } : {}),
        headers: resHeaders,
        body: out,
        bodyLength: req.method === 'HEAD' ? 0 : res.bodyLength,
        done: finish,
        lostAfter: (err) => {
          record.error = `the reply broke off on its way to the relay: ${err.message}`;
          this.log.put(record);
        },
      };
    } catch (err) {
      if (cancel.aborted) {
        return this.#ownAnswer(
          record,
          started,
          captured,
          settleRequestBody,
          502,
          'Bad Gateway',
          `Porthole tunnel "${this.profile.name}" stopped before the upstream answered.`,
          { error: 'the tunnel stopped before the upstream answered' },
        );
      }
      const upstreamError =
        err instanceof UpstreamError
          ? err
          : new UpstreamError(502, `${this.upstream.target} failed: ${(err as Error).message}`);
      const title = upstreamError.status === 504 ? 'Gateway Timeout' : 'Bad Gateway';
      // The page shows only the public sentence: the target and the message can name local paths
      // (a folder, a unix socket) and system errors, which are the owner's, in the request log.
      return this.#ownAnswer(
        record,
        started,
        captured,
        settleRequestBody,
        upstreamError.status,
        title,
        `Porthole tunnel "${this.profile.name}" could not get an answer from its local service: ` +
          `${upstreamError.publicMessage}. The details are in the tunnel's request log.`,
        { error: upstreamError.message },
      );
    }
  }

  /** The upstream's view of a visitor request: the tunnel's password consumed, header rules applied. */
  #upstreamRequest(req: VisitorRequest, body: UpstreamRequest['body'], length: number | null): UpstreamRequest {
    let headers = req.headers;
    const rules = this.profile.headers.request;
    if (this.profile.access.basicAuth.length || rules.add.length || rules.remove.length) {
      headers = { ...req.headers };
      // The tunnel's password is for the tunnel: the upstream never sees it.
      if (this.profile.access.basicAuth.length) delete headers['authorization'];
      applyHeaderRules(headers, rules);
    }
    return {
      method: req.method,
      path: req.path,
      headers,
      body,
      bodyLength: body ? length : null,
      visitorIp: req.ip,
      forwardedFor: firstString(req.headers['x-forwarded-for']),
      publicScheme: this.publicUrl.startsWith('https:') ? 'https' : 'http',
    };
  }

  /**
   * Sends a logged request to the upstream again (optionally edited) and logs the answer as a new
   * record whose `replayOf` names the original. Access rules are not applied: replay is the owner's.
   * @throws ReplayError when the original's body was not kept (larger than the replay cap) and no
   *   new body is given, or the record is gone.
   */
  async replay(recordId: string, edit: ReplayEdit = {}): Promise<RequestRecord> {
    const original = this.log.get(recordId);
    if (!original) throw new ReplayError('gone', `request ${recordId} is no longer in the log`);
    let body = edit.body ?? original.replayBody;
    if (body === null) {
      if (original.requestBytes > 0) {
        throw new ReplayError(
          'body-not-kept',
          `its body (${original.requestBytes} bytes) was larger than the replay cap (${this.#replayCap} bytes), so it was not kept`,
        );
      }
      body = Buffer.alloc(0);
    }
    const headerMap: HeaderMap = Object.create(null) as HeaderMap;
    for (const [name, value] of edit.headers ?? original.requestHeaders)
      appendHeader(headerMap, name.toLowerCase(), value);
    // The body goes whole, with its own length: the record says what was sent, not what the
    // original (or the edit's headers) said.
    const hadLength = headerMap['content-length'] !== undefined || headerMap['transfer-encoding'] !== undefined;
    delete headerMap['content-length'];
    delete headerMap['transfer-encoding'];
    if (body.length > 0 || hadLength) headerMap['content-length'] = String(body.length);
    const req: VisitorRequest = {
      id: `replay-${original.id}`,
      method: (edit.method ?? original.method).toUpperCase(),
      path: edit.path ?? original.url,
      ip: original.visitorIp,
      headers: headerMap,
    };
    const started = performance.now();
    const record = this.#newRecord(req.id, req.method, req.path, req.ip, req.headers);
    record.replayOf = original.id;
    record.requestBytes = body.length;
    record.requestBody = {
      bytes: body.subarray(0, this.#previewBytes),
      size: body.length,
      truncated: body.length > this.#previewBytes,
    };
    record.replayBody = body.length <= this.#replayCap ? body : null;
    this.stats.counters.inFlight += 1;
    const capture = new BodyCapture(this.#previewBytes);
    let error: Error | undefined;
    try {
      const res = await this.upstream.handle(
        this.#upstreamRequest(req, body.length ? body : null, body.length),
        this.#cancel.signal,
      );
      record.upstreamMs = performance.now() - started;
      record.status = res.status;
      record.responseHeaders = headerListFromMap(stripHopByHop(res.headers));
      if (Buffer.isBuffer(res.body)) capture.push(res.body);
      else for await (const chunk of res.body) capture.push(chunk);
      if (res.diagnostics) record.error = res.diagnostics;
    } catch (err) {
      error = err as Error;
      record.status = err instanceof UpstreamError ? err.status : 502;
      record.error = (err as Error).message;
    }
    record.responseBytes = capture.size;
    record.responseBody = capture.preview();
    this.#finish(record, started, undefined);
    if (error && record.status === null) throw error;
    return record;
  }

  /** A page of Porthole's own instead of the upstream's answer (refusals, upstream failures). */
  async #ownAnswer(
    record: RequestRecord,
    started: number,
    body: AsyncIterable<Buffer> | null,
    settleRequestBody: () => void,
    status: number,
    title: string,
    message: string,
    extra: { error: string; headers?: HeaderMap },
  ): Promise<Reply> {
    const page = errorPage(status, title, message);
    const headers: HeaderMap = { ...extra.headers, 'content-type': HTML_TYPE };
    record.status = status;
    record.error = extra.error;
    record.responseHeaders = headerListFromMap(headers);
    if (body) {
      // Drain what is left of the visitor's body so that the relay connection stays usable.
      try {
        for await (const _ of body) void _;
      } catch {
        // the transport closes a relay connection whose body was not read to the end
      }
    }
    return {
      status,
      headers,
      body: page,
      bodyLength: page.length,
      done: (e) => {
        settleRequestBody();
        record.responseBytes = page.length;
        record.responseBody = { bytes: page, size: page.length, truncated: false };
        this.#finish(record, started, e);
      },
    };
  }

  /** A visitor request that reached the worker after the stop began: 503, logged, the upstream untouched. */
  #stoppingAnswer(req: VisitorRequest): Reply {
    const started = performance.now();
    const record = this.#newRecord(req.id, req.method, req.path, req.ip, req.headers);
    this.stats.counters.inFlight += 1;
    record.status = 503;
    record.error = 'the tunnel was stopping';
    const page = errorPage(503, 'Service Unavailable', `Porthole tunnel "${this.profile.name}" is stopping.`);
    const headers: HeaderMap = { 'content-type': HTML_TYPE, 'retry-after': '5' };
    record.responseHeaders = headerListFromMap(headers);
    return {
      status: 503,
      headers,
      body: page,
      bodyLength: page.length,
      done: (e) => {
        record.responseBytes = page.length;
        record.responseBody = { bytes: page, size: page.length, truncated: false };
        this.#finish(record, started, e);
      },
    };
  }

  /**
   * A visitor's WebSocket: the access rules first, then the upstream's own handshake on a connection
   * of its own. After a 101 the bytes flow as they are, both ways; the log keeps one entry for the
   * session, with its messages, bytes each way, the close code and the last messages.
   */
  async #upgrade(req: VisitorRequest): Promise<UpgradeReply> {
    const started = performance.now();
    const record = this.#newRecord(req.id, req.method, req.path, req.ip, req.headers);
    this.stats.counters.inFlight += 1;
    const plain = (
      status: number,
      title: string,
      message: string,
      error: string,
      headers: HeaderMap = {},
    ): UpgradeReply => {
      const page = errorPage(status, title, message);
      const all: HeaderMap = { ...headers, 'content-type': HTML_TYPE };
      record.status = status;
      record.error = error;
      record.responseHeaders = headerListFromMap(all);
      return {
        status,
        headers: all,
        body: page,
        done: (e) => {
          record.responseBytes = page.length;
          record.responseBody = { bytes: page, size: page.length, truncated: false };
          this.#finish(record, started, e);
        },
      };
    };
    const decision = this.#access.check(req.ip, req.headers);
    if (!decision.ok) {
      record.refusedBy = decision.refusedBy;
      const title = decision.status === 401 ? 'Unauthorized' : 'Forbidden';
      return plain(
        decision.status,
        title,
        decision.message,
        `refused by the ${decision.refusedBy} rule: ${decision.message}`,
        decision.headers,
      );
    }
    if (!this.upstream.upgrade) {
      return plain(
        501,
        'Not Implemented',
        `Porthole tunnel "${this.profile.name}" serves files or PHP: it has no WebSocket to connect this one to.`,
        'WebSocket upgrades go to HTTP(S) upstreams only',
      );
    }
    let res: UpgradeResponse;
    try {
      res = await this.upstream.upgrade(this.#upstreamRequest(req, null, null), this.#cancel.signal);
    } catch (err) {
      const e = err instanceof UpstreamError ? err : new UpstreamError(502, (err as Error).message);
      return plain(
        e.status,
        e.status === 504 ? 'Gateway Timeout' : 'Bad Gateway',
        `Porthole tunnel "${this.profile.name}" could not open the WebSocket: ${e.publicMessage}.`,
        e.message,
      );
    }
    record.upstreamMs = performance.now() - started;
    record.status = res.status;
    record.responseHeaders = headerListFromMap(res.headers);
    const upstream = res.socket;
    const fromVisitor = new WsFrameWatcher();
    const fromUpstream = new WsFrameWatcher();
    record.websocket = { fromVisitor, fromUpstream };
    // The upstream's connection, watched both ways on its way through.
    const joined = new Duplex({
      read() {
        upstream.resume();
      },
      write(chunk: Buffer, _enc, callback) {
        fromVisitor.push(chunk);
        upstream.write(chunk, callback);
      },
      final(callback) {
        upstream.end();
        callback();
      },
      destroy(err, callback) {
        upstream.destroy();
        callback(err);
      },
    });
    upstream.on('data', (chunk: Buffer) => {
      fromUpstream.push(chunk);
      if (!joined.push(chunk)) upstream.pause();
    });
    upstream.once('end', () => joined.push(null));
    upstream.once('error', (err) => joined.destroy(err));
    return {
      status: res.status,
      ...(res.reason ? { reason: res.reason } : {}),
      headers: res.headers,
      socket: joined,
      done: (e) => {
        record.requestBytes = fromVisitor.bytes;
        record.responseBytes = fromUpstream.bytes;
        if (e && !record.error) record.error = e.message;
        this.#finish(record, started);
      },
    };
  }

  /** A visitor's TCP connection: joined to a new connection to the local service, one log entry for it. */
  async #tcp(visitorIp: string): Promise<Duplex | null> {
    const upstream = this.upstream as Partial<TcpUpstream>;
    const started = performance.now();
    const record = this.#newRecord(`tcp-${nextTcp++}`, 'TCP', this.upstream.target, visitorIp, {});
    this.stats.counters.inFlight += 1;
    // Access rules by address hold for TCP too; a password cannot be asked for.
    const decision = this.#access.check(visitorIp, {});
    if (!decision.ok && decision.refusedBy !== 'basic-auth') {
      record.status = 403;
      record.refusedBy = decision.refusedBy;
      record.error = `refused by the ${decision.refusedBy} rule: ${decision.message}`;
      this.#finish(record, started);
      return null;
    }
    let socket: Duplex;
    try {
      if (!upstream.connect) throw new UpstreamError(502, 'this tunnel has no TCP service');
      socket = await upstream.connect();
    } catch (err) {
      record.status = 502;
      record.error = (err as Error).message;
      this.#finish(record, started);
      return null;
    }
    record.status = 200;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.#finish(record, started);
    };
    // Counted on their way through: bytes from the visitor, bytes to it.
    const joined = new Duplex({
      allowHalfOpen: true,
      read() {
        socket.resume();
      },
      write(chunk: Buffer, _enc, callback) {
        record.requestBytes += chunk.length;
        socket.write(chunk, callback);
      },
      final(callback) {
        socket.end();
        callback();
      },
      destroy(err, callback) {
        socket.destroy();
        finish();
        callback(err);
      },
    });
    socket.on('data', (chunk: Buffer) => {
      record.responseBytes += chunk.length;
      if (!joined.push(chunk)) socket.pause();
    });
    socket.once('end', () => joined.push(null));
    socket.once('error', (err: Error) => {
      record.error = err.message;
      joined.destroy(err);
    });
    socket.once('close', () => {
      finish();
      if (!joined.destroyed && joined.readableEnded && joined.writableFinished) joined.destroy();
    });
    return joined;
  }

  #malformed(id: string, error: string): Reply {
    const started = performance.now();
    const record = this.#newRecord(id, '?', '?', '', {});
    this.stats.counters.inFlight += 1;
    record.status = 502;
    record.error = `malformed request from the relay: ${error}`;
    const page = errorPage(
      502,
      'Bad Gateway',
      `Porthole tunnel "${this.profile.name}" received a request it could not read: ${error}.`,
    );
    return {
      status: 502,
      headers: { 'content-type': HTML_TYPE },
      body: page,
      bodyLength: page.length,
      done: (e) => {
        record.responseBytes = page.length;
        this.#finish(record, started, e);
      },
    };
  }
}

function firstString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}
