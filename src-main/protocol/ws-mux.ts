import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { messageWriter, type MessageWriter } from './ws-stream.ts';

/**
 * Porthole's stream multiplexer, inside the binary messages of one tunnel WebSocket. A message holds
 * one or more frames, each `[type u8][flags u8][stream id u32][length u32]` and `length` bytes:
 *
 * - `OPEN`: a new stream and its head (the opener's ids are odd for the client, even for the server);
 * - `REPLY`: the answer's head on a stream;
 * - `DATA`: bytes of a stream, within the credit the reader gave;
 * - `WINDOW`: credit (u32 bytes) the reader gives back as it consumes;
 * - `RESET`: the stream is cut short (u32 code: 0 done, else an error);
 * - `GOAWAY` (stream 0): the sender opens and takes no new streams.
 *
 * The flag `FIN` on `OPEN`, `REPLY` or `DATA` ends the sender's side of the stream (a half-close).
 * A head is a JSON object, then a line feed, then the headers as fpw-header JSON (either may be
 * empty). Every stream starts with `WINDOW_BYTES` of credit each way; a reader gives credit back
 * only for what its consumer took, so a stream whose reader stalls holds at most that much and
 * stops its writer alone. What is sent in one turn of the event loop goes out as one message.
 */

export const FRAME = { open: 1, reply: 2, data: 3, window: 4, reset: 5, goaway: 6 } as const;
export const FIN = 1;
/** The credit each side of a stream starts with. */
export const WINDOW_BYTES = 1024 * 1024;
/** Reset codes, as HTTP/2's. */
export const RESET = { none: 0, protocol: 1, internal: 2, refused: 7, cancel: 8 } as const;
const HEADER_BYTES = 10;
/** The largest DATA frame: a large write is split so that other streams' frames get in between. */
const MAX_DATA_BYTES = 256 * 1024;
/** A message goes out when it has this much, else at the end of the turn. */
const FLUSH_BYTES = 64 * 1024;
/** Credit is given back once the reader has taken this much. */
const GRANT_BYTES = WINDOW_BYTES / 4;
/** The largest head accepted. */
export const MAX_HEAD_BYTES = 256 * 1024;

/** A stream's head: fields of the transport's own, and the HTTP headers as fpw-header JSON. */
export interface Head<Meta extends object = Record<string, unknown>> {
  meta: Meta;
  /** fpw-header JSON, as `encodeHeaderJson` makes it; '' for none. */
  headers: string;
}

function encodeHead(head: Head<object>): Buffer {
  return Buffer.from(`${JSON.stringify(head.meta)}\n${head.headers}`, 'utf8');
}

function decodeHead(payload: Buffer): Head {
  const text = payload.toString('utf8');
  const nl = text.indexOf('\n');
  const meta: unknown = JSON.parse(nl === -1 ? text : text.slice(0, nl));
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) throw new Error('a head is not a JSON object');
  return { meta: meta as Head['meta'], headers: nl === -1 ? '' : text.slice(nl + 1) };
}

function frameHeader(type: number, flags: number, id: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(HEADER_BYTES);
  b[0] = type;
  b[1] = flags;
  b.writeUInt32BE(id, 2);
  b.writeUInt32BE(length, 6);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

export interface MuxOptions {
  /** This end masks its messages (the WebSocket's client, the worker). */
  masked: boolean;
  /** This end opens odd-numbered streams (the relay). */
  client: boolean;
  /** Streams the peer may have open here at once; more are reset with `RESET.refused`. @default unlimited */
  maxStreams?: number;
}

export interface MuxEvents {
  stream: [stream: MuxStream, head: Head];
  goaway: [];
  /** The peer broke the protocol: the connection is being closed (1002). */
  failed: [why: string];
  close: [];
}

/** What an HTTP/2 client sends first: the relay of tunnel protocol 1 (HTTP/2 over the WebSocket). */
const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n');

/** One tunnel WebSocket's streams. */
export class Mux extends EventEmitter<MuxEvents> {
  readonly #ws: WebSocket;
  readonly #socket: Socket;
  readonly #writer: MessageWriter;
  readonly #opts: MuxOptions;
  readonly #streams = new Map<number, MuxStream>();
  #nextId: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #waiting: Array<(err?: Error | null) => void> = [];
  #scheduled = false;
  #closed = false;
  /** The peer said GOAWAY. */
  remoteGoaway = false;

  constructor(ws: WebSocket, socket: Socket, opts: MuxOptions) {
    super();
    this.#ws = ws;
    this.#socket = socket;
    this.#opts = opts;
    this.#writer = messageWriter(socket, opts);
    this.#nextId = opts.client ? 1 : 2;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return this.#fail('a text message on the tunnel');
      this.#receive(data);
    });
    ws.once('close', () => this.destroy());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Streams open now. */
  get size(): number {
    return this.#streams.size;
  }

  /** Opens a stream with its head; `end` sends no body. */
  open(head: Head<object>, opts: { end?: boolean } = {}): MuxStream {
    if (this.#closed) throw new Error('the tunnel connection is closed');
    if (this.#nextId > 0xffff_fffe) throw new Error('the tunnel connection has used up its stream ids');
    const id = this.#nextId;
    this.#nextId += 2;
    const stream = new MuxStream(this, id);
    this.#streams.set(id, stream);
    this.frame(FRAME.open, opts.end ? FIN : 0, id, [encodeHead(head)]);
    if (opts.end) {
      stream.sentFin();
      stream.end();
    }
    return stream;
  }

  /** Tells the peer that this end opens and takes no new streams. */
  goaway(): void {
    if (!this.#closed) this.frame(FRAME.goaway, 0, 0, []);
  }

  /** Ends every stream (the connection is gone). */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    const callbacks = this.#waiting;
    this.#pending = [];
    this.#waiting = [];
    const err = new Error('the tunnel connection is closed');
    for (const cb of callbacks) cb(err);
    for (const s of [...this.#streams.values()]) s.gone(RESET.cancel);
    this.#streams.clear();
    this.emit('close');
  }

  /** Queues a frame for this turn's message; `cb` runs once the socket has taken it. */
  frame(type: number, flags: number, id: number, payload: Buffer[], cb?: (err?: Error | null) => void): void {
    if (this.#closed || this.#socket.destroyed) {
      cb?.(new Error('the tunnel connection is closed'));
      return;
    }
    let length = 0;
    for (const p of payload) length += p.length;
    this.#pending.push(frameHeader(type, flags, id, length), ...payload);
    this.#pendingBytes += HEADER_BYTES + length;
    if (cb) this.#waiting.push(cb);
    if (this.#pendingBytes >= FLUSH_BYTES) this.#flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    if (!this.#pending.length) return;
    const payload = this.#pending;
    const length = this.#pendingBytes;
    const callbacks = this.#waiting;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#waiting = [];
    if (this.#socket.destroyed) {
      const err = new Error('the tunnel connection is closed');
      for (const cb of callbacks) cb(err);
      return;
    }
    const done = (): void => {
      for (const cb of callbacks) cb();
    };
    if (this.#writer.send(payload, length)) done();
    else this.#writer.drained(done);
  }

  forget(id: number): void {
    this.#streams.delete(id);
  }

  #fail(why: string): void {
    if (this.#closed) return;
    this.emit('failed', why);
    this.#ws.close(1002, why.slice(0, 100));
    this.#ws.terminate();
    this.destroy();
  }

  #receive(data: Buffer): void {
    if (data.subarray(0, HTTP2_PREFACE.length).equals(HTTP2_PREFACE)) {
      return this.#fail('the peer speaks HTTP/2 over the WebSocket (tunnel protocol 1)');
    }
    let at = 0;
    while (at < data.length) {
      if (data.length - at < HEADER_BYTES) return this.#fail('a frame cut short');
      const type = data[at]!;
      const flags = data[at + 1]!;
      const id = data.readUInt32BE(at + 2);
      const length = data.readUInt32BE(at + 6);
      const start = at + HEADER_BYTES;
      at = start + length;
      if (at > data.length) return this.#fail('a frame cut short');
      const payload = data.subarray(start, at);
      if (this.#closed) return;
      switch (type) {
        case FRAME.data: {
          const s = this.#streams.get(id);
          if (s && !s.data(payload, (flags & FIN) !== 0)) return this.#fail('data past the credit given');
          break;
        }
        case FRAME.window:
          if (length !== 4) return this.#fail('a window frame of the wrong size');
          this.#streams.get(id)?.credit(payload.readUInt32BE(0));
          break;
        case FRAME.open: {
          if (length > MAX_HEAD_BYTES) return this.#fail('a head too large');
          if ((id & 1) === (this.#opts.client ? 1 : 0) || this.#streams.has(id)) {
            return this.#fail('a stream id out of turn');
          }
          let head: Head;
          try {
            head = decodeHead(payload);
          } catch {
            return this.#fail('an unreadable head');
          }
          // No one here takes streams (the relay opens them all), or too many are open: refused.
          const full = this.#opts.maxStreams !== undefined && this.#streams.size >= this.#opts.maxStreams;
          if (full || this.listenerCount('stream') === 0) {
            this.frame(FRAME.reset, 0, id, [u32(RESET.refused)]);
            break;
          }
          const stream = new MuxStream(this, id);
          this.#streams.set(id, stream);
          if (flags & FIN) stream.remoteEnded();
          this.emit('stream', stream, head);
          break;
        }
        case FRAME.reply: {
          const s = this.#streams.get(id);
          if (!s) break;
          if (length > MAX_HEAD_BYTES) return this.#fail('a head too large');
          let head: Head;
          try {
            head = decodeHead(payload);
          } catch {
            return this.#fail('an unreadable head');
          }
          s.replied(head, (flags & FIN) !== 0);
          break;
        }
        case FRAME.reset:
          this.#streams.get(id)?.gone(length >= 4 ? payload.readUInt32BE(0) : RESET.internal, true);
          break;
        case FRAME.goaway:
          this.remoteGoaway = true;
          this.emit('goaway');
          break;
        default:
          return this.#fail(`an unknown frame type ${type}`);
      }
    }
  }
}

/**
 * One stream of a tunnel: a duplex of its bytes, with a half-close each way, a head each way, and
 * per-stream credit. `close(code)` cuts it short (a `RESET` to the peer); `rstCode` says how it
 * ended (0 when both sides finished it, or a code).
 */
export class MuxStream extends Duplex {
  readonly id: number;
  readonly #mux: Mux;
  /** How it ended: 0 for cleanly, else the reset code (sent or received). */
  rstCode = 0;
  /** The peer's answer head, once it came. */
  response: Head | null = null;
  #sendCredit = WINDOW_BYTES;
  /** Bytes received, and the most the peer may have sent so far (received + credit). */
  #received = 0;
  #granted = WINDOW_BYTES;
  #finSent = false;
  #finReceived = false;
  #reset = false;
  /** A write that waits for credit. */
  #blocked: { chunk: Buffer; cb: (err?: Error | null) => void } | null = null;

  constructor(mux: Mux, id: number) {
    super({ allowHalfOpen: true, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
    this.#mux = mux;
    this.id = id;
  }

  /** Answers the stream's head (the side that did not open it); `end` sends no body. */
  respond(head: Head<object>, opts: { end?: boolean } = {}): void {
    if (this.destroyed) return;
    this.#mux.frame(FRAME.reply, opts.end ? FIN : 0, this.id, [encodeHead(head)]);
    if (opts.end) {
      this.sentFin();
      this.end();
    }
  }

  /** Cuts the stream short, with a code for the peer (`RESET.none` when it is merely done). */
  close(code: number = RESET.none): void {
    if (this.#reset) return;
    this.#reset = true;
    this.rstCode = code;
    if (!(this.#finSent && this.#finReceived)) this.#mux.frame(FRAME.reset, 0, this.id, [u32(code)]);
    this.destroy();
  }

  sentFin(): void {
    this.#finSent = true;
    this.#settle();
  }

  /** Both sides finished: the multiplexer forgets the stream, though its reader may not have read it all yet. */
  #settle(): void {
    if (this.#finSent && this.#finReceived) this.#mux.forget(this.id);
  }

  /** Bytes from the peer; false when they go past the credit it was given. */
  data(payload: Buffer, fin: boolean): boolean {
    if (this.#finReceived || this.#reset) return true;
    this.#received += payload.length;
    if (this.#received > this.#granted) return false;
    if (payload.length) this.push(payload);
    if (fin) this.remoteEnded();
    else this.#grant();
    return true;
  }

  replied(head: Head, fin: boolean): void {
    this.response = head;
    this.emit('response', head);
    if (fin) this.remoteEnded();
  }

  /** The peer ended its side (it sends no more bytes). */
  get finReceived(): boolean {
    return this.#finReceived;
  }

  /** The peer ended its side. */
  remoteEnded(): void {
    if (this.#finReceived || this.#reset) return;
    this.#finReceived = true;
    this.push(null);
    this.#settle();
  }

  credit(bytes: number): void {
    this.#sendCredit += bytes;
    const blocked = this.#blocked;
    if (blocked && this.#sendCredit > 0) {
      this.#blocked = null;
      this.#send(blocked.chunk, blocked.cb);
    }
  }

  /** The peer reset it (`remote`), or the connection is gone. */
  gone(code: number, remote = false): void {
    if (this.#reset) return;
    this.#reset = true;
    this.rstCode = code;
    if (remote) this.#finSent = this.#finReceived = true;
    const blocked = this.#blocked;
    this.#blocked = null;
    blocked?.cb(new Error('the stream was reset'));
    this.destroy();
  }

  /** Gives credit back for what the consumer took. */
  #grant(): void {
    if (this.#finReceived || this.#reset) return;
    const limit = this.#received - this.readableLength + WINDOW_BYTES;
    if (limit - this.#granted >= GRANT_BYTES) {
      this.#mux.frame(FRAME.window, 0, this.id, [u32(limit - this.#granted)]);
      this.#granted = limit;
    }
  }

  override _read(): void {
    this.#grant();
  }

  /**
   * Every way of consuming goes through here (flowing mode, `readable`, async iteration, pipes): credit
   * is given back as the reader takes bytes. `_read` alone would not do: Node calls it once and then
   * not again until something is pushed, and nothing comes while the peer has no credit.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Readable.read's own signature
  override read(size?: number): any {
    const chunk: unknown = super.read(size);
    this.#grant();
    return chunk;
  }

  #send(chunk: Buffer, cb: (err?: Error | null) => void): void {
    while (chunk.length) {
      if (this.#reset) return cb(new Error('the stream was reset'));
      const n = Math.min(chunk.length, this.#sendCredit, MAX_DATA_BYTES);
      if (n <= 0) {
        this.#blocked = { chunk, cb };
        return;
      }
      this.#sendCredit -= n;
      const part = n === chunk.length ? chunk : chunk.subarray(0, n);
      chunk = chunk.subarray(n);
      if (!chunk.length) return this.#mux.frame(FRAME.data, 0, this.id, [part], cb);
      this.#mux.frame(FRAME.data, 0, this.id, [part]);
    }
    cb();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#send(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.#reset) return cb();
    if (!this.#finSent) {
      this.#mux.frame(FRAME.data, FIN, this.id, []);
      this.sentFin();
    }
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.#reset && !(this.#finSent && this.#finReceived)) {
      // Destroyed before both sides finished it: the peer hears it was cancelled.
      this.#reset = true;
      this.rstCode = RESET.cancel;
      this.#mux.frame(FRAME.reset, 0, this.id, [u32(RESET.cancel)]);
    }
    const blocked = this.#blocked;
    this.#blocked = null;
    blocked?.cb(err ?? new Error('the stream was destroyed'));
    this.#mux.forget(this.id);
    cb(err);
  }
}
