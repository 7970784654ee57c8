import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SafeStorage } from 'electron';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CURRENT_SCHEMA_VERSION, NewerDataError, migrate } from '../../src-main/app/store/app-data.ts';
import { AppStore } from '../../src-main/app/store/AppStore.ts';
import { ElectronProfileStore } from '../../src-main/app/store/ElectronProfileStore.ts';
import { safeStorageVault } from '../../src-main/app/store/SecretVault.ts';
import { electron } from './fake-electron.ts';
import { profile } from './helpers.ts';

vi.mock('electron', async () => (await import('./fake-electron.ts')).electronModule());

const FIXTURE = join(import.meta.dirname, '../fixtures/desktop-config-v1.json');
const fixture = () => JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;
const safeStorage = electron.safeStorage as unknown as SafeStorage;

function dirWithV1(): string {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-store-'));
  copyFileSync(FIXTURE, join(dir, 'config.json'));
  return dir;
}

const fileOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;

beforeEach(() => {
  electron.safeStorage.state.available = true;
  electron.safeStorage.state.backend = 'gnome_libsecret';
});

describe('data file migrations', () => {
  it('version 1 (the fixture) becomes the current layout', () => {
    const { data, from } = migrate(fixture());
    expect(from).toBe(1);
    expect(data.schemaVersion).toBe(CURRENT_SCHEMA_VERSION);
    expect(data.settings).toEqual({ language: 'zh-CN', notifications: false, launchAtLogin: true, theme: 'system' });
    expect(data.window).toEqual({ bounds: { x: 120, y: 80, width: 1024, height: 700 } });
    expect(data.firstRunDone).toBe(true);
    expect(data.profiles.map((p) => p['id'])).toEqual(['blog', 'api']);
  });

  it('a new file gets the defaults and is a first run', () => {
    const { data, from } = migrate({});
    expect(from).toBe(0);
    expect(data).toEqual({
      schemaVersion: CURRENT_SCHEMA_VERSION,
      profiles: [],
      settings: { language: 'en', launchAtLogin: false, notifications: true, theme: 'system' },
      window: {},
      hints: {},
      demo: {},
      firstRunDone: false,
    });
  });

  it('one bad value falls back to its default without losing the rest', () => {
    const { data } = migrate({
      schemaVersion: 2,
      profiles: [{ id: 'x' }],
      settings: { language: 'fr', notifications: false },
      window: { bounds: { x: 'left' } },
      firstRunDone: true,
    });
    expect(data.settings).toEqual({ language: 'en', launchAtLogin: false, notifications: false, theme: 'system' });
    expect(data.window.bounds).toBeUndefined();
    expect(data.profiles).toEqual([{ id: 'x' }]);
    expect(data.firstRunDone).toBe(true);
  });

  it('refuses a file from a newer Porthole', () => {
    expect(() => migrate({ schemaVersion: CURRENT_SCHEMA_VERSION + 1 })).toThrow(NewerDataError);
  });
});

describe('AppStore and ElectronProfileStore', () => {
  it('migrate the version-1 fixture cleanly: backup, settings, profiles, secrets sealed', async () => {
    const dir = dirWithV1();
    const store = AppStore.open({ cwd: dir });
    expect(store.openedVersion).toBe(1);
    expect(store.isNew).toBe(false);
    expect(store.backupPath).toBe(join(dir, 'config.v1.backup.json'));
    expect(readFileSync(store.backupPath!, 'utf8')).toBe(readFileSync(FIXTURE, 'utf8'));
    expect(store.get('settings')).toEqual({
      language: 'zh-CN',
      notifications: false,
      launchAtLogin: true,
      theme: 'system',
    });
    expect(store.get('window').bounds).toEqual({ x: 120, y: 80, width: 1024, height: 700 });
    expect(fileOf(dir)['schemaVersion']).toBe(2);

    const vault = await safeStorageVault(safeStorage, 'linux');
    expect(vault.info).toEqual({ encrypted: true, backend: 'gnome_libsecret' });
    const profiles = new ElectronProfileStore(store, vault);
    const list = await profiles.list();
    expect(list).toEqual([
      profile({
        id: 'blog',
        name: 'Blog',
        relay: {
          kind: 'fpw',
          url: 'https://{host}/',
          host: 'moon-flower-snake-red-apple.28820.com',
          token: 'v1-token-blog',
        },
        upstream: { kind: 'http', target: 'http://127.0.0.1:8080' },
        workers: 4,
        autoStart: true,
      }),
      profile({
        id: 'api',
        name: 'API',
        relay: { kind: 'fpw', url: 'http://127.0.0.1:8080/', host: 'api.localhost', token: 'v1-token-api' },
        upstream: { kind: 'http', target: 'http://127.0.0.1:3000' },
        hostHeader: 'visitor',
      }),
    ]);
    expect(profiles.unreadable).toEqual([]);
    // The tokens that were in clear are sealed now that there is a keyring.
    const text = readFileSync(join(dir, 'config.json'), 'utf8');
    expect(text).not.toContain('v1-token');
    const stored = (fileOf(dir)['profiles'] as Array<{ relay: { token: unknown } }>)[0]!.relay.token;
    expect(stored).toEqual({ $sealed: 'safeStorage', data: expect.any(String) });

    // Reopened: no second migration, the same profiles.
    const again = AppStore.open({ cwd: dir });
    expect(again.openedVersion).toBe(2);
    expect(again.backupPath).toBeNull();
    expect(await new ElectronProfileStore(again, vault).list()).toEqual(list);
    expect(readdirSync(dir).filter((f) => f.includes('backup'))).toEqual(['config.v1.backup.json']);
  });

  it("on Linux's basic_text backend secrets stay in clear, and the vault says so", async () => {
    electron.safeStorage.state.backend = 'basic_text';
    const dir = dirWithV1();
    const vault = await safeStorageVault(safeStorage, 'linux');
    expect(vault.info).toEqual({ encrypted: false, backend: 'basic_text' });
    const profiles = new ElectronProfileStore(AppStore.open({ cwd: dir }), vault);
    await profiles.save(
      profile({
        id: 'new',
        relay: { kind: 'fpw', url: 'http://127.0.0.1:9/', host: 'n.localhost', token: 'clear-token' },
      }),
    );
    const text = readFileSync(join(dir, 'config.json'), 'utf8');
    expect(text).toContain('"clear-token"');
    expect(text).toContain('"v1-token-blog"');
    expect(text).not.toContain('$sealed');
  });

  it('without a keyring, no backend is claimed', async () => {
    electron.safeStorage.state.available = false;
    const vault = await safeStorageVault(safeStorage, 'darwin');
    expect(vault.info).toEqual({ encrypted: false, backend: 'none' });
  });

  it('seals basic-auth passwords too, and reads them back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'porthole-store-'));
    const vault = await safeStorageVault(safeStorage, 'linux');
    const profiles = new ElectronProfileStore(AppStore.open({ cwd: dir }), vault);
    const p = profile({
      id: 'locked',
      access: {
        basicAuth: [
          { user: 'ann', password: 'pw-one' },
          { user: 'bo', password: 'pw-two' },
        ],
      },
    });
    await profiles.save(p);
    const text = readFileSync(join(dir, 'config.json'), 'utf8');
    expect(text).not.toContain('pw-one');
    expect(text).not.toContain('pw-two');
    expect(text).toContain('"ann"');
    expect(await new ElectronProfileStore(AppStore.open({ cwd: dir }), vault).get('locked')).toEqual(p);
  });

  it('a profile whose secrets cannot be opened is reported and kept in the file', async () => {
    const dir = dirWithV1();
    const sealed = new ElectronProfileStore(AppStore.open({ cwd: dir }), await safeStorageVault(safeStorage, 'linux'));
    await sealed.list();
    // Next run: the keyring is gone.
    electron.safeStorage.state.available = false;
    const store = AppStore.open({ cwd: dir });
    const profiles = new ElectronProfileStore(store, await safeStorageVault(safeStorage, 'linux'));
    expect(await profiles.list()).toEqual([]);
    expect(profiles.unreadable.map((u) => [u.id, u.name])).toEqual([
      ['blog', 'Blog'],
      ['api', 'API'],
    ]);
    await profiles.save(profile({ id: 'other' }));
    expect((fileOf(dir)['profiles'] as Array<{ id: string }>).map((p) => p.id)).toEqual(['blog', 'api', 'other']);
  });

  it('never lets a new profile replace one that cannot be opened: its id stays taken', async () => {
    const dir = dirWithV1();
    await new ElectronProfileStore(AppStore.open({ cwd: dir }), await safeStorageVault(safeStorage, 'linux')).list();
    electron.safeStorage.state.available = false;
    const profiles = new ElectronProfileStore(AppStore.open({ cwd: dir }), await safeStorageVault(safeStorage, 'linux'));
    expect(await profiles.list()).toEqual([]);
    expect(await profiles.takenIds()).toEqual(['blog', 'api']);
    await expect(profiles.save(profile({ id: 'blog', name: 'imported blog' }))).rejects.toThrow(/cannot be opened/);
    const ids = (fileOf(dir)['profiles'] as Array<{ id: string; name: string }>).map((p) => [p.id, p.name]);
    expect(ids).toEqual([
      ['blog', 'Blog'],
      ['api', 'API'],
    ]);
  });

  it('saves and deletes, two saves at once keep both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'porthole-store-'));
    const store = AppStore.open({ cwd: dir });
    expect(store.isNew).toBe(true);
    const profiles = new ElectronProfileStore(store, await safeStorageVault(safeStorage, 'linux'));
    await Promise.all([profiles.save(profile({ id: 'a' })), profiles.save(profile({ id: 'b' }))]);
    expect((await profiles.list()).map((p) => p.id)).toEqual(['a', 'b']);
    await profiles.save(profile({ id: 'a', name: 'renamed' }));
    expect((await profiles.list()).map((p) => p.name)).toEqual(['renamed', 'b']);
    expect(await profiles.delete('a')).toBe(true);
    expect(await profiles.delete('a')).toBe(false);
    await expect(profiles.save({ id: 'bad' })).rejects.toThrow(/name/);
    expect(
      (
        await new ElectronProfileStore(AppStore.open({ cwd: dir }), await safeStorageVault(safeStorage, 'linux')).list()
      ).map((p) => p.id),
    ).toEqual(['b']);
  });

  it('an unreadable file is moved aside and a new one started', () => {
    const dir = mkdtempSync(join(tmpdir(), 'porthole-store-'));
    writeFileSync(join(dir, 'config.json'), '{"schemaVersion": 2, "profiles": [');
    const store = AppStore.open({ cwd: dir });
    expect(store.isNew).toBe(true);
    expect(store.quarantinedPath).toMatch(/config\.unreadable-\d+\.json$/);
    expect(readFileSync(store.quarantinedPath!, 'utf8')).toBe('{"schemaVersion": 2, "profiles": [');
  });

  it('a file from a newer Porthole is left untouched', () => {
    const dir = mkdtempSync(join(tmpdir(), 'porthole-store-'));
    const text = JSON.stringify({ schemaVersion: 99, profiles: [] });
    writeFileSync(join(dir, 'config.json'), text);
    expect(() => AppStore.open({ cwd: dir })).toThrow(NewerDataError);
    expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe(text);
    expect(existsSync(join(dir, 'config.v99.backup.json'))).toBe(false);
  });
});
