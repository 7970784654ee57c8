// Profiles as the UI hands them over: drafts completed (id, host, token), presets, duplicates, and
// the JSON file profiles are exported to and imported from.
import { randomBytes, randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import {
  domainForRelay,
  generateHost,
  parseProfile,
  PUBLIC_FPW_RELAY,
  randomToken,
  type Profile,
  type ProfileInput,
} from '../engine/profile.ts';
import {
  SAVED_SECRET,
  type CommandArgs,
  type ExportedFile,
  type ImportResult,
  type ProfilePreset,
} from '../ipc/contract.ts';
import { secretSlots, withoutSecrets } from './secrets.ts';

/** A profile from the UI, after its schema: what `profiles:create` and `profiles:update` receive. */
export type ProfileDraftData = CommandArgs<'profiles:create'>['profile'];

/** The id of the offline demo profile (the embedded relay and demo site of `porthole demo`). */
export const DEMO_PROFILE_ID = 'local-demo';

/** The ready-made profiles. */
export const PRESETS: readonly ProfilePreset[] = [
  {
    id: 'public-fpw',
    relayUrl: PUBLIC_FPW_RELAY.url,
    domain: PUBLIC_FPW_RELAY.domain,
    needsTarget: true,
    offline: false,
  },
  { id: 'local-demo', relayUrl: null, domain: 'localhost', needsTarget: false, offline: true },
];

/** A problem with a profile, in words, for `invalid-profile` results. */
export class ProfileProblem extends Error {
  override name = 'ProfileProblem';
}

/** A new profile id: short, random, safe in URLs and file names. */
export function newProfileId(): string {
  return `p-${randomBytes(6).toString('hex')}`;
}

/** `3000` or `localhost:3000` become `http://127.0.0.1:3000` / `http://localhost:3000`; URLs stay. */
export function normaliseTarget(target: string): string {
  const t = target.trim();
  if (/^\d{1,5}$/.test(t)) return `http://127.0.0.1:${t}`;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(t)) return `http://${t}`;
  return t;
}

/**
 * The domain generated hosts live under for a relay, without asking it: the public relay's, else
 * `localhost` for a relay on an IP address or localhost, else the relay's own host name.
 */
export function domainFor(relayUrl: string): string | null {
  const known = domainForRelay(relayUrl);
  if (known) return known;
  if (relayUrl.includes('{host}')) return null;
  try {
    const name = new URL(relayUrl).hostname.replace(/^\[|\]$/g, '');
    return isIP(name) || name === 'localhost' ? 'localhost' : name;
  } catch {
    return null;
  }
}

/** Parses a completed profile, or throws a {@link ProfileProblem}. */
export function validProfile(input: unknown): Profile {
  const r = parseProfile(input);
  if (!r.ok) throw new ProfileProblem(r.error);
  return r.profile;
}

/**
 * Completes a draft from the UI: keeps the id of the profile it updates (or takes the draft's, or a
 * new one), generates a host under the relay's domain and a token where they are missing (an update
 * keeps the old token when the draft has none), and validates the result with the engine's schema.
 */
export function completeDraft(draft: ProfileDraftData, existing?: Profile): Profile {
  draft = keepSavedSecrets(draft, existing);
  const relayUrl = draft.relay.url;
  let host = draft.relay.host || (existing && existing.relay.url === relayUrl ? existing.relay.host : '');
  if (!host) {
    const domain = domainFor(relayUrl);
    if (!domain) throw new ProfileProblem('relay.host: this relay URL has no known domain: give the full host name');
    host = generateHost(domain);
  }
  // The kept token claims the old host on the old relay: it is never sent to another relay or host.
  const sameClaim = existing !== undefined && existing.relay.url === relayUrl && existing.relay.host === host;
  const token = draft.relay.token || (sameClaim ? existing.relay.token : '') || randomToken();
  return validProfile({
    ...draft,
    id: existing?.id ?? draft.id ?? newProfileId(),
    relay: { ...draft.relay, host, token },
  });
}

/**
 * A draft back from a UI holds `SAVED_SECRET` where it did not touch a secret: the saved token (only
 * for the same claim, as ever) and the saved password of the same user stand in for it.
 */
function keepSavedSecrets(draft: ProfileDraftData, existing?: Profile): ProfileDraftData {
  const copy = structuredClone(draft);
  if (copy.relay.token === SAVED_SECRET) delete copy.relay.token;
  for (const [i, entry] of (copy.access?.basicAuth ?? []).entries()) {
    if (entry.password !== SAVED_SECRET) continue;
    const saved = existing?.access.basicAuth.find((u) => u.user === entry.user)?.password;
    if (!saved) throw new ProfileProblem(`access.basicAuth.${i}.password: password is required`);
    entry.password = saved;
  }
  return copy;
}

/** The profile as a UI may hold it: every token and password replaced by `SAVED_SECRET`. */
export function withSecretsMarked(profile: Profile): Profile {
  const copy = structuredClone(profile);
  for (const slot of secretSlots(copy)) {
    if (typeof slot.container[slot.key] === 'string' && slot.container[slot.key])
      slot.container[slot.key] = SAVED_SECRET;
  }
  return copy;
}

/** One secret of a profile by its path (`relay.token`, `access.basicAuth.N.password`), or undefined. */
export function secretAt(profile: Profile, path: string): string | undefined {
  const slot = secretSlots(structuredClone(profile)).find((s) => s.path === path);
  const value = slot?.container[slot.key];
  return typeof value === 'string' ? value : undefined;
}

/** A profile for the public FPW relay (`https://{host}/`, a new five-word host under 28820.com). */
export function publicRelayProfile(target: string, name?: string): ProfileInput {
  const host = generateHost(PUBLIC_FPW_RELAY.domain);
  return {
    id: newProfileId(),
    name: name ?? host.split('.')[0] ?? host,
    relay: { kind: 'fpw', url: PUBLIC_FPW_RELAY.url, host, token: randomToken() },
    upstream: { kind: 'http', target: normaliseTarget(target) },
    autoStart: false,
  };
}

/** A copy under a new id and name, with a new host under the same domain (two profiles, two URLs). */
export function duplicateOf(p: Profile, existingNames: ReadonlySet<string>): Profile {
  const dot = p.relay.host.indexOf('.');
  const host = dot > 0 ? generateHost(p.relay.host.slice(dot + 1)) : p.relay.host;
  let name = `${p.name} (copy)`.slice(0, 100);
  for (let n = 2; existingNames.has(name); n++) name = `${p.name} (copy ${n})`.slice(0, 100);
  return validProfile({
    ...structuredClone(p),
    id: newProfileId(),
    name,
    relay: { ...p.relay, host },
    autoStart: false,
  });
}

const FORMAT = 'porthole-profiles';

/** The export file: a JSON document with the profiles, secrets left out unless asked. */
export function exportProfiles(profiles: readonly Profile[], includeSecrets: boolean, now = new Date()): ExportedFile {
  const doc = {
    format: FORMAT,
    version: 1,
    exportedAt: now.toISOString(),
    secretsIncluded: includeSecrets,
    profiles: profiles.map((p) => (includeSecrets ? p : withoutSecrets(p))),
  };
  return {
    fileName: `porthole-profiles-${now.toISOString().slice(0, 10)}.json`,
    mimeType: 'application/json',
    text: `${JSON.stringify(doc, null, 2)}\n`,
  };
}

/**
 * Reads an export file (or a bare array of profiles, or one profile). Ids already taken get new
 * ones; missing secrets get new ones (see `ImportResult.secretsGenerated`); invalid entries are
 * skipped with the reason.
 */
/** Profiles one import may bring. */
export const MAX_IMPORT = 200;

export function parseImport(
  text: string,
  takenIds: ReadonlySet<string>,
): { profiles: Profile[] } & Omit<ImportResult, 'imported'> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ProfileProblem(`not a JSON file: ${(err as Error).message}`);
  }
  let entries: unknown[];
  if (Array.isArray(doc)) entries = doc;
  else if (doc && typeof doc === 'object' && Array.isArray((doc as { profiles?: unknown }).profiles)) {
    const format = (doc as { format?: unknown }).format;
    if (format !== undefined && format !== FORMAT)
      throw new ProfileProblem(`not a Porthole profiles file (format ${String(format)})`);
    entries = (doc as { profiles: unknown[] }).profiles;
  } else if (doc && typeof doc === 'object' && 'relay' in doc) entries = [doc];
  else throw new ProfileProblem('no profiles in this file');
  // Each profile is a tunnel and a write of the store: a file of thousands would stall the app.
  if (entries.length > MAX_IMPORT) {
    throw new ProfileProblem(
      `this file holds ${entries.length} profiles; Porthole imports at most ${MAX_IMPORT} at a time`,
    );
  }

  const taken = new Set(takenIds);
  const profiles: Profile[] = [];
  const skipped: ImportResult['skipped'] = [];
  let secretsGenerated = 0;
  entries.forEach((entry, index) => {
    const name =
      entry && typeof entry === 'object' && typeof (entry as { name?: unknown }).name === 'string'
        ? (entry as { name: string }).name
        : null;
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
      skipped.push({ index, name, reason: 'not a profile object' });
      return;
    }
    const candidate: Record<string, unknown> = structuredClone(entry as Record<string, unknown>);
    const id = typeof candidate['id'] === 'string' ? candidate['id'] : '';
    if (!id || taken.has(id)) candidate['id'] = newProfileId();
    // An export without secrets: new ones, so that the profile is valid and stays locked.
    let generated = false;
    for (const slot of secretSlots(candidate)) {
      const value = slot.container[slot.key];
      if (typeof value === 'string' && value) continue;
      slot.container[slot.key] = slot.path === 'relay.token' ? randomToken() : randomUUID();
      generated = true;
    }
    const r = parseProfile(candidate);
    if (!r.ok) {
      skipped.push({ index, name, reason: r.error });
      return;
    }
    if (generated) secretsGenerated += 1;
    taken.add(r.profile.id);
    // An imported file never starts anything by itself: a profile that shares a folder with a relay
    // of someone else's choosing must be started by the user, who sees it first.
    profiles.push({ ...r.profile, autoStart: false });
  });
  return { profiles, skipped, secretsGenerated };
}
