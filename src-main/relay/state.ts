import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** A visitor request, from its arrival to its answer. */
export interface Visitor {
  req: IncomingMessage;
  res: ServerResponse;
  host: string;
  ip: string;
  chain: string;
  started: number;
  timer: NodeJS.Timeout | null;
  /** Set once a worker has taken the request. */
  id: string | null;
  /** The worker that took it. */
  worker: Worker | null;
  /** Released: answered, failed or gone; nothing more is done for it. */
  done: boolean;
  bytesOut: number;
  /** When an FPW poll's answer carried it to its worker. */
  dispatchedAt?: number;
  /** Sent on to another relay of the cluster after waiting here (once at most). */
  rehomed?: boolean;
  /** The start (or all) of a body of unknown length, read before dispatch. */
  prefix?: { chunks: Buffer[]; size: number; complete: boolean };
}

/** A worker's long-poll, held until a visitor comes or the hold time runs out. */
export interface Poll {
  res: ServerResponse;
  timer: NodeJS.Timeout;
  worker: Worker;
}

/**
 * One worker process of a host, as far as the relay can tell: Porthole's workers name themselves
 * (`fpw-worker`, new at each start) and send a digest of their access and header rules
 * (`fpw-rules`); every other worker is one anonymous worker with no rules.
 */
export interface Worker {
  id: string;
  rules: string;
  /** POSTs of this worker being read now. */
  busy: number;
  lastSeen: number;
  /** It said it is stopping (`fpw-close`): it gets no new visitors. */
  leaving: boolean;
  /** When its last POST that listed its unanswered requests (`fpw-working`) came; undefined: it never lists them. */
  workingAt?: number;
  /** Open connections of a named worker; when the last one closes after it said it is leaving, its visitors are answered. */
  sockets: Set<Socket>;
}

/** A worker's multiplexed connection (the WebSocket transport): it takes any number of visitors at once. */
export interface WorkerSession {
  /** Which endpoint it belongs to: Porthole's WebSocket transport, or a ggrok client. */
  kind: 'ws' | 'ggrok';
  worker: Worker;
  /** Visitor requests and streams running on it now. */
  streams: number;
}

/** What this relay holds of one claimed host: its workers, their polls and sessions, and its visitors. */
export interface HostEntry {
  host: string;
  token: string;
  polls: Poll[];
  queue: Visitor[];
  pending: Map<string, Visitor>;
  /** Worker POSTs currently being read (replies streaming in). */
  busy: number;
  lastSeen: number;
  workers: Map<string, Worker>;
  /** Open sessions of the host's WebSocket workers. */
  sessions: WorkerSession[];
}

/** A worker seen within this window counts as online, even with no poll held. */
export const ONLINE_WINDOW_MS = 5000;

/**
 * The one place a visitor is released: forgotten wherever it waits (the queue, the pending map), its
 * timer stopped. Returns false when it was released already, so that nobody answers it twice.
 */
export function release(entry: HostEntry, v: Visitor): boolean {
  if (v.done) return false;
  v.done = true;
  if (v.timer) clearTimeout(v.timer);
  v.timer = null;
  const i = entry.queue.indexOf(v);
  if (i !== -1) entry.queue.splice(i, 1);
  if (v.id !== null && entry.pending.get(v.id) === v) entry.pending.delete(v.id);
  return true;
}

/** A worker is live while it has a poll held, a POST being read, a visitor waiting on it, or was seen lately. */
export function isLive(entry: HostEntry, w: Worker, now: number): boolean {
  if (w.busy > 0 || now - w.lastSeen < ONLINE_WINDOW_MS) return true;
  if (entry.polls.some((p) => p.worker === w)) return true;
  if (entry.sessions.some((s) => s.worker === w)) return true;
  for (const v of entry.pending.values()) if (v.worker === w) return true;
  return false;
}

/** Whether a worker that has not said it is leaving serves the host. */
export function hasWorkerOnline(entry: HostEntry, now: number): boolean {
  for (const w of entry.workers.values()) if (!w.leaving && isLive(entry, w, now)) return true;
  return false;
}
