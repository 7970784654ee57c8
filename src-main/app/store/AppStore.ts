// The desktop app's data file on electron-store: opened once at start, migrated to the current layout
// (numbered migrations in app-data.ts, with a backup of the old file), then read from memory and
// written through. electron-store's own `migrations` are keyed on the app's semver and run after its
// defaults were merged in; a layout number of our own keeps data changes apart from release numbers
// and lets each migration see the old document as it was.
import { copyFileSync, existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import Store from 'electron-store';
import { CURRENT_SCHEMA_VERSION, migrate, type AppData } from './app-data.ts';

export interface AppStoreOptions {
  /** The folder of the file (absolute). Electron's userData folder in the app. */
  cwd: string;
  /** The file's name without `.json`. @default 'config' */
  name?: string;
}

type Raw = Record<string, unknown>;

/** The app's data: profiles (as stored), settings, window state, hints. */
export class AppStore {
  /** The data file. */
  readonly path: string;
  /** The layout the file had when opened: 0 for a new file, CURRENT for one that needed no migration. */
  readonly openedVersion: number;
  /** Where the file was copied before a migration, if one ran. */
  readonly backupPath: string | null;
  /** Where an unreadable file was moved (a new one was started), if it was. */
  readonly quarantinedPath: string | null;
  readonly #store: Store<Raw>;
  #data: AppData;

  private constructor(
    store: Store<Raw>,
    data: AppData,
    opened: number,
    backup: string | null,
    quarantined: string | null,
  ) {
    this.#store = store;
    this.#data = data;
    this.path = store.path;
    this.openedVersion = opened;
    this.backupPath = backup;
    this.quarantinedPath = quarantined;
  }

  /**
   * Opens (or creates) the file and brings it to the current layout.
   * @throws NewerDataError when a newer Porthole wrote it (the file is left alone)
   */
  static open(opts: AppStoreOptions): AppStore {
    const name = opts.name ?? 'config';
    const file = join(opts.cwd, `${name}.json`);
    const make = (): Store<Raw> => new Store<Raw>({ cwd: opts.cwd, name, configFileMode: 0o600 });
    let store: Store<Raw>;
    let quarantined: string | null = null;
    try {
      store = make();
    } catch (err) {
      // Not JSON (a disk that filled up, an editor's half-saved file): keep it aside and start afresh.
      if (!existsSync(file)) throw err;
      quarantined = join(opts.cwd, `${name}.unreadable-${Date.now()}.json`);
      renameSync(file, quarantined);
      store = make();
    }
    const raw = store.store;
    const { data, from } = migrate(raw);
    let backup: string | null = null;
    if (from !== 0 && from < CURRENT_SCHEMA_VERSION && existsSync(file)) {
      backup = join(opts.cwd, `${name}.v${from}.backup.json`);
      copyFileSync(file, backup);
    }
    const plain = JSON.parse(JSON.stringify(data)) as Raw;
    if (!isDeepStrictEqual(raw, plain)) store.store = plain;
    return new AppStore(store, data, from, backup, quarantined);
  }

  /** True when the file did not exist before (or was unreadable). */
  get isNew(): boolean {
    return this.openedVersion === 0;
  }

  get<K extends keyof AppData>(key: K): AppData[K] {
    return structuredClone(this.#data[key]);
  }

  set<K extends keyof AppData>(key: K, value: AppData[K]): void {
    this.#data = { ...this.#data, [key]: structuredClone(value) };
    this.#store.set(key, JSON.parse(JSON.stringify(value)) as unknown);
  }
}
