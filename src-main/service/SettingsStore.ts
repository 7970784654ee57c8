import Conf from 'conf';
import { SettingsSchema, type Settings } from '../ipc/contract.ts';

/** Where the app's settings are kept. The desktop app keeps them in electron-store. */
export interface SettingsStore {
  get(): Settings;
  /** Saves the whole settings object (already validated). */
  set(settings: Settings): void;
}

/** Settings in memory: for the headless inspector and tests. */
export class MemorySettingsStore implements SettingsStore {
  #settings: Settings;

  constructor(initial: Partial<Settings> = {}) {
    this.#settings = SettingsSchema.parse(initial);
  }

  get(): Settings {
    return { ...this.#settings };
  }

  set(settings: Settings): void {
    this.#settings = { ...settings };
  }
}

/**
 * Settings of the headless inspector, in the same file as its profiles (`headless.json`, 0600), so
 * that the language and the rest outlive a restart.
 */
export class ConfSettingsStore implements SettingsStore {
  readonly #conf: Conf<{ settings?: unknown }>;

  constructor(opts: { cwd?: string } = {}) {
    this.#conf = new Conf<{ settings?: unknown }>({
      projectName: 'porthole',
      configName: 'headless',
      projectSuffix: '',
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      configFileMode: 0o600,
    });
  }

  get(): Settings {
    const r = SettingsSchema.safeParse(this.#conf.get('settings') ?? {});
    return r.success ? r.data : SettingsSchema.parse({});
  }

  set(settings: Settings): void {
    this.#conf.set('settings', settings);
  }
}
