import { beforeEach, describe, expect, it, vi } from 'vitest';
import { bindIpc, broadcast, pushMessage, trustedSender } from '../../src-main/app/ipc-binding.ts';
import type { RendererSource } from '../../src-main/app/WindowFactory.ts';
import {
  COMMAND_CHANNELS,
  PUSH_CHANNEL,
  SHELL_CHANNELS,
  commandSchemas,
  methodPath,
  ok,
  type CommandHandlers,
  type ShellHandlers,
} from '../../src-main/ipc/contract.ts';
import type { BrowserWindow, IpcMainInvokeEvent } from 'electron';
import { FakeBrowserWindow, electron, fakeFrame, invokeEvent, type FakeWebContents } from './fake-electron.ts';

vi.mock('electron', async () => (await import('./fake-electron.ts')).electronModule());

const source: RendererSource = { kind: 'file', path: '/opt/porthole/out/renderer/index.html' };
const ownUrl = 'file:///opt/porthole/out/renderer/index.html';

type Spies = Record<string, ReturnType<typeof vi.fn>>;

function handlers(): { all: CommandHandlers & ShellHandlers; spies: Spies } {
  const spies: Spies = {};
  const all: Record<string, unknown> = {};
  for (const channel of [...COMMAND_CHANNELS, ...SHELL_CHANNELS]) {
    spies[channel] = vi.fn(async (payload: unknown) => ok({ channel, payload }));
    all[channel] = spies[channel];
  }
  return { all: all as CommandHandlers & ShellHandlers, spies };
}

describe('IPC binding', () => {
  let ours: FakeWebContents;
  let spies: Spies;

  beforeEach(() => {
    electron.ipcMain.handlers.clear();
    const win = new FakeBrowserWindow();
    ours = win.webContents;
    ours.mainFrame = fakeFrame(ownUrl);
    const h = handlers();
    spies = h.spies;
    bindIpc(electron.ipcMain, h.all, trustedSender({ isOurs: (c) => c.id === ours.id, source }));
  });

  const call = (channel: string, event: unknown, ...args: unknown[]) =>
    electron.ipcMain.invoke(channel, event, ...args);

  it('registers one handler per command and bridge capability, and nothing else', () => {
    expect([...electron.ipcMain.handlers.keys()].sort()).toEqual([...COMMAND_CHANNELS, ...SHELL_CHANNELS].sort());
  });

  it('passes a valid payload from our page to the service, parsed', async () => {
    const r = await call('tunnels:start', invokeEvent(ours), { id: 'blog' });
    expect(r).toEqual({ ok: true, value: { channel: 'tunnels:start', payload: { id: 'blog' } } });
    expect(spies['tunnels:start']).toHaveBeenCalledWith({ id: 'blog' });
    expect(await call('tunnels:list', invokeEvent(ours))).toMatchObject({ ok: true });
  });

  it('rejects a payload that fails its schema without reaching the service', async () => {
    for (const [channel, payload] of [
      ['tunnels:start', { id: 42 }],
      ['tunnels:start', { id: 'blog', extra: true }],
      ['tunnels:start', undefined],
      ['tunnels:list', { sneaky: 1 }],
      ['settings:set', { language: 'fr' }],
      [
        'profiles:create',
        {
          profile: {
            name: 'x',
            relay: { kind: 'fpw', url: 'file:///etc/passwd' },
            upstream: { kind: 'http', target: 'http://127.0.0.1:1' },
          },
        },
      ],
      ['shell:open-external', { url: 'file:///etc/passwd' }],
      ['shell:copy-text', { text: 'javascript:alert(1)' }],
    ] as const) {
      const r = (await call(channel, invokeEvent(ours), payload)) as {
        ok: boolean;
        error: { code: string; message: string };
      };
      expect(r.ok, `${channel} ${JSON.stringify(payload)}`).toBe(false);
      expect(r.error.code).toBe('invalid-payload');
      expect(r.error.message).toContain(channel);
      expect(spies[channel]).not.toHaveBeenCalled();
    }
    const extraArgs = (await call('tunnels:start', invokeEvent(ours), { id: 'a' }, 'more')) as { ok: boolean };
    expect(extraArgs.ok).toBe(false);
    expect(spies['tunnels:start']).not.toHaveBeenCalled();
  });

  it('rejects calls from a frame that is not ours without reaching the service', async () => {
    const stranger = new FakeBrowserWindow().webContents;
    stranger.mainFrame = fakeFrame(ownUrl);
    const cases: Array<[string, unknown]> = [
      ['another window, even showing our page', invokeEvent(stranger)],
      ['an iframe inside our page', invokeEvent(ours, fakeFrame(ownUrl, ours.mainFrame))],
      ['our window after navigating elsewhere', invokeEvent(ours, fakeFrame('https://evil.example/'))],
      ['another file of this machine', invokeEvent(ours, fakeFrame('file:///tmp/evil.html'))],
      ['a frame that is gone', invokeEvent(ours, null)],
      ['a detached frame', invokeEvent(ours, { ...fakeFrame(ownUrl), detached: true })],
    ];
    for (const [what, event] of cases) {
      const r = (await call('tunnels:start', event, { id: 'blog' })) as { ok: boolean; error: { code: string } };
      expect(r, what).toEqual({ ok: false, error: { code: 'forbidden', message: expect.any(String) } });
    }
    expect(spies['tunnels:start']).not.toHaveBeenCalled();
  });

  it('accepts our page with a hash or query, and a dev server page by origin', () => {
    const check = trustedSender({ isOurs: () => true, source });
    const e = (url: string) => invokeEvent(ours, fakeFrame(url)) as IpcMainInvokeEvent;
    expect(check(e(`${ownUrl}#/requests`))).toBe(true);
    expect(check(e(`${ownUrl}?x=1`))).toBe(true);
    const dev = trustedSender({ isOurs: () => true, source: { kind: 'url', url: 'http://localhost:5173/' } });
    expect(dev(e('http://localhost:5173/index.html'))).toBe(true);
    expect(dev(e('http://localhost:5174/'))).toBe(false);
  });

  it('turns a handler that throws into an internal error value', async () => {
    electron.ipcMain.handlers.clear();
    const h = handlers();
    h.spies['app:info']!.mockRejectedValue(new Error('boom'));
    bindIpc(electron.ipcMain, h.all, () => true);
    expect(await call('app:info', invokeEvent(ours))).toEqual({
      ok: false,
      error: { code: 'internal', message: 'boom' },
    });
  });

  it('broadcast() pushes to live windows on the one push channel and skips destroyed ones', () => {
    const a = new FakeBrowserWindow();
    const b = new FakeBrowserWindow();
    const c = new FakeBrowserWindow();
    b.destroy();
    c.webContents.destroyed = true;
    const message = pushMessage('settings:changed', {
      language: 'en',
      launchAtLogin: false,
      notifications: true,
      theme: 'dark',
    });
    const sent = broadcast([a, b, c] as unknown as BrowserWindow[], message);
    expect(sent).toBe(1);
    expect(a.webContents.sent).toEqual([{ channel: PUSH_CHANNEL, args: [message] }]);
    expect(b.webContents.sent).toEqual([]);
  });
});

describe('contract', () => {
  it('names every command domain:verb and maps it to one bridge method', () => {
    const methods = COMMAND_CHANNELS.map((c) => methodPath(c).join('.'));
    expect(new Set(methods).size).toBe(COMMAND_CHANNELS.length);
    for (const c of COMMAND_CHANNELS) expect(c).toMatch(/^[a-z]+:[a-z]+(-[a-z]+)*$/);
    expect(methodPath('tunnels:start-all')).toEqual(['tunnels', 'startAll']);
    expect(methodPath('profiles:create-from-preset')).toEqual(['profiles', 'createFromPreset']);
    expect(Object.keys(commandSchemas).sort()).toEqual([...COMMAND_CHANNELS].sort());
  });
});
