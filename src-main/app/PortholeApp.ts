// The Electron shell, wired: the data file and its profile store, the TunnelManager and the service
// over it, the IPC binding, the window, the tray, notifications and the login item; and the quit
// sequence (stop accepting, let requests in flight finish for up to 5 s, then exit).
import { Notification, app, clipboard, dialog, ipcMain, nativeTheme, safeStorage, session, shell } from 'electron';
import { join } from 'node:path';
import { TunnelManager } from '../engine/TunnelManager.ts';
import { fail, ok, type Settings, type ShellHandlers } from '../ipc/contract.ts';
import { STRINGS, languageFor } from './i18n.ts';
import { bindIpc, broadcast, trustedSender } from './ipc-binding.ts';
import { loginItem, startedHidden, type LoginItem } from './login-item.ts';
import { Notifier, type NotificationText } from './notifications.ts';
import { DemoEnvironment } from '../service/DemoEnvironment.ts';
import { PortholeService } from '../service/PortholeService.ts';
import { AppStore } from './store/AppStore.ts';
import { ElectronProfileStore } from './store/ElectronProfileStore.ts';
import { ElectronSettingsStore } from './store/ElectronSettingsStore.ts';
import { safeStorageVault } from './store/SecretVault.ts';
import { TrayController, trayActionHandler, trayState } from './TrayController.ts';
import { WindowFactory, hardenSession, hardenWebContents, type RendererSource } from './WindowFactory.ts';

export interface PortholeAppOptions {
  /** The built preload (out/preload/index.cjs). */
  preload: string;
  /** The UI: the built page, or the dev server. */
  renderer: RendererSource;
  /** The folder of the tray and app icons. */
  assetsDir: string;
  /** @default process.argv */
  argv?: readonly string[];
  /** Time requests in flight get to finish when quitting. @default 5000 */
  quitGraceMs?: number;
  /** @default console.error with a scope */
  log?: (line: string) => void;
}

type QuitState = 'running' | 'closing' | 'closed';

/** The desktop app. `install()` once, before the app is ready. */
export class PortholeApp {
  readonly #opts: PortholeAppOptions;
  readonly #log: (line: string) => void;
  readonly #graceMs: number;
  readonly #notifications = new Set<Notification>();
  #quit: QuitState = 'running';
  #shutdown: Promise<void> | null = null;
  #ready: Promise<void> | null = null;
  #store: AppStore | null = null;
  #service: PortholeService | null = null;
  #windows: WindowFactory | null = null;
  #tray: TrayController | null = null;
  #login: LoginItem | null = null;
  #unbind: (() => void) | null = null;

  constructor(opts: PortholeAppOptions) {
    this.#opts = opts;
    this.#graceMs = opts.quitGraceMs ?? 5000;
    this.#log = opts.log ?? ((line) => console.error(`[app:main] ${line}`));
  }

  /** Resolves once started (or rejects with why it could not start). */
  get ready(): Promise<void> {
    return this.#ready ?? Promise.reject(new Error('install() was not called'));
  }

  get service(): PortholeService | null {
    return this.#service;
  }

  get tray(): TrayController | null {
    return this.#tray;
  }

  get windows(): WindowFactory | null {
    return this.#windows;
  }

  get store(): AppStore | null {
    return this.#store;
  }

  /** Registers the app's lifecycle handlers and starts once Electron is ready. */
  install(): void {
    // Every renderer sandboxed, whatever its webPreferences say.
    app.enableSandbox();
    app.on('second-instance', () => this.showWindow());
    app.on('activate', () => this.showWindow());
    app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, this.#opts.renderer));
    // A tray app: closing the last window leaves it running (the window only hides anyway).
    app.on('window-all-closed', () => undefined);
    app.on('before-quit', (event) => {
      if (this.#quit === 'closed') return;
      event.preventDefault();
      if (this.#quit === 'running') void this.shutdown().then(() => app.quit());
    });
    this.#ready = app.whenReady().then(() => this.start());
    this.#ready.catch((err: unknown) => this.#fatal(err));
  }

  /** Starts everything; called by `install()` once the app is ready. */
  async start(): Promise<void> {
    const store = AppStore.open({ cwd: app.getPath('userData') });
    this.#store = store;
    if (store.backupPath)
      this.#log(`data file migrated from layout ${store.openedVersion}; the old one is at ${store.backupPath}`);
    if (store.quarantinedPath) this.#log(`the data file was unreadable; it was moved to ${store.quarantinedPath}`);
    if (store.isNew) {
      const settings = store.get('settings');
      store.set('settings', { ...settings, language: languageFor(app.getPreferredSystemLanguages()) });
    }
    const vault = await safeStorageVault(safeStorage);
    if (!vault.info.encrypted)
      this.#log(`no OS keyring (${vault.info.backend}): secrets are stored in clear in ${store.path}`);
    const profiles = new ElectronProfileStore(store, vault);
    const settingsStore = new ElectronSettingsStore(store);
    const demo = new DemoEnvironment({
      preferredRelayPort: store.get('demo').relayPort,
      onRelayPort: (relayPort) => store.set('demo', { relayPort }),
    });
    const service = new PortholeService({
      manager: new TunnelManager(),
      profiles,
      settings: settingsStore,
      demo,
      graceMs: this.#graceMs,
      info: () => ({
        name: 'Porthole',
        version: app.getVersion(),
        platform: process.platform,
        shell: 'electron',
        versions: {
          electron: process.versions.electron ?? null,
          chrome: process.versions.chrome ?? null,
          node: process.versions.node,
        },
        secrets: vault.info,
      }),
    });
    this.#service = service;

    const source = this.#opts.renderer;
    hardenSession(session.defaultSession, source);
    const windows = new WindowFactory({
      source,
      preload: this.#opts.preload,
      icon: join(this.#opts.assetsDir, 'icon.png'),
      state: {
        load: () => store.get('window'),
        save: (state) => store.set('window', state),
      },
      isQuitting: () => this.#quit !== 'running',
      onHidden: () => this.#hiddenHint(),
    });
    this.#windows = windows;

    this.#unbind = bindIpc(
      ipcMain,
      { ...service.commands, ...this.#shellHandlers() },
      trustedSender({ isOurs: (c) => windows.isOurs(c), source }),
      (line) => this.#log(`ipc: ${line}`),
    );
    service.subscribe((message) => broadcast(windows.windows(), message));

    this.#login = loginItem(app);
    const osLogin = this.#safe(() => this.#login!.isEnabled(), false);
    // The OS is the truth (the person may have removed the login item there).
    if (osLogin !== service.settings().launchAtLogin) service.setSettings({ launchAtLogin: osLogin });
    nativeTheme.themeSource = service.settings().theme;

    const notifier = new Notifier({
      settings: () => service.settings(),
      show: (text) => this.#notify(text),
    });
    const tray = new TrayController(
      {
        assetsDir: this.#opts.assetsDir,
        onAction: trayActionHandler({
          startTunnel: (id) => service.startTunnel(id),
          stopTunnel: (id) => service.stopTunnel(id),
          startAll: () => service.startAll(),
          stopAll: () => service.stopAll(),
          setSettings: (patch) => service.setSettings(patch),
          openWindow: () => this.showWindow(),
          quit: () => app.quit(),
          onError: (action, err) => this.#log(`tray ${action.type}: ${(err as Error).message}`),
        }),
      },
      trayState([], 'idle', service.settings()),
    );
    this.#tray = tray;
    const refreshTray = (): void => tray.update(trayState(service.tunnels(), service.aggregate(), service.settings()));
    service.on('tunnels:status-changed', (view) => {
      notifier.onStatus(view);
      refreshTray();
    });
    service.on('tunnels:changed', (list) => {
      notifier.retain(list.map((t) => t.id));
      refreshTray();
    });
    service.on('settings:changed', (settings) => {
      this.#applySettings(settings);
      refreshTray();
    });

    await service.load();
    for (const u of profiles.unreadable)
      this.#log(`profile ${u.id ?? '?'} (${u.name ?? 'no name'}) not loaded: ${u.reason}`);
    if (!store.get('firstRunDone')) {
      try {
        await service.ensureDemoProfile();
        service.markFirstRun();
      } catch (err) {
        this.#log(`the offline demo profile could not be created: ${(err as Error).message}`);
      }
      store.set('firstRunDone', true);
    }
    refreshTray();
    if (!startedHidden(this.#opts.argv ?? process.argv, app)) this.showWindow();
  }

  /** Shows and focuses the window (creating it if needed). */
  showWindow(): void {
    if (this.#quit !== 'running') return;
    this.#windows?.show();
  }

  /**
   * Stops accepting work, lets requests in flight finish for up to the grace period, then closes the
   * tray and the window. `before-quit` runs it and quits when it is done. Safe to call twice.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      this.#quit = 'closing';
      // Whatever hangs, the app is gone a little after the grace period.
      const hardStop = setTimeout(() => app.exit(0), this.#graceMs + 3000);
      hardStop.unref();
      try {
        await this.#service?.close(this.#graceMs);
      } catch (err) {
        this.#log(`stopping tunnels: ${(err as Error).message}`);
      }
      this.#unbind?.();
      this.#tray?.destroy();
      this.#windows?.destroy();
      clearTimeout(hardStop);
      this.#quit = 'closed';
    })();
    return this.#shutdown;
  }

  #shellHandlers(): ShellHandlers {
    return {
      'shell:copy-text': async ({ text }) => {
        clipboard.writeText(text);
        return ok(null);
      },
      'shell:open-external': async ({ url }) => {
        // Only the public URLs of our own tunnels: a renderer bug must not become a way to open
        // any page (Electron's checklist: openExternal only for URLs we produced).
        const ours = this.#service?.tunnels().some((t) => t.publicUrl === url) ?? false;
        if (!ours) return fail('forbidden', `${url} is not the public URL of a tunnel`);
        try {
          await shell.openExternal(url);
          return ok(null);
        } catch (err) {
          return fail('unavailable', `no browser opened ${url}: ${(err as Error).message}`);
        }
      },
    };
  }

  #applySettings(settings: Settings): void {
    nativeTheme.themeSource = settings.theme;
    const login = this.#login;
    if (!login) return;
    this.#safe(() => {
      if (login.isEnabled() !== settings.launchAtLogin) login.set(settings.launchAtLogin);
    }, undefined);
  }

  /** The first time the window hides to the tray, say where it went (some desktops show no tray). */
  #hiddenHint(): void {
    const store = this.#store;
    if (!store) return;
    const hints = store.get('hints');
    if (hints.hiddenToTray) return;
    store.set('hints', { ...hints, hiddenToTray: true });
    const s = STRINGS[this.#service?.settings().language ?? 'en'].notify;
    this.#notify({ title: s.hiddenTitle, body: s.hiddenBody });
  }

  #notify(text: NotificationText): void {
    if (!Notification.isSupported()) return;
    const n = new Notification({ title: text.title, body: text.body, icon: join(this.#opts.assetsDir, 'icon.png') });
    // Held until closed: a notification that is garbage-collected loses its click handler.
    this.#notifications.add(n);
    n.on('click', () => this.showWindow());
    n.on('close', () => this.#notifications.delete(n));
    n.show();
  }

  #safe<T>(fn: () => T, fallback: T): T {
    try {
      return fn();
    } catch (err) {
      this.#log((err as Error).message);
      return fallback;
    }
  }

  #fatal(err: unknown): void {
    const message = (err as Error).message ?? String(err);
    this.#log(`cannot start: ${(err as Error).stack ?? message}`);
    dialog.showErrorBox('Porthole cannot start', message);
    app.exit(1);
  }
}
