// Electron's entry: one instance per user (a second launch shows the first one's window), then the
// shell in src-main/app/ (see docs/architecture.md).
import { join } from 'node:path';
import { app } from 'electron';
import { PortholeApp } from './app/PortholeApp.ts';

// Tests and side-by-side profiles: a data folder of their own (and with it a lock of their own).
const dataDir = process.env['PORTHOLE_USER_DATA_DIR'];
if (dataDir) app.setPath('userData', dataDir);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  // ELECTRON_RENDERER_URL is set by `electron-vite dev`; a packaged app never loads a URL from its environment.
  const devServerUrl = process.env['ELECTRON_RENDERER_URL'];
  const porthole = new PortholeApp({
    preload: join(import.meta.dirname, '../preload/index.cjs'),
    renderer:
      !app.isPackaged && devServerUrl
        ? { kind: 'url', url: devServerUrl }
        : { kind: 'file', path: join(import.meta.dirname, '../renderer/index.html') },
    assetsDir: join(app.getAppPath(), 'assets'),
  });
  porthole.install();
  // Ctrl+C in `npm run dev`, or a service manager's stop: the same quit as the tray's.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => app.quit());
  // The real-Electron smoke test looks inside through electronApp.evaluate().
  if (process.env['PORTHOLE_TEST_HOOKS'] === '1') (globalThis as { porthole?: PortholeApp }).porthole = porthole;
}
