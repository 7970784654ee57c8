import type { Bridge } from '../src-main/ipc/contract.ts';

declare global {
  interface Window {
    /** Exposed by src-main/preload in the desktop app; undefined when the page runs in a plain browser. */
    api?: Bridge;
  }
}

/** The bridge to the engine, or null where there is none yet (a plain browser, until the inspector server). */
export function getBridge(): Bridge | null {
  return window.api ?? null;
}
