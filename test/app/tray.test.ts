import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TunnelManager } from '../../src-main/engine/TunnelManager.ts';
import type { AggregateStatus, TunnelPhase, TunnelView } from '../../src-main/ipc/contract.ts';
import { MemorySettingsStore } from '../../src-main/service/SettingsStore.ts';
import { PortholeService } from '../../src-main/service/PortholeService.ts';
import { TrayController, trayActionHandler, trayState } from '../../src-main/app/TrayController.ts';
import {
  buildTrayMenu,
  trayIconFile,
  trayTooltip,
  type TrayMenuItem,
  type TrayState,
} from '../../src-main/app/tray-menu.ts';
import { electron, type FakeMenuItem, type FakeTray } from './fake-electron.ts';
import { MemoryProfileStore, PHASES, profile, settle, view } from './helpers.ts';

vi.mock('electron', async () => (await import('./fake-electron.ts')).electronModule());

const state = (tunnels: TunnelView[], over: Partial<TrayState> = {}): TrayState => ({
  tunnels,
  aggregate: 'idle',
  launchAtLogin: false,
  language: 'en',
  ...over,
});

const labels = (items: TrayMenuItem[]) => items.map((i) => (i.type === 'separator' ? '---' : i.label));
const byLabel = (items: TrayMenuItem[], label: string) => items.find((i) => i.label === label);
const running = (p: TunnelPhase) => p !== 'stopped' && p !== 'failed';

describe('tray menu model', () => {
  it('with no tunnel: says so, and offers only the app items', () => {
    const items = buildTrayMenu(state([]));
    expect(labels(items)).toEqual(['No tunnels yet', '---', 'Open Porthole', '---', 'Launch at login', 'Quit']);
    expect(items[0]!.enabled).toBe(false);
  });

  it.each(PHASES.map((s) => [s.phase, s] as const))('with one tunnel %s', (phase, s) => {
    const t = view('blog', s);
    const items = buildTrayMenu(state([t]));
    const entry = items[0]!;
    expect(entry.type).toBe('checkbox');
    expect(entry.checked).toBe(running(phase));
    expect(entry.action).toEqual({ type: running(phase) ? 'stop' : 'start', id: 'blog' });
    const status = {
      stopped: 'stopped',
      starting: 'connecting…',
      online: 'online',
      reconnecting: 'reconnecting (attempt 3)',
      failed: 'failed',
    }[phase];
    expect(entry.label).toBe(`blog (${status})`);
    const copy = items.filter((i) => i.action?.type === 'copy-url');
    if (phase === 'online') {
      expect(copy).toHaveLength(1);
      expect(copy[0]!.label).toBe('Copy public URL');
      expect(copy[0]!.action).toEqual({ type: 'copy-url', url: 'http://blog-words.localhost:4040/' });
    } else {
      expect(copy).toHaveLength(0);
    }
    expect(byLabel(items, 'Start all')!.enabled).toBe(!running(phase));
    expect(byLabel(items, 'Stop all')!.enabled).toBe(running(phase));
    expect(labels(items).slice(-6)).toEqual([
      'Open Porthole',
      'Start all',
      'Stop all',
      '---',
      'Launch at login',
      'Quit',
    ]);
  });

  it.each(PHASES.map((s) => [s.phase, s] as const))('with three tunnels, all %s', (phase, s) => {
    const tunnels = ['a', 'b', 'c'].map((id) => view(id, s));
    const items = buildTrayMenu(state(tunnels));
    const boxes = items.filter((i) => i.type === 'checkbox' && i.action?.type !== 'launch-at-login');
    expect(boxes.map((b) => b.action)).toEqual(
      tunnels.map((t) => ({ type: running(phase) ? 'stop' : 'start', id: t.id })),
    );
    const copy = items.filter((i) => i.action?.type === 'copy-url');
    expect(copy.map((c) => c.label)).toEqual(
      phase === 'online' ? ['Copy public URL: a', 'Copy public URL: b', 'Copy public URL: c'] : [],
    );
  });

  it('with three tunnels in different states: copy items only for the online ones', () => {
    const tunnels = [view('a', PHASES[2]!), view('b', PHASES[4]!), view('c', PHASES[2]!)];
    const items = buildTrayMenu(state(tunnels));
    expect(items.filter((i) => i.action?.type === 'copy-url').map((i) => i.sublabel)).toEqual([
      'http://a-words.localhost:4040/',
      'http://c-words.localhost:4040/',
    ]);
    expect(byLabel(items, 'Start all')!.enabled).toBe(true);
    expect(byLabel(items, 'Stop all')!.enabled).toBe(true);
  });

  it('speaks zh-CN', () => {
    const items = buildTrayMenu(state([view('blog', PHASES[2]!)], { language: 'zh-CN', launchAtLogin: true }));
    expect(labels(items)).toEqual([
      'blog (在线)',
      '---',
      '复制公网地址',
      '---',
      '打开 Porthole',
      '全部启动',
      '全部停止',
      '---',
      '登录时启动',
      '退出',
    ]);
    expect(byLabel(items, '登录时启动')).toMatchObject({
      checked: true,
      action: { type: 'launch-at-login', enabled: false },
    });
  });

  it('tooltip counts the online tunnels, in both languages', () => {
    expect(trayTooltip(state([]))).toBe('Porthole: no tunnels');
    const three = [view('a', PHASES[2]!), view('b', PHASES[4]!), view('c', PHASES[0]!)];
    expect(trayTooltip(state(three))).toBe('Porthole: 1 of 3 tunnels online, 1 failed');
    expect(trayTooltip(state([view('a', PHASES[2]!)]))).toBe('Porthole: 1 of 1 tunnel online');
    expect(trayTooltip(state(three, { language: 'zh-CN' }))).toBe('Porthole：3 个隧道中 1 个在线，1 个失败');
  });

  it('icon file per aggregate state, template images on macOS', () => {
    expect(trayIconFile('online', 'linux')).toBe('tray-online.png');
    expect(trayIconFile('error', 'win32')).toBe('tray-error.png');
    expect(trayIconFile('connecting', 'darwin')).toBe('tray-connectingTemplate.png');
  });
});

describe('TrayController', () => {
  let manager: TunnelManager;
  let service: PortholeService;
  let controller: TrayController | null = null;
  const openWindow = vi.fn();
  const quit = vi.fn();

  beforeEach(async () => {
    manager = new TunnelManager();
    service = new PortholeService({
      manager,
      profiles: new MemoryProfileStore([profile({ id: 'a' }), profile({ id: 'b' }), profile({ id: 'c' })]),
      settings: new MemorySettingsStore(),
      info: () => {
        throw new Error('not needed');
      },
    });
    await service.load();
    // The clicks must reach the manager; the tunnels need not reach a relay.
    vi.spyOn(manager, 'start').mockImplementation((id) => manager.get(id)!);
    vi.spyOn(manager, 'stop').mockResolvedValue(undefined);
    vi.spyOn(manager, 'stopAll').mockResolvedValue(undefined);
    electron.clipboard.writes.length = 0;
    openWindow.mockReset();
    quit.mockReset();
  });

  afterEach(async () => {
    controller?.destroy();
    vi.restoreAllMocks();
    await manager.close(0);
  });

  function tray(initial: TrayState, platform: NodeJS.Platform = 'linux') {
    controller = new TrayController(
      {
        assetsDir: '/assets',
        platform,
        onAction: trayActionHandler({
          startTunnel: (id) => service.startTunnel(id),
          stopTunnel: (id) => service.stopTunnel(id),
          startAll: () => service.startAll(),
          stopAll: () => service.stopAll(),
          setSettings: (patch) => service.setSettings(patch),
          openWindow,
          quit,
        }),
      },
      initial,
    );
    return controller.tray as unknown as FakeTray;
  }

  const item = (t: FakeTray, label: string): FakeMenuItem => {
    const found = t.menu!.items.find((i) => i.label === label);
    if (!found) throw new Error(`no menu item "${label}" in ${t.menu!.items.map((i) => i.label).join(', ')}`);
    return found;
  };

  it('icon and tooltip follow the aggregate state', () => {
    const t = tray(state([]));
    expect(t.image.path).toBe('/assets/tray-idle.png');
    expect(t.tooltip).toBe('Porthole: no tunnels');
    const cases: Array<[AggregateStatus, TunnelView[], string]> = [
      ['connecting', [view('a', PHASES[1]!)], 'Porthole: 0 of 1 tunnel online'],
      ['online', [view('a', PHASES[2]!), view('b', PHASES[0]!)], 'Porthole: 1 of 2 tunnels online'],
      ['error', [view('a', PHASES[4]!)], 'Porthole: 0 of 1 tunnel online, 1 failed'],
      ['idle', [view('a', PHASES[0]!)], 'Porthole: 0 of 1 tunnel online'],
    ];
    for (const [aggregate, tunnels, tooltip] of cases) {
      controller!.update(state(tunnels, { aggregate }));
      expect(t.image.path).toBe(`/assets/tray-${aggregate}.png`);
      expect(t.tooltip).toBe(tooltip);
    }
    // The image is only replaced when the aggregate changes.
    controller!.update(state([view('a', PHASES[0]!)], { aggregate: 'idle' }));
    expect(t.images.map((i) => i.path)).toEqual([
      '/assets/tray-idle.png',
      '/assets/tray-connecting.png',
      '/assets/tray-online.png',
      '/assets/tray-error.png',
      '/assets/tray-idle.png',
    ]);
  });

  it('uses template images on macOS', () => {
    const t = tray(state([], { aggregate: 'online' }), 'darwin');
    expect(t.image).toMatchObject({ path: '/assets/tray-onlineTemplate.png', template: true });
  });

  it('menu clicks call the manager', async () => {
    const t = tray(trayState(service.tunnels(), service.aggregate(), service.settings()));
    item(t, 'a (stopped)').click!();
    await settle();
    expect(manager.start).toHaveBeenCalledWith('a');

    controller!.update(state([view('a', PHASES[2]!), view('b', PHASES[0]!), view('c', PHASES[3]!)]));
    item(t, 'a (online)').click!();
    await settle();
    expect(manager.stop).toHaveBeenCalledWith('a', 5000);

    vi.mocked(manager.start).mockClear();
    item(t, 'Start all').click!();
    await settle();
    // Every stopped tunnel of the manager is started (in the manager they are all still stopped).
    expect(vi.mocked(manager.start).mock.calls.map((c) => c[0])).toEqual(['a', 'b', 'c']);

    item(t, 'Stop all').click!();
    await settle();
    expect(manager.stopAll).toHaveBeenCalledWith(5000);

    item(t, 'Open Porthole').click!();
    item(t, 'Quit').click!();
    await settle();
    expect(openWindow).toHaveBeenCalledTimes(1);
    expect(quit).toHaveBeenCalledTimes(1);

    item(t, 'Launch at login').click!();
    expect(service.settings().launchAtLogin).toBe(true);
  });

  it('a left click opens the window', () => {
    const t = tray(state([]));
    t.emit('click');
    expect(openWindow).toHaveBeenCalledTimes(1);
  });

  it('"Copy public URL" of a TCP tunnel copies its tcp://host:port', () => {
    const tcp = view('db', PHASES[2]!);
    const online = {
      ...tcp,
      publicUrl: 'tcp://relay.example:31000',
      state: { ...PHASES[2]!, publicUrl: 'tcp://relay.example:31000' },
    };
    const t = tray(state([online as typeof tcp]));
    item(t, 'Copy public URL').click!();
    expect(electron.clipboard.writes).toEqual(['tcp://relay.example:31000']);
  });

  it('"Copy public URL" writes exactly the tunnel\'s URL to the clipboard', () => {
    const t = tray(state([view('a', PHASES[2]!), view('b', PHASES[0]!), view('c', PHASES[2]!)]));
    item(t, 'Copy public URL: c').click!();
    expect(electron.clipboard.writes).toEqual(['http://c-words.localhost:4040/']);
    controller!.update(state([view('a', PHASES[2]!)]));
    item(t, 'Copy public URL').click!();
    expect(electron.clipboard.writes).toEqual(['http://c-words.localhost:4040/', 'http://a-words.localhost:4040/']);
  });
});
