import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { ConfProfileStore, MemoryProfileStore } from '../engine/ProfileStore.ts';
import { PortholeService } from '../app/service/PortholeService.ts';
import { MemorySettingsStore } from '../app/service/SettingsStore.ts';
import type { AppInfo } from '../ipc/contract.ts';
import type { InspectorServer } from './inspector/InspectorServer.ts';
import { TunnelManager } from '../engine/TunnelManager.ts';
import { domainForRelay, generateHost, PUBLIC_FPW_RELAY, randomToken, type ProfileInput } from '../engine/profile.ts';
import { pollUrl } from '../engine/transports/fpw.ts';
import { upstreamProblem } from '../engine/upstreams/index.ts';
import type { TunnelSnapshot } from '../engine/Tunnel.ts';
import type { Command, InspectArg, TunnelArgs, UpstreamArg } from './args.ts';
import { CliFailure, EXIT, Output, packageVersion } from './output.ts';

function configStore(): ConfProfileStore {
  const dir = process.env['PORTHOLE_CONFIG_DIR'];
  return new ConfProfileStore(dir ? { cwd: dir } : {});
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
    const res = await request(new URL('/healthz', url.origin), { headersTimeout: 5000, bodyTimeout: 5000 });
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

/** Picks host and token: flags, then FPW_HOST/FPW_TOKEN, then what this command used last time, then new ones. */
async function identityFor(
  relayUrl: string,
  target: string,
  args: TunnelArgs,
): Promise<{ host: string; token: string }> {
  const store = configStore();
  const key = `${relayUrl} ${target}`;
  const kept = store.identity(key);
  // An empty variable counts as unset.
  const host = args.host || process.env['FPW_HOST'] || kept?.host || generateHost(await relayDomain(relayUrl));
  const token = args.token || process.env['FPW_TOKEN'] || kept?.token || randomToken();
  store.rememberIdentity(key, { host, token });
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
    relay: { kind: 'fpw', url: relayUrl, host, token },
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
  }
}

/** Runs tunnels until a signal; resolves with the exit code. */
async function runTunnel(
  out: Output,
  profile: ProfileInput,
  inspect: InspectArg | null,
  onOnline: (s: TunnelSnapshot) => void,
  cleanup: () => Promise<void> = async () => undefined,
): Promise<number> {
  // Without the inspector nothing can ever read the request log, so none is kept: no bodies held for
  // previews or replays, no records for the garbage collector to carry (npm run bench: the worker's
  // memory at the end of a run, and its young-generation pauses).
  const manager = new TunnelManager(
    inspect ? {} : { tunnel: { log: { maxEntries: 0 }, previewBytes: 0, replayCapBytes: 0 } },
  );
  // The tunnels of one run live in memory, behind the same service the desktop app binds to IPC, so
  // that the inspector speaks the same contract.
  const profiles = new MemoryProfileStore();
  let saved;
  try {
    saved = await profiles.save(profile);
  } catch (err) {
    throw new CliFailure((err as Error).message, EXIT.usage);
  }
  const service = new PortholeService({ manager, profiles, settings: new MemorySettingsStore(), info: headlessInfo });
  await service.load();
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
  const relayUrl = cmd.tunnel.relay ?? PUBLIC_FPW_RELAY.url;
  checkRelayUrl(relayUrl);
  // A missing folder stops here, before the relay is asked for anything: nothing is published.
  const problem = upstreamProblem(cmd.upstream);
  if (problem) throw new CliFailure(problem);
  const { host, token } = await identityFor(relayUrl, upstreamKey(cmd.upstream), cmd.tunnel);
  return runTunnel(out, profileFor('cli', cmd.upstream, relayUrl, host, token, cmd.tunnel), cmd.tunnel.inspect, (s) => {
    out.info(`Forwarding ${s.publicUrl} -> ${s.target}`, { event: 'online', publicUrl: s.publicUrl, target: s.target });
  });
}

function checkRelayUrl(relayUrl: string): void {
  try {
    const u = pollUrl(relayUrl, 'example.com');
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new CliFailure(`--relay "${relayUrl}" is not an http:// or https:// URL`, EXIT.usage);
  }
}

export async function runDemo(cmd: Extract<Command, { name: 'demo' }>): Promise<number> {
  const out = new Output(cmd.tunnel.json);
  const [{ startDemoSite }, { RelayServer }, { listenOrExplain }] = await Promise.all([
    import('./demo-site.ts'),
    import('../relay/RelayServer.ts'),
    import('./relay-command.ts'),
  ]);
  const site = await startDemoSite();
  const host = cmd.tunnel.host ?? generateHost('localhost');
  const relay = new RelayServer({ port: cmd.port, bind: cmd.bind, domain: 'localhost', defaultHost: host });
  await listenOrExplain(relay, cmd.port, cmd.bind);
  const token = cmd.tunnel.token ?? randomToken();
  const upstream: UpstreamArg = { kind: 'http', target: site.url, insecure: false };
  const profile = profileFor('demo', upstream, `${relay.url}/`, host, token, cmd.tunnel);
  return runTunnel(
    out,
    profile,
    cmd.tunnel.inspect,
    (s) => {
      out.info(`Public URL: ${s.publicUrl}`, {
        event: 'online',
        publicUrl: s.publicUrl,
        target: s.target,
        relay: relay.url,
      });
      out.info(`Also at:    ${relay.url}/`);
      out.info(`Tunnel:     ${s.publicUrl} -> ${s.target} (demo site), relay on ${relay.url}`);
      out.info('Press Ctrl+C to stop.');
    },
    async () => {
      await relay.close(1000);
      await site.close();
    },
  );
}

/** What `app:info` says in the headless inspector. */
function headlessInfo(): Omit<AppInfo, 'firstRun'> {
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
