import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { RelayServer, type RelayOptions } from '../../src-main/relay/RelayServer.ts';
import { Tunnel, type TunnelOptions } from '../../src-main/engine/Tunnel.ts';
import { ProfileSchema, type ProfileInput } from '../../src-main/engine/profile.ts';

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Deterministic pseudo-random bytes, so both ends can compare without sending a digest. */
export function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export interface Server {
  port: number;
  url: string;
  close(): Promise<void>;
  server: http.Server;
}

/** A real HTTP server on 127.0.0.1 with a free port. */
export async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  port = 0,
): Promise<Server> {
  const server = http.createServer(handler);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const p = (server.address() as AddressInfo).port;
  return {
    port: p,
    url: `http://127.0.0.1:${p}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The upstream most tests use: echoes what it got, plus a few routes with known answers. */
export function echoHandler(): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname.startsWith('/bytes/')) {
        const n = Number(url.pathname.slice(7));
        const data = bytes(n, 7);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
        res.end(data);
        return;
      }
      if (url.pathname === '/redirect') {
        res.writeHead(302, { location: '/elsewhere?x=1' });
        res.end();
        return;
      }
      if (url.pathname === '/cookies') {
        res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly', 'c=3; SameSite=Lax']);
        res.end(Buffer.from('cookies'));
        return;
      }
      if (url.pathname === '/latin1') {
        res.setHeader('x-latin1', 'caf\u00e9 \u00ff\u0080');
        res.end();
        return;
      }
      if (url.pathname === '/who') {
        // The response carries the visitor's own marker, to prove nobody gets another's answer.
        const marker = String(req.headers['x-marker'] ?? '');
        const delay = Number(url.searchParams.get('delay') ?? 0);
        setTimeout(() => res.end(Buffer.from(marker)), delay);
        return;
      }
      const out = Buffer.from(
        JSON.stringify({
          method: req.method,
          url: req.url,
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          bodySha: sha256(body),
          bodyLength: body.length,
        }),
      );
      res.writeHead(200, { 'content-type': 'application/json', 'x-echo': '1' });
      res.end(req.method === 'HEAD' ? undefined : out);
    })();
  };
}

export interface Visit {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const visitors = new Agent({ keepAliveTimeout: 1000, connect: { noDelay: true } });

/** A visitor's request to the relay: connects to 127.0.0.1 and sets Host (Node cannot resolve *.localhost). */
export async function visit(
  port: number,
  host: string,
  opts: { method?: string; path?: string; headers?: Record<string, string | string[]>; body?: Buffer | string } = {},
): Promise<Visit> {
  const res = await request(`http://127.0.0.1:${port}${opts.path ?? '/'}`, {
    method: opts.method ?? 'GET',
    headers: { host, ...opts.headers },
    body: opts.body ?? null,
    dispatcher: visitors,
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

export async function startRelay(opts: RelayOptions = {}): Promise<RelayServer> {
  // Tests of a relay in its steady state: no start-up window in which unknown hosts get 503.
  const relay = new RelayServer({ port: 0, startupGraceMs: 0, ...opts });
  await relay.listen();
  return relay;
}

let counter = 0;

export interface TunnelSpec {
  /** Profile fields over the defaults (relay fields merged). */
  profile?: Partial<Omit<ProfileInput, 'relay'>> & { relay?: Partial<ProfileInput['relay']> };
  options?: TunnelOptions;
  /** Wait until online. @default true */
  wait?: boolean;
}

/** A tunnel to `target` through the relay at `relayUrl`, started; resolves once online. */
export async function startTunnel(relayUrl: string, target: string, spec: TunnelSpec = {}): Promise<Tunnel> {
  counter += 1;
  const { relay, ...rest } = spec.profile ?? {};
  const profile = ProfileSchema.parse({
    id: `t${counter}`,
    name: `test ${counter}`,
    upstream: { kind: 'http', target },
    ...rest,
    relay: { kind: 'fpw', url: `${relayUrl}/`, host: `app${counter}.test`, token: `token-${counter}`, ...relay },
  });
  const tunnel = new Tunnel(profile, spec.options);
  tunnel.start();
  if (spec.wait !== false) await tunnel.whenOnline();
  return tunnel;
}

/** Waits for an event-like condition by polling a predicate on the event loop (no fixed sleeps). */
export async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
