// Small builders shared by the Electron shell's tests.
import { parseProfile, type Profile, type ProfileInput } from '../../src-main/engine/profile.ts';
import type { ProfileStore } from '../../src-main/engine/ProfileStore.ts';
import type { AppInfo, TunnelPhaseState, TunnelView } from '../../src-main/ipc/contract.ts';

/** Profiles in memory, validated like the real stores. */
export class MemoryProfileStore implements ProfileStore {
  readonly #profiles = new Map<string, Profile>();

  constructor(initial: ProfileInput[] = []) {
    for (const p of initial) this.#profiles.set(p.id, profile(p));
  }
  async list(): Promise<Profile[]> {
    return [...this.#profiles.values()].map((p) => structuredClone(p));
  }
  async get(id: string): Promise<Profile | undefined> {
    const p = this.#profiles.get(id);
    return p && structuredClone(p);
  }
  async save(input: unknown): Promise<Profile> {
    const r = parseProfile(input);
    if (!r.ok) throw new Error(r.error);
    this.#profiles.set(r.profile.id, r.profile);
    return structuredClone(r.profile);
  }
  async delete(id: string): Promise<boolean> {
    return this.#profiles.delete(id);
  }
}

/** A valid profile with defaults, overridable. */
export function profile(over: Partial<ProfileInput> & { id: string }): Profile {
  const r = parseProfile({
    name: over.id,
    relay: { kind: 'fpw', url: 'http://127.0.0.1:9/', host: `${over.id}.localhost`, token: `token-${over.id}` },
    upstream: { kind: 'http', target: 'http://127.0.0.1:3000' },
    ...over,
  });
  if (!r.ok) throw new Error(r.error);
  return r.profile;
}

export const PHASES: TunnelPhaseState[] = [
  { phase: 'stopped' },
  { phase: 'starting' },
  { phase: 'online', publicUrl: 'http://placeholder/', since: 0 },
  { phase: 'reconnecting', attempt: 3, nextRetryAt: 0, lastError: 'connect ECONNREFUSED 127.0.0.1:9' },
  { phase: 'failed', reason: 'the relay refused the claim: host taken' },
];

/** A tunnel view in a phase; an online one gets its own public URL. */
export function view(id: string, state: TunnelPhaseState, name = id): TunnelView {
  const publicUrl = `http://${id}-words.localhost:4040/`;
  return {
    id,
    name,
    state: state.phase === 'online' ? { ...state, publicUrl } : state,
    publicUrl,
    target: 'http://127.0.0.1:3000',
    counters: { requests: 0, inFlight: 0, bytesIn: 0, bytesOut: 0, p50Ms: null, p95Ms: null },
    autoStart: false,
  };
}

/** Lets queued promise callbacks (an action started by a click) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** What `app:info` says in the service tests: a headless service with no keyring. */
export function testInfo(): Omit<AppInfo, 'firstRun' | 'unreadableProfiles'> {
  return {
    name: 'Porthole',
    version: '0.1.0-test',
    platform: process.platform,
    shell: 'headless',
    versions: { electron: null, chrome: null, node: process.versions.node },
    secrets: { encrypted: false, backend: 'none' },
  };
}
