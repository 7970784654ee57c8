// The bridge to the engine, given to PortholeUI; components reach it through useBridge() and call it
// from effects and event handlers only, never during render.
import { createContext, useContext } from 'react';
import type { Bridge } from '../../src-main/ipc/contract.ts';

export const BridgeContext = createContext<Bridge | null>(null);

export function useBridge(): Bridge {
  const bridge = useContext(BridgeContext);
  if (!bridge) throw new Error('useBridge: no BridgeContext (mount PortholeUI)');
  return bridge;
}
