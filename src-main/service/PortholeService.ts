// The contract's commands over the engine: TunnelManager for tunnels and requests, a ProfileStore for
// profiles, a SettingsStore for settings. Plain TypeScript with no electron import, so that the
// headless inspector can bind the same service to its WebSocket; the Electron shell binds it to IPC
// and drives the tray and notifications from its events.
import { EventEmitter } from 'node:events';
import type { Profile } from '../engine/profile.ts';
import type { ProfileStore } from '../engine/ProfileStore.ts';
import { toHar } from '../engine/har.ts';
import type { RequestRecord } from '../engine/request-log.ts';
import { ReplayError, type ReplayEdit, type Tunnel } from '../engine/Tunnel.ts';
import type { TunnelManager } from '../engine/TunnelManager.ts';
import {
  EVENT_NAMES,
  SettingsSchema,
  fail,
  ok,
  type AggregateStatus,
  type AppInfo,
  type CommandHandlers,
  type ErrorCode,
  type EventName,
  type EventPayloads,
  type ProfileData,
  type PushMessage,
  type Result,
  type Settings,
  type TunnelView,
} from '../ipc/contract.ts';
import { DemoEnvironment, demoHost, demoProfile, demoRelayUrl } from './DemoEnvironment.ts';
import {
  DEMO_PROFILE_ID,
  PRESETS,
  ProfileProblem,
  completeDraft,
  duplicateOf,
  exportProfiles,
  parseImport,
  publicRelayProfile,
  secretAt,
  validProfile,
  withSecretsMarked,
} from './profile-io.ts';
import type { SettingsStore } from './SettingsStore.ts';
import { detailView, summaryView, tunnelView } from './views.ts';

/** A failure with its contract error code. */
export class CommandFailure extends Error {
  override name = 'CommandFailure';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

function codeOf(err: unknown): ErrorCode {
  if (err instanceof CommandFailure) return err.code;
  if (err instanceof ProfileProblem) return 'invalid-profile';
  if (err instanceof ReplayError) return err.code === 'gone' ? 'not-found' : 'unavailable';
  return 'internal';
}

async function attempt<T>(fn: () => Promise<T> | T): Promise<Result<T>> {
  try {
    return ok(await fn());
  } catch (err) {
    return fail(codeOf(err), (err as Error).message ?? String(err));
  }
}

/** Names of the demo profile, in the language of the first run. */
const DEMO_NAMES: Record<Settings['language'], string> = { en: 'Offline demo', 'zh-CN': '离线演示' };

export interface PortholeServiceOptions {
  manager: TunnelManager;
  profiles: ProfileStore;
  settings: SettingsStore;
  /** What `app:info` says (all but `firstRun`, which the service knows). */
  info: () => Omit<AppInfo, 'firstRun' | 'unreadableProfiles'>;
  /** The embedded relay and demo site; null where there is none (e.g. a headless server). */
  demo?: DemoEnvironment | null;
  /** Grace for requests in flight when a tunnel stops. @default 5000 */
  graceMs?: number;
}

type ServiceEvents = { [E in EventName]: [EventPayloads[E]] };

/** Every command of the contract, implemented over the engine; emits the contract's events. */
export class PortholeService extends EventEmitter<ServiceEvents> {
  /** The command handlers, keyed by channel, for a binding (IPC or WebSocket) to call. */
  readonly commands: CommandHandlers;
  readonly #manager: TunnelManager;
  readonly #profiles: ProfileStore;
  readonly #settings: SettingsStore;
  readonly #info: () => Omit<AppInfo, 'firstRun' | 'unreadableProfiles'>;
  readonly #demo: DemoEnvironment | null;
  readonly #graceMs: number;
  #firstRun = false;
  #closing: Promise<void> | null = null;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: PortholeServiceOptions) {
    super();
    this.#manager = opts.manager;
    this.#profiles = opts.profiles;
    this.#settings = opts.settings;
    this.#info = opts.info;
    this.#demo = opts.demo ?? null;
    this.#graceMs = opts.graceMs ?? 5000;

    this.#manager.on('status', (s) => {
      const t = this.#manager.get(s.id);
      if (t) this.emit('tunnels:status-changed', tunnelView(s, t.profile));
    });
    this.#manager.on('requests', (batch) => {
      this.emit('requests:batch', batch.map(summaryView));
    });

    this.commands = {
      'app:info': () =>
        attempt(() => ({
          ...this.#info(),
          firstRun: this.#firstRun,
          unreadableProfiles: [...(this.#profiles.unreadable ?? [])],
        })),
      'tunnels:list': () => attempt(() => this.tunnels()),
      'tunnels:start': ({ id }) => attempt(() => this.startTunnel(id)),
      'tunnels:stop': ({ id }) => attempt(() => this.stopTunnel(id)),
      'tunnels:start-all': () => attempt(() => this.startAll()),
      'tunnels:stop-all': () => attempt(() => this.stopAll()),
      // Profiles leave the main process with their secrets marked, never in clear (profiles:secret
      // gives one when the person asks to see it).
      'profiles:list': () => attempt(async () => (await this.#profiles.list()).map(withSecretsMarked)),
      'profiles:presets': () => attempt(() => PRESETS.map((p) => ({ ...p }))),
      'profiles:create': ({ profile }) =>
        attempt(async () => {
          this.#accepting();
          return withSecretsMarked(await this.#put(completeDraft(profile)));
        }),
      'profiles:create-from-preset': ({ preset, target, name }) =>
        attempt(async () => {
          this.#accepting();
          if (preset === 'local-demo') return withSecretsMarked(await this.ensureDemoProfile(name));
          if (!target) throw new CommandFailure('invalid-payload', 'target: the local service to tunnel is required');
          return withSecretsMarked(await this.#put(validProfile(publicRelayProfile(target, name))));
        }),
      'profiles:update': ({ id, profile }) =>
        attempt(async () => {
          this.#accepting();
          const existing = await this.#requireProfile(id);
          return withSecretsMarked(await this.#replace(completeDraft(profile, existing)));
        }),
      'profiles:secret': ({ id, path }) =>
        attempt(async () => {
          const value = secretAt(await this.#requireProfile(id), path);
          if (value === undefined) throw new CommandFailure('not-found', `profile ${id} has no secret at ${path}`);
          return value;
        }),
      'profiles:delete': ({ id }) =>
        attempt(async () => {
          this.#accepting();
          // Requests in flight get the grace period, as with a stop, before the tunnel goes.
          if (this.#manager.get(id)) await this.#manager.stop(id, this.#graceMs);
          await this.#manager.remove(id);
          const deleted = await this.#profiles.delete(id);
          await this.#changed();
          return { deleted };
        }),
      'profiles:duplicate': ({ id }) =>
        attempt(async () => {
          this.#accepting();
          const source = await this.#requireProfile(id);
          const names = new Set((await this.#profiles.list()).map((p) => p.name));
          return withSecretsMarked(await this.#put(duplicateOf(source, names)));
        }),
      'profiles:import': ({ text }) =>
        attempt(() =>
          // One import at a time: two at once would each find the same ids free.
          this.#oneAtATime(async () => {
            this.#accepting();
            const taken = new Set(
              (await this.#profiles.takenIds?.()) ?? (await this.#profiles.list()).map((p) => p.id),
            );
            const { profiles, skipped, secretsGenerated } = parseImport(text, taken);
            const imported: ProfileData[] = [];
            for (const p of profiles) {
              const saved = await this.#profiles.save(p);
              this.#manager.add(saved);
              imported.push(withSecretsMarked(saved));
            }
            if (imported.length) await this.#changed();
            return { imported, skipped, secretsGenerated };
          }),
        ),
      'profiles:export': ({ ids, includeSecrets }) =>
        attempt(async () => {
          const all = await this.#profiles.list();
          const chosen = ids ? all.filter((p) => ids.includes(p.id)) : all;
          return exportProfiles(chosen, includeSecrets ?? false);
        }),
      'requests:list': ({ tunnelId }) =>
        attempt(() => {
          this.#tunnel(tunnelId);
          return this.#manager.requests(tunnelId).map(summaryView);
        }),
      'requests:get': ({ tunnelId, id }) => attempt(() => detailView(this.#record(tunnelId, id))),
      'requests:clear': ({ tunnelId }) =>
        attempt(() => {
          this.#tunnel(tunnelId);
          this.#manager.clearRequests(tunnelId);
          return null;
        }),
      'requests:replay': ({ tunnelId, id, edit }) =>
        attempt(async () => {
          this.#accepting();
          const tunnel = this.#tunnel(tunnelId);
          this.#record(tunnelId, id);
          const changes: ReplayEdit = {};
          if (edit?.method) changes.method = edit.method;
          if (edit?.path) changes.path = edit.path;
          if (edit?.headers) changes.headers = edit.headers;
          if (edit?.bodyBase64 !== undefined) changes.body = Buffer.from(edit.bodyBase64, 'base64');
          return summaryView(await tunnel.replay(id, changes));
        }),
      'requests:export-har': ({ tunnelId, ids }) =>
        attempt(() => {
          const tunnel = this.#tunnel(tunnelId);
          const records = ids ? ids.flatMap((id) => tunnel.log.get(id) ?? []) : tunnel.log.list();
          const har = toHar(records, tunnel.publicUrl, this.#info().version);
          const safeName = tunnel.profile.name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'tunnel';
          return {
            fileName: `${safeName}-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.har`,
            mimeType: 'application/json',
            text: `${JSON.stringify(har, null, 2)}\n`,
          };
        }),
      'settings:get': () => attempt(() => this.settings()),
      'settings:set': (patch) => attempt(() => this.setSettings(patch)),
    };
  }

  /**
   * Creates the tunnels of every stored profile and starts those flagged auto-start (unless told not
   * to: a command-line run starts only its own tunnel).
   */
  async load(opts: { autoStart?: boolean } = {}): Promise<void> {
    const profiles = await this.#profiles.list();
    for (const p of profiles) this.#manager.add(p);
    this.emit('tunnels:changed', this.tunnels());
    if (opts.autoStart === false) return;
    for (const p of profiles) {
      if (!p.autoStart) continue;
      // One tunnel that cannot start (its demo relay's port taken...) does not keep the others down.
      await this.startTunnel(p.id).catch(() => undefined);
    }
  }

  /** Subscribes to every event at once (what a binding forwards to the UI); returns the unsubscribe. */
  subscribe(listener: (message: PushMessage) => void): () => void {
    const offs = EVENT_NAMES.map((event) => {
      const forward = (payload: unknown): void => listener({ event, payload } as PushMessage);
      // One listener for every event name: the typed overloads cannot express that, hence the casts.
      this.on(event, forward as never);
      return () => this.off(event, forward as never);
    });
    return () => offs.forEach((off) => off());
  }

  /** Every tunnel, in the order the profiles were loaded or created. */
  tunnels(): TunnelView[] {
    return this.#manager.list().flatMap((s) => {
      const t = this.#manager.get(s.id);
      return t ? [tunnelView(s, t.profile)] : [];
    });
  }

  /** The state of all tunnels in one word, for the tray icon. */
  aggregate(): AggregateStatus {
    return this.#manager.aggregate();
  }

  settings(): Settings {
    return this.#settings.get();
  }

  /** Changes some settings; emits `settings:changed`. */
  setSettings(patch: Partial<Settings>): Settings {
    const next = SettingsSchema.parse({ ...this.#settings.get(), ...patch });
    this.#settings.set(next);
    this.emit('settings:changed', { ...next });
    return next;
  }

  /** Starts a tunnel (its demo relay first, for the demo profile); a running tunnel is left as it is. */
  async startTunnel(id: string): Promise<TunnelView> {
    this.#accepting();
    const tunnel = this.#tunnel(id);
    const phase = tunnel.state.phase;
    if (phase === 'stopped' || phase === 'failed') {
      if (id === DEMO_PROFILE_ID && this.#demo) {
        try {
          await this.#syncDemo(tunnel);
        } catch (err) {
          // Not silent, even when no one asked (an auto-start at launch): the tunnel shows why.
          this.#tunnel(id).failToStart(`the offline demo could not start: ${(err as Error).message}`);
          throw err;
        }
      }
      // A command that waited must not start work once quitting began.
      this.#accepting();
      this.#manager.start(id);
    }
    return this.#view(id);
  }

  /** Stops a tunnel; requests in flight get the grace period. */
  async stopTunnel(id: string): Promise<TunnelView> {
    this.#tunnel(id);
    await this.#manager.stop(id, this.#graceMs);
    return this.#view(id);
  }

  /**
   * Starts every stopped or failed tunnel. One that cannot start does not keep the others down; the
   * answer then says which did not, and why.
   */
  async startAll(): Promise<TunnelView[]> {
    this.#accepting();
    const failures: string[] = [];
    const candidates = this.#manager.list().filter((s) => s.state.phase === 'stopped' || s.state.phase === 'failed');
    for (const s of candidates) {
      if (this.#closing) break;
      try {
        await this.startTunnel(s.id);
      } catch (err) {
        failures.push(`${s.name}: ${(err as Error).message}`);
      }
    }
    if (failures.length) {
      throw new CommandFailure(
        'conflict',
        `${failures.length} of ${candidates.length} tunnels did not start: ${failures.join('; ')}`,
      );
    }
    return this.tunnels();
  }

  async stopAll(): Promise<TunnelView[]> {
    await this.#manager.stopAll(this.#graceMs);
    return this.tunnels();
  }

  /** True when this run created the demo profile (a first run). */
  get firstRun(): boolean {
    return this.#firstRun;
  }

  /**
   * Creates the offline demo profile if there is none (the first run does), starting the embedded
   * relay and demo site to learn their addresses.
   */
  async ensureDemoProfile(name?: string): Promise<Profile> {
    const existing = await this.#profiles.get(DEMO_PROFILE_ID);
    if (existing) return existing;
    if (!this.#demo) throw new CommandFailure('not-implemented', 'this Porthole has no embedded demo relay');
    const host = demoHost();
    const addresses = await this.#demo.ensure(host);
    const profile = validProfile(demoProfile(addresses, host, name ?? DEMO_NAMES[this.settings().language]));
    return this.#put(profile);
  }

  /** Marks this run as the first one: `app:info` says so, for the UI to offer the public relay preset. */
  markFirstRun(): void {
    this.#firstRun = true;
  }

  /** True once {@link close} was called: no new work is accepted. */
  get closing(): boolean {
    return this.#closing !== null;
  }

  /**
   * Stops accepting work, stops every tunnel (requests in flight get `graceMs` to finish) and closes
   * the demo relay. Safe to call more than once.
   */
  close(graceMs = this.#graceMs): Promise<void> {
    this.#closing ??= (async () => {
      await this.#manager.close(graceMs);
      await this.#demo?.close(1000);
    })();
    return this.#closing;
  }

  /** Runs profile-changing work one piece at a time. */
  #oneAtATime<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #accepting(): void {
    if (this.#closing) throw new CommandFailure('shutting-down', 'Porthole is quitting');
  }

  #tunnel(id: string): Tunnel {
    const t = this.#manager.get(id);
    if (!t) throw new CommandFailure('not-found', `no tunnel with id ${id}`);
    return t;
  }

  #view(id: string): TunnelView {
    const t = this.#tunnel(id);
    return tunnelView(t.snapshot(), t.profile);
  }

  #record(tunnelId: string, id: string): RequestRecord {
    this.#tunnel(tunnelId);
    const r = this.#manager.request(tunnelId, id);
    if (!r)
      throw new CommandFailure(
        'not-found',
        `no request ${id} in the log of tunnel ${tunnelId} (it may have been dropped)`,
      );
    return r;
  }

  async #requireProfile(id: string): Promise<Profile> {
    const p = await this.#profiles.get(id);
    if (!p) throw new CommandFailure('not-found', `no profile with id ${id}`);
    return p;
  }

  /** Saves a new profile and adds its tunnel. */
  async #put(profile: Profile): Promise<Profile> {
    if (await this.#profiles.get(profile.id))
      throw new CommandFailure('conflict', `a profile with id ${profile.id} exists`);
    const saved = await this.#profiles.save(profile);
    this.#manager.add(saved);
    await this.#changed();
    return saved;
  }

  /** Saves a changed profile; a running tunnel is stopped, replaced and started again. */
  async #replace(profile: Profile): Promise<Profile> {
    const old = this.#manager.get(profile.id);
    const wasRunning = old !== undefined && old.state.phase !== 'stopped' && old.state.phase !== 'failed';
    if (wasRunning) await this.#manager.stop(profile.id, this.#graceMs);
    const saved = await this.#profiles.save(profile);
    this.#manager.add(saved);
    await this.#changed();
    if (wasRunning) await this.startTunnel(saved.id);
    return saved;
  }

  /** Points the demo profile at the embedded relay and demo site where they listen now. */
  async #syncDemo(tunnel: Tunnel): Promise<void> {
    const p = tunnel.profile;
    const addresses = await this.#demo!.ensure(p.relay.host);
    const target = p.upstream.kind === 'http' ? p.upstream.target : null;
    // Each demo profile keeps its transport (one made before the demo moved to WebSocket stays FPW).
    const relayUrl = demoRelayUrl(addresses, p.relay.kind);
    if (p.relay.url === relayUrl && target === addresses.siteUrl) return;
    const updated = validProfile({
      ...p,
      relay: { ...p.relay, url: relayUrl },
      upstream: { kind: 'http', target: addresses.siteUrl },
    });
    await this.#profiles.save(updated);
    this.#manager.add(updated);
    await this.#changed();
  }

  async #changed(): Promise<void> {
    this.emit('profiles:changed', (await this.#profiles.list()).map(withSecretsMarked));
    this.emit('tunnels:changed', this.tunnels());
  }
}
