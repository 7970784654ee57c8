// Subscribes to every pushed event once, then loads what the events will keep up to date: the app's
// facts, settings, tunnels, profiles, presets and each tunnel's requests. Subscribing first means
// nothing that happens during the load is missed; the store merges the two.
import { useEffect } from 'react';
import type { Result, TunnelView } from '../../../src-main/ipc/contract.ts';
import { useBridge } from '../context.ts';
import { settle } from '../lib/result.ts';
import { usePortholeStore } from '../store/index.ts';

export function useBridgeEvents(): void {
  const bridge = useBridge();
  const store = usePortholeStore();

  useEffect(() => {
    let live = true;
    const state = store.getState;
    const loaded = new Set<string>();

    const failed = (key: string, r: Result<unknown>): void => {
      if (live && !r.ok) state().notify({ tone: 'error', key, detail: r.error.message });
    };
    const loadRequests = (tunnels: readonly TunnelView[]): void => {
      for (const t of tunnels) {
        if (loaded.has(t.id)) continue;
        loaded.add(t.id);
        void settle(() => bridge.requests.list({ tunnelId: t.id })).then((r) => {
          if (!live) return;
          if (r.ok) state().loadRequests(t.id, r.value);
          else loaded.delete(t.id);
        });
      }
    };

    const offs = [
      bridge.on('tunnels:changed', (list) => {
        state().setTunnels(list);
        loadRequests(list);
      }),
      bridge.on('tunnels:status-changed', (view) => state().updateTunnel(view)),
      bridge.on('requests:batch', (batch) => state().receiveBatch(batch)),
      bridge.on('profiles:changed', (list) => state().setProfiles(list)),
      bridge.on('settings:changed', (settings) => state().setSettings(settings)),
    ];

    void (async () => {
      const [info, settings, tunnels, profiles, presets] = await Promise.all([
        settle(() => bridge.app.info()),
        settle(() => bridge.settings.get()),
        settle(() => bridge.tunnels.list()),
        settle(() => bridge.profiles.list()),
        settle(() => bridge.profiles.presets()),
      ]);
      if (!live) return;
      if (info.ok) state().setAppInfo(info.value);
      if (settings.ok) state().setSettings(settings.value);
      else failed('errors.loadSettings', settings);
      if (profiles.ok) state().setProfiles(profiles.value);
      if (presets.ok) state().setPresets(presets.value);
      if (tunnels.ok) {
        state().setTunnels(tunnels.value);
        loadRequests(tunnels.value);
      } else failed('errors.loadTunnels', tunnels);
    })();

    return () => {
      live = false;
      for (const off of offs) off();
    };
  }, [bridge, store]);
}
