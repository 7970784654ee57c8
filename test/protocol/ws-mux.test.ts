// Porthole's multiplexer inside one WebSocket (src-main/protocol/ws-mux.ts), over a real loopback
// WebSocket: heads, half-closes, resets, GOAWAY, and credit per stream.
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { Mux, RESET, WINDOW_BYTES, type Head, type MuxStream } from '../../src-main/protocol/ws-mux.ts';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

/** A relay end (opens streams) and a worker end (masks, serves), joined by one WebSocket. */
async function pair(): Promise<{ relay: Mux; worker: Mux; workerWs: WebSocket; relayWs: WebSocket }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  const accepted = new Promise<[WebSocket, Socket]>((resolve) =>
    wss.once('connection', (ws, req: IncomingMessage) => resolve([ws, req.socket as Socket])),
  );
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/`);
  const upgraded = new Promise<Socket>((resolve) => ws.once('upgrade', (res) => resolve(res.socket as Socket)));
  await once(ws, 'open');
  const [serverWs, serverSocket] = await accepted;
  cleanups.push(() => {
    ws.terminate();
    wss.close();
  });
  return {
    relay: new Mux(serverWs, serverSocket, { masked: false, client: true }),
    worker: new Mux(ws, await upgraded, { masked: true, client: false }),
    workerWs: ws,
    relayWs: serverWs,
  };
}

function read(stream: MuxStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.resume();
  return new Promise((resolve, reject) => {
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('close', () => (stream.readableEnded ? undefined : reject(new Error(`reset ${stream.rstCode}`))));
  });
}

describe('the tunnel multiplexer', () => {
  it('carries heads and bodies both ways, and each side ends on its own (half-close)', async () => {
    const { relay, worker } = await pair();
    worker.on('stream', (stream, head) => {
      expect(head.meta).toEqual({ method: 'POST', path: '/x' });
      expect(head.headers).toBe('{"a":"\\u00e9"}');
      void read(stream).then((body) => {
        stream.respond({ meta: { status: 201 }, headers: '' });
        stream.end(Buffer.concat([Buffer.from('got '), body]));
      });
    });
    const s = relay.open({ meta: { method: 'POST', path: '/x' }, headers: '{"a":"\\u00e9"}' });
    const response = new Promise<Head>((resolve) => s.once('response', resolve));
    const closed = once(s, 'close');
    s.end('hello');
    expect((await response).meta.status).toBe(201);
    expect((await read(s)).toString()).toBe('got hello');
    await closed;
    expect(s.rstCode).toBe(RESET.none);
    expect(relay.size).toBe(0);
  });

  it('passes a reset on with its code, and ends every stream when the connection goes', async () => {
    const { relay, worker, workerWs } = await pair();
    const served: MuxStream[] = [];
    worker.on('stream', (stream) => {
      stream.on('error', () => undefined);
      served.push(stream);
    });
    const a = relay.open({ meta: {}, headers: '' });
    const b = relay.open({ meta: {}, headers: '' });
    b.on('error', () => undefined);
    await until(() => served.length === 2);
    served[0]!.close(RESET.internal);
    await once(a, 'close');
    expect(a.rstCode).toBe(RESET.internal);
    expect(a.readableEnded).toBe(false);
    // The relay takes no streams: one the worker opens is refused, and not kept.
    const stray = worker.open({ meta: {}, headers: '' });
    stray.on('error', () => undefined);
    await once(stray, 'close');
    expect(stray.rstCode).toBe(RESET.refused);
    expect(relay.size).toBe(1);
    const goaway = once(relay, 'goaway');
    worker.goaway();
    await goaway;
    expect(relay.remoteGoaway).toBe(true);
    workerWs.terminate();
    await once(b, 'close');
    expect(b.rstCode).not.toBe(RESET.none);
    expect(relay.closed).toBe(true);
  });

  it('closes the connection on what it cannot read, and names an HTTP/2 peer (tunnel protocol 1)', async () => {
    const { worker, relayWs } = await pair();
    const failed = once(worker, 'failed');
    relayWs.send(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
    expect(String((await failed)[0])).toMatch(/tunnel protocol 1/);
    expect(worker.closed).toBe(true);
    const second = await pair();
    const cut = once(second.worker, 'failed');
    second.relayWs.send(Buffer.from([3, 0, 0, 0]));
    expect(String((await cut)[0])).toMatch(/cut short/);
  });

  it('gives credit back to a reader that starts late, by async iteration, once the window is full', async () => {
    const { relay, worker } = await pair();
    const got = new Promise<number>((resolve) => {
      worker.on('stream', (stream) => {
        // Nobody reads until the whole window has arrived; then an async iterator takes it all.
        const start = async (): Promise<void> => {
          while (stream.readableLength < WINDOW_BYTES) await new Promise((r) => setTimeout(r, 5));
          let n = 0;
          for await (const chunk of stream as AsyncIterable<Buffer>) n += chunk.length;
          resolve(n);
        };
        void start();
      });
    });
    const s = relay.open({ meta: {}, headers: '' });
    s.end(Buffer.alloc(4 * WINDOW_BYTES, 2));
    expect(await got).toBe(4 * WINDOW_BYTES);
  });

  it('holds a stream whose reader stalls to its credit, while another stream goes on', async () => {
    const { relay, worker } = await pair();
    const chunk = Buffer.alloc(64 * 1024, 1);
    let stalledWriter: MuxStream | null = null;
    worker.on('stream', (stream, head) => {
      stream.on('error', () => undefined);
      stream.respond({ meta: {}, headers: '' });
      if (head.meta.path === '/stall') {
        stalledWriter = stream;
        // Writes 8 MiB without waiting: what the relay may not take yet waits here, in the writer.
        for (let i = 0; i < 128; i++) stream.write(chunk);
        stream.end();
      } else {
        let n = 0;
        const pour = (): void => {
          while (n < 64 && stream.write(chunk)) n += 1;
          if (n < 64) stream.once('drain', () => ((n += 1), pour()));
          else stream.end();
        };
        pour();
      }
    });
    const stalled = relay.open({ meta: { path: '/stall' }, headers: '' }, { end: true });
    stalled.pause();
    const other = relay.open({ meta: { path: '/flow' }, headers: '' }, { end: true });
    expect((await read(other)).length).toBe(4 * 1024 * 1024);
    await new Promise((r) => setTimeout(r, 100));
    // The stalled reader holds no more than the credit it gave.
    expect(stalled.readableLength).toBeLessThanOrEqual(WINDOW_BYTES);
    expect(stalled.readableLength).toBeGreaterThan(0);
    expect(stalledWriter!.writableLength).toBeGreaterThan(4 * 1024 * 1024);
    // Once read, the rest comes.
    expect((await read(stalled)).length).toBe(8 * 1024 * 1024);
  });
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}
