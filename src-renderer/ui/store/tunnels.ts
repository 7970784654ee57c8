// Tunnels, their profiles and the ready-made presets, as the main process last told them.
import type { StateCreator } from 'zustand/vanilla';
import type { ProfileData, ProfilePreset, TunnelView } from '../../../src-main/ipc/contract.ts';
import type { PortholeState } from './index.ts';

export interface TunnelsSlice {
  /** Tunnel ids in the main process's order. */
  tunnelIds: readonly string[];
  tunnels: Readonly<Record<string, TunnelView>>;
  /** True once the first list arrived (before that, the empty state would be a lie). */
  tunnelsLoaded: boolean;
  profiles: Readonly<Record<string, ProfileData>>;
  presets: readonly ProfilePreset[];
  /** The whole list (`tunnels:changed`, `tunnels:list`); unchanged tunnels keep their objects. */
  setTunnels(list: readonly TunnelView[]): void;
  /** One tunnel's new view (`tunnels:status-changed`, a start or stop answer). */
  updateTunnel(view: TunnelView): void;
  setProfiles(list: readonly ProfileData[]): void;
  setPresets(list: readonly ProfilePreset[]): void;
}

function sameTunnel(a: TunnelView, b: TunnelView): boolean {
  if (a.name !== b.name || a.publicUrl !== b.publicUrl || a.target !== b.target || a.autoStart !== b.autoStart)
    return false;
  const ca = a.counters;
  const cb = b.counters;
  if (
    ca.requests !== cb.requests ||
    ca.inFlight !== cb.inFlight ||
    ca.bytesIn !== cb.bytesIn ||
    ca.bytesOut !== cb.bytesOut ||
    ca.p50Ms !== cb.p50Ms ||
    ca.p95Ms !== cb.p95Ms
  )
    return false;
  return JSON.stringify(a.state) === JSON.stringify(b.state);
}

export const createTunnelsSlice: StateCreator<PortholeState, [], [], TunnelsSlice> = (set) => ({
  tunnelIds: [],
  tunnels: {},
  tunnelsLoaded: false,
  profiles: {},
  presets: [],

  setTunnels(list) {
    set((s) => {
      const tunnels: Record<string, TunnelView> = {};
      for (const t of list) {
        const old = s.tunnels[t.id];
        tunnels[t.id] = old && sameTunnel(old, t) ? old : t;
      }
      const ids = list.map((t) => t.id);
      const sameIds = ids.length === s.tunnelIds.length && ids.every((id, i) => s.tunnelIds[i] === id);
      // Requests of tunnels that are gone are dropped with them.
      let requests = s.requests;
      if (Object.keys(requests).some((id) => !(id in tunnels))) {
        requests = Object.fromEntries(Object.entries(requests).filter(([id]) => id in tunnels));
      }
      return { tunnels, tunnelIds: sameIds ? s.tunnelIds : ids, tunnelsLoaded: true, requests };
    });
  },

  updateTunnel(view) {
    set((s) => {
      const old = s.tunnels[view.id];
      if (old && sameTunnel(old, view)) return {};
      const tunnelIds = old ? s.tunnelIds : [...s.tunnelIds, view.id];
      return { tunnels: { ...s.tunnels, [view.id]: view }, tunnelIds };
    });
  },

  setProfiles(list) {
    set({ profiles: Object.fromEntries(list.map((p) => [p.id, p])) });
  },

  setPresets(list) {
    set({ presets: list });
  },
});
