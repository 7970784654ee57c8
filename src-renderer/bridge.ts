import type { Bridge } from '../src-main/ipc/contract.ts';
import type { ConnectionMonitor } from './ui/PortholeUI.tsx';
import { createWsBridge, inspectorBridgeUrl } from './ws-bridge.ts';

declare global {
  interface Window {
    /** Exposed by src-main/preload in the desktop app; undefined when the page runs in a plain browser. */
    api?: Bridge;
  }
}

/**
 * The bridge to the engine: the preload's `window.api` in Electron, else the headless inspector's
 * WebSocket (its address and token come from the page URL). Nothing else in the UI knows which.
 */
export function getBridge(): { bridge: Bridge; connection?: ConnectionMonitor } | null {
  if (window.api) return { bridge: window.api };
  const url = inspectorBridgeUrl(window.location);
  if (!url) return null;
  const ws = createWsBridge({ url });
  return { bridge: ws, connection: ws.connection };
}
