// The renderer tier's stand-in for the engine (docs/architecture.md, test tiers: "components and stores against
// a fake bridge"): an in-memory Bridge with tunnels, profiles, settings and request records, that
// answers commands as the main process does, pushes events when told to, and logs every call.
import type {
  AppInfo,
  Bridge,
  CommandPayload,
  EventName,
  EventPayloads,
  ExportedFile,
  ProfileData,
  ProfilePreset,
  RequestDetail,
  RequestSummaryView,
  Result,
  Settings,
  TunnelPhaseState,
  TunnelView,
  WebSocketView,
} from '../../src-main/ipc/contract.ts';

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const notFound = (message: string): Result<never> => ({ ok: false, error: { code: 'not-found', message } });

export const PRESETS: ProfilePreset[] = [
  { id: 'public-fpw', relayUrl: 'https://{host}/', domain: '28820.com', needsTarget: true, offline: false },
  { id: 'local-demo', relayUrl: null, domain: 'localhost', needsTarget: false, offline: true },
];

export function makeProfile(id: string, name: string, overrides: Partial<ProfileData> = {}): ProfileData {
  return {
    id,
    name,
    relay: { kind: 'fpw', url: 'http://127.0.0.1:40123/', host: `${id}.localhost`, token: `token-of-${id}` },
    upstream: { kind: 'http', target: 'http://127.0.0.1:3000', insecure: false },
    workers: 8,
    hostHeader: 'upstream',
    upstreamTimeoutMs: 60_000,
    autoStart: false,
    access: { basicAuth: [], allow: [], deny: [] },
    headers: { request: { add: [], remove: [] }, response: { add: [], remove: [] } },
    ...overrides,
  };
}

export function makeTunnel(id: string, name: string, state: TunnelPhaseState = { phase: 'stopped' }): TunnelView {
  return {
    id,
    name,
    state,
    publicUrl: `http://${id}.localhost:40123/`,
    target: 'http://127.0.0.1:3000',
    counters: { requests: 0, inFlight: 0, bytesIn: 0, bytesOut: 0, p50Ms: null, p95Ms: null },
    autoStart: false,
  };
}

const b64 = (data: string | Uint8Array): string =>
  Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64');

let seq = 1;

/** A request record as `requests:get` answers it. */
export function makeDetail(
  tunnelId: string,
  o: {
    id?: string;
    method?: string;
    url?: string;
    status?: number | null;
    requestHeaders?: Array<[string, string]>;
    responseHeaders?: Array<[string, string]>;
    requestBody?: string | Uint8Array;
    responseBody?: string | Uint8Array;
    /** The real response size, when the preview above is only its start. */
    responseSize?: number;
    requestSize?: number;
    replayable?: boolean;
    visitorIp?: string;
    durationMs?: number;
    startedAt?: number;
    error?: string | null;
    replayOf?: string | null;
    refusedBy?: RequestDetail['refusedBy'];
    upstreamMs?: number | null;
    /** The sizes as the summary gives them, whatever the bodies (a WebSocket's or a TCP connection's traffic). */
    requestBytes?: number;
    responseBytes?: number;
    websocket?: WebSocketView;
  } = {},
): RequestDetail {
  const n = seq++;
  const reqBytes = o.requestBody === undefined ? new Uint8Array() : Buffer.from(o.requestBody);
  const resBytes = o.responseBody === undefined ? new Uint8Array() : Buffer.from(o.responseBody);
  const requestSize = o.requestSize ?? reqBytes.length;
  const responseSize = o.responseSize ?? resBytes.length;
  return {
    id: o.id ?? `r${n}`,
    relayId: `relay-${n}`,
    tunnelId,
    startedAt: o.startedAt ?? Date.UTC(2026, 10, 22, 9, 30, 0) + n * 1000,
    durationMs: o.durationMs ?? 12,
    upstreamMs: o.upstreamMs === undefined ? (o.durationMs ?? 12) - 2 : o.upstreamMs,
    visitorIp: o.visitorIp ?? '203.0.113.7',
    method: o.method ?? 'GET',
    url: o.url ?? `/item/${n}`,
    status: o.status === undefined ? 200 : o.status,
    requestBytes: o.requestBytes ?? requestSize,
    responseBytes: o.responseBytes ?? responseSize,
    error: o.error ?? null,
    refusedBy: o.refusedBy ?? null,
    replayOf: o.replayOf ?? null,
    requestHeaders: o.requestHeaders ?? [['user-agent', 'test']],
    responseHeaders: o.responseHeaders ?? [['content-type', 'text/plain']],
    requestBody: { base64: b64(reqBytes), size: requestSize, truncated: requestSize > reqBytes.length },
    responseBody: { base64: b64(resBytes), size: responseSize, truncated: responseSize > resBytes.length },
    replayable: o.replayable ?? true,
    ...(o.websocket ? { websocket: o.websocket } : {}),
  };
}

/** The summary part of a detail (what batches carry). */
export function summaryOf(d: RequestDetail): RequestSummaryView {
  return {
    id: d.id,
    relayId: d.relayId,
    tunnelId: d.tunnelId,
    startedAt: d.startedAt,
    durationMs: d.durationMs,
    upstreamMs: d.upstreamMs,
    visitorIp: d.visitorIp,
    method: d.method,
    url: d.url,
    status: d.status,
    requestBytes: d.requestBytes,
    responseBytes: d.responseBytes,
    error: d.error,
    refusedBy: d.refusedBy,
    replayOf: d.replayOf,
  };
}

type Call = { command: string; payload: unknown };
type ReplayEdit = NonNullable<CommandPayload<'requests:replay'>['edit']>;

export class FakeBridge implements Bridge {
  readonly calls: Call[] = [];
  tunnelList: TunnelView[] = [];
  profileList: ProfileData[] = [];
  settingsValue: Settings = { language: 'en', launchAtLogin: false, notifications: true, theme: 'system' };
  info: AppInfo = {
    name: 'Porthole',
    version: '0.1.0',
    platform: 'linux',
    shell: 'headless',
    versions: { electron: null, chrome: null, node: '24.21.0' },
    secrets: { encrypted: false, backend: 'file' },
    firstRun: false,
    unreadableProfiles: [],
  };
  /** Request records by tunnel, oldest first. */
  records = new Map<string, RequestDetail[]>();
  /** What a replay answers; by default the original's answer again, as a new record. */
  replayWith: (original: RequestDetail, edit: ReplayEdit | undefined) => RequestDetail = (original) =>
    makeDetail(original.tunnelId, {
      method: original.method,
      url: original.url,
      replayOf: original.id,
      status: original.status,
      responseHeaders: original.responseHeaders,
      responseBody: Buffer.from(original.responseBody.base64, 'base64'),
    });
  /** What a HAR export answers. */
  harFor: (tunnelId: string, ids: string[] | undefined) => ExportedFile = () => ({
    fileName: 'tunnel.har',
    mimeType: 'application/json',
    text: '{"log":{"version":"1.2","creator":{"name":"Porthole","version":"0"},"entries":[]}}',
  });
  /** When set, start and stop leave the tunnel in this phase until the test pushes another. */
  holdPhase = false;
  copied: string[] = [];
  opened: string[] = [];
  readonly #listeners = new Map<string, Set<(payload: never) => void>>();

  #log(command: string, payload?: unknown): void {
    this.calls.push({ command, payload });
  }

  /** Calls of one command, in order. */
  callsOf(command: string): unknown[] {
    return this.calls.filter((c) => c.command === command).map((c) => c.payload);
  }

  /** Pushes an event to the UI, as the main process does. */
  emit<E extends EventName>(event: E, payload: EventPayloads[E]): void {
    for (const l of this.#listeners.get(event) ?? []) (l as (p: EventPayloads[E]) => void)(payload);
  }

  /** Adds records and pushes them as one batch. */
  push(...details: RequestDetail[]): void {
    for (const d of details) {
      const list = this.records.get(d.tunnelId) ?? [];
      list.push(d);
      this.records.set(d.tunnelId, list);
    }
    this.emit('requests:batch', details.map(summaryOf));
  }

  setPhase(id: string, state: TunnelPhaseState): TunnelView {
    const i = this.tunnelList.findIndex((t) => t.id === id);
    const next = { ...this.tunnelList[i]!, state };
    this.tunnelList[i] = next;
    this.emit('tunnels:status-changed', next);
    return next;
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayloads[E]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    const l = listener as (payload: never) => void;
    set.add(l);
    return () => {
      set.delete(l);
    };
  }

  async copyText(url: string): Promise<Result<null>> {
    this.#log('copyText', url);
    this.copied.push(url);
    return ok(null);
  }

  async openExternal(url: string): Promise<Result<null>> {
    this.#log('openExternal', url);
    this.opened.push(url);
    return ok(null);
  }

  app = {
    info: async () => {
      this.#log('app:info');
      return ok(this.info);
    },
  };

  tunnels = {
    list: async () => {
      this.#log('tunnels:list');
      return ok(this.tunnelList.map((t) => ({ ...t })));
    },
    start: async ({ id }: CommandPayload<'tunnels:start'>) => {
      this.#log('tunnels:start', { id });
      if (!this.tunnelList.some((t) => t.id === id)) return notFound(`no tunnel ${id}`);
      if (this.holdPhase) return ok(this.setPhase(id, { phase: 'starting' }));
      this.setPhase(id, { phase: 'starting' });
      const t = this.tunnelList.find((x) => x.id === id)!;
      return ok(this.setPhase(id, { phase: 'online', publicUrl: t.publicUrl, since: Date.now() }));
    },
    stop: async ({ id }: CommandPayload<'tunnels:stop'>) => {
      this.#log('tunnels:stop', { id });
      if (!this.tunnelList.some((t) => t.id === id)) return notFound(`no tunnel ${id}`);
      return ok(this.setPhase(id, { phase: 'stopped' }));
    },
    startAll: async () => ok(this.tunnelList),
    stopAll: async () => ok(this.tunnelList),
  };

  /** What `profiles:secret` answers, by "id path". */
  secrets: Record<string, string> = {};

  profiles = {
    list: async () => {
      this.#log('profiles:list');
      return ok(this.profileList);
    },
    secret: async ({ id, path }: CommandPayload<'profiles:secret'>) => {
      this.#log('profiles:secret', { id, path });
      const value = this.secrets[`${id} ${path}`];
      return value === undefined ? notFound(`no secret ${path} in ${id}`) : ok(value);
    },
    presets: async () => {
      this.#log('profiles:presets');
      return ok(PRESETS);
    },
    create: async ({ profile }: CommandPayload<'profiles:create'>) => {
      this.#log('profiles:create', { profile });
      const saved = makeProfile(profile.id ?? `p-${seq++}`, profile.name);
      this.#add(saved);
      return ok(saved);
    },
    createFromPreset: async (p: CommandPayload<'profiles:create-from-preset'>) => {
      this.#log('profiles:create-from-preset', p);
      const saved = makeProfile(p.preset === 'local-demo' ? 'local-demo' : `p-${seq++}`, p.name ?? 'Offline demo');
      this.#add(saved);
      return ok(saved);
    },
    update: async ({ id, profile }: CommandPayload<'profiles:update'>) => {
      this.#log('profiles:update', { id, profile });
      const old = this.profileList.find((p) => p.id === id);
      if (!old) return notFound(`no profile ${id}`);
      const saved: ProfileData = { ...old, name: profile.name };
      this.profileList = this.profileList.map((p) => (p.id === id ? saved : p));
      this.emit('profiles:changed', this.profileList);
      return ok(saved);
    },
    delete: async ({ id }: CommandPayload<'profiles:delete'>) => {
      this.#log('profiles:delete', { id });
      this.profileList = this.profileList.filter((p) => p.id !== id);
      this.tunnelList = this.tunnelList.filter((t) => t.id !== id);
      this.emit('profiles:changed', this.profileList);
      this.emit('tunnels:changed', this.tunnelList);
      return ok({ deleted: true });
    },
    duplicate: async ({ id }: CommandPayload<'profiles:duplicate'>) => {
      this.#log('profiles:duplicate', { id });
      const old = this.profileList.find((p) => p.id === id);
      if (!old) return notFound(`no profile ${id}`);
      const saved = { ...old, id: `${id}-copy`, name: `${old.name} (copy)` };
      this.#add(saved);
      return ok(saved);
    },
    import: async () => ok({ imported: [], skipped: [], secretsGenerated: 0 }),
    export: async () => ok({ fileName: 'profiles.json', mimeType: 'application/json', text: '{}' }),
  };

  requests = {
    list: async ({ tunnelId }: CommandPayload<'requests:list'>) => {
      this.#log('requests:list', { tunnelId });
      return ok((this.records.get(tunnelId) ?? []).map(summaryOf));
    },
    get: async ({ tunnelId, id }: CommandPayload<'requests:get'>) => {
      this.#log('requests:get', { tunnelId, id });
      const d = this.records.get(tunnelId)?.find((r) => r.id === id);
      return d ? ok(d) : notFound(`no request ${id}`);
    },
    clear: async ({ tunnelId }: CommandPayload<'requests:clear'>) => {
      this.#log('requests:clear', { tunnelId });
      this.records.set(tunnelId, []);
      return ok(null);
    },
    replay: async (p: CommandPayload<'requests:replay'>) => {
      this.#log('requests:replay', p);
      const original = this.records.get(p.tunnelId)?.find((r) => r.id === p.id);
      if (!original) return notFound(`no request ${p.id}`);
      if (!original.replayable && p.edit?.bodyBase64 === undefined) {
        return {
          ok: false,
          error: { code: 'unavailable', message: 'its body was larger than the replay cap' },
        } as const;
      }
      const answer = this.replayWith(original, p.edit);
      this.records.get(p.tunnelId)!.push(answer);
      return ok(summaryOf(answer));
    },
    exportHar: async (p: CommandPayload<'requests:export-har'>) => {
      this.#log('requests:export-har', p);
      return ok(this.harFor(p.tunnelId, p.ids));
    },
  };

  settings = {
    get: async () => {
      this.#log('settings:get');
      return ok(this.settingsValue);
    },
    set: async (patch: CommandPayload<'settings:set'>) => {
      this.#log('settings:set', patch);
      this.settingsValue = { ...this.settingsValue, ...patch };
      this.emit('settings:changed', this.settingsValue);
      return ok(this.settingsValue);
    },
  };

  #add(p: ProfileData): void {
    this.profileList = [...this.profileList, p];
    this.tunnelList = [...this.tunnelList, { ...makeTunnel(p.id, p.name), target: 'http://127.0.0.1:3000' }];
    this.emit('profiles:changed', this.profileList);
    this.emit('tunnels:changed', this.tunnelList);
  }
}

/** A bridge with one tunnel (and its profile) per entry. */
export function bridgeWith(...tunnels: TunnelView[]): FakeBridge {
  const bridge = new FakeBridge();
  bridge.tunnelList = tunnels;
  bridge.profileList = tunnels.map((t) => makeProfile(t.id, t.name));
  return bridge;
}
