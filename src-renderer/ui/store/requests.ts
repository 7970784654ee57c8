// Request summaries per tunnel, bounded like the main process's log, and the paused live view.
import type { StateCreator } from 'zustand/vanilla';
import type { RequestSummaryView } from '../../../src-main/ipc/contract.ts';
import type { PortholeState } from './index.ts';

/** Summaries kept per tunnel: as many as the main process keeps (its request log's default). */
export const MAX_REQUESTS_PER_TUNNEL = 500;

/** One tunnel's summaries, oldest first. */
export interface TunnelRequests {
  /** What the list shows. */
  items: readonly RequestSummaryView[];
  /** Arrived while the live view was paused; shown on resume. */
  pending: readonly RequestSummaryView[];
  paused: boolean;
}

export const NO_REQUESTS: TunnelRequests = Object.freeze({ items: [], pending: [], paused: false });

export interface RequestsSlice {
  requests: Readonly<Record<string, TunnelRequests>>;
  /** A pushed batch (any tunnels, oldest first). */
  receiveBatch(batch: readonly RequestSummaryView[]): void;
  /** The whole log of a tunnel as `requests:list` returned it; what arrived meanwhile is kept. */
  loadRequests(tunnelId: string, list: readonly RequestSummaryView[]): void;
  clearRequests(tunnelId: string): void;
  setPaused(tunnelId: string, paused: boolean): void;
}

/**
 * Adds summaries to a tunnel's list: a known id is replaced where it is, a new one appended (to the
 * pending list while paused), and the oldest are dropped past the bound. The main process has dropped
 * them too, so their details could not be fetched anyway.
 */
export function mergeRequests(current: TunnelRequests, incoming: readonly RequestSummaryView[]): TunnelRequests {
  if (incoming.length === 0) return current;
  const known = new Set<string>();
  for (const r of current.items) known.add(r.id);
  for (const r of current.pending) known.add(r.id);
  const fresh: RequestSummaryView[] = [];
  let replaced: Map<string, RequestSummaryView> | null = null;
  for (const r of incoming) {
    if (known.has(r.id)) (replaced ??= new Map()).set(r.id, r);
    else {
      known.add(r.id);
      fresh.push(r);
    }
  }
  let items = current.items;
  let pending = current.pending;
  if (current.paused) pending = fresh.length ? pending.concat(fresh) : pending;
  else items = fresh.length ? items.concat(fresh) : items;
  if (replaced) {
    const swap = replaced;
    items = items.map((r) => swap.get(r.id) ?? r);
    pending = pending.map((r) => swap.get(r.id) ?? r);
  }
  let excess = items.length + pending.length - MAX_REQUESTS_PER_TUNNEL;
  if (excess > 0) {
    const fromItems = Math.min(excess, items.length);
    items = items.slice(fromItems);
    excess -= fromItems;
    if (excess > 0) pending = pending.slice(excess);
  }
  return { items, pending, paused: current.paused };
}

export const createRequestsSlice: StateCreator<PortholeState, [], [], RequestsSlice> = (set) => ({
  requests: {},

  receiveBatch(batch) {
    if (batch.length === 0) return;
    const byTunnel = new Map<string, RequestSummaryView[]>();
    for (const r of batch) {
      const list = byTunnel.get(r.tunnelId);
      if (list) list.push(r);
      else byTunnel.set(r.tunnelId, [r]);
    }
    set((s) => {
      const requests = { ...s.requests };
      for (const [tunnelId, list] of byTunnel)
        requests[tunnelId] = mergeRequests(requests[tunnelId] ?? NO_REQUESTS, list);
      return { requests };
    });
  },

  loadRequests(tunnelId, list) {
    set((s) => {
      const current = s.requests[tunnelId] ?? NO_REQUESTS;
      const base: TunnelRequests = { items: list.slice(-MAX_REQUESTS_PER_TUNNEL), pending: [], paused: current.paused };
      return { requests: { ...s.requests, [tunnelId]: mergeRequests(base, [...current.items, ...current.pending]) } };
    });
  },

  clearRequests(tunnelId) {
    set((s) => {
      const current = s.requests[tunnelId] ?? NO_REQUESTS;
      return {
        requests: { ...s.requests, [tunnelId]: { items: [], pending: [], paused: current.paused } },
        checkedRequestIds: [],
        selectedRequestId: null,
      };
    });
  },

  setPaused(tunnelId, paused) {
    set((s) => {
      const current = s.requests[tunnelId] ?? NO_REQUESTS;
      if (current.paused === paused) return {};
      const next: TunnelRequests = paused
        ? { ...current, paused }
        : {
            items: current.pending.length ? current.items.concat(current.pending) : current.items,
            pending: [],
            paused,
          };
      return { requests: { ...s.requests, [tunnelId]: next } };
    });
  },
});
