import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import {
  FPW,
  FPW_USER_AGENT,
  decodeHeaderJson,
  encodeHeaderJson,
  firstValue,
  type VisitorRequest,
} from '../../protocol/fpw-codec.ts';
import {
  DEAD_AFTER_MS,
  HEARTBEAT_MS,
  TUNNEL,
  TUNNEL_PROTOCOL,
  tunnelUrl,
  type ReplyMeta,
  type RequestMeta,
} from '../../protocol/ws-tunnel.ts';
import { Backoff } from '../backoff.ts';
import type { PhaseState } from '../shapes.ts';
import { MAX_REPLY_HEADER_BYTES, tooLargeReply, type Reply, type RequestHandler, type Transport } from './transport.ts';
import { Mux, RESET, type Head, type MuxStream } from '../../protocol/ws-mux.ts';

export interface WsTransportOptions {
  /** The relay's `ws://` or `wss://` URL (the tunnel path is added when it names none). */
  relayUrl: string;
  /** The full public host name this tunnel serves. */
  host: string;
  /** The secret that claims the host. */
  token: string;
  /** A digest of the tunnel's access and header rules (`fpw-rules`). @default '' (no rules) */
  rulesDigest?: string;
  /** Visitor requests served at once; the relay's next one is refused (a 502) while this many are. @default no limit */
  maxStreams?: number;
  handler: RequestHandler;
  onPhase?: (state: PhaseState) => void;
  backoff?: Backoff;
  /** A TCP tunnel: the public port to ask the relay for, or `any`. @default none (an HTTP tunnel) */
  tcpPort?: number | 'any';
  /** Silence from the relay after which the connection is taken for dead. @default 30000 */
  deadAfterMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/** Refusals of the claim: final, as for FPW polls. */
const REFUSED = new Set([400, 401, 403, 404, 409]);
/** How long the answers that cancelling the upstream produced get to reach the relay. */
const LAST_REPLIES_MS = 1000;

/** The public URL a tunnel has on a relay that does not say: the relay URL's scheme (as http) and port, and the host. */
export function wsPublicUrl(relayUrl: string, host: string): string {
  const u = new URL(relayUrl);
  const scheme = u.protocol === 'wss:' ? 'https:' : 'http:';
  return `${scheme}//${host}${u.port ? `:${u.port}` : ''}/`;
}

/**
 * The worker side of Porthole's WebSocket transport: one WebSocket to the relay, with Porthole's
 * multiplexer inside it (the relay opens the streams), one stream per visitor request. Heartbeats find
 * a dead connection; the connection comes back with the same back-off as FPW's polls.
 */
export class WsTransport implements Transport {
  readonly #opts: WsTransportOptions;
  readonly #url: URL;
  readonly #backoff: Backoff;
  readonly #now: () => number;
  #state: PhaseState = { phase: 'stopped' };
  #publicUrl: string;
  #running = false;
  #stopping = false;
  #workerId = '';
  #wake = new AbortController();
  #ws: WebSocket | null = null;
  #session: Mux | null = null;
  #loop: Promise<void> | null = null;
  /** Replies being sent now, and their streams. */
  readonly #active = new Set<MuxStream>();

  constructor(opts: WsTransportOptions) {
    this.#opts = opts;
    this.#url = tunnelUrl(opts.relayUrl);
    this.#backoff = opts.backoff ?? new Backoff();
    this.#now = opts.now ?? Date.now;
    this.#publicUrl = wsPublicUrl(opts.relayUrl, opts.host);
  }

  get state(): PhaseState {
    return this.#state;
  }

  get publicUrl(): string {
    return this.#publicUrl;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopping = false;
    this.#wake = new AbortController();
    this.#workerId = randomBytes(12).toString('hex');
    this.#backoff.reset();
    this.#setState({ phase: 'starting' });
    this.#loop = this.#run();
  }

  async stop(graceMs = 5000): Promise<void> {
    if (!this.#running) return;
    this.#stopping = true;
    this.#wake.abort();
    // The relay sends no new visitor once it reads GOAWAY; those in flight get the grace period.
    this.#session?.goaway();
    const idle = (): Promise<void> => this.#idle();
    await Promise.race([idle(), sleep(graceMs, undefined, { ref: false })]);
    // The grace is over: what still waits on the upstream is cut short, and its 502 goes out.
    this.#opts.handler.cancel?.();
    await Promise.race([idle(), sleep(LAST_REPLIES_MS, undefined, { ref: false })]);
    this.#ws?.close(1000, 'worker stopping');
    this.#ws?.terminate();
    await this.#loop;
    this.#running = false;
    if (this.#state.phase !== 'failed') this.#setState({ phase: 'stopped' });
  }

  /** Resolves once no reply is being sent. */
  async #idle(): Promise<void> {
    while (this.#active.size > 0) await sleep(25, undefined, { ref: false });
  }

  #setState(state: PhaseState): void {
    this.#state = state;
    this.#opts.onPhase?.(state);
  }

  /** Connects, serves until the connection ends, and connects again with back-off, until stopped or refused. */
  async #run(): Promise<void> {
    while (!this.#stopping) {
      const outcome = await this.#connectOnce();
      if (this.#stopping) break;
      if (outcome.kind === 'refused') {
        this.#stopping = true;
        this.#setState({ phase: 'failed', reason: outcome.message });
        break;
      }
      const now = this.#now();
      const delay = this.#backoff.fail(now);
      this.#setState({
        phase: 'reconnecting',
        attempt: this.#backoff.attempt,
        nextRetryAt: now + delay,
        lastError: outcome.message,
      });
      try {
        await sleep(delay, undefined, { signal: this.#wake.signal });
      } catch {
        // woken by stop()
      }
    }
  }

  /** One connection, from the upgrade to its end. */
  #connectOnce(): Promise<{ kind: 'refused' | 'lost'; message: string }> {
    return new Promise((resolve) => {
      const headers: Record<string, string> = {
        [FPW.host]: this.#opts.host,
        [FPW.token]: this.#opts.token,
        [FPW.worker]: this.#workerId,
        'user-agent': FPW_USER_AGENT,
      };
      if (this.#opts.rulesDigest) headers[FPW.rules] = this.#opts.rulesDigest;
      if (this.#opts.tcpPort !== undefined) headers[TUNNEL.tcp] = String(this.#opts.tcpPort);
      const ws = new WebSocket(this.#url, [TUNNEL_PROTOCOL], {
        headers,
        perMessageDeflate: false,
        handshakeTimeout: 15_000,
      });
      this.#ws = ws;
      let settled = false;
      const settle = (kind: 'refused' | 'lost', message: string): void => {
        if (settled) return;
        settled = true;
        resolve({ kind, message });
      };
      ws.on('error', (err) => settle('lost', describe(err, this.#url)));
      ws.on('unexpected-response', (_req, res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = plain(Buffer.concat(chunks).toString('utf8'));
          if (REFUSED.has(status)) {
            settle('refused', `the relay refused the claim (HTTP ${status})${text ? `: ${text.slice(0, 300)}` : ''}`);
          } else settle('lost', `relay answered HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`);
          ws.terminate();
        });
      });
      let socket: Socket | null = null;
      ws.on('upgrade', (res: IncomingMessage) => {
        socket = res.socket;
        const url = firstValue(res.headers[FPW.publicUrl]);
        if (url) this.#publicUrl = url;
        // A TCP tunnel's address: the relay's host name as this worker reached it, and the port it got.
        const port = firstValue(res.headers[TUNNEL.tcp]);
        if (this.#opts.tcpPort !== undefined && port) {
          const host = this.#url.hostname.includes(':') ? `[${this.#url.hostname}]` : this.#url.hostname;
          this.#publicUrl = `tcp://${host}:${port}`;
          // Asked for any port: the one it got is asked for again after a reconnect, so the address stays.
          if (this.#opts.tcpPort === 'any') this.#opts.tcpPort = Number(port);
        }
      });
      ws.on('open', () => {
        const session = this.#serve(ws, socket!);
        // A relay of an older Porthole (it took the subprotocol without knowing it): final, as a refusal.
        session.once('failed', (why) => {
          if (why.includes('tunnel protocol 1')) {
            settle(
              'refused',
              `the relay speaks an older tunnel protocol (HTTP/2 over the WebSocket): update Porthole on the relay`,
            );
          }
        });
        this.#backoff.healthy(this.#now());
        if (!this.#stopping) this.#setState({ phase: 'online', publicUrl: this.#publicUrl, since: this.#now() });
        ws.once('close', (code, reason) => {
          session.destroy();
          this.#session = null;
          settle(
            'lost',
            `connection to relay ${this.#url.host} closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`,
          );
        });
      });
    });
  }

  /** The multiplexer over the WebSocket: each stream the relay opens is one visitor request. */
  #serve(ws: WebSocket, socket: Socket): Mux {
    const session = new Mux(ws, socket, { masked: true, client: false, maxStreams: this.#opts.maxStreams });
    this.#session = session;
    session.on('stream', (stream, head) => void this.#onStream(stream, head as Head<Partial<RequestMeta>>));
    // The relay pings; a relay that falls silent is taken for dead and the worker connects again.
    let lastHeard = this.#now();
    const heard = (): void => void (lastHeard = this.#now());
    ws.on('ping', heard);
    ws.on('message', heard);
    const deadAfter = this.#opts.deadAfterMs ?? DEAD_AFTER_MS + HEARTBEAT_MS / 2;
    const watch = setInterval(
      () => {
        if (this.#now() - lastHeard > deadAfter) ws.terminate();
      },
      Math.min(HEARTBEAT_MS / 2, deadAfter / 4),
    );
    watch.unref();
    ws.once('close', () => clearInterval(watch));
    return session;
  }

  async #onStream(stream: MuxStream, head: Head<Partial<RequestMeta>>): Promise<void> {
    stream.on('error', () => undefined);
    if (head.meta.upgrade !== undefined) return this.#onUpgrade(stream, head);
    if (head.meta.tcp !== undefined) return this.#onTcp(stream, head);
    this.#active.add(stream);
    const id = String(stream.id);
    let reply: Reply;
    let req: VisitorRequest | null = null;
    try {
      req = visitorRequest(id, head);
    } catch (err) {
      reply = this.#opts.handler.malformed(id, (err as Error).message);
    }
    if (req) {
      const length = firstValue(req.headers['content-length']);
      const bodyLength = length !== undefined && /^\d+$/.test(length) ? Number(length) : null;
      const hasBody = !stream.finReceived && bodyLength !== 0;
      if (this.#stopping) {
        stream.resume();
        reply = this.#opts.handler.stopping(req);
      } else {
        try {
          reply = await this.#opts.handler.request(req, hasBody ? stream : null, hasBody ? bodyLength : null);
        } catch (err) {
          reply = this.#opts.handler.malformed(id, (err as Error).message);
        }
      }
      // What the upstream left unread is dropped.
      if (!hasBody) stream.resume();
    }
    await this.#respond(stream, reply!);
    this.#active.delete(stream);
  }

  /** A visitor's upgrade (a WebSocket): the upstream's 101 joins the stream to its connection, both ways. */
  async #onUpgrade(stream: MuxStream, head: Head<Partial<RequestMeta>>): Promise<void> {
    const id = String(stream.id);
    let req: VisitorRequest;
    try {
      req = visitorRequest(id, head);
    } catch (err) {
      return this.#respond(stream, this.#opts.handler.malformed(id, (err as Error).message));
    }
    if (this.#stopping || !this.#opts.handler.upgrade) {
      stream.resume();
      return this.#respond(stream, this.#opts.handler.stopping(req));
    }
    const reply = await this.#opts.handler.upgrade(req);
    if (reply.status !== 101 || !reply.socket) {
      stream.resume();
      const body = reply.body ?? Buffer.alloc(0);
      const plain: Reply = { status: reply.status, headers: reply.headers, body, bodyLength: body.length };
      if (reply.reason) plain.reason = reply.reason;
      if (reply.done) plain.done = reply.done;
      return this.#respond(stream, plain);
    }
    const upstream = reply.socket;
    if (stream.destroyed) {
      upstream.destroy();
      reply.done?.(new Error('the visitor went away'));
      return;
    }
    const meta: ReplyMeta = { status: 101 };
    if (reply.reason) meta.reason = reply.reason;
    try {
      stream.respond({ meta, headers: encodeHeaderJson(reply.headers) });
    } catch (err) {
      upstream.destroy();
      stream.close(RESET.internal);
      reply.done?.(err as Error);
      return;
    }
    // Both ways, each with its own back-pressure; an end on one side is passed on as a half-close.
    stream.pipe(upstream);
    upstream.pipe(stream);
    let finished = false;
    const finish = (err?: Error): void => {
      if (finished) return;
      finished = true;
      upstream.destroy();
      if (!stream.destroyed) stream.close();
      reply.done?.(err);
    };
    stream.once('close', () => finish());
    upstream.once('close', () => {
      // The upstream closed: what it sent is on its way; the stream ends after it.
      if (!stream.writableEnded) stream.end();
    });
    upstream.once('error', (err: Error) => finish(err));
  }

  /** A visitor's TCP connection: joined to one to the local service, bytes both ways, half-close passed on. */
  async #onTcp(stream: MuxStream, head: Head<Partial<RequestMeta>>): Promise<void> {
    const local =
      this.#stopping || !this.#opts.handler.tcp ? null : await this.#opts.handler.tcp(String(head.meta.ip ?? ''));
    if (stream.destroyed) {
      local?.destroy();
      return;
    }
    if (!local) {
      // Refused (or stopping): the relay closes the visitor's connection at once.
      stream.respond({ meta: { status: 502 } satisfies ReplyMeta, headers: '' }, { end: true });
      return;
    }
    stream.respond({ meta: { status: 200 } satisfies ReplyMeta, headers: '' });
    stream.pipe(local);
    local.pipe(stream);
    const close = (): void => {
      local.destroy();
      if (!stream.destroyed) stream.close();
    };
    stream.once('close', close);
    local.once('close', () => {
      if (!stream.writableEnded) stream.end();
    });
    local.once('error', close);
  }

  /** Sends a reply on its stream: the head, then the body with the stream's flow control. */
  async #respond(stream: MuxStream, reply: Reply): Promise<void> {
    if (stream.destroyed || stream.closed) {
      reply.done?.(new Error('the visitor went away'));
      return;
    }
    let headerJson = encodeHeaderJson(reply.headers);
    if (headerJson.length > MAX_REPLY_HEADER_BYTES) {
      // Over what a head carries: this visitor gets a 502 now, and the connection goes on.
      reply = tooLargeReply(reply, headerJson.length);
      headerJson = encodeHeaderJson(reply.headers);
    }
    const meta: ReplyMeta = { status: reply.status };
    if (reply.bodyLength !== null) meta.length = reply.bodyLength;
    if (reply.reason) meta.reason = reply.reason;
    try {
      stream.respond({ meta, headers: headerJson });
      const body = reply.body;
      if (Buffer.isBuffer(body)) await write(stream, body);
      else if (Array.isArray(body)) for (const chunk of body) await write(stream, chunk);
      else for await (const chunk of body) await write(stream, chunk);
      await new Promise<void>((resolve) => stream.end(resolve));
      reply.done?.();
    } catch (err) {
      // The upstream broke off mid-body, or the relay reset the stream: the relay cuts the visitor's
      // connection, never passing a truncated body off as whole.
      if (!stream.destroyed) stream.close(RESET.internal);
      reply.done?.(err as Error);
    }
  }
}

/** Writes with back-pressure; rejects when the stream is gone. */
function write(stream: MuxStream, chunk: Buffer): Promise<void> {
  if (stream.destroyed) return Promise.reject(new Error('the stream was reset'));
  if (stream.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onClose = (): void => done(new Error('the stream was reset'));
    stream.once('drain', onDrain);
    stream.once('close', onClose);
  });
}

/** The visitor's request from a stream's head; throws on headers that are not fpw-header JSON. */
function visitorRequest(id: string, head: Head<Partial<RequestMeta>>): VisitorRequest {
  const headers = decodeHeaderJson(head.headers || '{}');
  const { meta } = head;
  if (meta.chain) headers['x-forwarded-for'] = String(meta.chain);
  return {
    id,
    method: String(meta.method ?? 'GET'),
    path: String(meta.path ?? '/'),
    ip: String(meta.ip ?? ''),
    headers,
  };
}

function plain(html: string): string {
  return html
    .replace(/<(style|script|title)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function describe(err: unknown, url: URL): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return `relay ${url.host} refused the connection (is it running?)`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `relay host ${url.hostname} does not resolve`;
  return `relay ${url.host}: ${(err as Error).message}${code ? ` (${code})` : ''}`;
}
