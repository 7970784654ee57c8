import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from 'electron';
import { describe, expect, it, vi } from 'vitest';
import { HIDDEN_ARG, autostartFile, loginItem, startedHidden } from '../../src-main/app/login-item.ts';
import { electron } from './fake-electron.ts';

vi.mock('electron', async () => (await import('./fake-electron.ts')).electronModule());

const app = electron.app as unknown as App;

describe('launch at login', () => {
  it('on Linux writes and removes an XDG autostart entry that starts hidden', () => {
    const env = { XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'porthole-xdg-')) };
    const item = loginItem(app, { platform: 'linux', env, execPath: '/opt/Porthole App/porthole' });
    expect(item.isEnabled()).toBe(false);
    item.set(true);
    const file = autostartFile(env);
    expect(file).toBe(join(env.XDG_CONFIG_HOME, 'autostart', 'porthole.desktop'));
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('[Desktop Entry]');
    // Not packaged: Electron and the app folder; a path with a space is quoted.
    expect(text).toContain(`Exec="/opt/Porthole App/porthole" ${app.getAppPath()} ${HIDDEN_ARG}`);
    expect(item.isEnabled()).toBe(true);
    item.set(false);
    expect(existsSync(file)).toBe(false);
  });

  it('an AppImage starts itself', () => {
    const env = {
      XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'porthole-xdg-')),
      APPIMAGE: '/home/u/Porthole.AppImage',
    };
    loginItem(app, { platform: 'linux', env }).set(true);
    expect(readFileSync(autostartFile(env), 'utf8')).toContain(`Exec=/home/u/Porthole.AppImage ${HIDDEN_ARG}`);
  });

  it("elsewhere uses Electron's login item", () => {
    const item = loginItem(app, { platform: 'win32' });
    item.set(true);
    expect(electron.app.loginItem.openAtLogin).toBe(true);
    expect(item.isEnabled()).toBe(true);
    item.set(false);
    expect(item.isEnabled()).toBe(false);
  });

  it('knows a login launch', () => {
    expect(startedHidden(['electron', '.', HIDDEN_ARG], app, 'linux')).toBe(true);
    expect(startedHidden(['electron', '.'], app, 'linux')).toBe(false);
    electron.app.loginItem.wasOpenedAtLogin = true;
    expect(startedHidden([], app, 'darwin')).toBe(true);
  });
});
