import { EventEmitter } from 'node:events';
import type { Dispatcher } from 'undici';
import { parseProfile, type Profile } from './profile.ts';
import { summarise, type RequestRecord, type RequestSummary } from './request-log.ts';
import { Tunnel, type TunnelOptions, type TunnelSnapshot } from './Tunnel.ts';
import { pollUrl, relayDispatcher } from './transports/fpw.ts';

import type { AggregateStatus } from './shapes.ts';

export interface TunnelManagerOptions {
  /** Shortest time between two batches of request summaries. @default 100 (10 batches a second) */
  batchIntervalMs?: number;
  /** Options every tunnel gets (log bounds, caps). */
  tunnel?: Omit<TunnelOptions, 'dispatcher'>;
}

interface ManagerEvents {
  /** A tunnel's phase or URL changed. */
  status: [TunnelSnapshot];
  /** Summaries of requests that finished since the last batch, oldest first. */
  requests: [RequestSummary[]];
}

/** The only door between the engine and any UI: tunnels from profiles, their status and their logs. */
export class TunnelManager extends EventEmitter<ManagerEvents> {
  readonly #tunnels = new Map<string, Tunnel>();
  readonly #dispatchers = new Map<string, Dispatcher>();
  readonly #interval: number;
  readonly #tunnelOpts: Omit<TunnelOptions, 'dispatcher'>;
  #pending: RequestSummary[] = [];
  #timer: NodeJS.Timeout | null = null;
  #lastFlush = 0;

  constructor(opts: TunnelManagerOptions = {}) {
    super();
    this.#interval = opts.batchIntervalMs ?? 100;
    this.#tunnelOpts = opts.tunnel ?? {};
  }

  /** Adds (or replaces, when stopped) the tunnel of a profile. */
  add(input: Profile | unknown): Tunnel {
    const r = parseProfile(input);
    if (!r.ok) throw new Error(r.error);
    const profile = r.profile;
    const existing = this.#tunnels.get(profile.id);
    if (existing) {
      const phase = existing.state.phase;
      if (phase !== 'stopped' && phase !== 'failed') throw new Error(`tunnel ${profile.id} is running; stop it first`);
      existing.removeAllListeners();
      void existing.close(0);
    }
    const tunnel = new Tunnel(profile, {
      ...this.#tunnelOpts,
      dispatcher: this.#dispatcherFor(profile),
      // An edited profile keeps the requests its tunnel saw, and the counters that count them.
      ...(existing ? { requestLog: existing.log, stats: existing.stats } : {}),
    });
    tunnel.on('status', (s) => this.emit('status', s));
    tunnel.on('request', (r) => this.#queue(r));
    this.#tunnels.set(profile.id, tunnel);
    return tunnel;
  }

  #dispatcherFor(profile: Profile): Dispatcher {
    const origin = pollUrl(profile.relay.url, profile.relay.host).origin;
    let d = this.#dispatchers.get(origin);
    if (!d) {
      d = relayDispatcher();
      this.#dispatchers.set(origin, d);
    }
    return d;
  }

  get(id: string): Tunnel | undefined {
    return this.#tunnels.get(id);
  }

  list(): TunnelSnapshot[] {
    return [...this.#tunnels.values()].map((t) => t.snapshot());
  }

  start(id: string): Tunnel {
    const t = this.#require(id);
    t.start();
    return t;
  }

  async stop(id: string, graceMs = 5000): Promise<void> {
    await this.#require(id).stop(graceMs);
  }

  startAll(): void {
    for (const t of this.#tunnels.values()) if (t.state.phase === 'stopped' || t.state.phase === 'failed') t.start();
  }

  async stopAll(graceMs = 5000): Promise<void> {
    await Promise.all([...this.#tunnels.values()].map((t) => t.stop(graceMs)));
  }

  /** Removes a tunnel (stopping it first). */
  async remove(id: string): Promise<void> {
    const t = this.#tunnels.get(id);
    if (!t) return;
    this.#tunnels.delete(id);
    await t.close(0);
  }

  /** idle: nothing running; error: something failed; connecting: something not yet online; else online. */
  aggregate(): AggregateStatus {
    const phases = [...this.#tunnels.values()].map((t) => t.state.phase);
    if (phases.includes('failed')) return 'error';
    if (phases.some((p) => p === 'starting' || p === 'reconnecting')) return 'connecting';
    if (phases.includes('online')) return 'online';
    return 'idle';
  }

  /** Summaries of a tunnel's recent requests, oldest first. */
  requests(tunnelId: string): RequestSummary[] {
    return this.#require(tunnelId).log.list().map(summarise);
  }

  /** Everything kept about one request. */
  request(tunnelId: string, recordId: string): RequestRecord | undefined {
    return this.#tunnels.get(tunnelId)?.log.get(recordId);
  }

  clearRequests(tunnelId: string): void {
    this.#require(tunnelId).log.clear();
  }

  /** Stops every tunnel (in-flight requests get `graceMs`) and releases connections. */
  async close(graceMs = 5000): Promise<void> {
    await Promise.all([...this.#tunnels.values()].map((t) => t.close(graceMs)));
    this.#flush();
    if (this.#timer) clearTimeout(this.#timer);
    await Promise.all([...this.#dispatchers.values()].map((d) => d.close().catch(() => undefined)));
    this.#dispatchers.clear();
  }

  #require(id: string): Tunnel {
    const t = this.#tunnels.get(id);
    if (!t) throw new Error(`no tunnel with id ${id}`);
    return t;
  }

  #queue(record: RequestRecord): void {
    this.#pending.push(summarise(record));
    if (this.#timer) return;
    const wait = Math.max(0, this.#lastFlush + this.#interval - Date.now());
    this.#timer = setTimeout(() => this.#flush(), wait);
  }

  #flush(): void {
    this.#timer = null;
    if (!this.#pending.length) return;
    this.#lastFlush = Date.now();
    const batch = this.#pending;
    this.#pending = [];
    this.emit('requests', batch);
  }
}
