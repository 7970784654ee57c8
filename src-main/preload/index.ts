import { contextBridge } from 'electron';

/**
 * What the page may learn about the app it runs in. The renderer declares the same shape in
 * src-renderer/App.tsx; both move to src-main/ipc/contract.ts when the typed IPC lands.
 */
export interface AppInfo {
  name: 'Porthole';
  /** `process.platform` of the main process, e.g. `darwin`, `linux`, `win32`. */
  platform: string;
  versions: { electron: string; chrome: string; node: string };
}

// One narrow, read-only API: no ipcRenderer, no generic invoke (shared/STYLE.md, "IPC, end to end").
contextBridge.exposeInMainWorld('api', {
  appInfo: (): AppInfo => ({
    name: 'Porthole',
    platform: process.platform,
    versions: {
      electron: process.versions.electron,
      chrome: process.versions.chrome,
      node: process.versions.node,
    },
  }),
});
