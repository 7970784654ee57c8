import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { ConfProfileStore, MemoryProfileStore, type ProfileStore } from '../engine/ProfileStore.ts';
import { PortholeService } from '../service/PortholeService.ts';
import { ConfSettingsStore, MemorySettingsStore, type SettingsStore } from '../service/SettingsStore.ts';
import type { AppInfo } from '../ipc/contract.ts';
import type { InspectorServer } from './inspector/InspectorServer.ts';
import { TunnelManager } from '../engine/TunnelManager.ts';
import {
  domainForRelay,
  generateHost,
  PUBLIC_FPW_RELAY,
  randomToken,
  type Profile,
  type ProfileInput,
} from '../engine/profile.ts';
import { pollUrl } from '../engine/transports/fpw.ts';
import { upstreamProblem } from '../engine/upstreams/index.ts';
import type { TunnelSnapshot } from '../engine/Tunnel.ts';
import type { Command, InspectArg, TunnelArgs, UpstreamArg } from './args.ts';
import { HostLeases } from './leases.ts';
import { CliFailure, EXIT, Output, packageVersion } from './output.ts';

function configDirOption(): { cwd?: string } {
  const dir = process.env['PORTHOLE_CONFIG_DIR'];
  return dir ? { cwd: dir } : {};
}

export function configStore(): ConfProfileStore {
  return new ConfProfileStore(configDirOption());
}

/** The folder of Porthole's config file. */
export function configDir(): string {
  return dirname(configStore().path);
}

/** The domain a relay gives its hosts: asked from Porthole's relay, else guessed from its address. */
async function relayDomain(relayUrl: string): Promise<string> {
  const known = domainForRelay(relayUrl);
  if (known) return known;
  if (relayUrl.includes('{host}')) {
    throw new CliFailure(
      'this relay URL has {host} in it but no known domain: give the full host with --host',
      EXIT.usage,
    );
  }
  const url = new URL(relayUrl);
  try {
    // Porthole's relay answers /healthz on its HTTP port, which a ws:// URL names too.
    const origin = url.origin.replace(/^ws/, 'http');
    const res = await request(new URL('/healthz', origin), { headersTimeout: 5000, bodyTimeout: 5000 });
    if (res.statusCode === 200) {
      const info = (await res.body.json()) as { domain?: unknown };
      if (typeof info.domain === 'string' && info.domain) return info.domain;
    } else {
      await res.body.dump();
    }
  } catch {
    // Not Porthole's relay, or not up yet: fall back to its own name.
  }
  const name = url.hostname.replace(/^\[|\]$/g, '');
  return isIP(name) || name === 'localhost' ? 'localhost' : name;
}

/**
 * Picks host and token: flags, then FPW_HOST/FPW_TOKEN, then what this command used last time, then
 * new ones. A kept host that another porthole on this machine serves right now is not joined: this
 * run gets its own (two processes on one host with different rules would let visitors past the
 * stricter one; the relay refuses that too). An explicit host is the user's choice, and is kept
 * apart from the command's own, so that a later run without it gets the command's host back.
 */
async function identityFor(
  relayUrl: string,
  target: string,
  args: TunnelArgs,
  out: Output,
  domain?: string,
): Promise<{ host: string; token: string }> {
  const store = configStore();
  const newHost = async (): Promise<string> => generateHost(domain ?? (await relayDomain(relayUrl)));
  const leases = new HostLeases(dirname(store.path));
  // An empty variable counts as unset.
  const explicitHost = args.host || process.env['FPW_HOST'] || undefined;
  const explicitToken = args.token || process.env['FPW_TOKEN'] || undefined;
  let host: string;
  let token: string;
  if (explicitHost) {
    host = explicitHost;
    const key = `${relayUrl} host:${host.toLowerCase()}`;
    token = explicitToken || store.identity(key)?.token || randomToken();
    store.rememberIdentity(key, { host, token });
    const pid = leases.holder(relayUrl, host);
    if (pid !== null) {
      out.warn(
        `Note: ${host} is also served by another porthole on this machine (pid ${pid}); visitors are shared ` +
          'between the two, and the relay refuses this one if their access or header rules differ.',
      );
    }
  } else {
    const key = `${relayUrl} ${target}`;
    const kept = store.identity(key);
    const pid = kept ? leases.holder(relayUrl, kept.host) : null;
    if (kept && pid !== null) {
      host = await newHost();
      token = explicitToken || randomToken();
      out.warn(
        `${kept.host} is already served by another porthole on this machine (pid ${pid}), so this run gets ` +
          `its own host, ${host}. To share that tunnel on purpose, run with --host ${kept.host} and the ` +
          'same access and header rules.',
      );
    } else {
      host = kept?.host ?? (await newHost());
      token = explicitToken || kept?.token || randomToken();
      store.rememberIdentity(key, { host, token });
    }
  }
  leases.take(relayUrl, host);
  return { host, token };
}

function profileFor(
  id: string,
  upstream: UpstreamArg,
  relayUrl: string,
  host: string,
  token: string,
  args: TunnelArgs,
): ProfileInput {
  return {
    id,
    name: host.split('.')[0] ?? host,
    relay: { kind: args.transport, url: relayUrl, host, token },
    upstream,
    workers: args.workers,
    hostHeader: args.hostHeader,
    upstreamTimeoutMs: args.timeoutMs,
    autoStart: false,
    access: args.access,
    headers: args.headers,
  };
}

/** What identifies a command's local service, for keeping its host and token. */
function upstreamKey(u: UpstreamArg): string {
  switch (u.kind) {
    case 'http':
      return u.target;
    case 'fastcgi':
      return `fastcgi:${u.address}:${u.root}`;
    case 'folder':
      return `folder:${u.root}`;
    case 'tcp':
      return `tcp:${u.target}`;
  }
}

/**
 * How an inspector run keeps the command's tunnel: under `key`, as a profile that is used again while
 * the command line (`fingerprint`) is the same, so that what the inspector changed in it outlives a
 * restart; `fresh` fields always come from this run (the demo's relay and site addresses).
 */
interface Persist {
  key: string;
  fingerprint: string;
  fresh?: (saved: Profile) => ProfileInput;
  /** Saved with the command (the demo's relay port). */
  port?: number;
}

/** The stores of a run: with the inspector, the headless store (profiles and settings survive a restart); else memory. */
async function storesFor(
  profile: ProfileInput,
  inspect: InspectArg | null,
  persist: Persist | null,
): Promise<{ profiles: ProfileStore; settings: SettingsStore; run: Profile }> {
  if (!inspect || !persist) {
    const profiles = new MemoryProfileStore();
    return { profiles, settings: new MemorySettingsStore(), run: await saveOrExplain(profiles, profile) };
  }
  const store = configStore();
  const settings = new ConfSettingsStore(configDirOption());
  const record = store.command(persist.key);
  const saved = record && record.fingerprint === persist.fingerprint ? await store.get(record.profileId) : undefined;
  const input = saved ? (persist.fresh?.(saved) ?? saved) : { ...profile, id: record?.profileId ?? profile.id };
  const run = await saveOrExplain(store, input);
  store.rememberCommand(persist.key, {
    profileId: run.id,
    fingerprint: persist.fingerprint,
    ...(persist.port !== undefined ? { port: persist.port } : {}),
  });
  return { profiles: store, settings, run };
}

async function saveOrExplain(store: ProfileStore, profile: unknown): Promise<Profile> {
  try {
    return await store.save(profile);
  } catch (err) {
    throw new CliFailure((err as Error).message, EXIT.usage);
  }
}

/** Runs tunnels until a signal; resolves with the exit code. */
async function runTunnel(
  out: Output,
  profile: ProfileInput,
  inspect: InspectArg | null,
  onOnline: (s: TunnelSnapshot) => void,
  cleanup: () => Promise<void> = async () => undefined,
  persist: Persist | null = null,
): Promise<number> {
  // Without the inspector nothing can ever read the request log, so none is kept: no bodies held for
  // previews or replays, no records for the garbage collector to carry (npm run bench: the worker's
  // memory at the end of a run, and its young-generation pauses).
  const manager = new TunnelManager(
    inspect ? {} : { tunnel: { log: { maxEntries: 0 }, previewBytes: 0, replayCapBytes: 0 } },
  );
  // The tunnels of a run sit behind the same service the desktop app binds to IPC, so that the
  // inspector speaks the same contract. With the inspector they are the saved profiles (what it
  // creates and edits is kept), and only this run's tunnel starts.
  const { profiles, settings, run: saved } = await storesFor(profile, inspect, persist);
  const service = new PortholeService({ manager, profiles, settings, info: headlessInfo });
  await service.load({ autoStart: false });
  const tunnel = manager.get(saved.id)!;
  let inspector: InspectorServer | null = null;
  if (inspect) {
    // Loaded only when asked for (as are the relay and the demo site below): a plain tunnel, which may
    // run for weeks on a small server, does not carry the inspector's modules in memory.
    const { InspectorServer } = await import('./inspector/InspectorServer.ts');
    inspector = new InspectorServer({
      bind: inspect.bind,
      port: inspect.port,
      exactPort: inspect.exact,
      // Two levels up from this module: src-main/cli/ when run from source, out/main/ when built.
      staticDir: fileURLToPath(new URL('../../out/renderer', import.meta.url)),
      handlers: service.commands,
      subscribe: (push) => service.subscribe(push),
    });
    let url: string;
    try {
      url = await inspector.listen();
    } catch (err) {
      await manager.close(0);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE')
        throw new CliFailure(`the inspector's port ${inspect.port} is in use: pick another with --inspect=HOST:PORT`);
      throw err;
    }
    out.info(`Inspector: ${url}`, { event: 'inspector', url });
  }
  const closeInspector = async (): Promise<void> => {
    await inspector?.close();
  };
  manager.on('requests', (batch) => batch.forEach((s) => out.request(s)));
  let announced = false;
  return new Promise<number>((resolve) => {
    let finishing = false;
    const finish = async (code: number): Promise<void> => {
      if (finishing) return;
      finishing = true;
      await manager.close(5000);
      await closeInspector();
      await cleanup();
      resolve(code);
    };
    manager.on('status', (s) => {
      const st = s.state;
      if (st.phase === 'online') {
        if (!announced) onOnline(s);
        else out.info(`Back online: ${s.publicUrl}`, { event: 'online', publicUrl: s.publicUrl });
        announced = true;
      } else if (st.phase === 'reconnecting') {
        const secs = Math.max(0, Math.round((st.nextRetryAt - Date.now()) / 1000));
        out.warn(`Relay unreachable: ${st.lastError}. Retrying in ${secs} s (attempt ${st.attempt}).`);
        out.info('', { event: 'reconnecting', attempt: st.attempt, nextRetryAt: st.nextRetryAt, error: st.lastError });
      } else if (st.phase === 'failed') {
        out.warn(`Tunnel failed: ${st.reason}`);
        out.info('', { event: 'failed', reason: st.reason });
        void finish(EXIT.refused);
      }
    });
    const onSignal = (): void => {
      out.warn('Stopping: letting requests in flight finish...');
      void finish(EXIT.ok);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    tunnel.start();
  });
}

export async function runHttp(cmd: Extract<Command, { upstream: UpstreamArg }>): Promise<number> {
  const out = new Output(cmd.tunnel.json);
  const relayUrl = checkRelayUrl(cmd.tunnel.relay ?? PUBLIC_FPW_RELAY.url, cmd.tunnel.transport);
  // A missing folder stops here, before the relay is asked for anything: nothing is published.
  const problem = upstreamProblem(cmd.upstream);
  if (problem) throw new CliFailure(problem);
  const target = upstreamKey(cmd.upstream);
  const { host, token } = await identityFor(relayUrl, target, cmd.tunnel, out);
  // One saved profile per command and host (a run diverted to its own host has its own).
  const key = `${relayUrl} ${target} @${host}`;
  const profile = profileFor(commandProfileId(key), cmd.upstream, relayUrl, host, token, cmd.tunnel);
  const persist: Persist = { key, fingerprint: fingerprintOf(cmd.name, cmd.upstream, relayUrl, cmd.tunnel) };
  return runTunnel(
    out,
    profile,
    cmd.tunnel.inspect,
    (s) => {
      out.info(`Forwarding ${s.publicUrl} -> ${s.target}`, {
        event: 'online',
        publicUrl: s.publicUrl,
        target: s.target,
      });
      if (cmd.tunnel.transport === 'ggrok') {
        out.warn('ggrok serves one request at a time per connection: visitors wait their turn.');
      }
    },
    undefined,
    persist,
  );
}

/** Starts a saved profile by name (or id); what the inspector changes in it is saved. */
export async function runStart(cmd: Extract<Command, { name: 'start' }>): Promise<number> {
  const out = new Output(cmd.json);
  const store = configStore();
  const all = await store.list();
  const profile = all.find((p) => p.id === cmd.profile) ?? all.find((p) => p.name === cmd.profile);
  if (!profile) {
    throw new CliFailure(
      `no saved profile is named "${cmd.profile}"${all.length ? ` (porthole list shows the ${all.length} there are)` : ' (there are none: porthole import adds some)'}`,
    );
  }
  const problem = upstreamProblem(profile.upstream);
  if (problem) throw new CliFailure(`${profile.name}: ${problem}`);
  const leases = new HostLeases(configDir());
  const pid = leases.holder(profile.relay.url, profile.relay.host);
  if (pid !== null) {
    out.warn(
      `Note: ${profile.relay.host} is also served by another porthole on this machine (pid ${pid}); visitors are shared between the two.`,
    );
  }
  leases.take(profile.relay.url, profile.relay.host);
  const persist: Persist = { key: `profile:${profile.id}`, fingerprint: 'saved profile' };
  return runTunnel(
    out,
    profile,
    cmd.inspect,
    (s) => {
      out.info(`Forwarding ${s.publicUrl} -> ${s.target}`, {
        event: 'online',
        publicUrl: s.publicUrl,
        target: s.target,
      });
    },
    undefined,
    persist,
  );
}

function checkRelayUrl(relayUrl: string, transport: 'fpw' | 'ws' | 'ggrok'): string {
  const schemes = transport === 'fpw' ? ['http:', 'https:'] : ['ws:', 'wss:'];
  let url: URL;
  try {
    url = pollUrl(relayUrl, 'example.com');
  } catch {
    throw new CliFailure(`--relay "${relayUrl}" is not a URL`, EXIT.usage);
  }
  // --transport ws with an http(s) URL: the same relay, reached by its WebSocket.
  if (transport !== 'fpw' && (url.protocol === 'http:' || url.protocol === 'https:')) {
    return relayUrl.replace(/^http/i, 'ws');
  }
  if (!schemes.includes(url.protocol)) {
    const want = transport === 'fpw' ? 'an http:// or https://' : 'a ws:// or wss://';
    throw new CliFailure(`--relay "${relayUrl}" is not ${want} URL (the ${transport} transport)`, EXIT.usage);
  }
  return relayUrl;
}

/** The id of a command's saved profile: stable for the command, safe in file names. */
function commandProfileId(key: string): string {
  return `cmd-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

/** A command line's options as text, without those that change nothing about the tunnel. */
function fingerprintOf(name: string, upstream: UpstreamArg | null, relayUrl: string | null, args: TunnelArgs): string {
  const { inspect: _inspect, json: _json, ...tunnel } = args;
  void _inspect;
  void _json;
  return JSON.stringify({ name, upstream, relayUrl, tunnel });
}

export async function runDemo(cmd: Extract<Command, { name: 'demo' }>): Promise<number> {
  const out = new Output(cmd.tunnel.json);
  const [{ DemoEnvironment, demoRelayUrl }, { explainListenError }] = await Promise.all([
    import('../service/DemoEnvironment.ts'),
    import('./relay-command.ts'),
  ]);
  // The demo keeps its host (like any command) and, unless told a port, the port it had: the same URL.
  const { host, token } = await identityFor('demo', 'demo', cmd.tunnel, out, 'localhost');
  const key = `demo @${host}`;
  const kept = cmd.tunnel.inspect ? configStore().command(key) : undefined;
  // The same relay and demo site as the desktop app's offline demo.
  const demo = new DemoEnvironment({ bind: cmd.bind, port: cmd.port, preferredRelayPort: kept?.port });
  let addresses;
  try {
    addresses = await demo.ensure(host.toLowerCase());
  } catch (err) {
    throw explainListenError(err, cmd.port, cmd.bind);
  }
  const { siteUrl } = addresses;
  const relayOrigin = addresses.relayUrl.replace(/\/$/, '');
  // The same relay, by its WebSocket or by long-polls.
  const relayUrl = demoRelayUrl(addresses, cmd.tunnel.transport);
  const upstream: UpstreamArg = { kind: 'http', target: siteUrl, insecure: false };
  const profile = profileFor(commandProfileId(key), upstream, relayUrl, host, token, cmd.tunnel);
  const persist: Persist = {
    key,
    fingerprint: fingerprintOf('demo', null, null, cmd.tunnel),
    port: addresses.relayPort,
    // What the inspector changed is kept; where the relay and the site listen is this run's.
    fresh: (saved) => ({
      ...saved,
      relay: { ...saved.relay, kind: cmd.tunnel.transport, url: relayUrl },
      upstream: { kind: 'http', target: siteUrl },
    }),
  };
  return runTunnel(
    out,
    profile,
    cmd.tunnel.inspect,
    (s) => {
      out.info(`Public URL: ${s.publicUrl}`, {
        event: 'online',
        publicUrl: s.publicUrl,
        target: s.target,
        relay: relayOrigin,
      });
      out.info(`Also at:    ${relayOrigin}/`);
      out.info(`Tunnel:     ${s.publicUrl} -> ${s.target} (demo site), relay on ${relayOrigin}`);
      out.info('Press Ctrl+C to stop.');
    },
    () => demo.close(1000),
    persist,
  );
}

/** What `app:info` says in the headless inspector. */
function headlessInfo(): Omit<AppInfo, 'firstRun' | 'unreadableProfiles'> {
  return {
    name: 'Porthole',
    version: packageVersion(),
    platform: process.platform,
    shell: 'headless',
    versions: { electron: null, chrome: null, node: process.versions.node },
    // Headless, tokens live in the config file (0600) in clear: there is no keychain to ask.
    secrets: { encrypted: false, backend: 'file' },
  };
}
