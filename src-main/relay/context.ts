import type { IncomingMessage } from 'node:http';
import type { Cluster } from './cluster/Cluster.ts';
import type { Forwarder } from './cluster/forward.ts';
import type { Forwarded } from './cluster/sign.ts';
import type { HostRegistry } from './HostRegistry.ts';
import type { FailureLimiter } from './limits.ts';
import type { HostEntry } from './state.ts';

/** The relay's settings, every default applied. */
export interface RelaySettings {
  port: number;
  bind: string;
  trustProxy: readonly string[];
  holdMs: number;
  replyTimeoutMs: number;
  queueTimeoutMs: number;
  queueLimit: number;
  maxBodyBytes: number;
  maxHeaderBytes: number;
  claimGraceMs: number;
  heartbeatMs: number;
  /** Public TCP ports workers may ask for (`--tcp-ports`); null: none. */
  tcpPorts: { from: number; to: number } | null;
  /** Unknown hosts get 503 (not 404) for this long after start. */
  startupGraceMs: number;
  now: () => number;
}

/** What the relay's parts share: settings, the hosts this relay holds, the registry of claims, the log. */
export interface RelayContext {
  readonly opts: RelaySettings;
  /** The hosts this relay holds workers or visitors of, by host name. */
  readonly hosts: Map<string, HostEntry>;
  readonly registry: HostRegistry;
  /** Failed claims and wrong tokens, per client address. */
  readonly failures: FailureLimiter;
  /** Hosts must be this domain or under it; null: any host. */
  readonly domain: string | null;
  /** Tokens allowed to claim; null: any token. */
  readonly tokens: ReadonlySet<string> | null;
  /** Visitors whose Host matches no claim go to this host. */
  readonly defaultHost: string | null;
  /** When the relay started listening (its clock). */
  startedAt(): number;
  /** True once the relay began to close. */
  closing(): boolean;
  log(line: string): void;
  /** The URL visitors use for a host. */
  publicUrl(host: string): string;
  /** A new FPW request id; in a cluster it begins with this relay's node id. */
  requestId(): string;
  /** The cluster this relay is part of, and how it reaches the others; null: it runs alone. */
  readonly cluster: { readonly node: Cluster; readonly forwarder: Forwarder } | null;
  /** Requests from another relay of the cluster (signature checked), with what they say of their visitor. */
  readonly internal: WeakMap<IncomingMessage, Forwarded>;
  /** A host got its first worker here: the cluster hears of it now, not at the next heartbeat. */
  hostAdded(): void;
}
