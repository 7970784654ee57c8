// The app's window and the rules every page lives under (Electron's security checklist): isolated,
// sandboxed, no Node; a Content-Security-Policy; no navigation away from the bundled UI; no new
// windows; no permissions; external links only http(s), in the browser. Closing the window hides it
// to the tray; its size and position are remembered.
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import {
  BrowserWindow,
  screen,
  type BrowserWindowConstructorOptions,
  type Rectangle,
  type Session,
  type WebContents,
} from 'electron';
import { DEV_CONTENT_SECURITY_POLICY } from './csp.ts';
import type { WindowBounds } from './store/app-data.ts';

export { CONTENT_SECURITY_POLICY, DEV_CONTENT_SECURITY_POLICY } from './csp.ts';

/** Where the UI comes from: the built page, or (in `npm run dev`) Vite's dev server. */
export type RendererSource = { kind: 'file'; path: string } | { kind: 'url'; url: string };

/** The size of a first window. */
export const DEFAULT_SIZE = { width: 1100, height: 720 } as const;

/** Options of the main window: every security flag set explicitly, whatever Electron's defaults are. */
export function mainWindowOptions(opts: {
  preload: string;
  bounds?: WindowPlacement | undefined;
  icon?: string | undefined;
}): BrowserWindowConstructorOptions {
  return {
    ...(opts.bounds ?? DEFAULT_SIZE),
    minWidth: 640,
    minHeight: 420,
    show: false,
    title: 'Porthole',
    autoHideMenuBar: true,
    ...(opts.icon ? { icon: opts.icon } : {}),
    webPreferences: {
      preload: opts.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      enableWebSQL: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
    },
  };
}

/** True when `url` is the app's own page (any hash or query), so that a reload is not blocked. */
export function isOwnPage(url: string, source: RendererSource): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (source.kind === 'url') return u.origin === new URL(source.url).origin;
  if (u.protocol !== 'file:') return false;
  u.hash = '';
  u.search = '';
  try {
    return resolve(fileURLToPath(u)) === resolve(source.path);
  } catch {
    return false;
  }
}

/** The rules for every web contents the app creates: no navigation away, no windows, no webviews. */
export function hardenWebContents(contents: WebContents, source: RendererSource): void {
  contents.on('will-navigate', (event) => {
    if (!isOwnPage(event.url, source)) event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    if (!isOwnPage(event.url, source)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  // The page opens links through window.api.openExternal, which checks them; window.open opens nothing.
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/** Deny-all permissions, and the CSP as a header where the page comes over HTTP (the dev server). */
export function hardenSession(session: Session, source: RendererSource): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
  if (source.kind === 'url') {
    session.webRequest.onHeadersReceived((details, callback) => {
      const headers = { ...details.responseHeaders };
      if (isOwnPage(details.url, source)) headers['Content-Security-Policy'] = [DEV_CONTENT_SECURITY_POLICY];
      callback({ responseHeaders: headers });
    });
  }
}

/** Size, and position when known (without one, Electron centres the window). */
export type WindowPlacement = { width: number; height: number } & Partial<Pick<WindowBounds, 'x' | 'y'>>;

/**
 * The saved bounds when their title bar still shows on a display (a monitor may be gone since);
 * otherwise only the saved size, centred.
 */
export function visibleBounds(
  saved: WindowBounds | undefined,
  workAreas: readonly Rectangle[],
): WindowPlacement | undefined {
  if (!saved) return undefined;
  const margin = 48;
  const fits = workAreas.some(
    (a) =>
      saved.x + margin < a.x + a.width &&
      saved.x + saved.width - margin > a.x &&
      saved.y >= a.y - margin &&
      saved.y + margin < a.y + a.height,
  );
  return fits ? saved : { width: saved.width, height: saved.height };
}

/** Where the window's size and position are kept. */
export interface WindowStatePort {
  load(): { bounds?: WindowBounds | undefined; maximized?: boolean | undefined };
  save(state: { bounds: WindowBounds; maximized: boolean }): void;
}

export interface WindowFactoryOptions {
  source: RendererSource;
  preload: string;
  icon?: string;
  state: WindowStatePort;
  /** True once the app is quitting: closing the window then really closes it. */
  isQuitting: () => boolean;
  /** Called each time closing the window hid it to the tray. */
  onHidden: () => void;
}

/** Creates, shows and hides the app's window. */
export class WindowFactory {
  readonly #opts: WindowFactoryOptions;
  #window: BrowserWindow | null = null;
  #saveTimer: NodeJS.Timeout | null = null;

  constructor(opts: WindowFactoryOptions) {
    this.#opts = opts;
  }

  /** The window, if it exists. */
  get window(): BrowserWindow | null {
    return this.#window && !this.#window.isDestroyed() ? this.#window : null;
  }

  /** Live windows, for pushes. */
  windows(): BrowserWindow[] {
    const w = this.window;
    return w ? [w] : [];
  }

  /** True for the web contents of one of our windows. */
  isOurs(contents: WebContents): boolean {
    return this.windows().some((w) => !w.webContents.isDestroyed() && w.webContents.id === contents.id);
  }

  /** Shows the window (creating it if needed), restored and focused. */
  show(): BrowserWindow {
    const existing = this.window;
    if (existing) {
      if (existing.isMinimized()) existing.restore();
      existing.show();
      existing.focus();
      return existing;
    }
    return this.#create();
  }

  /** Closes the window for good (at quit). */
  destroy(): void {
    if (this.#saveTimer) clearTimeout(this.#saveTimer);
    this.window?.destroy();
    this.#window = null;
  }

  #create(): BrowserWindow {
    const saved = this.#opts.state.load();
    const areas = screen.getAllDisplays().map((d) => d.workArea);
    const win = new BrowserWindow(
      mainWindowOptions({
        preload: this.#opts.preload,
        bounds: visibleBounds(saved.bounds, areas),
        icon: this.#opts.icon,
      }),
    );
    this.#window = win;
    if (saved.maximized) win.maximize();
    win.once('ready-to-show', () => win.show());
    const remember = (): void => {
      if (this.#saveTimer) clearTimeout(this.#saveTimer);
      this.#saveTimer = setTimeout(() => this.#save(win), 500);
    };
    win.on('resize', remember);
    win.on('move', remember);
    win.on('close', (event) => {
      this.#save(win);
      if (this.#opts.isQuitting()) return;
      event.preventDefault();
      win.hide();
      this.#opts.onHidden();
    });
    win.on('closed', () => {
      if (this.#window === win) this.#window = null;
    });
    const source = this.#opts.source;
    if (source.kind === 'url') void win.loadURL(source.url);
    else void win.loadFile(source.path);
    return win;
  }

  #save(win: BrowserWindow): void {
    if (win.isDestroyed()) return;
    const b = win.getNormalBounds();
    this.#opts.state.save({
      bounds: { x: Math.round(b.x), y: Math.round(b.y), width: Math.round(b.width), height: Math.round(b.height) },
      maximized: win.isMaximized(),
    });
  }
}
