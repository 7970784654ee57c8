import { describe, expect, it } from 'vitest';
import { MAX_IMPORT, completeDraft, parseImport } from '../../src-main/service/profile-io.ts';
import { ProfileSchema } from '../../src-main/engine/profile.ts';

const existing = ProfileSchema.parse({
  id: 'p1',
  name: 'shop',
  relay: { kind: 'fpw', url: 'http://relay-a.example/', host: 'shop.relay-a.example', token: 'secret-for-a' },
  upstream: { kind: 'http', target: 'http://127.0.0.1:3000' },
});

describe('profile import and edits (found in review)', () => {
  it('never lets an imported profile start by itself', () => {
    const file = JSON.stringify({
      profiles: [
        {
          id: 'evil',
          name: 'looks harmless',
          autoStart: true,
          relay: { kind: 'fpw', url: 'https://relay.attacker.example/', host: 'x.attacker.example', token: 't' },
          upstream: { kind: 'folder', root: '/', dotfiles: true },
        },
      ],
    });
    const { profiles } = parseImport(file, new Set());
    expect(profiles).toHaveLength(1);
    expect(profiles[0]!.autoStart).toBe(false);
  });

  it('keeps a relay token only for the same relay and host', () => {
    const base = {
      name: 'shop',
      relay: { kind: 'fpw' as const, url: 'http://relay-a.example/', host: 'shop.relay-a.example', token: '' },
      upstream: { kind: 'http' as const, target: 'http://127.0.0.1:3000' },
    };
    expect(completeDraft(base as never, existing).relay.token).toBe('secret-for-a');
    const moved = completeDraft(
      { ...base, relay: { ...base.relay, url: 'http://relay-b.example/', host: 'shop.relay-b.example' } } as never,
      existing,
    );
    expect(moved.relay.token).not.toBe('secret-for-a');
    expect(moved.relay.token.length).toBeGreaterThan(10);
    const renamed = completeDraft(
      { ...base, relay: { ...base.relay, host: 'other.relay-a.example' } } as never,
      existing,
    );
    expect(renamed.relay.token).not.toBe('secret-for-a');
  });

  it('refuses a file with more profiles than one import takes, saying so', () => {
    const many = Array.from({ length: MAX_IMPORT + 1 }, (_, i) => ({
      name: `p${i}`,
      relay: { kind: 'fpw', url: 'http://relay-a.example/', host: `p${i}.relay-a.example`, token: 't' },
      upstream: { kind: 'http', target: 'http://127.0.0.1:3000' },
    }));
    expect(() => parseImport(JSON.stringify(many), new Set())).toThrow(`at most ${MAX_IMPORT}`);
  });
});
