import net, { type Socket } from 'node:net';
import { Readable } from 'node:stream';
import {
  FcgiProtocolStatus,
  FcgiRecordParser,
  FcgiType,
  encodeBeginRequest,
  encodeParams,
  encodeStream,
  encodeStreamEnd,
  type ParamValue,
} from './fastcgi-records.ts';

/** Where PHP-FPM listens. */
export type FastCgiAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/**
 * Reads an address as PHP-FPM's `listen` accepts it: `host:port`, `[v6]:port`, a bare port (on
 * 127.0.0.1), or a unix socket as an absolute path or `unix:/path`.
 * @throws Error when the text is none of these.
 */
export function parseFastCgiAddress(text: string): FastCgiAddress {
  const t = text.trim();
  if (t.startsWith('unix:')) {
    const path = t.slice(5).replace(/^\/\/(?=\/)/, '');
    if (!path.startsWith('/')) throw new Error(`FastCGI unix socket must be an absolute path, not ${text}`);
    return { kind: 'unix', path };
  }
  if (t.startsWith('/')) return { kind: 'unix', path: t };
  const port = (p: string): number => {
    const n = Number(p);
    if (!/^\d+$/.test(p) || n < 1 || n > 65535) throw new Error(`invalid FastCGI port in ${text}`);
    return n;
  };
  if (/^\d+$/.test(t)) return { kind: 'tcp', host: '127.0.0.1', port: port(t) };
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(t);
  if (v6) return { kind: 'tcp', host: v6[1]!, port: port(v6[2]!) };
  const hp = /^([^:/\s]+):(\d+)$/.exec(t);
  if (hp) return { kind: 'tcp', host: hp[1]!, port: port(hp[2]!) };
  throw new Error(`FastCGI address must be host:port, a port, or a unix socket path, not "${text}"`);
}

/** An address as people write it: `127.0.0.1:9000`, `unix:/run/php/php-fpm.sock`. */
export function formatFastCgiAddress(a: FastCgiAddress): string {
  if (a.kind === 'unix') return `unix:${a.path}`;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** A failure of the FastCGI exchange; `code` tells the cause for mapping to a visitor-facing status. */
export class FastCgiError extends Error {
  override name = 'FastCgiError';
  /**
   * `closed`: the connection ended mid-request; `rejected`: END_REQUEST with a protocol status other
   * than REQUEST_COMPLETE; `protocol`: bytes that are not FastCGI; `stdin`: the request body failed.
   */
  readonly code: 'closed' | 'rejected' | 'protocol' | 'stdin';
  /** The END_REQUEST protocol status, for `rejected`. */
  readonly protocolStatus: number | undefined;

  constructor(code: FastCgiError['code'], message: string, opts: { cause?: unknown; protocolStatus?: number } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.code = code;
    this.protocolStatus = opts.protocolStatus;
  }
}

export interface FastCgiClientOptions {
  address: FastCgiAddress;
  /** Connections open at once (each one holds a PHP-FPM worker while open). @default 16 */
  maxConnections?: number;
  /**
   * An idle connection is closed after this long. Short, because an idle kept connection still
   * holds a PHP-FPM worker that other clients of the pool (nginx, another tunnel) cannot use.
   * @default 2000
   */
  idleTimeoutMs?: number;
  /** STDERR bytes kept per request; the rest is counted, not kept. @default 65536 */
  stderrCapBytes?: number;
  /** Time allowed to connect. @default 10000 */
  connectTimeoutMs?: number;
  /**
   * Request bodies up to this size are kept until the first answer, so that a request sent on a
   * kept connection that PHP-FPM closed at the same moment can be sent again on a new one.
   * @default 1 MiB
   */
  replayCapBytes?: number;
}

/** One request to the application. */
export interface FastCgiRequest {
  /** CGI variables, in order. */
  params: Iterable<readonly [ParamValue, ParamValue]>;
  /** The request body, streamed as STDIN with back-pressure; null for none. */
  stdin: AsyncIterable<Buffer> | Buffer | null;
  /** Aborts the request wherever it is (queued, sending, receiving); the connection is dropped. */
  signal?: AbortSignal;
}

/** The application's answer, streamed. */
export interface FastCgiResponse {
  /**
   * STDOUT as it arrives (a Readable: back-pressure reaches the socket). Ends at END_REQUEST; errors
   * with a {@link FastCgiError} (or the signal's reason) when the exchange fails. Destroying it
   * before the end drops the connection.
   */
  stdout: Readable;
  /** STDERR received so far, UTF-8, capped (a note says how much was left out). */
  readonly stderr: string;
  /** Resolves with the application's exit status once END_REQUEST arrived. */
  readonly done: Promise<{ appStatus: number }>;
}

/** Pool counters, for tests and diagnostics. */
export interface FastCgiPoolStats {
  /** Connections opened since the client was made. */
  created: number;
  open: number;
  idle: number;
  /** Requests waiting for a connection. */
  queued: number;
  /** Requests sent again because their kept connection closed before any answer. */
  resent: number;
}

// PHP-FPM does not multiplex, so every request on a connection can use the same id.
const REQUEST_ID = 1;

/** A fresh connection unanswered for this long is taken to be waiting for a PHP-FPM worker. */
const BACKLOG_SUSPECT_MS = 250;

class Connection {
  readonly socket: Socket;
  readonly parser = new FcgiRecordParser();
  /** Served at least one request: PHP-FPM may have closed it at the end of that one. */
  reused = false;
  /**
   * Since when this fresh connection has waited for its first answer (null once answered): until
   * then it may sit in PHP-FPM's listen backlog, waiting for a worker to accept it.
   */
  awaitingSince: number | null = null;
  exchange: Exchange | null = null;
  closed = false;
  idleTimer: NodeJS.Timeout | null = null;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  /** Writes and resolves once the socket can take more, or once it is closed (the close is reported apart). */
  write(buffers: Buffer[]): Promise<void> | undefined {
    if (this.closed) return undefined;
    let ok = true;
    for (const b of buffers) ok = this.socket.write(b);
    if (ok) return undefined;
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }
}

interface Waiter {
  resolve: (c: Connection) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

/**
 * A FastCGI client for PHP-FPM: one request at a time per connection (PHP-FPM's FCGI_MPXS_CONNS is
 * 0), connections kept open with FCGI_KEEP_CONN in a bounded pool, queued requests served in order.
 */
export class FastCgiClient {
  readonly address: FastCgiAddress;
  readonly #max: number;
  readonly #idleTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #stderrCap: number;
  readonly #replayCap: number;
  readonly #all = new Set<Connection>();
  #idle: Connection[] = [];
  #waiters: Waiter[] = [];
  #created = 0;
  #resent = 0;
  #closed = false;
  #backlogTimer: NodeJS.Timeout | null = null;

  constructor(opts: FastCgiClientOptions) {
    this.address = opts.address;
    this.#max = Math.max(1, opts.maxConnections ?? 16);
    this.#idleTimeoutMs = opts.idleTimeoutMs ?? 2000;
    this.#connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.#stderrCap = opts.stderrCapBytes ?? 64 * 1024;
    this.#replayCap = opts.replayCapBytes ?? 1024 * 1024;
  }

  stats(): FastCgiPoolStats {
    return {
      created: this.#created,
      open: this.#all.size,
      idle: this.#idle.length,
      queued: this.#waiters.length,
      resent: this.#resent,
    };
  }

  /**
   * Sends a request once a connection is free and resolves when it is on its way; the answer
   * streams in `stdout`.
   * @throws the connect error (`ECONNREFUSED`, `ENOENT`...) or the signal's reason.
   */
  async request(req: FastCgiRequest): Promise<FastCgiResponse> {
    req.signal?.throwIfAborted();
    const conn = await this.#acquire(req.signal);
    if (req.signal?.aborted) {
      this.release(conn, true);
      throw req.signal.reason;
    }
    const exchange = new Exchange(this, req, this.#stderrCap, this.#replayCap);
    exchange.start(conn);
    return exchange.response;
  }

  /** Closes every connection; requests in progress fail. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#backlogTimer) clearTimeout(this.#backlogTimer);
    for (const w of this.#waiters.splice(0)) {
      w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(new Error('the FastCGI client is closed'));
    }
    const closing = [...this.#all].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.socket.destroyed) resolve();
          else c.socket.once('close', () => resolve()).destroy();
        }),
    );
    await Promise.all(closing);
  }

  /** A new connection outside the queue, for re-sending a request whose kept connection had closed. */
  async connectFresh(): Promise<Connection> {
    this.#resent += 1;
    // The failed connection's slot is handed straight to the re-send; the count stays within bounds.
    return this.#connect();
  }

  #acquire(signal: AbortSignal | undefined): Promise<Connection> {
    if (this.#closed) return Promise.reject(new Error('the FastCGI client is closed'));
    while (this.#idle.length) {
      const c = this.#idle.pop()!;
      if (c.closed) continue;
      if (c.idleTimer) clearTimeout(c.idleTimer);
      c.idleTimer = null;
      return Promise.resolve(c);
    }
    if (this.#all.size < this.#max) return this.#connectFor(signal);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(signal!.reason);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Connects, giving up early on abort (the connection, once made, goes to the pool). */
  #connectFor(signal: AbortSignal | undefined): Promise<Connection> {
    const connecting = this.#connect();
    if (!signal) return connecting;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        reject(signal.reason);
        connecting.then(
          (c) => this.release(c, true),
          () => undefined,
        );
      };
      signal.addEventListener('abort', onAbort, { once: true });
      connecting.then(
        (c) => {
          signal.removeEventListener('abort', onAbort);
          if (!signal.aborted) resolve(c);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  #connect(): Promise<Connection> {
    const a = this.address;
    const socket = a.kind === 'unix' ? net.connect(a.path) : net.connect({ host: a.host, port: a.port });
    socket.setNoDelay(true);
    const conn = new Connection(socket);
    conn.awaitingSince = performance.now();
    this.#all.add(conn);
    this.#created += 1;
    this.#watchBacklog();
    socket.on('data', (chunk: Buffer) => conn.exchange?.onData(conn, chunk));
    // Errors are reported by 'close', which always follows; the error gives its message.
    let lastError: Error | undefined;
    socket.on('error', (err) => (lastError = err));
    const connectTimer = setTimeout(() => {
      socket.destroy(Object.assign(new Error('connecting timed out'), { code: 'ETIMEDOUT' }));
    }, this.#connectTimeoutMs);
    socket.on('close', () => {
      conn.closed = true;
      if (conn.idleTimer) clearTimeout(conn.idleTimer);
      this.#all.delete(conn);
      this.#idle = this.#idle.filter((c) => c !== conn);
      conn.exchange?.onClose(conn, lastError);
      conn.exchange = null;
      this.#serveWaiters();
    });
    return new Promise((resolve, reject) => {
      const onConnect = (): void => {
        clearTimeout(connectTimer);
        socket.off('close', onFailedConnect);
        resolve(conn);
      };
      const onFailedConnect = (): void => {
        clearTimeout(connectTimer);
        socket.off('connect', onConnect);
        reject(lastError ?? new Error('connection closed while connecting'));
      };
      socket.once('connect', onConnect);
      socket.once('close', onFailedConnect);
    });
  }

  /** Called by an exchange when its request is over; `reusable` when the connection is in a clean state. */
  release(conn: Connection, reusable: boolean): void {
    conn.exchange = null;
    conn.reused = true;
    conn.awaitingSince = null;
    if (!reusable || this.#closed) {
      conn.socket.destroy();
      return;
    }
    // Deferred one turn, so that a close PHP-FPM sent right after END_REQUEST (a worker recycled
    // by pm.max_requests) is seen before the connection is handed to the next request.
    setImmediate(() => {
      if (conn.closed || conn.socket.readableEnded || this.#closed) {
        conn.socket.destroy();
        return;
      }
      // A connection of ours stuck in the backlog needs the worker this one holds.
      if (this.#stuckInBacklog() > 0) {
        conn.socket.destroy();
        return;
      }
      const w = this.#waiters.shift();
      if (w) {
        w.signal?.removeEventListener('abort', w.onAbort);
        w.resolve(conn);
        return;
      }
      this.#idle.push(conn);
      conn.idleTimer = setTimeout(() => conn.socket.destroy(), this.#idleTimeoutMs);
      conn.idleTimer.unref();
      this.#watchBacklog();
    });
  }

  /**
   * PHP-FPM binds a worker to each kept connection until that connection closes, so while one of
   * our connections waits in its listen backlog, an idle one of ours may hold the very worker that
   * could accept it: the hang nginx's fastcgi_keep_conn has with more keep-alive connections than
   * pm.max_children. Fresh connections unanswered for a while are counted here, and as long as
   * there are some, idle connections are closed (one per stuck connection) instead of kept.
   */
  #stuckInBacklog(): number {
    const now = performance.now();
    let stuck = 0;
    for (const c of this.#all) if (c.awaitingSince !== null && now - c.awaitingSince > BACKLOG_SUSPECT_MS) stuck += 1;
    return stuck;
  }

  /** Re-checks for stuck connections while there are both fresh and idle ones. */
  #watchBacklog(): void {
    if (this.#backlogTimer || !this.#idle.length || ![...this.#all].some((c) => c.awaitingSince !== null)) return;
    this.#backlogTimer = setTimeout(() => {
      this.#backlogTimer = null;
      for (let n = this.#stuckInBacklog(); n > 0 && this.#idle.length; n--) this.#idle.shift()!.socket.destroy();
      this.#watchBacklog();
    }, BACKLOG_SUSPECT_MS);
    this.#backlogTimer.unref();
  }

  #serveWaiters(): void {
    while (this.#waiters.length && this.#all.size < this.#max && !this.#closed) {
      const w = this.#waiters.shift()!;
      w.signal?.removeEventListener('abort', w.onAbort);
      this.#connect().then(w.resolve, w.reject);
    }
  }
}

/** One request's journey over one connection (two, when it is re-sent). */
class Exchange {
  readonly response: FastCgiResponse;
  readonly #client: FastCgiClient;
  readonly #req: FastCgiRequest;
  readonly #stdout: Readable;
  readonly #stderr: Buffer[] = [];
  #stderrKept = 0;
  #stderrDropped = 0;
  readonly #stderrCap: number;
  #conn: Connection | null = null;
  /** Resolves when a re-send has a new connection. */
  #reconnected: Promise<void> | null = null;
  /** STDIN chunks sent so far, while a re-send is still possible. */
  #retained: Buffer[] | null = [];
  #retainedBytes = 0;
  readonly #replayCap: number;
  #stdinEnded = false;
  #stdinDone = false;
  #answered = false;
  #settled = false;
  #resolveDone!: (v: { appStatus: number }) => void;
  #rejectDone!: (err: unknown) => void;
  readonly #params: Buffer[];
  readonly #onAbort: () => void;

  constructor(client: FastCgiClient, req: FastCgiRequest, stderrCap: number, replayCap: number) {
    this.#client = client;
    this.#req = req;
    this.#stderrCap = stderrCap;
    this.#replayCap = replayCap;
    this.#params = [encodeBeginRequest(REQUEST_ID, true), ...encodeParams(REQUEST_ID, req.params)];
    this.#stdout = new Readable({
      highWaterMark: 64 * 1024,
      read: () => {
        const c = this.#conn;
        if (c && !c.closed) c.socket.resume();
      },
      destroy: (err, cb) => {
        // The reader gave up before END_REQUEST: the rest of the answer would land on the next request.
        if (!this.#settled) this.#fail(err ?? new Error('the response was abandoned'), { quiet: true });
        cb(err);
      },
    });
    const done = new Promise<{ appStatus: number }>((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    // Callers that only read stdout learn of a failure there; this keeps the rejection from being unhandled.
    done.catch(() => undefined);
    const stderrText = (): string => this.#stderrText();
    this.response = {
      stdout: this.#stdout,
      get stderr() {
        return stderrText();
      },
      done,
    };
    this.#onAbort = () => this.#fail(req.signal!.reason);
    req.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  start(conn: Connection): void {
    this.#attach(conn, []);
    void this.#pump();
  }

  #attach(conn: Connection, replay: Buffer[]): void {
    conn.exchange = this;
    this.#conn = conn;
    void conn.write([...this.#params, ...replay]);
  }

  async #pump(): Promise<void> {
    const stdin = this.#req.stdin;
    try {
      if (stdin !== null) {
        const source: AsyncIterable<Buffer> | Buffer[] = Buffer.isBuffer(stdin) ? [stdin] : stdin;
        for await (const chunk of source) {
          if (this.#settled) return;
          if (!chunk.length) continue;
          this.#retain(chunk);
          await this.#send(encodeStream(FcgiType.Stdin, REQUEST_ID, chunk));
        }
      }
      if (this.#settled) return;
      this.#stdinEnded = true;
      const sent = this.#send([encodeStreamEnd(FcgiType.Stdin, REQUEST_ID)]);
      // Queued is enough: the socket writes in order, so the connection is clean after END_REQUEST
      // even if that arrives before 'drain' does. (With no connection, the re-send sets it.)
      if (this.#conn) this.#stdinDone = true;
      await sent;
    } catch (err) {
      this.#fail(
        new FastCgiError('stdin', `the request body could not be read: ${(err as Error).message}`, { cause: err }),
      );
    }
  }

  #retain(chunk: Buffer): void {
    if (!this.#retained) return;
    this.#retainedBytes += chunk.length;
    if (this.#retainedBytes > this.#replayCap) this.#retained = null;
    else this.#retained.push(chunk);
  }

  async #send(records: Buffer[]): Promise<void> {
    // Read the connection in the same turn as #retain: a re-send replays what was retained when the
    // new connection arrives, so data retained while there is none is never written twice.
    const conn = this.#conn;
    if (conn) await conn.write(records);
    else if (this.#reconnected) await this.#reconnected;
  }

  onData(conn: Connection, chunk: Buffer): void {
    if (conn !== this.#conn || this.#settled) return;
    let records;
    try {
      records = conn.parser.push(chunk);
    } catch (err) {
      this.#fail(new FastCgiError('protocol', `PHP-FPM sent data that is not FastCGI: ${(err as Error).message}`));
      return;
    }
    for (const r of records) {
      if (r.requestId !== REQUEST_ID) continue;
      if (!this.#answered) {
        this.#answered = true;
        conn.awaitingSince = null;
        this.#retained = null;
      }
      if (r.type === FcgiType.Stdout) {
        if (r.data.length && !this.#stdout.push(r.data)) conn.socket.pause();
      } else if (r.type === FcgiType.Stderr) {
        this.#keepStderr(r.data);
      } else {
        this.#end(conn, r.appStatus, r.protocolStatus);
        return;
      }
    }
  }

  #end(conn: Connection, appStatus: number, protocolStatus: number): void {
    if (protocolStatus !== FcgiProtocolStatus.RequestComplete) {
      const why =
        protocolStatus === FcgiProtocolStatus.Overloaded
          ? 'it is overloaded'
          : protocolStatus === FcgiProtocolStatus.CantMultiplex
            ? 'it cannot take another request on this connection'
            : protocolStatus === FcgiProtocolStatus.UnknownRole
              ? 'it does not play the responder role'
              : `protocol status ${protocolStatus}`;
      this.#fail(new FastCgiError('rejected', `PHP-FPM refused the request: ${why}`, { protocolStatus }));
      return;
    }
    this.#settled = true;
    this.#cleanup();
    // A request answered before its body was all sent leaves STDIN records behind on the connection.
    this.#client.release(conn, this.#stdinDone);
    this.#conn = null;
    conn.socket.resume();
    this.#stdout.push(null);
    this.#resolveDone({ appStatus });
  }

  onClose(conn: Connection, err: Error | undefined): void {
    if (conn !== this.#conn || this.#settled) return;
    if (!this.#answered && conn.reused && this.#retained) {
      void this.#resend();
      return;
    }
    const detail = err ? `: ${err.message}` : '';
    this.#fail(
      new FastCgiError(
        'closed',
        this.#answered
          ? `PHP-FPM closed the connection before the response was complete${detail}`
          : `PHP-FPM closed the connection without answering${detail}`,
        { cause: err },
      ),
    );
  }

  /** The kept connection closed before any answer: PHP-FPM never ran the request, so it goes again. */
  async #resend(): Promise<void> {
    this.#conn = null;
    let ready!: () => void;
    this.#reconnected = new Promise((r) => (ready = r));
    try {
      const conn = await this.#client.connectFresh();
      if (this.#settled) {
        this.#client.release(conn, false);
        return;
      }
      const replay = (this.#retained ?? []).flatMap((c) => encodeStream(FcgiType.Stdin, REQUEST_ID, c));
      if (this.#stdinEnded) replay.push(encodeStreamEnd(FcgiType.Stdin, REQUEST_ID));
      this.#attach(conn, replay);
      if (this.#stdinEnded) this.#stdinDone = true;
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#reconnected = null;
      ready();
    }
  }

  #keepStderr(data: Buffer): void {
    const room = this.#stderrCap - this.#stderrKept;
    if (room > 0) {
      const kept = data.subarray(0, room);
      // A copy: the piece is a view of a socket chunk, and only a small part of it may be kept.
      this.#stderr.push(Buffer.from(kept));
      this.#stderrKept += kept.length;
    }
    this.#stderrDropped += Math.max(0, data.length - Math.max(0, room));
  }

  #stderrText(): string {
    const text = Buffer.concat(this.#stderr).toString('utf8');
    return this.#stderrDropped ? `${text}\n[${this.#stderrDropped} more bytes of stderr not kept]` : text;
  }

  #fail(err: unknown, opts: { quiet?: boolean } = {}): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#cleanup();
    const conn = this.#conn;
    this.#conn = null;
    if (conn) this.#client.release(conn, false);
    if (!opts.quiet) this.#stdout.destroy(err instanceof Error ? err : new Error(String(err)));
    this.#rejectDone(err);
  }

  #cleanup(): void {
    this.#retained = null;
    this.#req.signal?.removeEventListener('abort', this.#onAbort);
  }
}
