import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { request } from 'undici';
import { ConfProfileStore } from '../engine/ProfileStore.ts';
import { TunnelManager } from '../engine/TunnelManager.ts';
import { domainForRelay, generateHost, PUBLIC_FPW_RELAY, randomToken, type ProfileInput } from '../engine/profile.ts';
import type { RequestSummary } from '../engine/request-log.ts';
import { pollUrl } from '../engine/transports/fpw.ts';
import type { TunnelSnapshot } from '../engine/Tunnel.ts';
import { RelayServer } from '../relay/RelayServer.ts';
import { USAGE, UsageError, parseCommand, type Command, type TunnelArgs, type UpstreamArg } from './args.ts';
import { startDemoSite } from './demo-site.ts';

const EXIT = { ok: 0, failure: 1, usage: 2, refused: 3 } as const;

class CliFailure extends Error {
  override name = 'CliFailure';
  readonly code: number;
  constructor(message: string, code: number = EXIT.failure) {
    super(message);
    this.code = code;
  }
}

/** Where output goes: words for people, NDJSON for programs. */
class Output {
  readonly json: boolean;
  #pending: string[] = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(json: boolean) {
    this.json = json;
    process.once('exit', () => this.flush());
  }

  /** A line a person reads on stdout (or an event object with --json). */
  info(text: string, event?: Record<string, unknown>): void {
    if (this.json) {
      if (event) this.#write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
    } else {
      this.#write(`${text}\n`);
    }
  }

  /**
   * Lines are gathered for up to 50 ms and written together: under load one write a line is a
   * system call a request, which the benchmark showed as a good part of the CLI's CPU.
   */
  #write(line: string): void {
    this.#pending.push(line);
    this.#timer ??= setTimeout(() => this.flush(), 50);
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (!this.#pending.length) return;
    const text = this.#pending.join('');
    this.#pending = [];
    process.stdout.write(text);
  }

  /** A warning or error: stderr in both modes. */
  warn(text: string): void {
    this.flush();
    process.stderr.write(`${text}\n`);
  }

  request(s: RequestSummary): void {
    if (this.json) {
      this.info('', { event: 'request', ...s });
      return;
    }
    const time = new Date(s.startedAt).toTimeString().slice(0, 8);
    const ms = s.durationMs === null ? '-' : `${Math.round(s.durationMs)} ms`;
    const err = s.error ? `  (${s.error})` : '';
    this.info(`${time}  ${s.visitorIp || '-'}  ${s.method} ${s.url}  ${s.status ?? '-'}  ${ms}${err}`);
  }
}

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
  onOnline: (s: TunnelSnapshot) => void,
  cleanup: () => Promise<void> = async () => undefined,
): Promise<number> {
  const manager = new TunnelManager();
  let tunnel;
  try {
    tunnel = manager.add(profile);
  } catch (err) {
    throw new CliFailure((err as Error).message, EXIT.usage);
  }
  manager.on('requests', (batch) => batch.forEach((s) => out.request(s)));
  let announced = false;
  return new Promise<number>((resolve) => {
    let finishing = false;
    const finish = async (code: number): Promise<void> => {
      if (finishing) return;
      finishing = true;
      await manager.close(5000);
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

async function runHttp(cmd: Extract<Command, { upstream: UpstreamArg }>): Promise<number> {
  const out = new Output(cmd.tunnel.json);
  const relayUrl = cmd.tunnel.relay ?? PUBLIC_FPW_RELAY.url;
  checkRelayUrl(relayUrl);
  const { host, token } = await identityFor(relayUrl, upstreamKey(cmd.upstream), cmd.tunnel);
  return runTunnel(out, profileFor('cli', cmd.upstream, relayUrl, host, token, cmd.tunnel), (s) => {
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

async function runDemo(cmd: Extract<Command, { name: 'demo' }>): Promise<number> {
  const out = new Output(cmd.tunnel.json);
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

async function listenOrExplain(relay: RelayServer, port: number, bind: string): Promise<void> {
  try {
    await relay.listen();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new CliFailure(`port ${port} on ${bind} is in use: pick another with --port (0 picks a free one)`);
    if (code === 'EACCES')
      throw new CliFailure(`not allowed to listen on port ${port}: pick one above 1023 with --port`);
    if (code === 'EADDRNOTAVAIL') throw new CliFailure(`${bind} is not an address of this machine (--bind)`);
    throw err;
  }
}

function readTokens(file: string): Set<string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliFailure(`cannot read --tokens file ${file}: ${(err as Error).message}`);
  }
  const tokens = new Set(
    text
      .split(/\r?\n/)
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean),
  );
  if (!tokens.size) throw new CliFailure(`--tokens file ${file} holds no tokens`);
  return tokens;
}

async function runRelay(cmd: Extract<Command, { name: 'relay' }>): Promise<number> {
  const out = new Output(cmd.json);
  const tokens = cmd.tokensFile ? readTokens(cmd.tokensFile) : null;
  let tls: { cert: Buffer; key: Buffer } | null = null;
  if (cmd.cert && cmd.key) {
    try {
      tls = { cert: readFileSync(cmd.cert), key: readFileSync(cmd.key) };
    } catch (err) {
      throw new CliFailure(`cannot read certificate or key: ${(err as Error).message}`);
    }
  }
  let relay: RelayServer;
  try {
    relay = new RelayServer({
      port: cmd.port,
      bind: cmd.bind,
      domain: cmd.domain ?? null,
      tokens,
      trustProxy: cmd.trustProxy,
      defaultHost: cmd.defaultHost ?? null,
      tls,
      log: (line) => out.info(line, { event: 'log', line }),
    });
  } catch (err) {
    throw new CliFailure((err as Error).message, EXIT.usage);
  }
  await listenOrExplain(relay, cmd.port, cmd.bind);
  if (!tokens) out.warn('Open relay: any token may claim any free host (use --tokens FILE to restrict).');
  const shown = cmd.bind.includes(':') ? `[${cmd.bind}]` : cmd.bind;
  out.info(`Listening on ${tls ? 'https' : 'http'}://${shown}:${relay.port}`, {
    event: 'listening',
    port: relay.port,
    bind: cmd.bind,
  });
  return new Promise<number>((resolve) => {
    const stop = (): void => {
      out.warn('Stopping: answering visitors in flight...');
      void relay.close(5000).then(() => resolve(EXIT.ok));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the command line; resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let cmd: Command;
  try {
    cmd = parseCommand(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`porthole: ${err.message}\n\n${USAGE}`);
      return EXIT.usage;
    }
    throw err;
  }
  try {
    switch (cmd.name) {
      case 'help':
        process.stdout.write(USAGE);
        return EXIT.ok;
      case 'version':
        process.stdout.write(`porthole ${version()}\n`);
        return EXIT.ok;
      case 'http':
      case 'fastcgi':
      case 'folder':
        return await runHttp(cmd);
      case 'demo':
        return await runDemo(cmd);
      case 'relay':
        return await runRelay(cmd);
    }
  } catch (err) {
    if (err instanceof CliFailure) {
      process.stderr.write(`porthole: ${err.message}\n`);
      if (err.code === EXIT.usage) process.stderr.write(`\n${USAGE}`);
      return err.code;
    }
    process.stderr.write(`porthole: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failure;
  }
}
