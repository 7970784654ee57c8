import { SettingsSchema, type Settings } from '../../ipc/contract.ts';

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
