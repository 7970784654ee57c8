// The whole shell wired (PortholeApp), on the electron stand-in, with the real engine underneath: the
// first run, the tray, the window, IPC from our page, notifications, and the quit sequence that lets a
// request in flight finish (a real relay and a real upstream on 127.0.0.1).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { PortholeApp } from '../../src-main/app/PortholeApp.ts';
import { PUSH_CHANNEL, type PushMessage, type Result, type TunnelView } from '../../src-main/ipc/contract.ts';
import type { RelayServer } from '../../src-main/relay/RelayServer.ts';
import { echoHandler, startRelay, startServer, until, visit, type Server } from '../helpers/net.ts';
import { FakeBrowserWindow, FakeNotification, FakeTray, electron, invokeEvent } from './fake-electron.ts';

vi.mock('electron', async () => (await import('./fake-electron.ts')).electronModule());

const RENDERER = resolve('/opt/porthole/out/renderer/index.html');
const logs: string[] = [];

function value<T>(r: unknown): T {
  const result = r as Result<T>;
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

async function launch(argv: string[] = []): Promise<PortholeApp> {
  electron.app.removeAllListeners();
  electron.ipcMain.handlers.clear();
  electron.app.userData = mkdtempSync(join(tmpdir(), 'porthole-app-'));
  const porthole = new PortholeApp({
    preload: '/opt/porthole/out/preload/index.cjs',
    renderer: { kind: 'file', path: RENDERER },
    assetsDir: '/opt/porthole/assets',
    argv,
    log: (line) => logs.push(line),
  });
  porthole.install();
  electron.app.becomeReady();
  await porthole.ready;
  return porthole;
}

const lastWindow = () => FakeBrowserWindow.instances.at(-1)!;
const lastTray = () => FakeTray.instances.at(-1)!;
const fromPage = () => invokeEvent(lastWindow().webContents);
const invoke = (channel: string, payload?: unknown) => electron.ipcMain.invoke(channel, fromPage(), payload);
const pushed = (w: FakeBrowserWindow) =>
  w.webContents.sent.filter((s) => s.channel === PUSH_CHANNEL).map((s) => s.args[0] as PushMessage);

beforeAll(() => {
  // The Linux login item writes an autostart file: keep it out of the real home folder.
  process.env['XDG_CONFIG_HOME'] = mkdtempSync(join(tmpdir(), 'porthole-xdg-'));
});

describe('PortholeApp', () => {
  let porthole: PortholeApp;

  beforeEach(async () => {
    FakeNotification.instances.length = 0;
    porthole = await launch();
  });

  it('first run: the offline demo profile, a tray, a window on our page, every command bound', async () => {
    const tunnels = value<TunnelView[]>(await invoke('tunnels:list'));
    expect(tunnels.map((t) => [t.id, t.name, t.state.phase])).toEqual([['local-demo', 'Offline demo', 'stopped']]);
    const info = value<{ firstRun: boolean; shell: string; secrets: unknown }>(await invoke('app:info'));
    expect(info).toMatchObject({
      firstRun: true,
      shell: 'electron',
      secrets: { encrypted: true, backend: 'gnome_libsecret' },
    });
    expect(electron.ipcMain.handlers.size).toBe(25);

    const tray = lastTray();
    expect(tray.image.path).toBe('/opt/porthole/assets/tray-idle.png');
    expect(tray.tooltip).toBe('Porthole: 0 of 1 tunnel online');
    expect(tray.menu!.items.map((i) => i.label)).toContain('Offline demo (stopped)');

    const win = lastWindow();
    expect(win.loaded).toEqual({ file: RENDERER });
    expect(win.isVisible()).toBe(true);
    await porthole.shutdown();
  });

  it('starts the demo tunnel from the page; status reaches the page, the tray and a notification', async () => {
    const win = lastWindow();
    value(await invoke('tunnels:start', { id: 'local-demo' }));
    await until(() => lastTray().tooltip === 'Porthole: 1 of 1 tunnel online', 'the tray to say online');
    expect(lastTray().image.path).toBe('/opt/porthole/assets/tray-online.png');
    const statuses = pushed(win).filter((m) => m.event === 'tunnels:status-changed');
    expect(statuses.at(-1)!.payload).toMatchObject({ id: 'local-demo', state: { phase: 'online' } });
    expect(FakeNotification.instances.map((n) => n.options.title)).toEqual(['Offline demo is online']);

    // Copy from the tray: exactly the public URL.
    const url = (statuses.at(-1)!.payload as TunnelView).publicUrl;
    lastTray().menu!.items.find((i) => i.label === 'Copy public URL')!.click!();
    expect(electron.clipboard.writes.at(-1)).toBe(url);
    // The same through the bridge; anything but http(s) is refused before main acts.
    value(await invoke('shell:copy-text', { text: url }));
    expect(await invoke('shell:open-external', { url: 'file:///etc/passwd' })).toMatchObject({ ok: false });
    // An http(s) URL that is not one of our tunnels' is refused by main too.
    expect(await invoke('shell:open-external', { url: 'https://elsewhere.example/' })).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    value(await invoke('shell:open-external', { url }));
    expect(electron.shell.opened).toEqual([url]);
    await porthole.shutdown();
  });

  it('a call from another frame does not reach the engine', async () => {
    const stranger = new FakeBrowserWindow();
    const r = await electron.ipcMain.invoke('tunnels:start', invokeEvent(stranger.webContents), { id: 'local-demo' });
    expect(r).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(porthole.service!.tunnels()[0]!.state.phase).toBe('stopped');
    expect(logs.some((l) => l.includes('refused tunnels:start'))).toBe(true);
    await porthole.shutdown();
  });

  it('closing the window hides it to the tray, with a notification the first time only', async () => {
    const win = lastWindow();
    win.close();
    expect(win.isDestroyed()).toBe(false);
    expect(win.isVisible()).toBe(false);
    win.show();
    win.close();
    expect(FakeNotification.instances.map((n) => n.options.title)).toEqual(['Porthole is still running']);
    // A second launch brings it back.
    electron.app.emit('second-instance');
    expect(win.isVisible()).toBe(true);
    await porthole.shutdown();
  });

  it('settings from the page reach the tray, the theme and the login item', async () => {
    value(await invoke('settings:set', { language: 'zh-CN', launchAtLogin: true, theme: 'dark' }));
    expect(lastTray().menu!.items.map((i) => i.label)).toContain('登录时启动');
    expect(lastTray().menu!.items.find((i) => i.label === '登录时启动')!.checked).toBe(true);
    expect(electron.nativeTheme.themeSource).toBe('dark');
    await porthole.shutdown();
  });
});

describe('PortholeApp at login and with a newer data file', () => {
  it('a login launch (--hidden) stays in the tray', async () => {
    const before = FakeBrowserWindow.instances.length;
    const porthole = await launch(['--hidden']);
    expect(FakeBrowserWindow.instances.length).toBe(before);
    expect(lastTray().destroyed).toBe(false);
    await porthole.shutdown();
  });

  it('says why it cannot start, and exits', async () => {
    electron.app.removeAllListeners();
    electron.ipcMain.handlers.clear();
    electron.app.userData = mkdtempSync(join(tmpdir(), 'porthole-app-'));
    writeFileSync(join(electron.app.userData, 'config.json'), JSON.stringify({ schemaVersion: 99 }));
    const porthole = new PortholeApp({
      preload: '/p',
      renderer: { kind: 'file', path: RENDERER },
      assetsDir: '/a',
      log: () => undefined,
    });
    porthole.install();
    await expect(porthole.ready).rejects.toThrow(/newer Porthole/);
    expect(electron.dialog.errors.at(-1)!.content).toMatch(/newer Porthole/);
    expect(electron.app.exits.at(-1)).toBe(1);
  });
});

describe('quitting', () => {
  let relay: RelayServer;
  let upstream: Server;

  beforeAll(async () => {
    relay = await startRelay();
    upstream = await startServer(echoHandler());
  });

  afterAll(async () => {
    await relay.close(0);
    await upstream.close();
  });

  it('stops accepting, lets the request in flight finish, then quits', async () => {
    const porthole = await launch();
    const service = porthole.service!;
    const p = value<{ id: string; relay: { host: string } }>(
      await invoke('profiles:create', {
        profile: {
          name: 'slow',
          relay: { kind: 'fpw', url: `${relay.url}/` },
          upstream: { kind: 'http', target: upstream.url },
        },
      }),
    );
    value(await invoke('tunnels:start', { id: p.id }));
    await until(() => service.tunnels().find((t) => t.id === p.id)?.state.phase === 'online', 'the tunnel online');

    const events: string[] = [];
    electron.app.once('will-quit', () => events.push('quit'));
    const inFlight = visit(relay.port, p.relay.host, {
      path: '/who?delay=300',
      headers: { 'x-marker': 'finished' },
    }).then((r) => {
      events.push(`response ${r.status} ${r.body.toString()}`);
      return r;
    });
    await until(() => service.tunnels().find((t) => t.id === p.id)!.counters.inFlight === 1, 'the request in flight');

    const quitsBefore = electron.app.quits;
    electron.app.quit();
    // Held: the app does not quit while the request is in flight, and takes no new work.
    expect(electron.app.quits).toBe(quitsBefore);
    expect(await invoke('tunnels:start', { id: p.id })).toMatchObject({ ok: false, error: { code: 'shutting-down' } });

    const res = await inFlight;
    expect(res.status).toBe(200);
    await until(() => electron.app.quits === quitsBefore + 1, 'the app to quit');
    expect(events).toEqual(['response 200 finished', 'quit']);
    expect(lastTray().destroyed).toBe(true);
    expect(lastWindow().isDestroyed()).toBe(true);
    expect(electron.ipcMain.handlers.size).toBe(0);
    // A second quit after the first went through is not held again.
    electron.app.quit();
    expect(electron.app.quits).toBe(quitsBefore + 2);
  });
});
