import http, { type IncomingMessage } from 'node:http';
import net, { type Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { redisUnreachable, type ClusterKeys } from './keys.ts';
import { signedHeaders } from './sign.ts';

/** The Upgrade token of an internal upgrade that carries one visitor's TCP connection to the port's relay. */
export const TCP_UPGRADE = 'porthole-tcp';
/** Host and target of that request (signed like the others). */
const TCP_HOST = 'porthole-cluster';
const TCP_PATH = '/porthole-cluster/tcp';

/** Deletes a port's key only if this relay owns it. */
const RELEASE = `
local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v).node == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

interface Owner {
  node: string;
  host: string;
}

/**
 * Public TCP ports across a cluster: a port is given to one worker in the whole cluster
 * (`tcp:<port>` in Redis, set only if free), and every relay listens on every port the others
 * gave out, passing each connection to the relay that holds the worker, over an internal upgrade.
 */
export class ClusterTcpPorts {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  readonly #node: string;
  readonly #secret: string;
  readonly #graceMs: number;
  readonly #bind: string;
  readonly #range: { from: number; to: number } | null;
  readonly #nodeUrl: (id: string) => Promise<string | null>;
  readonly #log: (line: string) => void;
  /** Ports this relay gave to its own workers. */
  readonly #mine = new Set<number>();
  /** Ports other relays gave out, listened on here, by port. */
  readonly #relayed = new Map<number, { owner: string; server: net.Server }>();

  constructor(opts: {
    redis: Redis;
    keys: ClusterKeys;
    node: string;
    secret: string;
    graceMs: number;
    bind: string;
    range: { from: number; to: number } | null;
    nodeUrl: (id: string) => Promise<string | null>;
    log: (line: string) => void;
  }) {
    this.#redis = opts.redis;
    this.#keys = opts.keys;
    this.#node = opts.node;
    this.#secret = opts.secret;
    this.#graceMs = opts.graceMs;
    this.#bind = opts.bind;
    this.#range = opts.range;
    this.#nodeUrl = opts.nodeUrl;
    this.#log = opts.log;
  }

  /** Takes a port for a worker of `host` here, unless another relay of the cluster has it. */
  async reserve(port: number, host: string): Promise<boolean> {
    // A port another relay gave out is listened on here, for it: that listener goes first.
    if (this.#relayed.has(port)) return false;
    const key = this.#keys.tcpPort(port);
    const value = JSON.stringify({ node: this.#node, host } satisfies Owner);
    const ok = await this.#redis.set(key, value, 'PX', this.#graceMs, 'NX').catch((err: unknown) => {
      throw redisUnreachable(err);
    });
    if (ok !== 'OK') return false;
    this.#mine.add(port);
    return true;
  }

  /** The port's worker is gone: the port is free again for the whole cluster. */
  async release(port: number): Promise<void> {
    this.#mine.delete(port);
    await this.#redis.eval(RELEASE, 1, this.#keys.tcpPort(port), this.#node).catch(() => undefined);
  }

  /**
   * Once a heartbeat: this relay's ports are renewed, and the ports of the others listened on (the
   * new ones) or let go (those given up, or whose relay is gone).
   */
  async sync(): Promise<void> {
    const p = this.#redis.pipeline();
    for (const port of this.#mine) p.pexpire(this.#keys.tcpPort(port), this.#graceMs);
    await p.exec();
    if (!this.#range) return;
    const ports = Array.from({ length: this.#range.to - this.#range.from + 1 }, (_, i) => this.#range!.from + i);
    const owners = new Map<number, string>();
    for (let i = 0; i < ports.length; i += 500) {
      const batch = ports.slice(i, i + 500);
      const values = await this.#redis.mget(batch.map((port) => this.#keys.tcpPort(port)));
      values.forEach((v, k) => {
        const owner = parseOwner(v);
        if (owner && owner.node !== this.#node) owners.set(batch[k]!, owner.node);
      });
    }
    for (const [port, relayed] of this.#relayed) {
      if (owners.get(port) !== relayed.owner) {
        relayed.server.close();
        this.#relayed.delete(port);
      }
    }
    for (const [port, owner] of owners) {
      if (this.#relayed.has(port) || this.#mine.has(port)) continue;
      await this.#listen(port, owner);
    }
  }

  #listen(port: number, owner: string): Promise<void> {
    return new Promise((resolve) => {
      const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (visitor) =>
        this.#pass(port, owner, visitor),
      );
      server.once('error', (err) => {
        this.#log(`${new Date().toISOString()} cannot listen on tcp port ${port} for relay ${owner}: ${err.message}`);
        this.#relayed.delete(port);
        resolve();
      });
      this.#relayed.set(port, { owner, server });
      server.listen(port, this.#bind, () => resolve());
    });
  }

  /** One visitor's connection to a port of another relay: carried there over an internal upgrade. */
  #pass(port: number, owner: string, visitor: Socket): void {
    visitor.on('error', () => undefined);
    visitor.pause();
    const ip = (visitor.remoteAddress ?? '').replace(/^::ffff:/, '');
    void this.#nodeUrl(owner).then(
      (url) => {
        if (!url) return void visitor.destroy();
        const target = new URL(url);
        const path = `${TCP_PATH}/${port}`;
        const out = http.request({
          host: target.hostname,
          port: target.port || 80,
          method: 'GET',
          path,
          agent: false,
          setHost: false,
          headers: {
            host: TCP_HOST,
            connection: 'Upgrade',
            upgrade: TCP_UPGRADE,
            ...signedHeaders(
              this.#secret,
              { node: this.#node, ip, chain: ip, replyOnly: false },
              'GET',
              TCP_HOST,
              path,
            ),
          },
        });
        out.on('error', () => visitor.destroy());
        out.on('response', (res) => {
          res.resume();
          visitor.destroy();
        });
        out.on('upgrade', (_res, upstream, head) => {
          upstream.on('error', () => undefined);
          if (head.length) visitor.write(head);
          upstream.pipe(visitor);
          visitor.pipe(upstream);
          visitor.resume();
          upstream.once('close', () => visitor.destroy());
          visitor.once('close', () => upstream.destroy());
        });
        visitor.once('close', () => out.destroy());
        out.end();
      },
      () => visitor.destroy(),
    );
  }

  /** Stops listening on the others' ports and gives this relay's back. */
  async close(): Promise<void> {
    for (const { server } of this.#relayed.values()) server.close();
    this.#relayed.clear();
    await Promise.all([...this.#mine].map((port) => this.release(port)));
  }
}

/** The TCP port an internal upgrade carries, if it is one. */
export function tcpPortOf(req: IncomingMessage): number | null {
  if (String(req.headers.upgrade ?? '').toLowerCase() !== TCP_UPGRADE) return null;
  const m = /^\/porthole-cluster\/tcp\/(\d{1,5})$/.exec(req.url ?? '');
  return m ? Number(m[1]) : null;
}

function parseOwner(json: string | null): Owner | null {
  if (!json) return null;
  try {
    const o = JSON.parse(json) as Owner;
    return typeof o.node === 'string' && typeof o.host === 'string' ? o : null;
  } catch {
    return null;
  }
}
