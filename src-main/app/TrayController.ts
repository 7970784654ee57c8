// The tray icon: its image and tooltip follow the aggregate state, its menu is rebuilt from the state
// on every change (tray-menu.ts builds it), and its clicks become service calls.
import { join } from 'node:path';
import { Menu, Tray, clipboard, nativeImage, type MenuItemConstructorOptions } from 'electron';
import { isWebUrl, type Settings, type TunnelView } from '../ipc/contract.ts';
import {
  buildTrayMenu,
  trayIconFile,
  trayTooltip,
  type TrayAction,
  type TrayMenuItem,
  type TrayState,
} from './tray-menu.ts';

export interface TrayControllerOptions {
  /** The folder of the tray icons. */
  assetsDir: string;
  /** @default process.platform */
  platform?: NodeJS.Platform;
  /** Every click but "Copy public URL", which the controller does itself. */
  onAction: (action: TrayAction) => void;
}

/** Native menu items from the menu model; `dispatch` receives the clicked item's action. */
export function toTemplate(
  items: readonly TrayMenuItem[],
  dispatch: (a: TrayAction) => void,
): MenuItemConstructorOptions[] {
  return items.map((item) => {
    if (item.type === 'separator') return { type: 'separator' };
    const action = item.action;
    return {
      type: item.type,
      label: item.label ?? '',
      ...(item.sublabel ? { sublabel: item.sublabel } : {}),
      ...(item.checked !== undefined ? { checked: item.checked } : {}),
      enabled: item.enabled ?? true,
      ...(action ? { click: () => dispatch(action) } : {}),
    };
  });
}

/** Owns the Tray: icon, tooltip and menu from a {@link TrayState}. */
export class TrayController {
  readonly #opts: TrayControllerOptions;
  readonly #platform: NodeJS.Platform;
  readonly #tray: Tray;
  #iconFile = '';

  constructor(opts: TrayControllerOptions, initial: TrayState) {
    this.#opts = opts;
    this.#platform = opts.platform ?? process.platform;
    this.#iconFile = trayIconFile(initial.aggregate, this.#platform);
    this.#tray = new Tray(this.#image(this.#iconFile));
    // Windows and macOS deliver a left click; Linux AppIndicator trays do not (the menu item is the way there).
    this.#tray.on('click', () => this.#opts.onAction({ type: 'open' }));
    this.update(initial);
  }

  /** The native tray (for the smoke test and the platform's own calls). */
  get tray(): Tray {
    return this.#tray;
  }

  /** Shows a state: icon when the aggregate changed, tooltip and a new menu every time. */
  update(state: TrayState): void {
    if (this.#tray.isDestroyed()) return;
    const file = trayIconFile(state.aggregate, this.#platform);
    if (file !== this.#iconFile) {
      this.#iconFile = file;
      this.#tray.setImage(this.#image(file));
    }
    this.#tray.setToolTip(trayTooltip(state));
    const menu = Menu.buildFromTemplate(toTemplate(buildTrayMenu(state), (a) => this.#dispatch(a)));
    this.#tray.setContextMenu(menu);
  }

  destroy(): void {
    if (!this.#tray.isDestroyed()) this.#tray.destroy();
  }

  #image(file: string): Electron.NativeImage {
    const image = nativeImage.createFromPath(join(this.#opts.assetsDir, file));
    if (this.#platform === 'darwin') image.setTemplateImage(true);
    return image;
  }

  #dispatch(action: TrayAction): void {
    if (action.type === 'copy-url') {
      // The URL is the tunnel's own (http(s), or tcp://host:port for a TCP tunnel), never the page's.
      if (isWebUrl(action.url) || /^tcp:\/\/[^\s/]+:\d+$/.test(action.url)) clipboard.writeText(action.url);
      return;
    }
    this.#opts.onAction(action);
  }
}

/** What tray clicks reach. */
export interface TrayTargets {
  startTunnel(id: string): Promise<unknown>;
  stopTunnel(id: string): Promise<unknown>;
  startAll(): Promise<unknown>;
  stopAll(): Promise<unknown>;
  setSettings(patch: Partial<Settings>): unknown;
  openWindow(): void;
  quit(): void;
  /** Failures of a click, for the log (a menu has nowhere to show them). */
  onError?(action: TrayAction, err: unknown): void;
}

/** Turns a tray action into a call on the service (or the shell). */
export function trayActionHandler(targets: TrayTargets): (action: TrayAction) => void {
  return (action) => {
    const run = async (): Promise<unknown> => {
      switch (action.type) {
        case 'start':
          return targets.startTunnel(action.id);
        case 'stop':
          return targets.stopTunnel(action.id);
        case 'start-all':
          return targets.startAll();
        case 'stop-all':
          return targets.stopAll();
        case 'launch-at-login':
          return targets.setSettings({ launchAtLogin: action.enabled });
        case 'open':
          return targets.openWindow();
        case 'quit':
          return targets.quit();
        case 'copy-url':
          return undefined;
      }
    };
    run().catch((err: unknown) => targets.onError?.(action, err));
  };
}

/** The tray state from the service's tunnels and settings. */
export function trayState(
  tunnels: readonly TunnelView[],
  aggregate: TrayState['aggregate'],
  settings: Settings,
): TrayState {
  return { tunnels, aggregate, launchAtLogin: settings.launchAtLogin, language: settings.language };
}
