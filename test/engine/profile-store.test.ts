import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfProfileStore } from '../../src-main/engine/ProfileStore.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'porthole-store-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const profile = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  name: `Tunnel ${id}`,
  relay: { kind: 'fpw', host: `${id}.example.com`, token: `token-${id}` },
  upstream: { kind: 'http', target: 'http://127.0.0.1:3000' },
  ...extra,
});

describe('ConfProfileStore', () => {
  it('starts empty', async () => {
    const store = new ConfProfileStore({ cwd: dir });
    expect(await store.list()).toEqual([]);
    expect(await store.get('a')).toBeUndefined();
  });

  it('saves, lists, gets and deletes profiles', async () => {
    const store = new ConfProfileStore({ cwd: dir });
    const saved = await store.save(profile('a'));
    expect(saved.workers).toBe(8);
    await store.save(profile('b', { workers: 2 }));
    expect((await store.list()).map((p) => p.id)).toEqual(['a', 'b']);
    expect(await store.get('b')).toMatchObject({
      id: 'b',
      workers: 2,
      relay: { url: 'https://{host}/', host: 'b.example.com' },
    });

    expect(await store.delete('a')).toBe(true);
    expect(await store.delete('a')).toBe(false);
    expect((await store.list()).map((p) => p.id)).toEqual(['b']);
    expect(await store.get('a')).toBeUndefined();
  });

  it('replaces a profile with the same id instead of adding one', async () => {
    const store = new ConfProfileStore({ cwd: dir });
    await store.save(profile('a'));
    await store.save(profile('a', { name: 'Renamed', autoStart: true }));
    const all = await store.list();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ name: 'Renamed', autoStart: true });
  });

  it('keeps profiles across a new instance on the same folder', async () => {
    await new ConfProfileStore({ cwd: dir }).save(profile('a', { hostHeader: 'visitor' }));
    const again = new ConfProfileStore({ cwd: dir });
    expect(await again.get('a')).toMatchObject({ id: 'a', hostHeader: 'visitor', relay: { token: 'token-a' } });
  });

  it('rejects invalid profiles with a readable message and saves nothing', async () => {
    const store = new ConfProfileStore({ cwd: dir });
    await expect(store.save(profile('a', { upstream: { kind: 'http', target: 'ftp://x' } }))).rejects.toThrow(
      'upstream.target: upstream must be an http:// or https:// URL',
    );
    await expect(store.save(profile('b', { relay: { kind: 'fpw', host: 'bad_host', token: 't' } }))).rejects.toThrow(
      /^relay\.host: /,
    );
    await expect(
      store.save(profile('c', { relay: { kind: 'fpw', host: 'c.example.com', token: '' } })),
    ).rejects.toThrow('relay.token: token is required');
    await expect(store.save({ id: 'd' })).rejects.toThrow();
    expect(await store.list()).toEqual([]);
  });

  it('skips an entry that no longer passes the schema, keeping the others', async () => {
    const store = new ConfProfileStore({ cwd: dir });
    await store.save(profile('good'));
    const data = JSON.parse(await readFile(store.path, 'utf8'));
    data.profiles.push({ id: 'broken', name: 'x' });
    await writeFile(store.path, JSON.stringify(data));
    const fresh = new ConfProfileStore({ cwd: dir });
    expect((await fresh.list()).map((p) => p.id)).toEqual(['good']);
  });

  it('writes its file readable by its user only (0600)', async () => {
    const store = new ConfProfileStore({ cwd: dir });
    await store.save(profile('a'));
    expect(path.dirname(store.path)).toBe(dir);
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);
    store.rememberIdentity('k', { host: 'h.example.com', token: 't' });
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);
  });

  it('remembers identities across a new instance on the same folder', async () => {
    const store = new ConfProfileStore({ cwd: dir });
    expect(store.identity('relay|http://127.0.0.1:3000')).toBeUndefined();
    store.rememberIdentity('relay|http://127.0.0.1:3000', { host: 'moon.example.com', token: 'tok-1' });
    store.rememberIdentity('relay|http://127.0.0.1:4000', { host: 'sun.example.com', token: 'tok-2' });
    store.rememberIdentity('relay|http://127.0.0.1:3000', { host: 'moon.example.com', token: 'tok-3' });
    const again = new ConfProfileStore({ cwd: dir });
    expect(again.identity('relay|http://127.0.0.1:3000')).toEqual({ host: 'moon.example.com', token: 'tok-3' });
    expect(again.identity('relay|http://127.0.0.1:4000')).toEqual({ host: 'sun.example.com', token: 'tok-2' });
    expect(again.identity('other')).toBeUndefined();
  });
});
