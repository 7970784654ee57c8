// `node test/bench/mux.ts`: stream multiplexers over one loopback WebSocket, measured against each
// other in the same run, without the relay, the worker or an upstream.
//
// The "worker" end is a child process (a WebSocket server, as the worker's side of the tunnel serves
// the streams); the "relay" end (this process) opens the streams. Each candidate gets, in turn:
//   small: N requests (a head of ~300 bytes each way, a 6-byte answer), C at a time;
//   bulk:  one stream carrying B MiB from the worker end to the relay end, with back-pressure.
// Printed: requests/s, MiB/s, and the CPU of both processes (µs per request, ms per MiB).
// Candidates: h2 (Node's http2 over the WebSocket as a byte stream, the transport before this
// measurement), own (src-main/protocol/ws-mux.ts: frames inside the WebSocket messages), and yamux
// (@libp2p/yamux, when installed: `npm install --no-save @libp2p/yamux`). Rounds alternate the order.
// Never part of `npm test`; nothing here asserts a time.
import { fork, type ChildProcess } from 'node:child_process';
import http2 from 'node:http2';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { WebSocket, WebSocketServer } from 'ws';
import { tunnelStream, messageWriter } from '../../src-main/protocol/ws-stream.ts';
import { Mux, type MuxStream } from '../../src-main/protocol/ws-mux.ts';

const { values } = parseArgs({
  options: {
    mux: { type: 'string', default: 'h2,own,yamux' },
    requests: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '50' },
    'bulk-mib': { type: 'string', default: '256' },
    rounds: { type: 'string', default: '2' },
    serve: { type: 'string' },
    port: { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write(
    'Usage: node test/bench/mux.ts [--mux h2,own,yamux] [--requests N] [--concurrency C] [--bulk-mib B] [--rounds R]\n',
  );
  process.exit(0);
}

const SMALL = Buffer.from('hello\n');
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
/** A head as the relay sends it (the visitor's headers as fpw-header JSON). */
const REQ_HEADERS = JSON.stringify({
  host: 'bench.localhost',
  'user-agent': 'wrk/4.2 (a benchmark of the tunnel multiplexer)',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-language': 'en-GB,en;q=0.9',
  'accept-encoding': 'gzip, deflate, br',
  cookie: 'session=0123456789abcdef0123456789abcdef',
});
const RES_HEADERS = JSON.stringify({
  'content-type': 'text/plain; charset=utf-8',
  date: new Date().toUTCString(),
  etag: '"6-aaaaaaaaaaaaaaaaaaaaaaaaaaa"',
  'cache-control': 'no-store',
});

interface Client {
  /** One request; resolves with the body's byte count. */
  request(path: string): Promise<number>;
}

type Candidate = {
  serve(ws: WebSocket, socket: Socket): void;
  connect(ws: WebSocket, socket: Socket): Promise<Client>;
};

/** Writes `bytes` with back-pressure. */
async function pour(
  write: (chunk: Buffer) => boolean | Promise<boolean>,
  drain: () => Promise<void>,
  bytes: number,
): Promise<void> {
  for (let sent = 0; sent < bytes; sent += CHUNK.length) {
    if (!(await write(CHUNK))) await drain();
  }
}

const bulkBytes = (path: string): number => (path.startsWith('/bulk/') ? Number(path.slice(6)) : 0);

const h2: Candidate = {
  serve(ws, socket) {
    const server = http2.createServer({ settings: { initialWindowSize: 1024 * 1024, maxConcurrentStreams: 256 } });
    server.on('session', (s) => s.on('connect', () => s.setLocalWindowSize(16 * 1024 * 1024)));
    server.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      stream.resume();
      stream.respond({ ':status': 200, 'porthole-headers': RES_HEADERS });
      const bytes = bulkBytes(String(headers[':path']));
      if (!bytes) return void stream.end(SMALL);
      void pour(
        (c) => stream.write(c),
        () => new Promise((r) => stream.once('drain', r)),
        bytes,
      ).then(() => stream.end());
    });
    server.emit('connection', tunnelStream(ws, socket, { masked: true }));
  },
  async connect(ws, socket) {
    const session = http2.connect('http://bench.tunnel', {
      createConnection: () => tunnelStream(ws, socket, { masked: false }),
      settings: { initialWindowSize: 1024 * 1024, enablePush: false },
    });
    session.on('connect', () => session.setLocalWindowSize(16 * 1024 * 1024));
    return {
      request: (path) =>
        new Promise((resolve, reject) => {
          const s = session.request(
            { ':method': 'GET', ':path': path, 'porthole-ip': '127.0.0.1', 'porthole-headers': REQ_HEADERS },
            { endStream: true },
          );
          let n = 0;
          s.on('data', (c: Buffer) => (n += c.length));
          s.on('end', () => resolve(n));
          s.on('error', reject);
        }),
    };
  },
};

const own: Candidate = {
  serve(ws, socket) {
    const mux = new Mux(ws, socket, { masked: true, client: false });
    mux.on('stream', (stream: MuxStream, head) => {
      stream.on('error', () => undefined);
      stream.resume();
      stream.respond({ meta: { status: 200 }, headers: RES_HEADERS });
      const bytes = bulkBytes(String(head.meta.path));
      if (!bytes) return void stream.end(SMALL);
      void pour(
        (c) => stream.write(c),
        () => new Promise((r) => stream.once('drain', r)),
        bytes,
      ).then(() => stream.end());
    });
  },
  async connect(ws, socket) {
    const mux = new Mux(ws, socket, { masked: false, client: true });
    return {
      request: (path) =>
        new Promise((resolve, reject) => {
          const s = mux.open({ meta: { method: 'GET', path, ip: '127.0.0.1' }, headers: REQ_HEADERS }, { end: true });
          let n = 0;
          s.on('data', (c: Buffer) => (n += c.length));
          s.on('end', () => resolve(n));
          s.on('error', reject);
        }),
    };
  },
};

/** What the yamux candidate uses of @libp2p/yamux and @libp2p/utils (not dependencies: installed by hand). */
interface Uint8List extends Iterable<Uint8Array> {
  byteLength: number;
  subarray(): Uint8Array;
}
interface YamuxStream {
  send(data: Uint8Array): boolean;
  onDrain(): Promise<void>;
  close(): Promise<void>;
  addEventListener(type: string, listener: (e: { data: Uint8List }) => void): void;
}
interface YamuxMuxer {
  createStream(): Promise<YamuxStream>;
  addEventListener(type: 'stream', listener: (e: { detail: YamuxStream }) => void): void;
}
type MessageStreamBase = new (init: object) => {
  onData(data: Uint8Array): void;
  onTransportClosed(): void;
  safeDispatchEvent(type: string): void;
};

/** @libp2p/yamux over the WebSocket, through a libp2p message stream whose messages are WebSocket messages. */
async function yamuxCandidate(): Promise<Candidate | null> {
  let lib: { yamux(init: object): () => { createStreamMuxer(conn: unknown): YamuxMuxer } };
  let utils: { AbstractMessageStream: MessageStreamBase };
  try {
    const [yamuxName, utilsName] = ['@libp2p/yamux', '@libp2p/utils'];
    lib = (await import(yamuxName)) as typeof lib;
    utils = (await import(utilsName)) as typeof utils;
  } catch {
    return null;
  }
  const noop = (): void => undefined;
  const log: object = Object.assign(noop, { error: noop, trace: noop, enabled: false, newScope: () => log });
  const conn = (ws: WebSocket, socket: Socket, direction: 'inbound' | 'outbound') => {
    // The serving end is the WebSocket's client (it masks); the opening end is yamux's client.
    const writer = messageWriter(socket, { masked: direction === 'inbound' });
    class WsMessageStream extends utils.AbstractMessageStream {
      sendData(data: Uint8List) {
        const chunks = [...data].map((u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength));
        const canSendMore = writer.send(chunks, data.byteLength);
        if (!canSendMore) writer.drained(() => this.safeDispatchEvent('drain'));
        return { sentBytes: data.byteLength, canSendMore };
      }
      sendReset() {
        ws.terminate();
      }
      sendPause() {
        ws.pause();
      }
      sendResume() {
        ws.resume();
      }
      async close() {
        ws.close();
      }
    }
    const s = new WsMessageStream({ log, direction });
    ws.on('message', (d: Buffer) => s.onData(d));
    ws.on('close', () => s.onTransportClosed());
    return s;
  };
  const factory = lib.yamux({ enableKeepAlive: false, maxInboundStreams: 1024, maxOutboundStreams: 1024 })();
  /** Reads a stream to its end. */
  const readAll = (st: YamuxStream, onData: (n: number) => void): Promise<void> =>
    new Promise((resolve) => {
      st.addEventListener('message', (e) => onData(e.data.byteLength));
      st.addEventListener('remoteCloseWrite', () => resolve());
      st.addEventListener('close', () => resolve());
    });
  const lengthPrefixed = (text: string): Buffer => {
    const body = Buffer.from(text);
    const b = Buffer.allocUnsafe(4 + body.length);
    b.writeUInt32BE(body.length, 0);
    body.copy(b, 4);
    return b;
  };
  return {
    serve(ws, socket) {
      const muxer = factory.createStreamMuxer(conn(ws, socket, 'inbound'));
      muxer.addEventListener('stream', (evt) => {
        const st = evt.detail;
        const chunks: Buffer[] = [];
        st.addEventListener('message', (e) => chunks.push(Buffer.from(e.data.subarray())));
        st.addEventListener('remoteCloseWrite', () => {
          const head = JSON.parse(Buffer.concat(chunks).subarray(4).toString()) as { path: string };
          st.send(lengthPrefixed(JSON.stringify({ status: 200, headers: RES_HEADERS })));
          const bytes = bulkBytes(head.path);
          const body = bytes
            ? pour(
                (c) => st.send(c),
                () => st.onDrain(),
                bytes,
              )
            : Promise.resolve(void st.send(SMALL));
          void body.then(() => st.close());
        });
      });
    },
    async connect(ws, socket) {
      const muxer = factory.createStreamMuxer(conn(ws, socket, 'outbound'));
      return {
        async request(path) {
          const st = await muxer.createStream();
          let n = 0;
          const done = readAll(st, (b) => (n += b));
          st.send(lengthPrefixed(JSON.stringify({ method: 'GET', path, ip: '127.0.0.1', headers: REQ_HEADERS })));
          await st.close();
          await done;
          // The reply's head is counted with its body here (only the bulk run reads the count).
          return n;
        },
      };
    },
  };
}

async function candidate(name: string): Promise<Candidate | null> {
  if (name === 'h2') return h2;
  if (name === 'own') return own;
  if (name === 'yamux') return yamuxCandidate();
  throw new Error(`no candidate ${name}`);
}

// The worker end, as in the product: the WebSocket's client, serving the streams the relay end opens.
if (values.serve) {
  const c = (await candidate(values.serve))!;
  const ws = new WebSocket(`ws://127.0.0.1:${values.port}/`, {
    perMessageDeflate: false,
    maxPayload: 64 * 1024 * 1024,
  });
  ws.on('upgrade', (res: IncomingMessage) => c.serve(ws, res.socket as Socket));
  ws.on('close', () => process.exit(0));
  process.on('message', (m: string) => {
    if (m === 'cpu') process.send!({ cpu: process.cpuUsage() });
  });
} else {
  const requests = Number(values.requests);
  const concurrency = Number(values.concurrency);
  const bulkMiB = Number(values['bulk-mib']);
  const rounds = Number(values.rounds);
  const names = values.mux!.split(',').filter(Boolean);
  const rows: string[] = [];

  const cpuOf = (child: ChildProcess): Promise<number> =>
    new Promise((resolve) => {
      const on = (m: { cpu?: NodeJS.CpuUsage }): void => {
        if (!m.cpu) return;
        child.off('message', on);
        resolve((m.cpu.user + m.cpu.system) / 1000);
      };
      child.on('message', on);
      child.send('cpu');
    });
  const ownCpu = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };

  async function measure(name: string): Promise<void> {
    const c = await candidate(name);
    if (!c) {
      rows.push(`${name.padEnd(6)} not installed (npm install --no-save @libp2p/yamux)`);
      return;
    }
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      perMessageDeflate: false,
      maxPayload: 64 * 1024 * 1024,
    });
    await new Promise((resolve) => wss.once('listening', resolve));
    const port = (wss.address() as { port: number }).port;
    const connected = new Promise<[WebSocket, Socket]>((resolve) =>
      wss.once('connection', (ws, req: IncomingMessage) => resolve([ws, req.socket as Socket])),
    );
    const child = fork(new URL(import.meta.url).pathname, ['--serve', name, '--port', String(port)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const [ws, socket] = await connected;
    const client = await c.connect(ws, socket);
    // Warm-up.
    for (let i = 0; i < 500; i++) await client.request('/small');

    let [c0, w0, t0] = [ownCpu(), await cpuOf(child), performance.now()];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next++ < requests) await client.request('/small');
      }),
    );
    let [c1, w1, t1] = [ownCpu(), await cpuOf(child), performance.now()];
    const rps = requests / ((t1 - t0) / 1000);
    const usPerReq = ((c1 - c0 + (w1 - w0)) * 1000) / requests;

    [c0, w0, t0] = [ownCpu(), await cpuOf(child), performance.now()];
    const got = await client.request(`/bulk/${bulkMiB * 1024 * 1024}`);
    [c1, w1, t1] = [ownCpu(), await cpuOf(child), performance.now()];
    if (name !== 'yamux' && got !== bulkMiB * 1024 * 1024) throw new Error(`${name}: bulk got ${got} bytes`);
    const mibps = bulkMiB / ((t1 - t0) / 1000);
    const msPerMiB = (c1 - c0 + (w1 - w0)) / bulkMiB;
    rows.push(
      `${name.padEnd(6)} small ${rps.toFixed(0).padStart(7)} req/s ${usPerReq.toFixed(0).padStart(5)} µs CPU/req` +
        `   bulk ${mibps.toFixed(0).padStart(5)} MiB/s ${msPerMiB.toFixed(2).padStart(6)} ms CPU/MiB` +
        `   (relay end ${((c1 - c0) / bulkMiB).toFixed(2)}, worker end ${((w1 - w0) / bulkMiB).toFixed(2)})`,
    );
    process.stdout.write(`${rows.at(-1)}\n`);
    ws.terminate();
    wss.close();
    child.kill();
  }

  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...names].reverse() : names;
    process.stdout.write(`round ${r + 1}\n`);
    for (const name of order) await measure(name);
  }
  process.exit(0);
}
