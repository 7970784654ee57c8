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
  const url = inspectorBridgeUrl(window.location) ?? storedBridgeUrl();
  if (!url) return null;
  // The token leaves the address bar (and history) once read; the page keeps it for reloads.
  try {
    sessionStorage.setItem('porthole-bridge', url);
  } catch {
    // storage may be off; the URL still works for this page
  }
  history.replaceState(null, '', window.location.pathname + window.location.search);
  const ws = createWsBridge({ url });
  return { bridge: ws, connection: ws.connection };
}

function storedBridgeUrl(): string | null {
  try {
    return sessionStorage.getItem('porthole-bridge');
  } catch {
    return null;
  }
}
