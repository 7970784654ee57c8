import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { bodyText, dispatchRequest, drain, type DispatchResponse } from '../dispatch.ts';
import { Backoff } from '../backoff.ts';
import type { RequestBody } from '../undici-body.ts';
import { FPW, FPW_USER_AGENT, encodeHeaderJson, firstValue, parsePollAnswer } from '../../protocol/fpw-codec.ts';
import { MAX_REPLY_HEADER_BYTES, tooLargeReply, type Reply, type RequestHandler, type Transport } from './transport.ts';

export type { PhaseState, TunnelPhase } from '../shapes.ts';
import type { PhaseState } from '../shapes.ts';

export interface FpwTransportOptions {
  /** Where polls go; `{host}` is replaced by the host (the public FPW relay: `https://{host}/`). */
  relayUrl: string;
  /** The full public host name this tunnel serves. */
  host: string;
  /** The secret that claims the host. */
  token: string;
  /**
   * A digest of the tunnel's access and header rules, sent with every poll (`fpw-rules`) so that
   * Porthole's relay refuses workers of one host with different rules. @default '' (no rules)
   */
  rulesDigest?: string;
  /** Concurrent long-polls. @default 8 */
  workers?: number;
  handler: RequestHandler;
  /** Called on every phase change. */
  onPhase?: (state: PhaseState) => void;
  /** Shared dispatcher (one per relay origin); by default {@link relayDispatcher}. */
  dispatcher?: Dispatcher;
  /** Header and body timeout of a poll; longer than any relay's hold time. @default 180000 */
  pollTimeoutMs?: number;
  /**
   * Replies up to this size are kept so that a failed POST can be re-sent; bigger ones stream, which
   * the benchmark showed faster for 1 MiB answers than holding them whole. @default 256 KiB
   */
  resendCapBytes?: number;
  /** A poll held this long without an error means the relay accepted the claim. @default 1500 */
  heldAfterMs?: number;
  backoff?: Backoff;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

// 400 too: Porthole's relay answers it to a host name it cannot serve, which no retry fixes.
/** A reply fixed for sending: its id, its header JSON, and whether its streamed body broke. */
type PreparedReply = Reply & { id: string; headerJson: string; bodyFailed?: Error };

const REFUSED = new Set([400, 401, 403, 404, 409]);
const LOST_WINDOW_MS = 2000;
/** How long a stop waits for Porthole's relay to acknowledge `fpw-close`. */
const CLOSE_NOTICE_MS = 1000;
/** How long the answers that cancelling the upstream produced get to reach the relay. */
const LAST_REPLIES_MS = 1000;
/** An idle answer sooner than this after the poll went out was not held. */
const FAST_IDLE_MS = 20;

/**
 * What goes to the relay in place of a streamed reply that could not be delivered and cannot be sent
 * again: a short 502 under the same id, for a visitor that would otherwise wait for the relay's reply
 * timeout. Nothing is reported for it: the reply's own failure was.
 */
function lostNotice(sent: PreparedReply): PreparedReply {
  const headers = { 'content-type': 'text/plain; charset=utf-8' };
  const body = Buffer.from('The tunnel lost this answer on its way to the relay (the connection broke). Try again.\n');
  return { id: sent.id, status: 502, headers, body, bodyLength: body.length, headerJson: encodeHeaderJson(headers) };
}

/** A body held whole in memory, which can be sent again. */
function isWhole(body: Reply['body']): body is Buffer | Buffer[] {
  return Buffer.isBuffer(body) || Array.isArray(body);
}

/**
 * The dispatcher for relay connections: keep-alive, no Nagle, timeouts longer than a long-poll,
 * a header limit large enough for `fpw-header`, and `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` honoured.
 */
export function relayDispatcher(pollTimeoutMs = 180_000): Dispatcher {
  const opts = {
    keepAliveTimeout: 60_000,
    headersTimeout: pollTimeoutMs,
    bodyTimeout: pollTimeoutMs,
    maxHeaderSize: 256 * 1024,
    connect: { noDelay: true },
  };
  const env = process.env;
  const proxied = env['HTTPS_PROXY'] || env['https_proxy'] || env['HTTP_PROXY'] || env['http_proxy'];
  return proxied ? new EnvHttpProxyAgent(opts) : new Agent(opts);
}

/** Turns a relay URL template into the poll URL for a host. */
export function pollUrl(relayUrl: string, host: string): URL {
  return new URL(relayUrl.replaceAll('{host}', host));
}

/** The public URL a tunnel has on a relay that does not say: the poll URL's scheme and port, and the host. */
export function derivedPublicUrl(relayUrl: string, host: string): string {
  const u = pollUrl(relayUrl, host);
  return `${u.protocol}//${host}${u.port ? `:${u.port}` : ''}/`;
}

interface Slot {
  controller: AbortController;
  /** True while the slot's outstanding POST carries a reply (so it must not be aborted at stop). */
  carriesReply: boolean;
  /** True while a poll is outstanding. */
  polling: boolean;
  /** Idle answers in a row that came at once (the relay does not hold polls). */
  fastIdle: number;
}

/** What a slot's step returns when the slot is done. */
const DONE = Symbol('done');

class Stopped extends Error {}

/**
 * The worker side of the FPW long-poll protocol: N concurrent polls, each carrying one visitor
 * request at a time; the reply is the next poll.
 */
export class FpwTransport implements Transport {
  readonly host: string;
  readonly #opts: FpwTransportOptions;
  readonly #url: URL;
  #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #backoff: Backoff;
  readonly #now: () => number;
  readonly #workers: number;
  readonly #resendCap: number;
  /** Requests this worker took and whose replies the relay has not acknowledged yet (`fpw-working`). */
  readonly #working = new Set<string>();
  #state: PhaseState = { phase: 'stopped' };
  #running = false;
  #stopping = false;
  #retryAt = 0;
  #wake = new AbortController();
  #dispatcherClosed = false;
  /** True once the relay told its public URL (then polls stop asking for it). */
  #knowsUrl = false;
  #slots = new Set<Slot>();
  #loops: Promise<void>[] = [];
  #publicUrl: string;
  /** This run's name for Porthole's relay (`fpw-worker`), new at each start. */
  #workerId = '';

  constructor(opts: FpwTransportOptions) {
    this.#opts = opts;
    this.host = opts.host;
    this.#url = pollUrl(opts.relayUrl, opts.host);
    this.#ownsDispatcher = !opts.dispatcher;
    this.#dispatcher = opts.dispatcher ?? relayDispatcher(opts.pollTimeoutMs);
    this.#backoff = opts.backoff ?? new Backoff();
    this.#now = opts.now ?? Date.now;
    this.#workers = Math.max(1, opts.workers ?? 8);
    this.#resendCap = opts.resendCapBytes ?? 256 * 1024;
    this.#publicUrl = derivedPublicUrl(opts.relayUrl, opts.host);
  }

  get state(): PhaseState {
    return this.#state;
  }

  /** The URL visitors use: what the relay announced, else derived from the relay URL. */
  get publicUrl(): string {
    return this.#publicUrl;
  }

  /** Starts polling. Resolves at once; follow the phase through `onPhase`. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopping = false;
    // A stop aborted the old ones: a fresh wake-up signal, and a fresh agent when it is ours.
    this.#wake = new AbortController();
    this.#knowsUrl = false;
    this.#workerId = randomBytes(12).toString('hex');
    if (this.#ownsDispatcher && this.#dispatcherClosed) {
      this.#dispatcher = relayDispatcher(this.#opts.pollTimeoutMs);
      this.#dispatcherClosed = false;
    }
    this.#backoff.reset();
    this.#retryAt = 0;
    this.#setState({ phase: 'starting' });
    this.#loops = Array.from({ length: this.#workers }, () => this.#loop());
  }

  /**
   * Stops polling. Requests being answered get up to `graceMs` to finish; then every connection is
   * closed.
   */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.#running) return;
    this.#stopping = true;
    this.#wake.abort();
    // Porthole's relay is told first: it sends this worker no new visitor and answers its held polls,
    // so that none is cut while a request is on its way in it. Other relays only see polls end.
    if (this.#knowsUrl) await this.#sayLeaving();
    for (const slot of this.#slots) if (slot.polling && !slot.carriesReply) slot.controller.abort(new Stopped());
    const all = Promise.allSettled(this.#loops);
    await Promise.race([all, sleep(graceMs, undefined, { ref: false })]);
    // The grace is over: what is still waiting on the upstream is cut short, and the 502s that this
    // gives get a moment to reach the relay, so that no visitor waits for the relay's own timeout.
    this.#opts.handler.cancel?.();
    await Promise.race([all, sleep(LAST_REPLIES_MS, undefined, { ref: false })]);
    for (const slot of this.#slots) slot.controller.abort(new Stopped());
    await all;
    this.#running = false;
    await this.#closeDispatcher();
    if (this.#state.phase !== 'failed') this.#setState({ phase: 'stopped' });
  }

  /** Tells the relay this worker is stopping (`fpw-close` on an empty POST), waiting a moment for its answer. */
  async #sayLeaving(): Promise<void> {
    const signal = AbortSignal.timeout(CLOSE_NOTICE_MS);
    try {
      const res = await dispatchRequest(this.#dispatcher, {
        method: 'POST',
        origin: this.#url.origin,
        path: this.#url.pathname + this.#url.search,
        headers: this.#headers(null, true),
        body: null,
        signal,
      });
      await drain(res.body);
    } catch {
      // The relay is gone or slow: the polls end anyway.
    }
  }

  async #closeDispatcher(): Promise<void> {
    if (!this.#ownsDispatcher || this.#dispatcherClosed) return;
    this.#dispatcherClosed = true;
    await this.#dispatcher.close().catch(() => undefined);
  }

  #setState(state: PhaseState): void {
    this.#state = state;
    this.#opts.onPhase?.(state);
  }

  #online(publicUrl?: string): void {
    if (this.#stopping) return;
    if (publicUrl) {
      this.#publicUrl = publicUrl;
      this.#knowsUrl = true;
    }
    const now = this.#now();
    this.#backoff.healthy(now);
    if (this.#state.phase !== 'online' || (publicUrl && this.#state.publicUrl !== publicUrl)) {
      this.#setState({ phase: 'online', publicUrl: this.#publicUrl, since: now });
    }
  }

  #failure(message: string): void {
    if (this.#stopping || this.#state.phase === 'failed') return;
    const now = this.#now();
    if (this.#state.phase === 'reconnecting' && now < this.#retryAt) return;
    const delay = this.#backoff.fail(now);
    this.#retryAt = now + delay;
    this.#setState({
      phase: 'reconnecting',
      attempt: this.#backoff.attempt,
      nextRetryAt: this.#retryAt,
      lastError: message,
    });
  }

  #refused(status: number, message: string): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#setState({ phase: 'failed', reason: message || `the relay refused the claim (HTTP ${status})` });
    this.#wake.abort();
    for (const slot of this.#slots) if (!slot.carriesReply) slot.controller.abort(new Stopped());
    // Loops end by themselves; release the connections once they have.
    void Promise.allSettled(this.#loops).then(() => {
      this.#running = false;
      return this.#closeDispatcher();
    });
  }

  /** Waits (woken early by stop()). */
  async #pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.#wake.signal });
    } catch {
      // woken by stop()
    }
  }

  async #gate(): Promise<void> {
    const wait = this.#retryAt - this.#now();
    if (wait <= 0 || this.#stopping) return;
    try {
      await sleep(wait, undefined, { signal: this.#wake.signal });
    } catch {
      // woken by stop()
    }
  }

  #headers(reply: PreparedReply | null, final: boolean): Record<string, string> {
    const h: Record<string, string> = {
      [FPW.host]: this.host,
      [FPW.token]: this.#opts.token,
      'user-agent': FPW_USER_AGENT,
      'content-type': 'application/octet-stream',
      [FPW.worker]: this.#workerId,
    };
    if (this.#opts.rulesDigest) h[FPW.rules] = this.#opts.rulesDigest;
    // Porthole's relay then answers the first poll on a connection at once, with the public URL. Only
    // until it has: behind a proxy that opens a connection per request every poll would be "first".
    if (!this.#knowsUrl) h[FPW.features] = 'public-url';
    if (reply) {
      // Kept on the reply object so that a re-send carries the same id.
      const r = reply;
      h[FPW.id] = r.id;
      h[FPW.rid] = r.id;
      h[FPW.status] = String(r.status);
      h[FPW.header] = r.headerJson;
      if (r.bodyLength !== null) h['content-length'] = String(r.bodyLength);
    } else {
      h['content-length'] = '0';
    }
    // Porthole's relay answers a final reply at once instead of holding it as a poll.
    if (final) h[FPW.close] = '1';
    h[FPW.working] = [...this.#working].join(',');
    return h;
  }

  /**
   * One slot: polls, and answers what each poll brings, until the transport stops. Each outcome of a
   * POST (a poll answer, a relay status, a network error) has a method of its own, which says what
   * the slot sends next, or that it is done.
   */
  async #loop(): Promise<void> {
    const slot: Slot = { controller: new AbortController(), carriesReply: false, polling: false, fastIdle: 0 };
    this.#slots.add(slot);
    let reply: PreparedReply | null = null;
    try {
      while (!this.#stopping || reply) {
        // Re-sends wait out the back-off too: a relay that is down must never see a tight loop.
        await this.#gate();
        if (this.#stopping && !reply) break;
        const sentAt = this.#now();
        const outcome = await this.#post(slot, reply);
        const next: PreparedReply | null | typeof DONE =
          'error' in outcome
            ? this.#afterNetworkError(slot, reply, outcome.error)
            : outcome.res.statusCode === 200 || outcome.res.statusCode === 204
              ? await this.#afterAnswer(slot, reply, outcome.res, sentAt)
              : await this.#afterRelayStatus(reply, outcome.res);
        // The relay has this reply (its POST was answered), or it was given up: the id is done with,
        // unless the same reply (or the notice that it was lost) goes again.
        if (reply && (next === DONE || next === null || next.id !== reply.id)) this.#working.delete(reply.id);
        if (next === DONE) break;
        reply = next;
      }
    } finally {
      slot.polling = false;
      this.#slots.delete(slot);
    }
  }

  /** Sends one POST (a poll, carrying `reply` when there is one) and waits for the relay's answer. */
  async #post(slot: Slot, reply: PreparedReply | null): Promise<{ res: DispatchResponse } | { error: unknown }> {
    slot.carriesReply = reply !== null;
    slot.polling = true;
    let held: NodeJS.Timeout | undefined;
    // Counted from when the request is on the wire: a connection that never completes is not a poll
    // the relay holds.
    const onSent = (): void => {
      // Once online, every answer says so again: no timer a request (the benchmark's hot path).
      if (this.#state.phase !== 'online') held = setTimeout(() => this.#online(), this.#opts.heldAfterMs ?? 1500);
      if (reply && isWhole(reply.body)) this.#sent(reply, slot);
    };
    try {
      const res = await dispatchRequest(this.#dispatcher, {
        method: 'POST',
        origin: this.#url.origin,
        path: this.#url.pathname + this.#url.search,
        headers: this.#headers(reply, this.#stopping),
        body: reply ? (this.#bodyOf(reply, slot) as RequestBody) : null,
        signal: slot.controller.signal,
        onSent,
      });
      return { res };
    } catch (error) {
      return { error };
    } finally {
      clearTimeout(held);
      slot.polling = false;
    }
  }

  /** The POST failed on the way: the relay is down, the stop cut it, or the upstream's body broke. */
  #afterNetworkError(slot: Slot, sent: PreparedReply | null, err: unknown): PreparedReply | null | typeof DONE {
    let reply = sent;
    if (sent && !isWhole(sent.body)) {
      // A streamed reply cannot be re-sent. If the relay had some of it, it cut that visitor's
      // connection; if it had none (the link died first), the visitor still waits: a short 502
      // under the same id answers it now, and a relay that no longer knows the id drops it.
      sent.done?.(err as Error);
      reply = sent.bodyFailed ? null : lostNotice(sent);
    }
    if (err instanceof Stopped || (slot.controller.signal.aborted && this.#stopping)) {
      reply?.done?.(new Error('stopped before the reply was delivered'));
      return DONE;
    }
    // The upstream's answer broke off while it streamed to the relay; the relay cuts that visitor's
    // connection. Nothing is wrong with the relay: poll on.
    if (sent?.bodyFailed) return null;
    if (this.#stopping) {
      // No relay to take the reply while stopping: give it up rather than retry.
      reply?.done?.(err as Error);
      return DONE;
    }
    this.#failure(describeNetworkError(err, this.#url));
    return reply;
  }

  /** 200 or 204: idle (poll again), or a visitor request to answer (the next POST carries the reply). */
  async #afterAnswer(
    slot: Slot,
    sent: PreparedReply | null,
    res: DispatchResponse,
    sentAt: number,
  ): Promise<PreparedReply | null | typeof DONE> {
    const answer = parsePollAnswer((name) => firstValue(res.headers[name]));
    if (answer.kind === 'idle') {
      await drain(res.body);
      if (this.#stopping) return DONE;
      this.#online(answer.publicUrl);
      // A relay holds polls; one that answers idle at once, again and again (a wrong URL, a captive
      // portal, a proxy in the way) must not be polled in a tight loop.
      if (!sent && this.#now() - sentAt < FAST_IDLE_MS) {
        slot.fastIdle += 1;
        if (slot.fastIdle > 2) await this.#pause(Math.min(5000, 25 * 2 ** Math.min(slot.fastIdle, 8)));
      } else slot.fastIdle = 0;
      return null;
    }
    slot.fastIdle = 0;
    this.#online();
    if (answer.kind === 'malformed') {
      await drain(res.body);
      return this.#prepare(answer.id, this.#opts.handler.malformed(answer.id, answer.error));
    }
    this.#working.add(answer.request.id);
    const lengthHeader = firstValue(res.headers['content-length']);
    const length = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
    // Poll answers are never collected (collectUpTo 0), so a body here is a stream or none.
    const body = length === 0 || res.body === null || Buffer.isBuffer(res.body) ? null : res.body;
    if (body === null) await drain(res.body);
    let r: Reply;
    if (this.#stopping) {
      // It came after the stop began: a 503 at once, not a new upstream request. The body is read
      // off, so that the connection (and the reply on it) stays usable.
      if (body) await drain(body).catch(() => undefined);
      r = this.#opts.handler.stopping(answer.request);
    } else {
      try {
        r = await this.#opts.handler.request(answer.request, body, length);
      } catch (err) {
        r = this.#opts.handler.malformed(answer.request.id, (err as Error).message);
      }
    }
    if (body) {
      // An upstream may answer while it still reads the request (an echo streams one into the
      // other): what it left unread is dropped only once its answer is done.
      const finished = r.done;
      r = {
        ...r,
        done: (err) => {
          if (!body.readableEnded) body.destroy();
          finished?.(err);
        },
      };
    }
    return this.#prepare(answer.request.id, r);
  }

  /** Any other status: a refusal of the claim (final), or a relay that cannot serve now (back off). */
  async #afterRelayStatus(
    sent: PreparedReply | null,
    res: DispatchResponse,
  ): Promise<PreparedReply | null | typeof DONE> {
    const status = res.statusCode;
    const text = await bodyText(res.body);
    if (REFUSED.has(status)) {
      this.#refused(status, relayMessage(status, text));
      sent?.done?.(new Error(`relay refused the reply (HTTP ${status})`));
      return DONE;
    }
    if (status === 431 && sent) {
      // The relay could not take this reply's head: that one reply is dropped (its visitor was told),
      // and the tunnel goes on, with no back-off.
      sent.done?.(
        new Error(`the relay refused the reply's headers (HTTP 431)${text ? `: ${text.slice(0, 200)}` : ''}`),
      );
      return null;
    }
    // 5xx (Cloudflare's 502/520-524), 429 and anything unexpected: try again later, same reply.
    if (this.#stopping) {
      sent?.done?.(new Error(`relay answered HTTP ${status} while stopping`));
      return DONE;
    }
    let reply = sent;
    if (sent && !isWhole(sent.body)) {
      sent.done?.(new Error(`relay answered HTTP ${status}`));
      reply = lostNotice(sent);
    }
    this.#failure(`relay answered HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`);
    return reply;
  }

  /** Fixes the reply's id and header JSON, and buffers its body when it fits under the re-send cap. */
  async #prepare(id: string, reply: Reply): Promise<PreparedReply> {
    const report = reply.done;
    const lost = reply.lostAfter;
    let reported: 'no' | 'ok' | 'failed' = 'no';
    let okAt = 0;
    reply = {
      ...reply,
      done: (err) => {
        // Bytes handed to the socket can still be lost with it; an error soon after is about this
        // reply, a later one only about the poll the same POST became.
        if (reported === 'ok' && err && this.#now() - okAt < LOST_WINDOW_MS) {
          reported = 'failed';
          lost?.(err);
        }
        if (reported === 'no' && !err) okAt = this.#now();
        if (reported !== 'no') return;
        reported = err ? 'failed' : 'ok';
        report?.(err);
      },
    };
    let headerJson: string;
    try {
      headerJson = encodeHeaderJson(reply.headers);
    } catch (err) {
      reply = {
        status: 502,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: Buffer.from((err as Error).message),
        bodyLength: null,
        done: reply.done,
      };
      headerJson = encodeHeaderJson(reply.headers);
    }
    if (headerJson.length > MAX_REPLY_HEADER_BYTES) {
      // Over what the relay reads: this visitor gets a 502 now, and the tunnel goes on.
      reply = tooLargeReply(reply, headerJson.length);
      headerJson = encodeHeaderJson(reply.headers);
    }
    let { body, bodyLength } = reply;
    if (!isWhole(body) && (bodyLength === null || bodyLength <= this.#resendCap)) {
      const chunks: Buffer[] = [];
      let size = 0;
      const it = body[Symbol.asyncIterator]();
      let ended = false;
      try {
        while (size <= this.#resendCap) {
          const next = await it.next();
          if (next.done) {
            ended = true;
            break;
          }
          chunks.push(next.value);
          size += next.value.length;
        }
      } catch (err) {
        // The upstream broke before the head went out: the visitor gets a clear error instead.
        reply.done?.(err as Error);
        const msg = Buffer.from(`upstream response broke off: ${(err as Error).message}`);
        return {
          id,
          status: 502,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          body: msg,
          bodyLength: msg.length,
          headerJson: encodeHeaderJson({ 'content-type': 'text/plain; charset=utf-8' }),
        };
      }
      if (ended) {
        // Kept as chunks, not concatenated: a 1 MiB copy per reply showed in the worker's profile
        // as allocation and garbage collection.
        body = chunks.length === 1 ? chunks[0]! : chunks;
        bodyLength = size;
      } else {
        body = (async function* () {
          yield* chunks;
          for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
        })();
      }
    } else if (Buffer.isBuffer(body)) {
      bodyLength = body.length;
    }
    return { ...reply, id, headerJson, body, bodyLength };
  }

  /** Marks a reply as handed to the relay connection. */
  #sent(reply: Reply, slot: Slot): void {
    // Once the reply is out, the POST is only a poll again, which stop() may cut.
    slot.carriesReply = false;
    // Stopping: a relay that does not know `fpw-close` holds this POST; cut it once the last bytes
    // have had a moment to leave the socket.
    if (this.#stopping) setTimeout(() => slot.controller.abort(new Stopped()), 100).unref();
    reply.done?.();
  }

  /** The POST body of a reply. A streamed one reports `done` once its last chunk was taken. */
  #bodyOf(reply: PreparedReply, slot: Slot): Buffer | Buffer[] | AsyncIterable<Buffer> {
    const { body } = reply;
    // A whole body goes to undici as a Buffer, written in one corked write with the head (an
    // iterable costs a write per chunk); undici's onRequestSent reports it sent.
    if (isWhole(body)) return body;
    const done = (err?: Error): void => {
      if (err) reply.done?.(err);
      else this.#sent(reply, slot);
    };
    const mark = (err: Error): void => {
      reply.bodyFailed = err;
    };
    return (async function* () {
      try {
        yield* body;
      } catch (err) {
        // The upstream broke, not the relay: the loop must not take this for a relay failure.
        mark(err as Error);
        done?.(err as Error);
        throw err;
      }
      done?.();
    })();
  }
}

/** The relay's own words for a refusal, taken from its page when it sent HTML. */
function relayMessage(status: number, text: string): string {
  const plain = text
    .replace(/<(style|script|title)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return `the relay refused the claim (HTTP ${status})${plain ? `: ${plain.slice(0, 300)}` : ''}`;
}

/** A sentence about a failed relay connection. */
export function describeNetworkError(err: unknown, url: URL): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return `relay ${url.host} refused the connection (is it running?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `relay host ${url.hostname} does not resolve`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `connection to relay ${url.host} was closed`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `relay ${url.host} stopped answering`;
    default:
      return `relay ${url.host}: ${e.message ?? String(err)}${code ? ` (${code})` : ''}`;
  }
}
