import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { headerListFromMap, stripHopByHop, type HeaderMap } from '../protocol/fpw-codec.ts';
import { GGROK_PATH, isUtf8, wireRequest, type GgrokResponse } from '../protocol/ggrok.ts';
import { normaliseHost } from '../protocol/host-words.ts';
import { Admission, isRefusal } from './admission.ts';
import { formatBytes, peerAddress, rawPage } from './answers.ts';
import type { RelayContext } from './context.ts';
import { release, type HostEntry, type Visitor, type WorkerSession } from './state.ts';
import type { VisitorIntake, WorkerPool } from './VisitorIntake.ts';

/** A ggrok client's connection: one request at a time. */
interface GgrokSession extends WorkerSession {
  ws: WebSocket;
  /** The visitor being answered now, if any. */
  current: Visitor | null;
  /** Broken (a reply missed its deadline): never used again, a late answer would reach the next visitor. */
  dead: boolean;
}

/**
 * Unchanged ggrok clients (`porthole relay --ggrok`): a client opens a WebSocket to `/$$ggrok` and
 * serves the Host it dialled (the port dropped), if no token holds that host and it is under the
 * relay's domain; its visitors are queued and sent one at a time, each request in ggrok's JSON.
 */
export class GgrokEndpoint implements WorkerPool {
  readonly #ctx: RelayContext;
  readonly #admission: Admission;
  #intake!: VisitorIntake;
  readonly #wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  readonly #sessions = new Map<HostEntry, GgrokSession[]>();

  constructor(ctx: RelayContext, admission: Admission) {
    this.#ctx = ctx;
    this.#admission = admission;
  }

  attach(intake: VisitorIntake): void {
    this.#intake = intake;
  }

  isGgrok(req: IncomingMessage): boolean {
    return (req.url ?? '').split('?')[0] === GGROK_PATH && /websocket/i.test(String(req.headers.upgrade ?? ''));
  }

  hasFree(entry: HostEntry): boolean {
    return (this.#sessions.get(entry) ?? []).some((s) => !s.current && !s.dead);
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    // ggrok registers the Host it dialled; visitors come with the port of the relay, which is dropped.
    const host = normaliseHost(req.headers.host);
    const checked = this.#admission.check(host, '');
    // A ggrok client has no token: the token list does not apply, the domain does.
    if (isRefusal(checked) && checked.message !== 'This token may not claim hosts on this relay.') {
      return rawPage(socket, checked.status, checked.title, checked.message);
    }
    const existing = this.#ctx.hosts.get(host);
    if (existing && !existing.token.startsWith('ggrok:')) {
      return rawPage(
        socket,
        403,
        'Forbidden',
        `${host} is held with a token: a ggrok client may only register a host that no token holds.`,
      );
    }
    const token = existing?.token ?? `ggrok:${randomBytes(16).toString('hex')}`;
    const admit = (entry: HostEntry): void => {
      const worker = this.#admission.join(entry, {
        rawHost: host,
        token,
        workerId: '',
        rules: '',
        socket: req.socket as Socket,
      });
      if (isRefusal(worker)) return rawPage(socket, worker.status, worker.title, worker.message);
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        const session: GgrokSession = { kind: 'ggrok', worker, streams: 0, ws, current: null, dead: false };
        const list = this.#sessions.get(entry) ?? [];
        list.push(session);
        this.#sessions.set(entry, list);
        entry.sessions.push(session);
        this.#ctx.log(`${new Date().toISOString()} ggrok client for ${entry.host} from ${peerAddress(req.socket)}`);
        ws.on('message', (data: Buffer, isBinary: boolean) =>
          this.#onAnswer(entry, session, isBinary ? data : data.toString('utf8')),
        );
        ws.once('close', () => {
          session.dead = true;
          const all = this.#sessions.get(entry) ?? [];
          all.splice(all.indexOf(session), 1);
          const i = entry.sessions.indexOf(session);
          if (i !== -1) entry.sessions.splice(i, 1);
          worker.lastSeen = this.#ctx.opts.now();
          if (session.current)
            this.#intake.fail(
              entry,
              session.current,
              502,
              'Bad Gateway',
              `The ggrok client of ${entry.host} went away before it answered.`,
            );
        });
        this.#next(entry);
      });
    };
    if (existing) return admit(existing);
    void this.#admission.claim(host, token, req.socket as Socket).then((claimed) => {
      if (isRefusal(claimed)) return rawPage(socket, claimed.status, claimed.title, claimed.message);
      admit(claimed);
    });
  }

  /** Sends a visitor to a free ggrok client: the whole request, as ggrok's JSON message. */
  dispatch(entry: HostEntry, v: Visitor): void {
    const session = (this.#sessions.get(entry) ?? []).find((s) => !s.current && !s.dead)!;
    if (v.timer) clearTimeout(v.timer);
    const q = entry.queue.indexOf(v);
    if (q !== -1) entry.queue.splice(q, 1);
    session.current = v;
    v.worker = session.worker;
    const { req } = v;
    const max = this.#ctx.opts.maxBodyBytes;
    const chunks: Buffer[] = [...(v.prefix?.chunks ?? [])];
    let size = v.prefix?.size ?? 0;
    const send = (): void => {
      if (v.done) return this.#free(entry, session);
      const body = Buffer.concat(chunks);
      const headers: HeaderMap = Object.create(null) as HeaderMap;
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i]!.toLowerCase();
        if (name.startsWith('fpw-')) continue;
        const value = req.rawHeaders[i + 1]!;
        const existing = headers[name];
        if (existing === undefined) headers[name] = value;
        else if (Array.isArray(existing)) existing.push(value);
        else headers[name] = [existing, value];
      }
      headers['x-forwarded-for'] = v.chain;
      const wire = wireRequest(
        req.method ?? 'GET',
        req.url ?? '/',
        String(req.headers.host ?? entry.host),
        stripHopByHop(headers),
        body,
      );
      if (!isUtf8(wire)) {
        this.#free(entry, session);
        return this.#intake.fail(
          entry,
          v,
          501,
          'Not Implemented',
          'ggrok cannot carry this request: ggrok sends each request as JSON text, and this one is not UTF-8 text (a binary upload?), which its JSON would mangle.',
        );
      }
      v.timer = setTimeout(() => {
        // ggrok's client sends nothing when its own request fails: this connection is never used
        // again, since a late answer would reach the next visitor.
        session.dead = true;
        session.ws.terminate();
        this.#intake.fail(
          entry,
          v,
          504,
          'Gateway Timeout',
          `The ggrok client of ${entry.host} did not answer within ${Math.round(this.#ctx.opts.replyTimeoutMs / 1000)} s.`,
        );
      }, this.#ctx.opts.replyTimeoutMs);
      session.ws.send(JSON.stringify({ Req: wire.toString('utf8'), URL: req.url ?? '/' }));
    };
    if (v.prefix?.complete || (req.complete && !req.readableLength)) return send();
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        this.#free(entry, session);
        this.#intake.fail(entry, v, 413, 'Content Too Large', `The request body exceeds ${formatBytes(max)}.`);
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', send);
    req.resume();
  }

  #onAnswer(entry: HostEntry, session: GgrokSession, data: Buffer | string): void {
    const v = session.current;
    if (!v || session.dead) return;
    let res: GgrokResponse;
    try {
      res = JSON.parse(typeof data === 'string' ? data : data.toString('utf8')) as GgrokResponse;
    } catch {
      this.#free(entry, session);
      return this.#intake.fail(
        entry,
        v,
        502,
        'Bad Gateway',
        `The ggrok client of ${entry.host} sent an answer that is not JSON.`,
      );
    }
    this.#free(entry, session);
    if (!release(entry, v) || v.res.destroyed) return;
    const body = res.Body ? Buffer.from(res.Body, 'base64') : Buffer.alloc(0);
    const headers: HeaderMap = Object.create(null) as HeaderMap;
    for (const [name, values] of Object.entries(res.Header ?? {}))
      headers[name.toLowerCase()] = values.length === 1 ? values[0]! : values;
    const clean = stripHopByHop(headers, { dropContentLength: true });
    try {
      for (const [name, value] of headerListFromMap(clean)) v.res.appendHeader(name, value);
      v.res.statusCode = res.StatusCode >= 200 && res.StatusCode <= 599 ? res.StatusCode : 502;
      v.res.setHeader('content-length', body.length);
    } catch {
      for (const name of v.res.getHeaderNames()) v.res.removeHeader(name);
      v.res.statusCode = 502;
      v.res.end();
      return;
    }
    v.bytesOut = body.length;
    v.res.end(v.req.method === 'HEAD' ? undefined : body);
  }

  #free(entry: HostEntry, session: GgrokSession): void {
    session.current = null;
    if (!session.dead) this.#next(entry);
  }

  /** Hands the next waiting visitor to a free client. */
  #next(entry: HostEntry): void {
    while (entry.queue.length && this.hasFree(entry)) this.dispatch(entry, entry.queue[0]!);
  }

  closeAll(): void {
    for (const list of this.#sessions.values()) for (const s of list) s.ws.close(1001);
  }
}
