// The desktop app's data file (config.json in Electron's userData folder): its current layout, its
// defaults and the numbered migrations from older layouts. Pure functions on plain JSON, no electron,
// so that every migration is tested on its own; AppStore runs them when it opens the file.
import { z } from 'zod';
import { LanguageSchema, SettingsSchema, ThemeSchema } from '../../ipc/contract.ts';

/** The layout this build writes. */
export const CURRENT_SCHEMA_VERSION = 2;

const Bounds = z.object({
  x: z.int(),
  y: z.int(),
  width: z.int().min(200).max(20_000),
  height: z.int().min(150).max(20_000),
});

/** Window size and position, remembered across runs. */
export type WindowBounds = z.output<typeof Bounds>;

// Each field falls back to its default on its own: one bad value never costs the rest of the file.
const StoredSettings = z
  .object({
    language: LanguageSchema.catch('en'),
    launchAtLogin: z.boolean().catch(false),
    notifications: z.boolean().catch(true),
    theme: ThemeSchema.catch('system'),
  })
  .partial()
  .catch({})
  .transform((s) => SettingsSchema.parse(s));

/**
 * The current layout (version 2). Profiles are kept as stored: their secrets are sealed
 * (`{ "$sealed": "safeStorage", "data": base64 }`) or, without an OS keyring, plain strings; the
 * profile store opens and validates them.
 */
export const AppDataSchema = z.object({
  schemaVersion: z.literal(CURRENT_SCHEMA_VERSION),
  profiles: z.array(z.record(z.string(), z.unknown())).catch([]),
  settings: StoredSettings,
  window: z
    .object({
      bounds: Bounds.optional().catch(undefined),
      maximized: z.boolean().catch(false),
    })
    .partial()
    .catch({}),
  /** Hints shown once. */
  hints: z
    .object({
      /** The notification that says the window went to the tray. */
      hiddenToTray: z.boolean().catch(false),
    })
    .partial()
    .catch({}),
  /** The embedded demo relay's port of last time, so that the demo URL stays the same. */
  demo: z
    .object({ relayPort: z.int().min(1).max(65_535).optional().catch(undefined) })
    .partial()
    .catch({}),
  /** False until the first run has created the demo profile. */
  firstRunDone: z.boolean().catch(false),
});

/** What the data file holds, after migrations and defaults. */
export type AppData = z.output<typeof AppDataSchema>;

type Json = Record<string, unknown>;

/**
 * Migrations by the version they produce: `MIGRATIONS[n]` turns a version n-1 document into version
 * n. Never edit a migration once released; add the next number.
 */
export const MIGRATIONS: Readonly<Record<number, (doc: Json) => Json>> = {
  /**
   * Version 1, the first desktop layout: settings flat next to the profiles (`language`,
   * `notifications`, `launchAtLogin`, `windowBounds`), tokens always in clear, profiles without the
   * access and header rules. Version 2 groups settings and window state, seals secrets when the OS has
   * a keyring (the profile store does that on open), and marks the first run as done (a user with
   * profiles is not new: no demo profile is added).
   */
  2: (v1) => ({
    schemaVersion: 2,
    profiles: Array.isArray(v1['profiles']) ? v1['profiles'] : [],
    settings: {
      language: v1['language'] === 'zh' ? 'zh-CN' : v1['language'],
      notifications: v1['notifications'],
      launchAtLogin: v1['launchAtLogin'],
    },
    window: { bounds: v1['windowBounds'], maximized: v1['windowMaximized'] },
    hints: {},
    demo: {},
    firstRunDone: true,
  }),
};

/** A data file written by a newer Porthole: this build must not rewrite it. */
export class NewerDataError extends Error {
  override name = 'NewerDataError';
}

/** The version of a raw document: its `schemaVersion`, or 0 for an empty (new) file. */
export function versionOf(raw: Json): number {
  const v = raw['schemaVersion'];
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  return Object.keys(raw).length === 0 ? 0 : 1;
}

/**
 * Brings a raw document to the current layout and applies defaults. A new (empty) document gets the
 * current layout directly. `from` is the version found (0 for new).
 * @throws NewerDataError for a document from a newer Porthole
 */
export function migrate(raw: Json): { data: AppData; from: number } {
  const from = versionOf(raw);
  if (from > CURRENT_SCHEMA_VERSION) {
    throw new NewerDataError(
      `the data file was written by a newer Porthole (layout ${from}; this one knows up to ${CURRENT_SCHEMA_VERSION})`,
    );
  }
  if (from === 0) return { data: AppDataSchema.parse({ schemaVersion: CURRENT_SCHEMA_VERSION }), from };
  let doc: Json = structuredClone(raw);
  for (let v = from + 1; v <= CURRENT_SCHEMA_VERSION; v++) {
    const step = MIGRATIONS[v];
    if (!step) throw new Error(`no migration to layout ${v}`);
    doc = { ...step(doc), schemaVersion: v };
  }
  return { data: AppDataSchema.parse(doc), from };
}
