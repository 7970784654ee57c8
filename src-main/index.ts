import { join } from 'node:path';
import { app, BrowserWindow, session } from 'electron';

// The Electron shell only: one secure window. The tray, the typed IPC and the engine wiring arrive with
// src-main/app/ (see shared/ARCHITECTURE.md).

let mainWindow: BrowserWindow | null = null;

function createMainWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 960,
    height: 640,
    minWidth: 480,
    minHeight: 320,
    title: 'Porthole',
    show: false,
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  window.on('closed', () => {
    mainWindow = null;
  });

  // ELECTRON_RENDERER_URL is set by `electron-vite dev`; a packaged app never loads a URL from its environment.
  const devServerUrl = process.env.ELECTRON_RENDERER_URL;
  if (!app.isPackaged && devServerUrl) {
    void window.loadURL(devServerUrl);
  } else {
    void window.loadFile(join(import.meta.dirname, '../renderer/index.html'));
  }
  return window;
}

function showMainWindow(): void {
  if (!mainWindow) {
    mainWindow = createMainWindow();
    return;
  }
  if (mainWindow.isMinimized()) mainWindow.restore();
  mainWindow.show();
  mainWindow.focus();
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  // Forces the sandbox on every renderer, including any created later, whatever its webPreferences say.
  app.enableSandbox();

  app.on('second-instance', () => showMainWindow());

  // Applied to every webContents, so windows added later get the same rules: the page never navigates
  // away from the bundled UI and never opens windows of its own.
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });

  void app.whenReady().then(() => {
    session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
    session.defaultSession.setPermissionCheckHandler(() => false);
    showMainWindow();
    app.on('activate', () => showMainWindow());
  });

  // Until the tray exists, the window is the only way to reach the app: closing it must not leave an
  // invisible process behind (except on macOS, where apps conventionally stay in the dock).
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
}
