// TCP tunnels: a real protocol (Debian's redis-server) through `porthole relay --tcp-ports` and
// `porthole tcp`, many connections at once and a large transfer each way, byte for byte.
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bytes, sha256 } from '../helpers/net.ts';
import { killAll, spawnCli } from '../helpers/cli.ts';
import { resp, startRedis, type Redis } from '../helpers/redis.ts';

let configDir: string;
let redis: Redis;

beforeAll(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'porthole-tcp-'));
  redis = await startRedis();
});
afterEach(killAll);
afterAll(async () => {
  await redis?.stop();
  await rm(configDir, { recursive: true, force: true });
});

const env = () => ({ PORTHOLE_CONFIG_DIR: configDir, FPW_HOST: '', FPW_TOKEN: '' });

async function relay(extra: string[] = ['--tcp-ports', '31000-31099']) {
  const p = spawnCli(['relay', '--port', '0', ...extra], env());
  const [, port] = await p.waitFor(/^Listening on http:\/\/127\.0\.0\.1:(\d+)$/);
  return { p, port: Number(port), ws: `ws://127.0.0.1:${port}/` };
}

function dial(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

describe('porthole tcp', () => {
  it('carries redis: 50 connections at once, and 20 MiB each way on one of them, byte for byte', async () => {
    const r = await relay();
    const tcp = spawnCli(['tcp', String(redis.port), '--relay', r.ws], env());
    const [, publicPort] = await tcp.waitFor(/^Forwarding tcp:\/\/127\.0\.0\.1:(\d+) -> 127\.0\.0\.1:\d+$/);
    const port = Number(publicPort);
    expect(port).toBeGreaterThanOrEqual(31000);
    expect(port).toBeLessThanOrEqual(31099);
    const sockets = await Promise.all(Array.from({ length: 50 }, () => dial(port)));
    const results = await Promise.all(
      sockets.map(async (s, i) => {
        const call = resp(s);
        expect(await call('PING')).toBe('+PONG');
        expect(await call('SET', `key${i}`, `value ${i}`)).toBe('+OK');
        return (await call('GET', `key${i}`))!.toString();
      }),
    );
    results.forEach((v, i) => expect(v).toBe(`value ${i}`));
    const big = bytes(20 * 1024 * 1024, 42);
    const call = resp(sockets[0]!);
    expect(await call('SET', 'big', big)).toBe('+OK');
    const back = (await call('GET', 'big')) as Buffer;
    expect(back.length).toBe(big.length);
    expect(sha256(back)).toBe(sha256(big));
    for (const s of sockets) s.destroy();
    // One line per connection: time, visitor address, bytes each way, duration.
    await tcp.waitFor(/^\d\d:\d\d:\d\d {2}127\.0\.0\.1 {2}TCP {2}in \d+ B {2}out \d+ B {2}\d+ ms$/);
    expect(await tcp.stop('SIGINT')).toBe(0);
  }, 60_000);

  it('passes a half-close on, and closes the visitor at once when the local service refuses', async () => {
    // A local service that answers only once the visitor has finished sending (half-close).
    const service = net.createServer({ allowHalfOpen: true }, (s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => s.end(`got ${Buffer.concat(chunks).length} bytes`));
    });
    service.listen(0, '127.0.0.1');
    await once(service, 'listening');
    const servicePort = (service.address() as net.AddressInfo).port;
    const r = await relay();
    const tcp = spawnCli(['tcp', String(servicePort), '--relay', r.ws, '--remote-port', '31050'], env());
    await tcp.waitFor(/^Forwarding tcp:\/\/127\.0\.0\.1:31050 -> /);
    const s = await dial(31050);
    s.write(Buffer.alloc(100_000, 1));
    s.end();
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    await once(s, 'close');
    expect(Buffer.concat(chunks).toString()).toBe('got 100000 bytes');
    // The service goes away: a visitor's connection is closed at once, not left hanging.
    await new Promise<void>((resolve) => service.close(() => resolve()));
    const refused = await dial(31050);
    const closed = once(refused, 'close');
    refused.on('data', () => undefined);
    await closed;
    expect(refused.bytesRead).toBe(0);
    await tcp.waitFor(/TCP {2}in 0 B {2}out 0 B .*connection refused/);
  }, 30_000);

  it('is refused by a relay without --tcp-ports, with exit code 3 and the reason', async () => {
    const r = await relay([]);
    const tcp = spawnCli(['tcp', String(redis.port), '--relay', r.ws], env());
    expect(await tcp.exited).toBe(3);
    expect(tcp.stderr.join('\n')).toContain('offers no TCP ports');
  });
});
