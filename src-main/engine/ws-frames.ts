/**
 * Watches one direction of a WebSocket session as its bytes pass by, without changing them: counts
 * messages, keeps the start of the last few, and notes the close code. For the request log: a
 * tunnelled WebSocket is one entry with its traffic, not one entry per frame.
 */

/** One message as the log keeps it. */
export interface WsMessage {
  /** `text`, `binary`, `close`, `ping` or `pong`. */
  kind: 'text' | 'binary' | 'close' | 'ping' | 'pong';
  /** The message's size in bytes. */
  size: number;
  /** Its first bytes (unmasked). */
  preview: Buffer;
  /** When it had passed whole (ms since the epoch). */
  at: number;
  /** Its place among the messages of every watcher of this process: orders the two ways of a session. */
  seq: number;
}

const PREVIEW_BYTES = 256;
let nextSeq = 1;
const KINDS: Record<number, WsMessage['kind']> = { 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };

export class WsFrameWatcher {
  /** Data messages (text and binary) seen whole. */
  messages = 0;
  bytes = 0;
  /** The close code of a close frame seen, if any. */
  closeCode: number | null = null;
  /** The last messages, oldest first. */
  readonly last: WsMessage[] = [];
  readonly #keep: number;
  readonly #onMessage: (m: WsMessage) => void;
  /** Bytes of the frame header being read. */
  #head = Buffer.alloc(14);
  #headHave = 0;
  #headNeed = 2;
  /** Payload bytes still to pass in the current frame. */
  #payloadLeft = 0;
  #mask: Buffer | null = null;
  #maskAt = 0;
  #opcode = 0;
  #fin = false;
  /** The message being assembled (its kind, size, preview so far). */
  #current: { kind: WsMessage['kind']; size: number; preview: Buffer[]; previewBytes: number } | null = null;

  constructor(opts: { keep?: number; onMessage?: (m: WsMessage) => void } = {}) {
    this.#keep = opts.keep ?? 20;
    this.#onMessage = opts.onMessage ?? (() => undefined);
  }

  /** Looks at the next bytes of this direction. Never throws: bytes it cannot read are only counted. */
  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      if (this.#payloadLeft > 0) {
        const take = Math.min(this.#payloadLeft, chunk.length - at);
        this.#payload(chunk.subarray(at, at + take));
        at += take;
        this.#payloadLeft -= take;
        if (this.#payloadLeft === 0) this.#frameDone();
        continue;
      }
      // Reading a frame header: its size is known after two bytes.
      this.#head[this.#headHave++] = chunk[at++]!;
      if (this.#headHave === 2) {
        const len7 = this.#head[1]! & 0x7f;
        this.#headNeed = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (this.#head[1]! & 0x80 ? 4 : 0);
      }
      if (this.#headHave >= 2 && this.#headHave === this.#headNeed) this.#headerDone();
    }
  }

  #headerDone(): void {
    const h = this.#head;
    this.#fin = (h[0]! & 0x80) !== 0;
    this.#opcode = h[0]! & 0x0f;
    const len7 = h[1]! & 0x7f;
    let length = len7;
    let at = 2;
    if (len7 === 126) {
      length = h.readUInt16BE(2);
      at = 4;
    } else if (len7 === 127) {
      length = h.readUInt32BE(2) * 2 ** 32 + h.readUInt32BE(6);
      at = 10;
    }
    this.#mask = h[1]! & 0x80 ? Buffer.from(h.subarray(at, at + 4)) : null;
    this.#maskAt = 0;
    this.#headHave = 0;
    this.#headNeed = 2;
    if (this.#opcode !== 0 || !this.#current) {
      this.#current = { kind: KINDS[this.#opcode] ?? 'binary', size: 0, preview: [], previewBytes: 0 };
    }
    this.#payloadLeft = length;
    if (length === 0) this.#frameDone();
  }

  #payload(bytes: Buffer): void {
    const current = this.#current!;
    current.size += bytes.length;
    const room = PREVIEW_BYTES - current.previewBytes;
    if (room > 0) {
      const part = Buffer.from(bytes.subarray(0, room));
      if (this.#mask) for (let i = 0; i < part.length; i++) part[i] = part[i]! ^ this.#mask[(this.#maskAt + i) & 3]!;
      current.preview.push(part);
      current.previewBytes += part.length;
    }
    this.#maskAt += bytes.length;
  }

  #frameDone(): void {
    if (!this.#fin) return;
    const current = this.#current!;
    this.#current = null;
    const message: WsMessage = {
      kind: current.kind,
      size: current.size,
      preview: Buffer.concat(current.preview),
      at: Date.now(),
      seq: nextSeq++,
    };
    if (message.kind === 'close' && message.preview.length >= 2) this.closeCode = message.preview.readUInt16BE(0);
    if (message.kind === 'text' || message.kind === 'binary') this.messages += 1;
    this.last.push(message);
    if (this.last.length > this.#keep) this.last.shift();
    this.#onMessage(message);
  }
}
