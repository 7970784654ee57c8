import { randomFillSync } from 'node:crypto';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/**
 * The worker's end of the tunnel WebSocket as a byte stream for HTTP/2. Reading is `ws`'s (messages
 * pushed in order, the socket paused when HTTP/2 reads slowly); writing frames binary messages
 * itself, straight onto the socket, masking each into a buffer taken from a pool and given back
 * once the socket has written it. `ws` masks every message into a new buffer, which at 100 MiB/s is
 * as much garbage for the collector: a 256 MiB download grew the worker by 70 MiB instead of 40.
 * Pings, pongs and the closing handshake stay `ws`'s; a frame is always one socket write, so theirs
 * and these never interleave inside a frame.
 */
export function tunnelStream(ws: WebSocket, socket: Socket): Duplex {
  const pool: Buffer[] = [];
  let masks = Buffer.alloc(0);
  let maskAt = 0;
  const duplex = new Duplex({
    // Large enough for a few HTTP/2 frames; back-pressure comes from the socket.
    writableHighWaterMark: 64 * 1024,
    read() {
      if (ws.isPaused) ws.resume();
    },
    write(chunk: Buffer, _enc, callback) {
      if (socket.destroyed) return callback(new Error('the tunnel connection is closed'));
      const header = chunk.length < 126 ? 6 : chunk.length < 65_536 ? 8 : 14;
      const size = header + chunk.length;
      let frame = pool.pop();
      if (!frame || frame.length < size) frame = Buffer.allocUnsafe(Math.max(size, 16 * 1024 + 14));
      frame[0] = 0x82; // FIN, binary
      if (header === 6) frame[1] = 0x80 | chunk.length;
      else if (header === 8) {
        frame[1] = 0x80 | 126;
        frame.writeUInt16BE(chunk.length, 2);
      } else {
        frame[1] = 0x80 | 127;
        frame.writeUInt32BE(0, 2);
        frame.writeUInt32BE(chunk.length, 6);
      }
      // A fresh random mask for every frame (RFC 6455 5.3), drawn 4 KiB at a time.
      if (maskAt + 4 > masks.length) {
        masks = randomFillSync(Buffer.allocUnsafe(4096));
        maskAt = 0;
      }
      const m = header - 4;
      masks.copy(frame, m, maskAt, maskAt + 4);
      maskAt += 4;
      for (let i = 0; i < chunk.length; i++) frame[header + i] = chunk[i]! ^ frame[m + (i & 3)]!;
      const out = frame.subarray(0, size);
      const owned = frame;
      const flushed = socket.write(out, () => {
        if (pool.length < 64) pool.push(owned);
      });
      if (flushed) callback();
      else socket.once('drain', () => callback());
    },
    final(callback) {
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
