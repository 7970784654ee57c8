// A stand-in for the `electron` module, for the Electron shell's tests in plain Node (the binary cannot
// be downloaded here, and loading the real package would try). Each test file mocks the module with
//   vi.mock('electron', async () => (await import('./fake-electron.ts')).electronModule());
// It implements what the shell and electron-store use, and records what they did.
import { EventEmitter } from 'node:events';
import type { IpcMainInvokeEvent } from 'electron';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** An Electron-style event: `preventDefault()` and whether it was called. */
export class FakeEvent {
  defaultPrevented = false;
  readonly url: string;
  constructor(url = '') {
    this.url = url;
  }
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

export interface FakeFrame {
  url: string;
  parent: FakeFrame | null;
  detached: boolean;
  isDestroyed(): boolean;
}

export function fakeFrame(url: string, parent: FakeFrame | null = null): FakeFrame {
  return { url, parent, detached: false, isDestroyed: () => false };
}

let nextContentsId = 1;

export class FakeWebContents extends EventEmitter {
  readonly id = nextContentsId++;
  readonly sent: Array<{ channel: string; args: unknown[] }> = [];
  destroyed = false;
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;
  mainFrame: FakeFrame = fakeFrame('about:blank');

  send(channel: string, ...args: unknown[]): void {
    if (this.destroyed) throw new Error('Object has been destroyed');
    this.sent.push({ channel, args });
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
}

export class FakeBrowserWindow extends EventEmitter {
  static instances: FakeBrowserWindow[] = [];
  static getAllWindows(): FakeBrowserWindow[] {
    return FakeBrowserWindow.instances.filter((w) => !w.destroyed);
  }
  readonly options: Record<string, unknown>;
  readonly webContents = new FakeWebContents();
  visible = false;
  destroyed = false;
  maximized = false;
  minimized = false;
  loaded: { file?: string; url?: string } = {};
  bounds: { x: number; y: number; width: number; height: number };

  constructor(options: Record<string, unknown> = {}) {
    super();
    this.options = options;
    this.bounds = {
      x: (options['x'] as number) ?? 100,
      y: (options['y'] as number) ?? 100,
      width: (options['width'] as number) ?? 800,
      height: (options['height'] as number) ?? 600,
    };
    FakeBrowserWindow.instances.push(this);
    electron.app.emit('web-contents-created', new FakeEvent(), this.webContents);
  }
  async loadFile(file: string): Promise<void> {
    this.loaded = { file };
    this.webContents.mainFrame = fakeFrame(`file://${resolve(file)}`);
    this.emit('ready-to-show');
  }
  async loadURL(url: string): Promise<void> {
    this.loaded = { url };
    this.webContents.mainFrame = fakeFrame(url);
    this.emit('ready-to-show');
  }
  show(): void {
    this.visible = true;
  }
  hide(): void {
    this.visible = false;
  }
  focus(): void {}
  isVisible(): boolean {
    return this.visible;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  restore(): void {
    this.minimized = false;
  }
  maximize(): void {
    this.maximized = true;
  }
  isMaximized(): boolean {
    return this.maximized;
  }
  getNormalBounds(): { x: number; y: number; width: number; height: number } {
    return { ...this.bounds };
  }
  /** Like a click on the close button: `close` can be prevented. */
  close(): void {
    const event = new FakeEvent();
    this.emit('close', event);
    if (!event.defaultPrevented) this.destroy();
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.webContents.destroyed = true;
    this.emit('closed');
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
}

export interface FakeImage {
  path: string;
  template: boolean;
  setTemplateImage(v: boolean): void;
}

export class FakeTray extends EventEmitter {
  static instances: FakeTray[] = [];
  image: FakeImage;
  tooltip = '';
  menu: FakeMenu | null = null;
  destroyed = false;
  readonly images: FakeImage[] = [];
  constructor(image: FakeImage) {
    super();
    this.image = image;
    this.images.push(image);
    FakeTray.instances.push(this);
  }
  setImage(image: FakeImage): void {
    this.image = image;
    this.images.push(image);
  }
  setToolTip(text: string): void {
    this.tooltip = text;
  }
  setContextMenu(menu: FakeMenu): void {
    this.menu = menu;
  }
  destroy(): void {
    this.destroyed = true;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
}

export interface FakeMenuItem {
  type?: string;
  label?: string;
  sublabel?: string;
  checked?: boolean;
  enabled?: boolean;
  click?: () => void;
}

export interface FakeMenu {
  items: FakeMenuItem[];
}

export class FakeNotification extends EventEmitter {
  static instances: FakeNotification[] = [];
  static isSupported(): boolean {
    return true;
  }
  readonly options: { title: string; body: string };
  shown = false;
  constructor(options: { title: string; body: string }) {
    super();
    this.options = options;
    FakeNotification.instances.push(this);
  }
  show(): void {
    this.shown = true;
  }
}

type Handler = (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown;

class FakeApp extends EventEmitter {
  userData = mkdtempSync(join(tmpdir(), 'porthole-app-'));
  quits = 0;
  exits: number[] = [];
  loginItem = { openAtLogin: false, wasOpenedAtLogin: false };
  preferredLanguages = ['en-US'];
  isPackaged = false;
  #ready: () => void = () => undefined;
  #readyPromise: Promise<void> = new Promise((resolve) => (this.#ready = resolve));

  getPath(name: string): string {
    if (name === 'userData') return this.userData;
    return join(this.userData, name);
  }
  setPath(name: string, value: string): void {
    if (name === 'userData') this.userData = value;
  }
  getVersion(): string {
    return '0.1.0';
  }
  getAppPath(): string {
    return resolve(import.meta.dirname, '../..');
  }
  getLocale(): string {
    return this.preferredLanguages[0] ?? 'en-US';
  }
  getPreferredSystemLanguages(): string[] {
    return this.preferredLanguages;
  }
  requestSingleInstanceLock(): boolean {
    return true;
  }
  enableSandbox(): void {}
  whenReady(): Promise<void> {
    return this.#readyPromise;
  }
  /** Makes `whenReady()` resolve, as Electron does once it is ready. */
  becomeReady(): void {
    this.#ready();
  }
  /** Like Electron: `before-quit` can be prevented; otherwise the app quits. */
  quit(): void {
    const event = new FakeEvent();
    this.emit('before-quit', event);
    if (!event.defaultPrevented) {
      this.quits += 1;
      this.emit('will-quit', new FakeEvent());
    }
  }
  exit(code = 0): void {
    this.exits.push(code);
  }
  setLoginItemSettings(s: { openAtLogin: boolean }): void {
    this.loginItem.openAtLogin = s.openAtLogin;
  }
  getLoginItemSettings(): { openAtLogin: boolean; wasOpenedAtLogin: boolean } {
    return { ...this.loginItem };
  }
}

function makeElectron() {
  const handlers = new Map<string, Handler>();
  const clipboardWrites: string[] = [];
  const opened: string[] = [];
  const errors: Array<{ title: string; content: string }> = [];
  const sessionState = {
    permissionRequest: null as null | ((c: unknown, p: string, cb: (ok: boolean) => void) => void),
    permissionCheck: null as null | ((...a: unknown[]) => boolean),
    devicePermission: null as null | ((...a: unknown[]) => boolean),
    headers: null as null | ((...a: unknown[]) => void),
  };
  const safe = {
    available: true,
    backend: 'gnome_libsecret' as string,
    encrypted: [] as string[],
  };
  return {
    app: new FakeApp(),
    BrowserWindow: FakeBrowserWindow,
    Tray: FakeTray,
    Notification: FakeNotification,
    Menu: {
      buildFromTemplate: (template: FakeMenuItem[]): FakeMenu => ({ items: template }),
    },
    nativeImage: {
      createFromPath: (path: string): FakeImage => {
        const image: FakeImage = {
          path,
          template: false,
          setTemplateImage(v: boolean) {
            image.template = v;
          },
        };
        return image;
      },
    },
    clipboard: {
      writes: clipboardWrites,
      writeText: (text: string) => {
        clipboardWrites.push(text);
      },
      readText: () => clipboardWrites.at(-1) ?? '',
    },
    shell: {
      opened,
      openExternal: async (url: string) => {
        opened.push(url);
      },
      openPath: async () => '',
    },
    dialog: {
      errors,
      showErrorBox: (title: string, content: string) => errors.push({ title, content }),
    },
    ipcMain: {
      handlers,
      handle(channel: string, fn: Handler) {
        if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
        handlers.set(channel, fn);
      },
      removeHandler: (channel: string) => handlers.delete(channel),
      // electron-store answers its renderer-side sync message here.
      on: () => undefined,
      /** Calls a handler as a renderer's ipcRenderer.invoke would. */
      invoke: async (channel: string, event: unknown, ...args: unknown[]) => {
        const fn = handlers.get(channel);
        if (!fn) throw new Error(`No handler registered for '${channel}'`);
        return fn(event as IpcMainInvokeEvent, ...args);
      },
    },
    session: {
      state: sessionState,
      defaultSession: {
        setPermissionRequestHandler: (fn: typeof sessionState.permissionRequest) => {
          sessionState.permissionRequest = fn;
        },
        setPermissionCheckHandler: (fn: typeof sessionState.permissionCheck) => {
          sessionState.permissionCheck = fn;
        },
        setDevicePermissionHandler: (fn: typeof sessionState.devicePermission) => {
          sessionState.devicePermission = fn;
        },
        webRequest: {
          onHeadersReceived: (fn: typeof sessionState.headers) => {
            sessionState.headers = fn;
          },
        },
      },
    },
    safeStorage: {
      state: safe,
      isAsyncEncryptionAvailable: async () => safe.available,
      getSelectedStorageBackend: () => safe.backend,
      encryptStringAsync: async (plain: string) => {
        safe.encrypted.push(plain);
        return Buffer.from(`sealed:${Buffer.from(plain).toString('hex')}`);
      },
      decryptStringAsync: async (data: Buffer) => {
        const text = data.toString();
        if (!text.startsWith('sealed:'))
          throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
        return { result: Buffer.from(text.slice(7), 'hex').toString(), shouldReEncrypt: false };
      },
    },
    screen: {
      getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }],
    },
    nativeTheme: { themeSource: 'system' as string },
  };
}

/** The fake module's exports; one per test file (each file runs in its own module registry). */
export const electron = makeElectron();

/** What `vi.mock('electron', ...)` returns: named exports plus the default export electron-store uses. */
export function electronModule(): Record<string, unknown> {
  return { default: electron, ...electron };
}

/** An invoke event from a frame: our page's top-level frame unless said otherwise. */
export function invokeEvent(sender: FakeWebContents, frame: FakeFrame | null = sender.mainFrame): unknown {
  return { sender, senderFrame: frame, frameId: 1, processId: 1 };
}
