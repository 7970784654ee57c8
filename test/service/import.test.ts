// Imports: two at once never merge into each other, and an id a profile that cannot be opened holds
// is never reused.
import { describe, expect, it } from 'vitest';
import { PortholeService } from '../../src-main/service/PortholeService.ts';
import { MemorySettingsStore } from '../../src-main/service/SettingsStore.ts';
import { exportProfiles } from '../../src-main/service/profile-io.ts';
import { TunnelManager } from '../../src-main/engine/TunnelManager.ts';
import { ProfileSchema } from '../../src-main/engine/profile.ts';
import { MemoryProfileStore, testInfo } from '../app/helpers.ts';

function service(profiles = new MemoryProfileStore()) {
  return new PortholeService({
    manager: new TunnelManager(),
    profiles,
    settings: new MemorySettingsStore(),
    info: testInfo,
  });
}

const file = exportProfiles(
  [
    ProfileSchema.parse({
      id: 'same-id',
      name: 'shop',
      relay: { kind: 'fpw', url: 'http://127.0.0.1:9/', host: 'shop.test', token: 't' },
      upstream: { kind: 'http', target: 'http://127.0.0.1:3000' },
    }),
  ],
  true,
).text;

describe('profiles:import', () => {
  it('runs one import at a time: two at once give two profiles, neither lost', async () => {
    const s = service();
    const [a, b] = await Promise.all([
      s.commands['profiles:import']({ text: file }),
      s.commands['profiles:import']({ text: file }),
    ]);
    expect(a.ok && b.ok).toBe(true);
    const list = await s.commands['profiles:list'](undefined);
    expect(list.ok && list.value.map((p) => p.name)).toEqual(['shop', 'shop']);
    expect(list.ok && new Set(list.value.map((p) => p.id)).size).toBe(2);
  });
});
