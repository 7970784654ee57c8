// The desktop app's ProfileStore: profiles in the app's data file (electron-store), validated by the
// engine's schema, with their secrets sealed by a SecretVault.
import { parseProfile, type Profile } from '../../engine/profile.ts';
import type { ProfileStore } from '../../engine/ProfileStore.ts';
import type { UnreadableProfile } from '../../engine/shapes.ts';
import { secretSlots } from '../../service/secrets.ts';
import type { AppStore } from './AppStore.ts';
import type { SecretVault } from './SecretVault.ts';

type Raw = Record<string, unknown>;

function rawId(raw: Raw): string | null {
  return typeof raw['id'] === 'string' ? raw['id'] : null;
}

/** Profiles in electron-store, secrets sealed with safeStorage where the OS has a keyring. */
export class ElectronProfileStore implements ProfileStore {
  readonly #app: AppStore;
  readonly #vault: SecretVault;
  #cache: Map<string, Profile> | null = null;
  #unreadable: UnreadableProfile[] = [];
  /** Writes one at a time: sealing is asynchronous, and two saves must not lose each other. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(app: AppStore, vault: SecretVault) {
    this.#app = app;
    this.#vault = vault;
  }

  /** Profiles that could not be opened (a keyring that is gone, a damaged entry). */
  get unreadable(): readonly UnreadableProfile[] {
    return this.#unreadable;
  }

  async takenIds(): Promise<string[]> {
    await this.#load();
    return this.#app
      .get('profiles')
      .map((raw) => rawId(raw))
      .filter((id): id is string => typeof id === 'string');
  }

  async list(): Promise<Profile[]> {
    const all = await this.#load();
    return [...all.values()].map((p) => structuredClone(p));
  }

  async get(id: string): Promise<Profile | undefined> {
    const p = (await this.#load()).get(id);
    return p && structuredClone(p);
  }

  save(input: unknown): Promise<Profile> {
    return this.#serial(async () => {
      const r = parseProfile(input);
      if (!r.ok) throw new Error(r.error);
      const all = await this.#load();
      if (!all.has(r.profile.id) && this.#unreadable.some((u) => u.id === r.profile.id)) {
        // Its secrets were sealed by a keyring that is gone: it stays as it is, for when it comes back.
        throw new Error(`a profile that cannot be opened has the id ${r.profile.id}; it is kept as it is`);
      }
      const sealed = await this.#seal(r.profile);
      const raws = this.#app.get('profiles');
      const at = raws.findIndex((raw) => rawId(raw) === r.profile.id);
      if (at >= 0) raws[at] = sealed;
      else raws.push(sealed);
      this.#app.set('profiles', raws);
      all.set(r.profile.id, r.profile);
      this.#unreadable = this.#unreadable.filter((u) => u.id !== r.profile.id);
      return structuredClone(r.profile);
    });
  }

  delete(id: string): Promise<boolean> {
    return this.#serial(async () => {
      const all = await this.#load();
      const raws = this.#app.get('profiles');
      const kept = raws.filter((raw) => rawId(raw) !== id);
      if (kept.length === raws.length) return false;
      this.#app.set('profiles', kept);
      all.delete(id);
      this.#unreadable = this.#unreadable.filter((u) => u.id !== id);
      return true;
    });
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #seal(profile: Profile): Promise<Raw> {
    const copy = structuredClone(profile) as unknown as Raw;
    for (const slot of secretSlots(copy)) {
      const value = slot.container[slot.key];
      if (typeof value === 'string') slot.container[slot.key] = await this.#vault.seal(value);
    }
    return copy;
  }

  /** Opens every stored profile once; secrets kept in clear are sealed now if a keyring appeared. */
  async #load(): Promise<Map<string, Profile>> {
    if (this.#cache) return this.#cache;
    const cache = new Map<string, Profile>();
    const unreadable: UnreadableProfile[] = [];
    const raws = this.#app.get('profiles');
    let reseal = false;
    for (const raw of raws) {
      const id = rawId(raw);
      const name = typeof raw['name'] === 'string' ? raw['name'] : null;
      const copy = structuredClone(raw);
      try {
        for (const slot of secretSlots(copy)) {
          if (slot.container[slot.key] === undefined) continue;
          const opened = await this.#vault.open(slot.container[slot.key]);
          slot.container[slot.key] = opened.value;
          reseal ||= opened.reseal;
        }
      } catch (err) {
        unreadable.push({ id, name, reason: `its secrets could not be opened: ${(err as Error).message}` });
        continue;
      }
      const r = parseProfile(copy);
      if (!r.ok) unreadable.push({ id, name, reason: r.error });
      else if (cache.has(r.profile.id)) unreadable.push({ id, name, reason: 'a second profile with the same id' });
      else cache.set(r.profile.id, r.profile);
    }
    // Another call may have loaded while this one awaited the keyring: the first one wins.
    if (this.#cache) return this.#cache;
    this.#cache = cache;
    this.#unreadable = unreadable;
    if (reseal) await this.#resealAll();
    return cache;
  }

  async #resealAll(): Promise<void> {
    const cache = this.#cache;
    if (!cache) return;
    const raws = this.#app.get('profiles');
    const next: Raw[] = [];
    for (const raw of raws) {
      const id = rawId(raw);
      const p = id !== null ? cache.get(id) : undefined;
      next.push(p ? await this.#seal(p) : raw);
    }
    this.#app.set('profiles', next);
  }
}
