import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import vm from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../../src-main/app/csp.ts';
import { COMMAND_CHANNELS, PUSH_CHANNEL, methodPath } from '../../src-main/ipc/contract.ts';
import { buildIsStale, electronBinary } from '../../scripts/electron.ts';

const run = promisify(execFile);

// `electron-vite build` needs only the electron package's version, never its binary, so the desktop
// bundles are proven to build on a machine where Electron cannot be downloaded.
describe('desktop build', () => {
  beforeAll(async () => {
    // `npm test` builds once before the tests (the browser tier serves the same build); run alone,
    // this file builds when the build is missing or older than its sources.
    if (buildIsStale()) {
      await run(process.execPath, ['node_modules/electron-vite/bin/electron-vite.js', 'build'], { timeout: 120_000 });
    }
  }, 150_000);

  it('emits an ESM main process with the secure window options', async () => {
    const main = await readFile('out/main/index.js', 'utf8');
    expect(main).toMatch(/^import .* from "electron";$/m);
    expect(main).not.toMatch(/(^|[^.#\w])require\(/m);
    expect(main).toContain('contextIsolation: true');
    expect(main).toContain('sandbox: true');
    expect(main).toContain('nodeIntegration: false');
  });

  it('emits a CommonJS preload that requires nothing but electron', async () => {
    const preload = await readFile('out/preload/index.cjs', 'utf8');
    const required = [...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    expect(required.length).toBeGreaterThan(0);
    expect(new Set(required)).toEqual(new Set(['electron']));
  });

  it('emits a renderer page with the Content-Security-Policy', async () => {
    const html = await readFile('out/renderer/index.html', 'utf8');
    const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/.exec(html);
    expect(meta?.[1]).toBe(CONTENT_SECURITY_POLICY);
    expect(html).not.toContain("'unsafe-eval'");
    expect(html).not.toContain("'unsafe-inline'; style");
  });
});

describe('the built preload', () => {
  interface Loaded {
    exposed: Array<{ name: string; api: Record<string, unknown> }>;
    required: string[];
    invoked: Array<[string, unknown]>;
    push(message: unknown): void;
  }

  // Runs out/preload/index.cjs as Electron would, in a context of its own, with a stand-in for the
  // `electron` that a sandboxed preload gets, recording what it exposes and what it sends.
  async function load(): Promise<Loaded> {
    const code = await readFile('out/preload/index.cjs', 'utf8');
    const loaded: Loaded = { exposed: [], required: [], invoked: [], push: () => undefined };
    const electron = {
      contextBridge: {
        exposeInMainWorld: (name: string, api: Record<string, unknown>) => loaded.exposed.push({ name, api }),
      },
      ipcRenderer: {
        invoke: async (channel: string, payload: unknown) => {
          loaded.invoked.push([channel, payload]);
          return { ok: true, value: null };
        },
        on: (channel: string, listener: (event: unknown, message: unknown) => void) => {
          if (channel === PUSH_CHANNEL) loaded.push = (m) => listener({}, m);
        },
      },
    };
    const require = (name: string) => {
      loaded.required.push(name);
      if (name !== 'electron') throw new Error(`a sandboxed preload cannot require ${name}`);
      return electron;
    };
    const module = { exports: {} };
    vm.runInNewContext(code, { require, module, exports: module.exports, console, URL });
    return loaded;
  }

  it('requires only electron and exposes exactly one method per command, on, copyText and openExternal', async () => {
    const { exposed, required } = await load();
    expect(required).toEqual(['electron']);
    expect(exposed.map((e) => e.name)).toEqual(['api']);
    const api = exposed[0]!.api;
    const expected = new Map<string, string[]>();
    for (const c of COMMAND_CHANNELS) {
      const [domain, method] = methodPath(c);
      expected.set(domain, [...(expected.get(domain) ?? []), method]);
    }
    expect(Object.keys(api).sort()).toEqual([...expected.keys(), 'copyText', 'on', 'openExternal'].sort());
    for (const [domain, methods] of expected) {
      const group = api[domain] as Record<string, unknown>;
      expect(Object.keys(group).sort(), domain).toEqual([...methods].sort());
      for (const m of methods) expect(typeof group[m]).toBe('function');
    }
    expect(Object.values(api).some((v) => v === undefined)).toBe(false);
    expect(JSON.stringify(Object.keys(api))).not.toMatch(/ipcRenderer|invoke|send/);
  });

  it('each method invokes its own channel with its payload', async () => {
    const loaded = await load();
    const api = loaded.exposed[0]!.api as Record<string, Record<string, (p?: unknown) => Promise<unknown>>>;
    await api['tunnels']!['startAll']!();
    await api['tunnels']!['start']!({ id: 'blog' });
    await api['requests']!['exportHar']!({ tunnelId: 'blog' });
    expect(loaded.invoked).toEqual([
      ['tunnels:start-all', undefined],
      ['tunnels:start', { id: 'blog' }],
      ['requests:export-har', { tunnelId: 'blog' }],
    ]);
  });

  it('on(event, cb) delivers pushes and returns its unsubscribe function; unknown events throw', async () => {
    const loaded = await load();
    const api = loaded.exposed[0]!.api as {
      on(event: string, cb: (p: unknown) => void): () => void;
    };
    const got: unknown[] = [];
    const off = api.on('tunnels:status-changed', (p) => got.push(p));
    loaded.push({ event: 'tunnels:status-changed', payload: { id: 'a' } });
    loaded.push({ event: 'requests:batch', payload: [] });
    off();
    loaded.push({ event: 'tunnels:status-changed', payload: { id: 'b' } });
    expect(got).toEqual([{ id: 'a' }]);
    expect(() => api.on('porthole:anything', () => undefined)).toThrow(/unknown event/);
  });

  it('copyText and openExternal pass only http(s) URLs to main', async () => {
    const loaded = await load();
    const api = loaded.exposed[0]!.api as Record<string, (url: string) => Promise<{ ok: boolean }>>;
    expect(await api['copyText']!('file:///etc/passwd')).toMatchObject({ ok: false });
    expect(await api['openExternal']!('javascript:alert(1)')).toMatchObject({ ok: false });
    expect(loaded.invoked).toEqual([]);
    await api['copyText']!('https://moon.28820.com/');
    await api['openExternal']!('http://moon-words.localhost:4040/');
    expect(loaded.invoked).toEqual([
      ['shell:copy-text', { text: 'https://moon.28820.com/' }],
      ['shell:open-external', { url: 'http://moon-words.localhost:4040/' }],
    ]);
  });
});

// The real thing, where it can run: Electron's binary (downloaded from GitHub on first use, which these
// machines cannot reach), Playwright's Electron launcher (playwright-core, loaded only then), and a
// display. Here in the same file as the build, which it needs, so that the two never race on out/.
interface SmokeElectronApp {
  firstWindow(): Promise<SmokePage>;
  evaluate<T>(fn: (electron: unknown) => T): Promise<T>;
  close(): Promise<void>;
}
interface SmokePage {
  waitForSelector(selector: string, opts?: { timeout?: number }): Promise<unknown>;
  textContent(selector: string): Promise<string | null>;
  getByRole(role: string, opts: { name: RegExp }): { click(): Promise<void> };
}

function smokeSkipReason(): string | null {
  const binary = electronBinary();
  if ('missing' in binary) return binary.missing;
  try {
    createRequire(import.meta.url).resolve('playwright-core');
  } catch {
    return 'playwright-core is not installed (npm install --no-save playwright-core)';
  }
  if (process.platform === 'linux' && !process.env['DISPLAY'] && !process.env['WAYLAND_DISPLAY']) {
    return 'no display (run it under xvfb-run)';
  }
  return null;
}

const skipSmoke = smokeSkipReason();
if (skipSmoke) console.info(`real-Electron smoke test skipped: ${skipSmoke}`);

describe.skipIf(skipSmoke !== null)(`real Electron${skipSmoke ? ` (skipped: ${skipSmoke})` : ''}`, () => {
  it('starts the app: the tray exists, the window shows the UI, the first-run tunnel comes online', async () => {
    const binary = electronBinary() as { path: string };
    const specifier = 'playwright-core';
    const { _electron } = (await import(/* @vite-ignore */ specifier)) as {
      _electron: { launch(o: Record<string, unknown>): Promise<SmokeElectronApp> };
    };
    const app = await _electron.launch({
      executablePath: binary.path,
      args: ['.'],
      env: {
        ...process.env,
        PORTHOLE_USER_DATA_DIR: mkdtempSync(join(tmpdir(), 'porthole-smoke-')),
        PORTHOLE_TEST_HOOKS: '1',
      },
    });
    try {
      const page = await app.firstWindow();
      await page.waitForSelector('h1');
      expect(await page.textContent('h1')).toBe('Porthole');
      const tray = await app.evaluate(() => {
        const p = (globalThis as { porthole?: { tray: { tray: { isDestroyed(): boolean } } | null } }).porthole;
        return p?.tray ? !p.tray.tray.isDestroyed() : false;
      });
      expect(tray).toBe(true);
      await page.getByRole('button', { name: /Start Offline demo/ }).click();
      await page.waitForSelector('li[data-phase="online"]', { timeout: 15_000 });
    } finally {
      await app.close();
    }
  }, 60_000);
});
