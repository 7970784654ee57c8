// "Launch at login". macOS and Windows have Electron's login item API; Linux has none, so there the
// freedesktop.org autostart file (~/.config/autostart/porthole.desktop) does the same. A launch at
// login starts hidden, in the tray.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { App } from 'electron';

/** The argument a login launch gets: start in the tray, without the window. */
export const HIDDEN_ARG = '--hidden';

export interface LoginItem {
  isEnabled(): boolean;
  set(enabled: boolean): void;
}

type LoginApp = Pick<App, 'setLoginItemSettings' | 'getLoginItemSettings' | 'isPackaged' | 'getAppPath'>;

export interface LoginItemOptions {
  /** @default process.platform */
  platform?: NodeJS.Platform;
  /** @default process.env (for XDG_CONFIG_HOME and APPIMAGE) */
  env?: NodeJS.ProcessEnv;
  /** @default process.execPath */
  execPath?: string;
}

/** Quotes one argument of a desktop file's Exec key (Desktop Entry Specification, "Exec"). */
function execArg(arg: string): string {
  if (!/[\s"'\\`$]/.test(arg)) return arg;
  return `"${arg.replace(/(["`$\\])/g, '\\$1')}"`;
}

/** The autostart file of a Linux desktop. */
export function autostartFile(env: NodeJS.ProcessEnv = process.env): string {
  const config = env['XDG_CONFIG_HOME'] || join(homedir(), '.config');
  return join(config, 'autostart', 'porthole.desktop');
}

/** The login item of this platform. */
export function loginItem(app: LoginApp, opts: LoginItemOptions = {}): LoginItem {
  const platform = opts.platform ?? process.platform;
  if (platform !== 'linux') {
    return {
      isEnabled: () => app.getLoginItemSettings({ args: [HIDDEN_ARG] }).openAtLogin,
      set: (enabled) => app.setLoginItemSettings({ openAtLogin: enabled, args: [HIDDEN_ARG] }),
    };
  }
  const env = opts.env ?? process.env;
  const file = autostartFile(env);
  // An AppImage moves its files on every run: only the AppImage's own path survives a restart.
  const command = env['APPIMAGE']
    ? [env['APPIMAGE']]
    : app.isPackaged
      ? [opts.execPath ?? process.execPath]
      : [opts.execPath ?? process.execPath, app.getAppPath()];
  const entry = [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Porthole',
    'Comment=Tunnels to your local web services',
    `Exec=${[...command, HIDDEN_ARG].map(execArg).join(' ')}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
  return {
    isEnabled: () => {
      try {
        return readFileSync(file, 'utf8').includes('Name=Porthole');
      } catch {
        return false;
      }
    },
    set: (enabled) => {
      if (!enabled) {
        rmSync(file, { force: true });
        return;
      }
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, entry, { mode: 0o644 });
    },
  };
}

/** True when this launch should stay in the tray (a login launch). */
export function startedHidden(
  argv: readonly string[],
  app: Pick<App, 'getLoginItemSettings'>,
  platform = process.platform,
): boolean {
  if (argv.includes(HIDDEN_ARG)) return true;
  // macOS passes no arguments to login items; it says so here instead.
  return platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin;
}
