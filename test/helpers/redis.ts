import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A private redis-server (Debian's) on a free port of 127.0.0.1, for tests. */
export interface Redis {
  port: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Starts one; given a port (to start it again where it was), on that port. Nothing is kept on disk. */
export async function startRedis(opts: { port?: number } = {}): Promise<Redis> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'porthole-redis-'));
  const proc: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--proto-max-bulk-len',
      '64mb',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}

/** A minimal RESP client on a socket: one command, one reply (simple, integer, bulk). */
export function resp(socket: net.Socket) {
  let buffered: Buffer = Buffer.alloc(0);
  let waiting: ((reply: Buffer | string | number | null) => void) | null = null;
  const tryParse = (): void => {
    if (!waiting || buffered.length < 3) return;
    const end = buffered.indexOf('\r\n');
    if (end === -1) return;
    const type = String.fromCharCode(buffered[0]!);
    const line = buffered.subarray(1, end).toString('latin1');
    if (type === '$') {
      const len = Number(line);
      if (len === -1) return done(null, end + 2);
      if (buffered.length < end + 2 + len + 2) return;
      return done(Buffer.from(buffered.subarray(end + 2, end + 2 + len)), end + 2 + len + 2);
    }
    if (type === ':') return done(Number(line), end + 2);
    return done(`${type}${line}`, end + 2);
  };
  const done = (reply: Buffer | string | number | null, used: number): void => {
    buffered = buffered.subarray(used);
    const w = waiting!;
    waiting = null;
    w(reply);
  };
  socket.on('data', (c: Buffer) => {
    buffered = buffered.length ? Buffer.concat([buffered, c]) : c;
    tryParse();
  });
  return (...args: Array<string | Buffer>): Promise<Buffer | string | number | null> =>
    new Promise((resolve) => {
      waiting = resolve;
      const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
      for (const a of args) {
        const b = Buffer.isBuffer(a) ? a : Buffer.from(a);
        parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
      }
      socket.write(Buffer.concat(parts));
      tryParse();
    });
}
