import { randomFillSync } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

type MaskFn = (source: Buffer, mask: Buffer, output: Buffer, offset: number, length: number) => void;

/** bufferutil's native masking (34 times the speed of a JavaScript loop here), else the loop. */
const mask: MaskFn = (() => {
  try {
    return (createRequire(import.meta.url)('bufferutil') as { mask: MaskFn }).mask;
  } catch {
    return (source, m, output, offset, length) => {
      for (let i = 0; i < length; i++) output[offset + i] = source[i]! ^ m[i & 3]!;
    };
  }
})();

/** Writes whole binary WebSocket messages straight onto a tunnel's socket. */
export interface MessageWriter {
  /**
   * Sends the chunks as one binary message, in one write; true when the socket took it without
   * filling up (else `drained` runs once it has written it all).
   */
  send(chunks: Buffer[], length: number): boolean;
  /** Runs `callback` once the socket has written what it holds. */
  drained(callback: () => void): void;
}

/**
 * Frames binary messages here, straight onto the socket, because `ws` sends every write as a frame
 * and a system call of its own and masks each into a new buffer (garbage at 100 MiB/s): a message
 * goes out in one write, and a client's mask goes into a buffer from a pool, given back once the
 * socket has written it. Pings, pongs and the closing handshake stay `ws`'s; a frame is always
 * written whole, in one call, so theirs and these never interleave inside a frame.
 */
export function messageWriter(socket: Socket, opts: { masked: boolean }): MessageWriter {
  const pool: Buffer[] = [];
  let masks = Buffer.alloc(0);
  let maskAt = 0;
  let drainWaiters: Array<() => void> = [];

  const headerSize = (length: number): number => (length < 126 ? 2 : length < 65_536 ? 4 : 10) + (opts.masked ? 4 : 0);
  const headerOf = (length: number): Buffer => {
    const header = Buffer.allocUnsafe(headerSize(length));
    header[0] = 0x82; // FIN, binary
    const maskBit = opts.masked ? 0x80 : 0;
    if (length < 126) header[1] = maskBit | length;
    else if (length < 65_536) {
      header[1] = maskBit | 126;
      header.writeUInt16BE(length, 2);
    } else {
      header[1] = maskBit | 127;
      header.writeUInt32BE(0, 2);
      header.writeUInt32BE(length, 6);
    }
    return header;
  };

  /** A masked frame of the payload, in a buffer of the pool. */
  const frameOf = (payload: Buffer[], length: number): Buffer => {
    const header = headerOf(length);
    const size = header.length + length;
    let frame = pool.pop();
    if (!frame || frame.length < size) frame = Buffer.allocUnsafe(Math.max(size, 64 * 1024 + 14));
    header.copy(frame, 0, 0, header.length - 4);
    // A fresh random mask for every frame (RFC 6455 5.3), drawn 4 KiB at a time.
    if (maskAt + 4 > masks.length) {
      masks = randomFillSync(Buffer.allocUnsafe(4096));
      maskAt = 0;
    }
    const key = masks.subarray(maskAt, maskAt + 4);
    maskAt += 4;
    key.copy(frame, header.length - 4);
    // Each chunk is masked with the key turned to the phase of the bytes before it.
    let at = header.length;
    for (const chunk of payload) {
      const phase = (at - header.length) & 3;
      const k = phase
        ? Buffer.from([key[phase]!, key[(phase + 1) & 3]!, key[(phase + 2) & 3]!, key[(phase + 3) & 3]!])
        : key;
      mask(chunk, k, frame, at, chunk.length);
      at += chunk.length;
    }
    return frame;
  };

  return {
    send(payload, length) {
      if (opts.masked) {
        const frame = frameOf(payload, length);
        return socket.write(frame.subarray(0, headerSize(length) + length), () => {
          if (pool.length < 16) pool.push(frame);
        });
      }
      // Unmasked (the relay's side): the header, then the chunks as they are, in one corked write.
      socket.cork();
      socket.write(headerOf(length));
      for (let i = 0; i < payload.length - 1; i++) socket.write(payload[i]!);
      const flushed = socket.write(payload[payload.length - 1]!);
      socket.uncork();
      return flushed;
    },
    drained(callback) {
      if (!socket.writableNeedDrain) return callback();
      // One listener for all who wait, however many messages went out while the socket was full.
      if (!drainWaiters.length) {
        socket.once('drain', () => {
          const waiters = drainWaiters;
          drainWaiters = [];
          for (const w of waiters) w();
        });
      }
      drainWaiters.push(callback);
    },
  };
}

/**
 * One end of a tunnel WebSocket as a byte stream (for HTTP/2, which the transport ran on before its
 * own multiplexer; `test/bench/mux.ts` still measures it). Reading is `ws`'s: messages pushed in
 * order, the socket paused while the reader is slow. What is written in one turn of the event loop
 * goes out as one message in one write.
 */
export function tunnelStream(ws: WebSocket, socket: Socket, opts: { masked: boolean }): Duplex {
  const writer = messageWriter(socket, opts);
  /** Bytes waiting for the end of this turn of the event loop, to go out as one message. */
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let waiting: Array<(err?: Error | null) => void> = [];
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    if (!pending.length) return;
    const payload = pending;
    const length = pendingBytes;
    const callbacks = waiting;
    pending = [];
    pendingBytes = 0;
    waiting = [];
    if (socket.destroyed) {
      const err = new Error('the tunnel connection is closed');
      for (const cb of callbacks) cb(err);
      return;
    }
    const done = (): void => {
      for (const cb of callbacks) cb();
    };
    if (writer.send(payload, length)) done();
    else writer.drained(done);
  };

  const duplex = new Duplex({
    writableHighWaterMark: 64 * 1024,
    read() {
      if (ws.isPaused) ws.resume();
    },
    writev(chunks, callback) {
      for (const { chunk } of chunks) {
        pending.push(chunk as Buffer);
        pendingBytes += (chunk as Buffer).length;
      }
      waiting.push(callback);
      // Large enough to go now; else gathered until the end of this turn.
      if (pendingBytes >= 64 * 1024) flush();
      else if (!scheduled) {
        scheduled = true;
        process.nextTick(flush);
      }
    },
    final(callback) {
      flush();
      callback();
    },
    destroy(err, callback) {
      ws.terminate();
      callback(err);
    },
  });
  ws.on('message', (data: Buffer) => {
    if (!duplex.push(data)) ws.pause();
  });
  ws.once('close', () => duplex.push(null));
  ws.on('error', (err) => duplex.destroy(err));
  return duplex;
}
