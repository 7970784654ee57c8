// The benchmark's "100-stream mix with one slow reader": does one visitor that reads a big download
// very slowly hold up the others on the same tunnel?
//
// One connection asks for 64 MiB and takes 4 KiB of it every 20 ms (about 200 KiB/s, from a paused
// socket, so the kernel's and every hop's buffers fill up and the sender has to wait), while 99
// others each send small requests one after another for the whole run. Driven from Node (undici,
// one client per stream: 100 streams are 100 connections), so the direct run and the tunnelled runs
// share the same load generator. Bounded in time: no new request after `seconds`, and each one
// gives up after 10 s.
import net from 'node:net';
import { Client } from 'undici';

export interface MixResult {
  /** The 99 fast streams: answers that were 200 and whole. */
  requests: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  /** Fast requests that failed or were not 200, and what the first of them was. */
  errors: number;
  firstError?: string;
  slow: SlowReader;
}

export interface SlowReader {
  /** Bytes the slow reader took, its response head included. */
  bytes: number;
  /** Whether the answer's status line was a 200. */
  ok: boolean;
  /** Milliseconds from its last read with data to the end of the fast load: small while it progresses. */
  idleAtEndMs: number;
  /** The longest stretch in which it found nothing to read, in milliseconds. */
  longestWaitMs: number;
  error?: string;
}

const FAST_STREAMS = 99;
const SLOW_CHUNK = 4096;
const SLOW_EVERY_MS = 20;

/**
 * Runs the mix against `origin` (an http://host:port on loopback), sending `host` as the Host header,
 * for `seconds`.
 */
export async function mix(origin: string, host: string, seconds: number): Promise<MixResult> {
  const slow = startSlowReader(new URL(origin), host);
  // The fast streams start once the slow one is being answered, so that it is held for the whole run.
  await slow.started;
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const clients = Array.from(
    { length: FAST_STREAMS },
    () => new Client(origin, { pipelining: 1, headersTimeout: 10_000, bodyTimeout: 10_000, connectTimeout: 10_000 }),
  );
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    clients.map(async (client) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          const res = await client.request({ method: 'GET', path: '/small', headers: { host } });
          await res.body.arrayBuffer();
          if (res.statusCode === 200) latencies.push(performance.now() - t0);
          else {
            errors++;
            firstError ??= `status ${res.statusCode}`;
          }
        } catch (err) {
          errors++;
          firstError ??= (err as Error).message;
          // A refused or reset connection fails at once: do not spin on it.
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const reader = slow.stop(end);
  await Promise.all(clients.map((c) => c.destroy()));
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    requests: latencies.length,
    rps: latencies.length / elapsed,
    p50ms: at(0.5),
    p99ms: at(0.99),
    errors,
    firstError,
    slow: reader,
  };
}

function startSlowReader(origin: URL, host: string): { started: Promise<void>; stop: (end: number) => SlowReader } {
  const state: SlowReader = { bytes: 0, ok: false, idleAtEndMs: NaN, longestWaitMs: 0 };
  let lastData = performance.now();
  let head = '';
  const socket = net.connect({ host: origin.hostname, port: Number(origin.port) });
  socket.setNoDelay(true);
  socket.on('error', (err) => (state.error ??= err.message));
  socket.on('end', () => (state.error ??= 'the server closed the download before the end of the run'));
  socket.write(`GET /huge HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  // Paused from the start: nothing is read but what the timer below takes, so once Node's buffer
  // holds its high-water mark it stops reading the socket and TCP's window closes.
  socket.pause();
  let firstByte: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    firstByte = resolve;
    // A path that never answers the download still gets its fast streams measured (and the row says so).
    setTimeout(resolve, 10_000).unref();
  });
  const timer = setInterval(() => {
    const chunk = socket.read(Math.min(SLOW_CHUNK, socket.readableLength)) as Buffer | null;
    const now = performance.now();
    if (!chunk || chunk.length === 0) {
      state.longestWaitMs = Math.max(state.longestWaitMs, now - lastData);
      return;
    }
    if (state.bytes === 0) firstByte();
    if (head.length < 12) {
      head += chunk.subarray(0, 12).toString('latin1');
      state.ok = /^HTTP\/1\.[01] 200/.test(head);
    }
    state.bytes += chunk.length;
    lastData = now;
  }, SLOW_EVERY_MS);
  return {
    started,
    stop: (end) => {
      clearInterval(timer);
      socket.destroy();
      state.idleAtEndMs = Math.max(0, end - lastData);
      return state;
    },
  };
}
