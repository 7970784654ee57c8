import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseHeaderArg, type AccessRules, type HeaderRules } from '../engine/access.ts';
import { isCidr } from '../protocol/ip.ts';

/** A command line that cannot be run as given: exit code 2, with the usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const TUNNEL_HELP = `Tunnel options:
  --relay URL        Relay to poll; {host} stands for the host (default: the public FPW relay, https://{host}/);
                     ws:// or wss:// connects to Porthole's relay over one WebSocket
  --transport T      fpw (long-polls, any FPW relay), ws (one multiplexed WebSocket, Porthole's relay) or
                     ggrok (an unchanged ggrok server: one request at a time); default: ws for a
                     ws:// or wss:// relay URL, else fpw
  --host NAME        Full public host name, e.g. my-app.28820.com (default: $FPW_HOST, else a five-word name, kept)
  --token TOKEN      Secret that claims the host (default: $FPW_TOKEN, else a random one, kept)
  --workers N        Concurrent long-polls, i.e. requests served at once (default 8)
  --host-header M    Host the upstream sees: upstream (default) or visitor
  --timeout SEC      Time the upstream has to answer before visitors get a 504 (default 60)
  --json             Print events and requests as NDJSON
  --inspect[=ADDR]   Serve the inspector UI (default 127.0.0.1:4040, or the next free port; on for demo,
                     --no-inspect turns it off); it prints "Inspector: <url>" with its access token
  --basic-auth U:P   Ask visitors for this user and password (repeatable; split at the first colon)
  --allow CIDR       Only these visitor IPs may in (repeatable; IPv4 or IPv6)
  --deny CIDR        These visitor IPs may not (repeatable; deny wins over allow)
  --request-header "Name: value"    Add a header to requests to the upstream (repeatable)
  --remove-request-header NAME      Remove a header from requests (repeatable)
  --response-header "Name: value"   Add a header to responses to visitors (repeatable)
  --remove-response-header NAME     Remove a header from responses (repeatable)
`;

const RELAY_HELP = `Relay options:
  --port N           Port to listen on (default 8080; 0 picks a free one)
  --bind ADDR        Address to listen on (default 127.0.0.1)
  --domain D         Only hosts that are D or under D may be claimed
  --tokens FILE      Only the tokens in FILE (one per line, # comments) may claim hosts
  --trust-proxy CIDR Believe X-Forwarded-For from these proxies (repeatable)
  --default-host H   Visitors whose Host matches no tunnel go to H
  --tcp-ports A-B    Let TCP tunnels (WebSocket transport) have public ports from A to B (default: none)
  --ggrok            Accept unchanged ggrok clients at /$$ggrok (no token: only hosts no token holds)
  --cert FILE --key FILE   Serve HTTPS
  --public-port N    The port visitors use, when it is not --port (behind a load balancer)
  --public-scheme S  http or https: the scheme visitors use, when it is not the relay's own
  --redis URL        Be one relay of a cluster that shares hosts through Redis (redis://HOST:PORT/)
  --node-url URL     With --redis: how the other relays reach this one (default http://BIND:PORT)
  --cluster-secret-file FILE   With --redis: the secret the relays sign their requests to each other with
  --json             Print events and requests as NDJSON
`;

const FOLLOW_HELP = `  --follow-symlinks  Serve (fastcgi: and run) what symbolic links in the root lead to outside it, as nginx
                     and Apache do; without it such paths answer 403. The risk: anyone can read what they lead to
                     (a link to / or to your home folder publishes all of it). .. and dotfiles stay refused.
`;

const EXIT_HELP = 'Exit codes: 0 stopped by a signal, 1 failure, 2 usage error, 3 the relay refused the claim.\n';

/** Each command's own usage: `porthole <command> --help`. */
export const COMMAND_HELP = {
  http: `Usage: porthole http <port|host:port|url> [options]

Put a local HTTP(S) service on the internet through a relay: 3000 is http://127.0.0.1:3000,
localhost:8080 is http://localhost:8080, or give a whole http:// or https:// URL.

${TUNNEL_HELP}  --insecure-upstream               Accept an https:// upstream's invalid certificate

${EXIT_HELP}`,
  fastcgi: `Usage: porthole fastcgi <addr> --root DIR [options]

Put a PHP app on the internet: talk FastCGI straight to PHP-FPM at host:port, a port, or a unix
socket (/path or unix:/path); DIR is the document root.

fastcgi options:
  --root DIR         The document root (required; it must exist)
  --index FILE       The front controller (default index.php)
  --remote-root DIR  The document root as PHP-FPM sees it (e.g. in a container)
${FOLLOW_HELP}
${TUNNEL_HELP}
${EXIT_HELP}`,
  folder: `Usage: porthole folder <dir> [options]

Share a folder (listing, ranges, caching headers; dotfiles hidden). The folder must exist.

folder options:
  --dotfiles         Serve .env, .git and other dotfiles
  --no-listing       No listing page for folders without an index.html
${FOLLOW_HELP}
${TUNNEL_HELP}
${EXIT_HELP}`,
  demo: `Usage: porthole demo [options]

Run a relay, a demo site and a tunnel to it, all on this machine, with the inspector. The demo keeps
its host and port, and what you change in its inspector, from one run to the next.

demo options:
  --port N           The relay's port (default: the last run's, else a free one)
  --bind ADDR        Address to listen on (default 127.0.0.1)

${TUNNEL_HELP}
${EXIT_HELP}`,
  tcp: `Usage: porthole tcp <port|host:port> --relay ws://... [options]

Put a local TCP service (a database, SSH...) on a public TCP port of Porthole's relay, over the
WebSocket transport. It prints "Forwarding tcp://<relay-host>:<port> -> <host:port>", then one line
per connection (time, visitor address, bytes each way, duration).

tcp options:
  --remote-port N    The public port to ask for (default: any free one of the relay's --tcp-ports)

${TUNNEL_HELP}
${EXIT_HELP}`,
  relay: `Usage: porthole relay [options]

Run a relay that workers (Porthole's or any FPW worker) connect to.

${RELAY_HELP}
${EXIT_HELP}`,
  start: `Usage: porthole start <name> [--inspect[=ADDR]] [--json]

Start a saved profile (made in the inspector, or brought by porthole import) by its name or id.
What the inspector changes in it is saved.

${EXIT_HELP}`,
  list: `Usage: porthole list [--json]

List the saved profiles: name, public URL, local service, and whether a porthole on this machine
runs it now.
`,
  import: `Usage: porthole import <file>

Add the profiles of an export file (from the desktop app or porthole export) to the saved profiles.
A file without secrets gets new ones (a new token, random passwords): set them again before use.
`,
  export: `Usage: porthole export [name...] [--secrets] [--out FILE]

Write the saved profiles (all, or those named) as an export file the desktop app imports, to stdout
or FILE. Tokens and passwords are left out unless --secrets is given.
`,
} as const;

export type HelpTopic = keyof typeof COMMAND_HELP;

export const USAGE = `Usage: porthole <command> [options]

Commands:
  http <port|host:port|url>
                     Put a local HTTP(S) service on the internet through a relay
  fastcgi <addr> --root DIR
                     Put a PHP app on the internet: talk FastCGI straight to PHP-FPM at host:port,
                     a port, or a unix socket (/path or unix:/path); DIR is the document root
  folder <dir>       Share a folder (listing, ranges, caching headers; dotfiles hidden)
  tcp <port|host:port>
                     Put a local TCP service on a public TCP port of Porthole's relay
  demo               Run a relay, a demo site and a tunnel to it, all on this machine
  relay              Run a relay that workers (Porthole's or any FPW worker) connect to
  start <name>       Start a saved profile
  list               List the saved profiles
  import <file>      Import profiles from an export file (the desktop app's, or porthole export's)
  export [name...]   Write saved profiles to an export file
  help [command]     Show this help, or a command's (also: porthole <command> --help)

${TUNNEL_HELP}  --insecure-upstream               http: accept an https:// upstream's invalid certificate

fastcgi options:     --root DIR (required)  --index FILE (default index.php)
                     --remote-root DIR (the document root as PHP-FPM sees it, e.g. in a container)
                     --follow-symlinks (see below)
folder options:      --dotfiles (serve .env, .git...)  --no-listing  --follow-symlinks (see below)
${FOLLOW_HELP}
${RELAY_HELP}demo takes --port and --bind too.

${EXIT_HELP}`;

const TUNNEL_OPTIONS = {
  relay: { type: 'string' },
  transport: { type: 'string' },
  host: { type: 'string' },
  token: { type: 'string' },
  workers: { type: 'string' },
  'host-header': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  'basic-auth': { type: 'string', multiple: true },
  allow: { type: 'string', multiple: true },
  deny: { type: 'string', multiple: true },
  'request-header': { type: 'string', multiple: true },
  'remove-request-header': { type: 'string', multiple: true },
  'response-header': { type: 'string', multiple: true },
  'remove-response-header': { type: 'string', multiple: true },
  'insecure-upstream': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

const FASTCGI_OPTIONS = {
  ...TUNNEL_OPTIONS,
  root: { type: 'string' },
  index: { type: 'string' },
  'remote-root': { type: 'string' },
  'follow-symlinks': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

const FOLDER_OPTIONS = {
  ...TUNNEL_OPTIONS,
  dotfiles: { type: 'boolean' },
  'no-listing': { type: 'boolean' },
  'follow-symlinks': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

const TCP_OPTIONS = {
  ...TUNNEL_OPTIONS,
  'remote-port': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

const RELAY_OPTIONS = {
  port: { type: 'string' },
  bind: { type: 'string' },
  domain: { type: 'string' },
  tokens: { type: 'string' },
  'trust-proxy': { type: 'string', multiple: true },
  'default-host': { type: 'string' },
  'tcp-ports': { type: 'string' },
  ggrok: { type: 'boolean' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'public-port': { type: 'string' },
  'public-scheme': { type: 'string' },
  redis: { type: 'string' },
  'node-url': { type: 'string' },
  'cluster-secret-file': { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

const DEMO_OPTIONS = { ...TUNNEL_OPTIONS, port: RELAY_OPTIONS.port, bind: RELAY_OPTIONS.bind } as const;

export interface TunnelArgs {
  relay: string | undefined;
  /** How to reach the relay: FPW long-polls, one WebSocket, or ggrok's protocol; by default, from the relay URL's scheme. */
  transport: 'fpw' | 'ws' | 'ggrok';
  host: string | undefined;
  token: string | undefined;
  workers: number;
  hostHeader: 'upstream' | 'visitor';
  timeoutMs: number;
  json: boolean;
  access: AccessRules;
  headers: HeaderRules;
  insecureUpstream: boolean;
  /** Serve the inspector UI, and where; null: no inspector. */
  inspect: InspectArg | null;
}

/** The local service of a tunnel command, as the profile's `upstream` field. */
export type UpstreamArg =
  | { kind: 'http'; target: string; insecure: boolean }
  | { kind: 'fastcgi'; address: string; root: string; index: string; remoteRoot?: string; followSymlinks: boolean }
  | { kind: 'folder'; root: string; dotfiles: boolean; listing: boolean; followSymlinks: boolean }
  | { kind: 'tcp'; target: string; remotePort?: number };

export type Command =
  | { name: 'help'; topic?: HelpTopic }
  | { name: 'version' }
  | { name: 'start'; profile: string; inspect: InspectArg | null; json: boolean }
  | { name: 'list'; json: boolean }
  | { name: 'import'; file: string }
  | { name: 'export'; names: string[]; secrets: boolean; out: string | undefined }
  | { name: 'http' | 'fastcgi' | 'folder' | 'tcp'; upstream: UpstreamArg; tunnel: TunnelArgs }
  | { name: 'demo'; port: number; bind: string; tunnel: TunnelArgs }
  | {
      name: 'relay';
      port: number;
      bind: string;
      domain: string | undefined;
      tokensFile: string | undefined;
      trustProxy: string[];
      defaultHost: string | undefined;
      tcpPorts: { from: number; to: number } | null;
      ggrok: boolean;
      cert: string | undefined;
      key: string | undefined;
      publicPort: number | null;
      publicScheme: 'http' | 'https' | null;
      cluster: { redisUrl: string; nodeUrl: string | null; secretFile: string } | null;
      json: boolean;
    };

function int(value: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${value}"`);
  }
  return Number(value);
}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, positionals: number) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.positionals.length > positionals) {
    throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`);
  }
  return parsed;
}

function tunnelArgs(
  values: Record<string, string | boolean | string[] | undefined>,
  inspect: InspectArg | null,
  defaultTransport?: 'fpw' | 'ws' | 'ggrok',
): TunnelArgs {
  const hostHeader = (values['host-header'] as string | undefined) ?? 'upstream';
  if (hostHeader !== 'upstream' && hostHeader !== 'visitor') {
    throw new UsageError(`--host-header must be "upstream" or "visitor", not "${hostHeader}"`);
  }
  const list = (name: string): string[] => (values[name] as string[] | undefined) ?? [];
  const basicAuth = list('basic-auth').map((pair) => {
    const colon = pair.indexOf(':');
    if (colon < 1 || colon === pair.length - 1) throw new UsageError(`--basic-auth wants user:password, not "${pair}"`);
    return { user: pair.slice(0, colon), password: pair.slice(colon + 1) };
  });
  const cidrs = (name: string): string[] =>
    list(name).map((c) => {
      if (!isCidr(c)) throw new UsageError(`--${name} "${c}" is not an IP address or CIDR range (e.g. 203.0.113.0/24)`);
      return c.trim();
    });
  const header = (name: string) =>
    list(name).map((h) => {
      try {
        return parseHeaderArg(h);
      } catch (err) {
        throw new UsageError(`--${name}: ${(err as Error).message}`);
      }
    });
  return {
    access: { basicAuth, allow: cidrs('allow'), deny: cidrs('deny') },
    headers: {
      request: { add: header('request-header'), remove: list('remove-request-header') },
      response: { add: header('response-header'), remove: list('remove-response-header') },
    },
    insecureUpstream: values['insecure-upstream'] === true,
    inspect,
    relay: values['relay'] as string | undefined,
    transport: transportOf(
      (values['transport'] as string | undefined) ?? defaultTransport,
      values['relay'] as string | undefined,
    ),
    host: values['host'] as string | undefined,
    token: values['token'] as string | undefined,
    workers: int(values['workers'] as string | undefined, 'workers', 1, 64, 8),
    hostHeader,
    timeoutMs: int(values['timeout'] as string | undefined, 'timeout', 1, 600, 60) * 1000,
    json: values['json'] === true,
  };
}

/** The transport: `--transport` when given, else the relay URL's scheme (ws:// or wss://: WebSocket). */
function transportOf(flag: string | undefined, relay: string | undefined): 'fpw' | 'ws' | 'ggrok' {
  if (flag !== undefined) {
    if (flag !== 'fpw' && flag !== 'ws' && flag !== 'ggrok') {
      throw new UsageError(`--transport must be "fpw", "ws" or "ggrok", not "${flag}"`);
    }
    return flag;
  }
  return relay !== undefined && /^wss?:\/\//i.test(relay) ? 'ws' : 'fpw';
}

/** `30000-30099` (or one port) as a range of ports. */
function portRange(value: string | undefined): { from: number; to: number } | null {
  if (value === undefined) return null;
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(value);
  const from = m ? Number(m[1]) : NaN;
  const to = m?.[2] !== undefined ? Number(m[2]) : from;
  if (!m || from < 1 || to > 65535 || to < from) {
    throw new UsageError(`--tcp-ports wants a range of ports such as 30000-30099, not "${value}"`);
  }
  return { from, to };
}

/** Turns a local port or URL into the upstream URL. */
export function parseTarget(raw: string): string {
  if (/^\d+$/.test(raw)) {
    const port = Number(raw);
    if (port < 1 || port > 65535) throw new UsageError(`port ${raw} is out of range (1-65535)`);
    return `http://127.0.0.1:${port}`;
  }
  const expected = 'expected a port (3000), host:port (localhost:3000) or a URL (http://127.0.0.1:3000)';
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw);
  // A bare word ("notaport") is a typo far more often than a host on port 80.
  if (!hasScheme && !raw.includes(':')) throw new UsageError(`"${raw}" is not a target: ${expected}`);
  let url: URL;
  try {
    url = new URL(hasScheme ? raw : `http://${raw}`);
  } catch {
    throw new UsageError(`"${raw}" is not a target: ${expected}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`"${raw}" is not an http:// or https:// URL`);
  }
  return url.href.replace(/\/$/, '');
}

/** Parses the whole command line. */
/** Where the headless inspector listens: `--inspect` (127.0.0.1:4040 or the next free port) or `--inspect=ADDR`. */
export interface InspectArg {
  bind: string;
  port: number;
  /** True when the user named the port: then it is that one or an error. */
  exact: boolean;
}

/** Parses `ADDR` of `--inspect=ADDR`: `host:port`, `[v6]:port`, a port, or a host. */
export function parseInspect(value: string | null): InspectArg {
  if (value === null || value === '') return { bind: '127.0.0.1', port: 4040, exact: false };
  if (/^\d+$/.test(value)) return { bind: '127.0.0.1', port: checkPort(Number(value), value), exact: true };
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(value);
  if (!m) throw new UsageError(`--inspect=${value}: expected host:port, a port or a host`);
  const bind = m[1] ?? m[2]!;
  if (m[3] === undefined) return { bind, port: 4040, exact: false };
  return { bind, port: checkPort(Number(m[3]), value), exact: true };
}

function checkPort(port: number, value: string): number {
  if (port > 65535) throw new UsageError(`--inspect=${value}: port ${port} is out of range`);
  return port;
}

/**
 * Takes `--inspect`, `--inspect=ADDR` and `--no-inspect` out of the arguments (parseArgs has no
 * option with an optional value).
 */
function takeInspect(args: string[], byDefault: boolean): { rest: string[]; inspect: InspectArg | null } {
  let inspect: InspectArg | null = byDefault ? parseInspect(null) : null;
  const rest: string[] = [];
  for (const a of args) {
    if (a === '--inspect') inspect = parseInspect(null);
    else if (a.startsWith('--inspect=')) inspect = parseInspect(a.slice('--inspect='.length));
    else if (a === '--no-inspect') inspect = null;
    else rest.push(a);
  }
  return { rest, inspect };
}

function isTopic(name: string | undefined): name is HelpTopic {
  return name !== undefined && Object.hasOwn(COMMAND_HELP, name);
}

export function parseCommand(argv: string[]): Command {
  const [name, ...all] = argv;
  // `porthole http --help`: the command's own usage, whatever else is on the line.
  if (isTopic(name) && all.some((a) => a === '--help' || a === '-h')) return { name: 'help', topic: name };
  const { rest, inspect } = takeInspect(all, name === 'demo');
  switch (name) {
    case undefined:
    case 'help':
    case '--help':
    case '-h': {
      const topic = all[0];
      if (topic === undefined) return { name: 'help' };
      if (!isTopic(topic)) throw new UsageError(`no help for "${topic}": it is not a command`);
      return { name: 'help', topic };
    }
    case 'start': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean' } }, 1);
      if (!positionals[0]) throw new UsageError('start needs the name of a saved profile (porthole list shows them)');
      return { name: 'start', profile: positionals[0], inspect, json: values.json === true };
    }
    case 'list': {
      const { values } = parse(rest, { json: { type: 'boolean' } }, 0);
      return { name: 'list', json: values.json === true };
    }
    case 'import': {
      const { positionals } = parse(rest, {}, 1);
      if (!positionals[0]) throw new UsageError('import needs the export file to read');
      return { name: 'import', file: resolve(positionals[0]) };
    }
    case 'export': {
      const { values, positionals } = parse(
        rest,
        { secrets: { type: 'boolean' }, out: { type: 'string' } },
        Number.MAX_SAFE_INTEGER,
      );
      return {
        name: 'export',
        names: positionals,
        secrets: values.secrets === true,
        out: values.out === undefined ? undefined : resolve(values.out),
      };
    }
    case '--version':
    case '-v':
    case 'version':
      return { name: 'version' };
    case 'http': {
      const { values, positionals } = parse(rest, TUNNEL_OPTIONS, 1);
      if (!positionals[0]) throw new UsageError('http needs the local port or URL to tunnel, e.g. porthole http 3000');
      const tunnel = tunnelArgs(values, inspect);
      return {
        name: 'http',
        upstream: { kind: 'http', target: parseTarget(positionals[0]), insecure: tunnel.insecureUpstream },
        tunnel,
      };
    }
    case 'fastcgi': {
      const { values, positionals } = parse(rest, FASTCGI_OPTIONS, 1);
      if (!positionals[0]) {
        throw new UsageError(
          'fastcgi needs the address of PHP-FPM, e.g. porthole fastcgi 127.0.0.1:9000 --root ./public',
        );
      }
      if (!values.root) throw new UsageError('fastcgi needs --root, the document root (e.g. ./public)');
      return {
        name: 'fastcgi',
        upstream: {
          kind: 'fastcgi',
          address: positionals[0],
          root: resolve(values.root),
          index: values.index ?? 'index.php',
          ...(values['remote-root'] ? { remoteRoot: values['remote-root'] } : {}),
          followSymlinks: values['follow-symlinks'] === true,
        },
        tunnel: tunnelArgs(values, inspect),
      };
    }
    case 'folder': {
      const { values, positionals } = parse(rest, FOLDER_OPTIONS, 1);
      if (!positionals[0]) throw new UsageError('folder needs the folder to share, e.g. porthole folder ./site');
      return {
        name: 'folder',
        upstream: {
          kind: 'folder',
          root: resolve(positionals[0]),
          dotfiles: values.dotfiles === true,
          listing: values['no-listing'] !== true,
          followSymlinks: values['follow-symlinks'] === true,
        },
        tunnel: tunnelArgs(values, inspect),
      };
    }
    case 'tcp': {
      const { values, positionals } = parse(rest, TCP_OPTIONS, 1);
      const target = positionals[0];
      if (!target) throw new UsageError('tcp needs the local port or host:port to tunnel, e.g. porthole tcp 5432');
      if (!/^(\d{1,5}|[^\s:]+:\d{1,5}|\[[0-9a-fA-F:.]+\]:\d{1,5})$/.test(target)) {
        throw new UsageError(`"${target}" is not a target: expected a port (5432) or host:port (db.local:5432)`);
      }
      const tunnel = tunnelArgs(values, inspect, 'ws');
      if (tunnel.transport !== 'ws')
        throw new UsageError('a TCP tunnel needs the WebSocket transport: --relay ws://...');
      const remote = values['remote-port'];
      return {
        name: 'tcp',
        upstream: {
          kind: 'tcp',
          target: /^\d+$/.test(target) ? `127.0.0.1:${target}` : target,
          ...(remote !== undefined ? { remotePort: int(remote, 'remote-port', 1, 65535, 0) } : {}),
        },
        tunnel,
      };
    }
    case 'demo': {
      const { values } = parse(rest, DEMO_OPTIONS, 0);
      return {
        name: 'demo',
        port: int(values.port, 'port', 0, 65535, 0),
        bind: values.bind ?? '127.0.0.1',
        // The demo runs Porthole's own relay: its WebSocket transport, unless told --transport fpw.
        tunnel: tunnelArgs(values, inspect, 'ws'),
      };
    }
    case 'relay': {
      const { values } = parse(rest, RELAY_OPTIONS, 0);
      if ((values.cert === undefined) !== (values.key === undefined))
        throw new UsageError('--cert and --key go together');
      const scheme = values['public-scheme'];
      if (scheme !== undefined && scheme !== 'http' && scheme !== 'https')
        throw new UsageError(`--public-scheme must be "http" or "https", not "${scheme}"`);
      const redis = values.redis;
      if (redis === undefined && (values['node-url'] !== undefined || values['cluster-secret-file'] !== undefined))
        throw new UsageError('--node-url and --cluster-secret-file belong to a cluster: give --redis too');
      if (redis !== undefined) {
        if (!/^rediss?:\/\//i.test(redis) || !URL.canParse(redis))
          throw new UsageError(`--redis must be a redis:// or rediss:// URL, not "${redis}"`);
        if (values['cluster-secret-file'] === undefined)
          throw new UsageError(
            '--redis needs --cluster-secret-file: the relays of a cluster sign their requests to each other',
          );
        const nodeUrl = values['node-url'];
        if (nodeUrl !== undefined && !(/^https?:\/\//i.test(nodeUrl) && URL.canParse(nodeUrl)))
          throw new UsageError(`--node-url must be an http:// or https:// URL, not "${nodeUrl}"`);
      }
      return {
        name: 'relay',
        port: int(values.port, 'port', 0, 65535, 8080),
        bind: values.bind ?? '127.0.0.1',
        domain: values.domain,
        tokensFile: values.tokens,
        trustProxy: values['trust-proxy'] ?? [],
        defaultHost: values['default-host'],
        tcpPorts: portRange(values['tcp-ports']),
        ggrok: values.ggrok === true,
        cert: values.cert,
        key: values.key,
        publicPort: values['public-port'] === undefined ? null : int(values['public-port'], 'public-port', 1, 65535, 0),
        publicScheme: (scheme as 'http' | 'https' | undefined) ?? null,
        cluster:
          redis === undefined
            ? null
            : { redisUrl: redis, nodeUrl: values['node-url'] ?? null, secretFile: values['cluster-secret-file']! },
        json: values.json === true,
      };
    }
    default:
      throw new UsageError(`unknown command "${name}"`);
  }
}
