import { readFile } from 'node:fs/promises';
import type { Session, WebContents } from 'electron';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CONTENT_SECURITY_POLICY,
  DEFAULT_SIZE,
  WindowFactory,
  hardenSession,
  hardenWebContents,
  isOwnPage,
  mainWindowOptions,
  visibleBounds,
  type RendererSource,
} from '../../src-main/app/WindowFactory.ts';
import type { WindowBounds } from '../../src-main/app/store/app-data.ts';
import { FakeBrowserWindow, FakeEvent, FakeWebContents, electron } from './fake-electron.ts';

vi.mock('electron', async () => (await import('./fake-electron.ts')).electronModule());

const source: RendererSource = { kind: 'file', path: '/opt/porthole/out/renderer/index.html' };

describe('window options', () => {
  it('carry every security flag', () => {
    const o = mainWindowOptions({ preload: '/opt/porthole/out/preload/index.cjs' });
    expect(o.webPreferences).toEqual({
      preload: '/opt/porthole/out/preload/index.cjs',
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
    });
    expect(o).toMatchObject({ show: false, ...DEFAULT_SIZE });
  });

  it('the page carries the same Content-Security-Policy as the window code', async () => {
    const html = await readFile('src-renderer/index.html', 'utf8');
    const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/.exec(html);
    expect(meta?.[1]).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self';");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-eval');
  });
});

describe('page rules', () => {
  let contents: FakeWebContents;
  beforeEach(() => {
    contents = new FakeWebContents();
    hardenWebContents(contents as unknown as WebContents, source);
  });

  const navigate = (url: string, kind: 'will-navigate' | 'will-redirect' = 'will-navigate') => {
    const event = new FakeEvent(url);
    contents.emit(kind, event);
    return event.defaultPrevented;
  };

  it('blocks navigation away from our page, allows a reload of it', () => {
    expect(navigate('https://evil.example/')).toBe(true);
    expect(navigate('file:///etc/passwd')).toBe(true);
    expect(navigate('http://moon-words.localhost:4040/')).toBe(true);
    expect(navigate('https://evil.example/', 'will-redirect')).toBe(true);
    expect(navigate('file:///opt/porthole/out/renderer/index.html#/requests')).toBe(false);
  });

  it('denies window.open and webviews', () => {
    expect(contents.windowOpenHandler!({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    const attach = new FakeEvent();
    contents.emit('will-attach-webview', attach);
    expect(attach.defaultPrevented).toBe(true);
  });

  it('every permission is denied', () => {
    const s = electron.session;
    hardenSession(s.defaultSession as unknown as Session, source);
    const answers: boolean[] = [];
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'clipboard-sanitized-write']) {
      s.state.permissionRequest!(contents, p, (ok) => answers.push(ok));
      answers.push(s.state.permissionCheck!(contents, p));
    }
    expect(answers.every((a) => a === false)).toBe(true);
    expect(s.state.devicePermission!({})).toBe(false);
  });

  it('the dev server page gets the dev policy as a header', () => {
    const s = electron.session;
    hardenSession(s.defaultSession as unknown as Session, { kind: 'url', url: 'http://localhost:5173/' });
    let headers: Record<string, string[]> = {};
    s.state.headers!(
      { url: 'http://localhost:5173/', responseHeaders: {} },
      (r: { responseHeaders: Record<string, string[]> }) => {
        headers = r.responseHeaders;
      },
    );
    expect(headers['Content-Security-Policy']?.[0]).toContain("default-src 'self'");
  });

  it('knows its own page', () => {
    expect(isOwnPage('file:///opt/porthole/out/renderer/index.html', source)).toBe(true);
    expect(isOwnPage('file:///opt/porthole/out/renderer/other.html', source)).toBe(false);
    expect(isOwnPage('not a url', source)).toBe(false);
  });
});

describe('WindowFactory', () => {
  let saved: { bounds?: WindowBounds; maximized?: boolean };
  let quitting: boolean;
  let hidden: number;
  let factory: WindowFactory;

  beforeEach(() => {
    saved = {};
    quitting = false;
    hidden = 0;
    factory = new WindowFactory({
      source,
      preload: '/p/index.cjs',
      state: { load: () => saved, save: (s) => (saved = s) },
      isQuitting: () => quitting,
      onHidden: () => (hidden += 1),
    });
  });

  it('creates one secure window, shows it, and loads the built page', () => {
    const win = factory.show() as unknown as FakeBrowserWindow;
    expect(win.loaded).toEqual({ file: source.path });
    expect(win.isVisible()).toBe(true);
    expect((win.options['webPreferences'] as Record<string, unknown>)['sandbox']).toBe(true);
    expect(factory.show()).toBe(win);
    expect(factory.isOurs(win.webContents as unknown as WebContents)).toBe(true);
    expect(factory.isOurs(new FakeWebContents() as unknown as WebContents)).toBe(false);
  });

  it('closing hides it to the tray, and remembers its bounds', () => {
    const win = factory.show() as unknown as FakeBrowserWindow;
    win.bounds = { x: 10, y: 20, width: 1000, height: 700 };
    win.close();
    expect(win.isDestroyed()).toBe(false);
    expect(win.isVisible()).toBe(false);
    expect(hidden).toBe(1);
    expect(saved).toEqual({ bounds: { x: 10, y: 20, width: 1000, height: 700 }, maximized: false });
    factory.show();
    expect(win.isVisible()).toBe(true);
  });

  it('a new window opens where the last one was', () => {
    saved = { bounds: { x: 10, y: 20, width: 1000, height: 700 }, maximized: true };
    const win = factory.show() as unknown as FakeBrowserWindow;
    expect(win.options).toMatchObject({ x: 10, y: 20, width: 1000, height: 700 });
    expect(win.isMaximized()).toBe(true);
  });

  it('closing while quitting really closes', () => {
    const win = factory.show() as unknown as FakeBrowserWindow;
    quitting = true;
    win.close();
    expect(win.isDestroyed()).toBe(true);
    expect(hidden).toBe(0);
    expect(factory.window).toBeNull();
  });

  it('bounds on a display that is gone keep their size, not their place', () => {
    const area = [{ x: 0, y: 0, width: 1920, height: 1080 }];
    expect(visibleBounds({ x: 100, y: 100, width: 800, height: 600 }, area)).toEqual({
      x: 100,
      y: 100,
      width: 800,
      height: 600,
    });
    expect(visibleBounds({ x: 3000, y: 100, width: 800, height: 600 }, area)).toEqual({ width: 800, height: 600 });
    expect(visibleBounds({ x: 100, y: -500, width: 800, height: 600 }, area)).toEqual({ width: 800, height: 600 });
    expect(visibleBounds(undefined, area)).toBeUndefined();
  });
});
