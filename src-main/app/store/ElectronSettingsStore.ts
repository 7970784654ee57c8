import type { Settings } from '../../ipc/contract.ts';
import type { SettingsStore } from '../../service/SettingsStore.ts';
import type { AppStore } from './AppStore.ts';

/** The app's settings in its data file. */
export class ElectronSettingsStore implements SettingsStore {
  readonly #app: AppStore;

  constructor(app: AppStore) {
    this.#app = app;
  }

  get(): Settings {
    return this.#app.get('settings');
  }

  set(settings: Settings): void {
    this.#app.set('settings', settings);
  }
}
