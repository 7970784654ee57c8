import { useState } from 'react';
import type { TunnelView } from '../../../../src-main/ipc/contract.ts';
import { useBridge } from '../../context.ts';
import { useCommand } from '../../hooks/useCommand.ts';
import { usePortholeStore } from '../../store/index.ts';
import { isRunning } from './phase.ts';

/** Starts or stops a tunnel; `busy` while the command runs (a stop waits for requests in flight). */
export function useTunnelSwitch(tunnel: TunnelView): { running: boolean; busy: boolean; toggle(): void } {
  const bridge = useBridge();
  const run = useCommand();
  const store = usePortholeStore();
  const [busy, setBusy] = useState(false);
  const running = isRunning(tunnel.state);
  const toggle = (): void => {
    setBusy(true);
    const id = tunnel.id;
    void run(
      () => (running ? bridge.tunnels.stop({ id }) : bridge.tunnels.start({ id })),
      running ? 'errors.stop' : 'errors.start',
      { name: tunnel.name },
    ).then((view) => {
      setBusy(false);
      if (view) store.getState().updateTunnel(view);
    });
  };
  return { running, busy, toggle };
}
