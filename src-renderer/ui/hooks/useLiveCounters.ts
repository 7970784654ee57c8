// The contract pushes a tunnel's view when its phase changes, not at every request: while a tunnel
// runs, its counters (requests, in flight, bytes, latency percentiles) are read again every second.
import { useEffect } from 'react';
import { useBridge } from '../context.ts';
import { settle } from '../lib/result.ts';
import { usePorthole, usePortholeStore } from '../store/index.ts';

export function useLiveCounters(intervalMs = 1000): void {
  const bridge = useBridge();
  const store = usePortholeStore();
  const anyRunning = usePorthole((s) =>
    s.tunnelIds.some((id) => {
      const phase = s.tunnels[id]?.state.phase;
      return phase !== undefined && phase !== 'stopped' && phase !== 'failed';
    }),
  );

  useEffect(() => {
    if (!anyRunning) return undefined;
    let busy = false;
    const timer = setInterval(() => {
      if (busy || document.visibilityState === 'hidden') return;
      busy = true;
      void settle(() => bridge.tunnels.list()).then((r) => {
        busy = false;
        if (r.ok) store.getState().setTunnels(r.value);
      });
    }, intervalMs);
    return () => clearInterval(timer);
  }, [anyRunning, bridge, store, intervalMs]);
}
