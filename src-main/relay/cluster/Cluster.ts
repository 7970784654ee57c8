import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { clusterKeys, type ClusterKeys } from './keys.ts';
import { RedisHostRegistry } from './RedisHostRegistry.ts';
import { ClusterTcpPorts } from './tcp.ts';

export interface ClusterOptions {
  /** `redis://HOST:PORT/` (or `rediss://`, with a password or a database number). */
  redisUrl: string;
  /** How the other relays reach this one (`http://10.0.0.5:8080`); null: the relay's own address, said at start. */
  nodeUrl: string | null;
  /** The secret every relay of the cluster signs its internal requests with. */
  secret: string;
  /** Prefix of every key. @default 'porthole:' */
  prefix?: string;
  /** How long a claim outlives its last renewal (the relay's claim grace). */
  claimGraceMs: number;
  /** How often this relay says in Redis that it is alive and which hosts it holds. @default 1000 */
  heartbeatMs?: number;
  log?: (line: string) => void;
  /** For tests: runs between reading a claim and writing it. */
  beforeClaimWrite?: (host: string) => Promise<void>;
  /** The relay's public TCP ports (`--tcp-ports`), shared by the cluster; null: none. */
  tcpPorts?: { from: number; to: number } | null;
  /** The address the relay listens on (the TCP ports too). */
  bind?: string;
}

/** Another relay of the cluster. */
export interface ClusterNode {
  id: string;
  url: string;
}

/** A relay's node key lives this many heartbeats: a relay that dies is forgotten within seconds. */
const NODE_TTL_BEATS = 3;
/** How long a host's holders, read from Redis, are believed. */
const HOLDERS_CACHE_MS = 500;
/** Last-known holders of a host, kept for use while Redis is away, are forgotten after this long. */
const HOLDERS_KEEP_MS = 10 * 60_000;
/** A relay that could not be reached is not tried again for this long. */
const DOWN_MS = 3000;

/**
 * This relay's membership of a cluster: its node id, its heartbeat in Redis (alive, and which hosts
 * it holds workers of), the shared claims, and where to find the holders of a host.
 */
export class Cluster {
  /** 8 hex digits, new at each start; FPW request ids begin with it. */
  readonly nodeId = randomBytes(4).toString('hex');
  #nodeUrl: string;
  readonly secret: string;
  readonly registry: RedisHostRegistry;
  readonly keys: ClusterKeys;
  /** Public TCP ports, one owner in the cluster each, listened on by every relay. */
  readonly tcp: ClusterTcpPorts;
  readonly #opts: ClusterOptions;
  readonly #redis: Redis;
  readonly #claims: Redis;
  readonly #heartbeatMs: number;
  readonly #started = Date.now();
  #reachable = false;
  /** Redis was reachable once and then lost: its return is worth a line in the log. */
  #lost = false;
  #timer: NodeJS.Timeout | null = null;
  #heldHosts: () => string[] = () => [];
  /** Hosts this relay said in Redis that it holds. */
  #registered = new Set<string>();
  readonly #holders = new Map<string, { at: number; nodes: ClusterNode[] }>();
  readonly #down = new Map<string, number>();
  #beating = false;
  #closed = false;

  constructor(opts: ClusterOptions) {
    this.#opts = opts;
    this.#nodeUrl = (opts.nodeUrl ?? '').replace(/\/+$/, '');
    this.secret = opts.secret;
    this.keys = clusterKeys(opts.prefix);
    this.#heartbeatMs = opts.heartbeatMs ?? 1000;
    const connect = (name: string): Redis => {
      const r = new Redis(opts.redisUrl, {
        connectionName: `porthole-relay-${this.nodeId}-${name}`,
        // Nothing waits for Redis: while it is away, what needs it fails at once (a claim gets 503).
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: 2000,
        connectTimeout: 2000,
        retryStrategy: (times) => Math.min(100 * times, 1000),
        lazyConnect: true,
      });
      r.on('error', () => undefined);
      return r;
    };
    this.#redis = connect('main');
    this.#claims = connect('claims');
    this.#redis.on('ready', () => this.#setReachable(true, ''));
    this.#redis.on('close', () => this.#setReachable(false, 'connection closed'));
    this.tcp = new ClusterTcpPorts({
      redis: this.#redis,
      keys: this.keys,
      node: this.nodeId,
      secret: opts.secret,
      graceMs: opts.claimGraceMs,
      bind: opts.bind ?? '127.0.0.1',
      range: opts.tcpPorts ?? null,
      nodeUrl: async (id) => (await this.node(id))?.url ?? null,
      log: (line) => opts.log?.(line),
    });
    this.registry = new RedisHostRegistry({
      redis: this.#redis,
      claims: this.#claims,
      keys: this.keys,
      node: this.nodeId,
      graceMs: opts.claimGraceMs,
      beforeWrite: opts.beforeClaimWrite,
    });
  }

  /** Connects (waiting a moment for Redis, but starting without it) and starts the heartbeat. */
  async start(ownUrl: string, heldHosts: () => string[]): Promise<void> {
    this.#heldHosts = heldHosts;
    if (!this.#nodeUrl) this.#nodeUrl = ownUrl;
    const connecting = Promise.all([this.#redis.connect(), this.#claims.connect()]).catch(() => undefined);
    await Promise.race([connecting, new Promise((r) => setTimeout(r, 2000).unref())]);
    if (!this.#reachable) {
      this.#lost = true;
      this.#log(`Redis is unreachable (${this.#opts.redisUrl}): serving local workers only until it is back`);
    }
    await this.beat();
    this.#timer = setInterval(() => void this.beat(), this.#heartbeatMs);
    this.#timer.unref();
  }

  /** How the other relays reach this one. */
  get nodeUrl(): string {
    return this.#nodeUrl;
  }

  /** Whether Redis answers now. */
  get reachable(): boolean {
    return this.#reachable;
  }

  /** Says in Redis that this relay is alive and which hosts it holds; at once, when a host came or went. */
  async beat(): Promise<void> {
    if (this.#beating || this.#closed) return;
    this.#beating = true;
    try {
      const ttl = this.#heartbeatMs * NODE_TTL_BEATS;
      const held = new Set(this.#heldHosts());
      const p = this.#redis.pipeline();
      p.set(this.keys.node(this.nodeId), JSON.stringify({ url: this.nodeUrl, started: this.#started }), 'PX', ttl);
      for (const host of held) {
        p.sadd(this.keys.holders(host), this.nodeId);
        p.pexpire(this.keys.holders(host), Math.max(ttl * 10, this.#opts.claimGraceMs));
      }
      for (const host of this.#registered) if (!held.has(host)) p.srem(this.keys.holders(host), this.nodeId);
      const results = await p.exec();
      const failed = results?.find(([err]) => err);
      if (failed) throw failed[0]!;
      this.#registered = held;
      // Last-known holders outlive their cache time only for a Redis outage, and not forever.
      const now = Date.now();
      for (const [host, c] of this.#holders) if (now - c.at > HOLDERS_KEEP_MS) this.#holders.delete(host);
      await this.tcp.sync();
    } catch {
      // Said when the connection drops; the next beat tries again.
    } finally {
      this.#beating = false;
    }
  }

  /**
   * The other relays that hold a worker of `host` now (those just found unreachable left out). While
   * Redis is away, the last ones known.
   */
  async holders(host: string): Promise<ClusterNode[]> {
    const now = Date.now();
    const cached = this.#holders.get(host);
    let nodes: ClusterNode[];
    if (cached && now - cached.at < HOLDERS_CACHE_MS) nodes = cached.nodes;
    else {
      try {
        const ids = (await this.#redis.smembers(this.keys.holders(host))).filter((id) => id !== this.nodeId);
        nodes = [];
        if (ids.length) {
          const infos = await this.#redis.mget(ids.map((id) => this.keys.node(id)));
          ids.forEach((id, i) => {
            const url = parseNode(infos[i]);
            if (url) nodes.push({ id, url });
          });
        }
        // Only hosts that have holders are kept: visitors may send any Host, and an empty answer is
        // worth nothing while Redis is away.
        if (nodes.length) this.#holders.set(host, { at: now, nodes });
        else this.#holders.delete(host);
      } catch {
        nodes = cached?.nodes ?? [];
      }
    }
    return nodes.filter((n) => (this.#down.get(n.id) ?? 0) <= now);
  }

  /** Another relay by its node id (an FPW request id's first 8 digits), if it is alive. */
  async node(id: string): Promise<ClusterNode | null> {
    const url = parseNode(await this.#redis.get(this.keys.node(id)));
    return url ? { id, url } : null;
  }

  /** A relay that did not answer is left out of {@link holders} for a moment. */
  markDown(id: string): void {
    this.#down.set(id, Date.now() + DOWN_MS);
    for (const [host, c] of this.#holders) if (c.nodes.some((n) => n.id === id)) this.#holders.delete(host);
  }

  /** The node id an FPW request id names, when another relay of the cluster issued it. */
  issuerOf(requestId: string): string | null {
    if (!/^[0-9a-f]{32}$/.test(requestId)) return null;
    const node = requestId.slice(0, 8);
    return node === this.nodeId ? null : node;
  }

  /** Leaves the cluster: its registrations removed, the connections closed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#reachable) await this.tcp.close();
    if (this.#reachable) {
      const p = this.#redis.pipeline();
      p.del(this.keys.node(this.nodeId));
      for (const host of this.#registered) p.srem(this.keys.holders(host), this.nodeId);
      await p.exec().catch(() => undefined);
    }
    this.#redis.disconnect();
    this.#claims.disconnect();
  }

  #setReachable(up: boolean, why: string): void {
    if (this.#closed || up === this.#reachable) return;
    this.#reachable = up;
    if (up) {
      if (this.#lost)
        this.#log(`Redis is reachable again: node ${this.nodeId} (${this.nodeUrl}) is back in the cluster`);
      void this.beat();
    } else {
      this.#lost = true;
      this.#log(`Redis is unreachable (${why}): serving local workers only until it is back`);
    }
  }

  #log(line: string): void {
    this.#opts.log?.(`${new Date().toISOString()} ${line}`);
  }
}

function parseNode(json: string | null | undefined): string | null {
  if (!json) return null;
  try {
    const url = (JSON.parse(json) as { url?: unknown }).url;
    return typeof url === 'string' ? url : null;
  } catch {
    return null;
  }
}
