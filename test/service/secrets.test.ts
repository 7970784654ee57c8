// Secrets stay in the main process: profiles reach a UI with every token and password replaced by a
// mark, one is fetched only when the person asks to see it, and saving a profile whose secrets were
// not touched keeps them.
import { describe, expect, it } from 'vitest';
import { PortholeService } from '../../src-main/service/PortholeService.ts';
import { MemorySettingsStore } from '../../src-main/service/SettingsStore.ts';
import { TunnelManager } from '../../src-main/engine/TunnelManager.ts';
import { SAVED_SECRET, type PushMessage } from '../../src-main/ipc/contract.ts';
import { MemoryProfileStore, testInfo } from '../app/helpers.ts';

async function setup() {
  const profiles = new MemoryProfileStore();
  await profiles.save({
    id: 'p1',
    name: 'shop',
    relay: { kind: 'fpw', url: 'http://127.0.0.1:9/', host: 'shop.test', token: 'the-real-token' },
    upstream: { kind: 'http', target: 'http://127.0.0.1:3000' },
    access: { basicAuth: [{ user: 'ann', password: 'ann-secret' }], allow: [], deny: [] },
  });
  const service = new PortholeService({
    manager: new TunnelManager(),
    profiles,
    settings: new MemorySettingsStore(),
    info: testInfo,
  });
  await service.load({ autoStart: false });
  return { service, profiles };
}

describe('secrets and the UI', () => {
  it('profiles:list and profiles:changed carry marks, never the secrets', async () => {
    const { service } = await setup();
    const pushed: PushMessage[] = [];
    service.subscribe((m) => pushed.push(m));
    const list = await service.commands['profiles:list'](undefined);
    if (!list.ok) throw new Error(list.error.message);
    expect(list.value[0]!.relay.token).toBe(SAVED_SECRET);
    expect(list.value[0]!.access.basicAuth[0]).toEqual({ user: 'ann', password: SAVED_SECRET });
    const dup = await service.commands['profiles:duplicate']({ id: 'p1' });
    expect(JSON.stringify(dup)).not.toContain('the-real-token');
    expect(JSON.stringify(pushed)).not.toContain('the-real-token');
    expect(JSON.stringify(pushed)).not.toContain('ann-secret');
  });

  it('gives one secret when asked (Reveal), and keeps untouched secrets on save', async () => {
    const { service, profiles } = await setup();
    expect(await service.commands['profiles:secret']({ id: 'p1', path: 'relay.token' })).toEqual({
      ok: true,
      value: 'the-real-token',
    });
    expect(await service.commands['profiles:secret']({ id: 'p1', path: 'access.basicAuth.0.password' })).toEqual({
      ok: true,
      value: 'ann-secret',
    });
    const list = await service.commands['profiles:list'](undefined);
    if (!list.ok) throw new Error(list.error.message);
    const shown = list.value[0]!;
    const saved = await service.commands['profiles:update']({ id: 'p1', profile: { ...shown, name: 'renamed' } });
    expect(saved.ok).toBe(true);
    const stored = await profiles.get('p1');
    expect(stored?.name).toBe('renamed');
    expect(stored?.relay.token).toBe('the-real-token');
    expect(stored?.access.basicAuth[0]!.password).toBe('ann-secret');
  });
});
