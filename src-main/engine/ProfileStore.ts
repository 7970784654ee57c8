import Conf from 'conf';
import { ProfileSchema, parseProfile, type Profile } from './profile.ts';

/** Where tunnel profiles are kept. The Electron shell has its own implementation on electron-store. */
export interface ProfileStore {
  list(): Promise<Profile[]>;
  get(id: string): Promise<Profile | undefined>;
  /** Validates and saves (creates or replaces by id). */
  save(profile: unknown): Promise<Profile>;
  delete(id: string): Promise<boolean>;
}

/** What the CLI remembers between runs: the host and token each command used. */
export interface Identity {
  host: string;
  token: string;
}

interface HeadlessData {
  profiles: Profile[];
  identities: Record<string, Identity>;
}

export interface ConfStoreOptions {
  /** Folder of the config file. @default the platform's config folder for `porthole` */
  cwd?: string;
}

/**
 * The headless profile store on `conf`: one JSON file readable by its user only (0600). Secrets are
 * kept in clear there, as the headless side has no keychain; the desktop app encrypts them.
 */
export class ConfProfileStore implements ProfileStore {
  readonly #conf: Conf<HeadlessData>;

  constructor(opts: ConfStoreOptions = {}) {
    this.#conf = new Conf<HeadlessData>({
      projectName: 'porthole',
      configName: 'headless',
      projectSuffix: '',
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      configFileMode: 0o600,
      defaults: { profiles: [], identities: {} },
    });
  }

  /** The file the data lives in. */
  get path(): string {
    return this.#conf.path;
  }

  async list(): Promise<Profile[]> {
    return this.#conf.get('profiles').flatMap((p) => {
      const r = ProfileSchema.safeParse(p);
      return r.success ? [r.data] : [];
    });
  }

  async get(id: string): Promise<Profile | undefined> {
    return (await this.list()).find((p) => p.id === id);
  }

  async save(input: unknown): Promise<Profile> {
    const r = parseProfile(input);
    if (!r.ok) throw new Error(r.error);
    const all = this.#conf.get('profiles').filter((p) => p.id !== r.profile.id);
    this.#conf.set('profiles', [...all, r.profile]);
    return r.profile;
  }

  async delete(id: string): Promise<boolean> {
    const all = this.#conf.get('profiles');
    const kept = all.filter((p) => p.id !== id);
    this.#conf.set('profiles', kept);
    return kept.length !== all.length;
  }

  /** The host and token a command used last time, by a key of the command's relay and target. */
  identity(key: string): Identity | undefined {
    return this.#conf.get('identities')[key];
  }

  rememberIdentity(key: string, identity: Identity): void {
    this.#conf.set('identities', { ...this.#conf.get('identities'), [key]: identity });
  }
}

/** Profiles in memory: the tunnels of one CLI run, which are not saved. */
export class MemoryProfileStore implements ProfileStore {
  readonly #profiles = new Map<string, Profile>();

  async list(): Promise<Profile[]> {
    return [...this.#profiles.values()];
  }

  async get(id: string): Promise<Profile | undefined> {
    return this.#profiles.get(id);
  }

  async save(input: unknown): Promise<Profile> {
    const r = parseProfile(input);
    if (!r.ok) throw new Error(r.error);
    this.#profiles.set(r.profile.id, r.profile);
    return r.profile;
  }

  async delete(id: string): Promise<boolean> {
    return this.#profiles.delete(id);
  }
}
