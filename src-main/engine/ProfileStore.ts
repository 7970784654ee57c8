import type { UnreadableProfile } from './shapes.ts';
import Conf from 'conf';
import { ProfileSchema, parseProfile, type Profile } from './profile.ts';

/** Where tunnel profiles are kept. The Electron shell has its own implementation on electron-store. */
export interface ProfileStore {
  list(): Promise<Profile[]>;
  get(id: string): Promise<Profile | undefined>;
  /** Validates and saves (creates or replaces by id). */
  save(profile: unknown): Promise<Profile>;
  delete(id: string): Promise<boolean>;
  /**
   * Every id in use, including profiles the store holds but cannot open (the desktop store's, sealed
   * by a keyring that is gone): a new profile must never take one. @default the ids of `list()`
   */
  takenIds?(): Promise<string[]>;
  /** Profiles the store holds but could not open at its last load, so a person can be told. @default none */
  readonly unreadable?: readonly UnreadableProfile[];
}

/** What the CLI remembers between runs: the host and token each command used. */
export interface Identity {
  host: string;
  token: string;
}

/** What the CLI remembers of a command run with the inspector: its profile, and the command line it came from. */
export interface CommandRecord {
  /** The id of the command's saved profile. */
  profileId: string;
  /** The command line's options, as text: the saved profile is used again while they are the same. */
  fingerprint: string;
  /** The port the command's own relay listened on (the demo's), to take again. */
  port?: number;
}

interface HeadlessData {
  profiles: Profile[];
  identities: Record<string, Identity>;
  commands: Record<string, CommandRecord>;
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
      defaults: { profiles: [], identities: {}, commands: {} },
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

  /** What a command run with the inspector saved last time, by a key of the command. */
  command(key: string): CommandRecord | undefined {
    return this.#conf.get('commands')[key];
  }

  rememberCommand(key: string, record: CommandRecord): void {
    this.#conf.set('commands', { ...this.#conf.get('commands'), [key]: record });
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
