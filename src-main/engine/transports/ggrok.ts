import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { GGROK_PATH, ggrokResponse, parseWireRequest, type GgrokRequest } from '../../protocol/ggrok.ts';
import type { HeaderMap, VisitorRequest } from '../../protocol/fpw-codec.ts';
import { Backoff } from '../backoff.ts';
import type { PhaseState } from '../shapes.ts';
import type { Reply, RequestHandler, Transport } from './transport.ts';

export interface GgrokTransportOptions {
  /** The ggrok server, `ws://host:port/` (its `/$$ggrok` path is added). */
  relayUrl: string;
  /** The host visitors use; with the relay URL's port, the Host this client registers for. */
  host: string;
  handler: RequestHandler;
  onPhase?: (state: PhaseState) => void;
  backoff?: Backoff;
  now?: () => number;
}

/**
 * A ggrok client: one WebSocket to an unchanged ggrok server, registered for the Host it dials with,
 * answering one request at a time (the server sends the next only after the answer), the whole body
 * in each answer. What it cannot carry, the server's protocol cannot either: request bodies that are
 * not UTF-8 arrive mangled by Go's JSON encoder.
 */
export class GgrokTransport implements Transport {
  readonly #opts: GgrokTransportOptions;
  readonly #url: URL;
  /** The Host this client registers for: the host with the server's port, as visitors send it. */
  readonly #registerAs: string;
  readonly #backoff: Backoff;
  readonly #now: () => number;
  #state: PhaseState = { phase: 'stopped' };
  #running = false;
  #stopping = false;
  #wake = new AbortController();
  #ws: WebSocket | null = null;
  #loop: Promise<void> | null = null;
  #busy: Promise<void> | null = null;

  constructor(opts: GgrokTransportOptions) {
    this.#opts = opts;
    const base = new URL(opts.relayUrl);
    this.#url = new URL(GGROK_PATH, base);
    // ggrok's server keys its clients by the upgrade's Host, port included.
    this.#registerAs = `${opts.host}${base.port ? `:${base.port}` : ''}`;
    this.#backoff = opts.backoff ?? new Backoff();
    this.#now = opts.now ?? Date.now;
  }

  get state(): PhaseState {
    return this.#state;
  }

  get publicUrl(): string {
    const scheme = this.#url.protocol === 'wss:' ? 'https' : 'http';
    return `${scheme}://${this.#registerAs}/`;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#stopping = false;
    this.#wake = new AbortController();
    this.#backoff.reset();
    this.#setState({ phase: 'starting' });
    this.#loop = this.#run();
  }

  async stop(graceMs = 5000): Promise<void> {
    if (!this.#running) return;
    this.#stopping = true;
    this.#wake.abort();
    if (this.#busy) await Promise.race([this.#busy, sleep(graceMs, undefined, { ref: false })]);
    this.#opts.handler.cancel?.();
    if (this.#busy) await Promise.race([this.#busy, sleep(1000, undefined, { ref: false })]);
    this.#ws?.close(1000);
    this.#ws?.terminate();
    await this.#loop;
    this.#running = false;
    if (this.#state.phase !== 'failed') this.#setState({ phase: 'stopped' });
  }

  #setState(state: PhaseState): void {
    this.#state = state;
    this.#opts.onPhase?.(state);
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      const message = await this.#connectOnce();
      if (this.#stopping) break;
      const now = this.#now();
      const delay = this.#backoff.fail(now);
      this.#setState({
        phase: 'reconnecting',
        attempt: this.#backoff.attempt,
        nextRetryAt: now + delay,
        lastError: message,
      });
      try {
        await sleep(delay, undefined, { signal: this.#wake.signal });
      } catch {
        // woken by stop()
      }
    }
  }

  #connectOnce(): Promise<string> {
    return new Promise((resolve) => {
      const ws = new WebSocket(this.#url, {
        headers: { host: this.#registerAs },
        perMessageDeflate: false,
        handshakeTimeout: 15_000,
      });
      this.#ws = ws;
      let settled = false;
      const settle = (message: string): void => {
        if (settled) return;
        settled = true;
        resolve(message);
      };
      ws.on('error', (err) => settle(`ggrok server ${this.#url.host}: ${err.message}`));
      ws.on('unexpected-response', (_req, res) => {
        res.resume();
        settle(`ggrok server ${this.#url.host} answered HTTP ${res.statusCode}`);
        ws.terminate();
      });
      ws.on('open', () => {
        this.#backoff.healthy(this.#now());
        this.#setState({ phase: 'online', publicUrl: this.publicUrl, since: this.#now() });
      });
      // One request at a time: the server sends the next once this one is answered.
      let queue = Promise.resolve();
      ws.on('message', (data: Buffer) => {
        queue = queue.then(() => {
          this.#busy = this.#answer(ws, data.toString('utf8'));
          return this.#busy;
        });
      });
      ws.once('close', (code) => settle(`connection to ggrok server ${this.#url.host} closed (${code})`));
    });
  }

  async #answer(ws: WebSocket, text: string): Promise<void> {
    let reply: Reply;
    let message: GgrokRequest;
    try {
      message = JSON.parse(text) as GgrokRequest;
      if (typeof message.Req !== 'string') throw new Error('no Req in the message');
    } catch (err) {
      reply = this.#opts.handler.malformed('ggrok', (err as Error).message);
      return this.#send(ws, reply);
    }
    let req: VisitorRequest;
    let body: Buffer;
    try {
      const parsed = parseWireRequest(Buffer.from(message.Req, 'utf8'));
      const url = typeof message.URL === 'string' && message.URL.startsWith('/') ? message.URL : parsed.target;
      req = { id: 'ggrok', method: parsed.method, path: url, ip: firstIp(parsed.headers), headers: parsed.headers };
      body = parsed.body;
    } catch (err) {
      return this.#send(ws, this.#opts.handler.malformed('ggrok', (err as Error).message));
    }
    if (this.#stopping) return this.#send(ws, this.#opts.handler.stopping(req));
    try {
      reply = await this.#opts.handler.request(req, body.length ? Readable.from([body]) : null, body.length || null);
    } catch (err) {
      reply = this.#opts.handler.malformed('ggrok', (err as Error).message);
    }
    return this.#send(ws, reply);
  }

  /** The whole answer in one message (ggrok's format: base64 body). */
  async #send(ws: WebSocket, reply: Reply): Promise<void> {
    const chunks: Buffer[] = [];
    try {
      const b = reply.body;
      if (Buffer.isBuffer(b)) chunks.push(b);
      else if (Array.isArray(b)) chunks.push(...b);
      else for await (const c of b) chunks.push(c);
    } catch (err) {
      reply.done?.(err as Error);
      // The answer broke off: ggrok has no way to say so but an error answer.
      const page = Buffer.from('The local service broke off its answer.');
      ws.send(JSON.stringify(ggrokResponse(502, undefined, { 'content-type': 'text/plain; charset=utf-8' }, page)));
      return;
    }
    const headers: HeaderMap = { ...reply.headers };
    ws.send(JSON.stringify(ggrokResponse(reply.status, reply.reason, headers, Buffer.concat(chunks))), (err) =>
      reply.done?.(err ?? undefined),
    );
  }
}

/** The visitor's address, if the server passed one on. */
function firstIp(headers: HeaderMap): string {
  const xff = headers['x-forwarded-for'];
  const v = Array.isArray(xff) ? xff[0] : xff;
  return v?.split(',')[0]?.trim() ?? '';
}
