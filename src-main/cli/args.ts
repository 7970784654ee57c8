import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command line that cannot be run as given: exit code 2, with the usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage: porthole <command> [options]

Commands:
  http <port|url>    Put a local HTTP service on the internet through a relay
  demo               Run a relay, a demo site and a tunnel to it, all on this machine
  relay              Run a relay that workers (Porthole's or any FPW worker) connect to
  help               Show this help

Tunnel options (http, demo):
  --relay URL        Relay to poll; {host} stands for the host (default: the public FPW relay, https://{host}/)
  --host NAME        Full public host name, e.g. my-app.28820.com (default: $FPW_HOST, else a five-word name, kept)
  --token TOKEN      Secret that claims the host (default: $FPW_TOKEN, else a random one, kept)
  --workers N        Concurrent long-polls, i.e. requests served at once (default 8)
  --host-header M    Host the upstream sees: upstream (default) or visitor
  --timeout SEC      Time the upstream has to answer before visitors get a 504 (default 60)
  --json             Print events and requests as NDJSON

Relay options (relay; demo takes --port and --bind):
  --port N           Port to listen on (default 8080; 0 picks a free one; demo: a free one)
  --bind ADDR        Address to listen on (default 127.0.0.1)
  --domain D         Only hosts that are D or under D may be claimed
  --tokens FILE      Only the tokens in FILE (one per line, # comments) may claim hosts
  --trust-proxy CIDR Believe X-Forwarded-For from these proxies (repeatable)
  --default-host H   Visitors whose Host matches no tunnel go to H
  --cert FILE --key FILE   Serve HTTPS

Exit codes: 0 stopped by a signal, 1 failure, 2 usage error, 3 the relay refused the claim.
`;

const TUNNEL_OPTIONS = {
  relay: { type: 'string' },
  host: { type: 'string' },
  token: { type: 'string' },
  workers: { type: 'string' },
  'host-header': { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

const RELAY_OPTIONS = {
  port: { type: 'string' },
  bind: { type: 'string' },
  domain: { type: 'string' },
  tokens: { type: 'string' },
  'trust-proxy': { type: 'string', multiple: true },
  'default-host': { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

const DEMO_OPTIONS = { ...TUNNEL_OPTIONS, port: RELAY_OPTIONS.port, bind: RELAY_OPTIONS.bind } as const;

export interface TunnelArgs {
  relay: string | undefined;
  host: string | undefined;
  token: string | undefined;
  workers: number;
  hostHeader: 'upstream' | 'visitor';
  timeoutMs: number;
  json: boolean;
}

export type Command =
  | { name: 'help' }
  | { name: 'version' }
  | { name: 'http'; target: string; tunnel: TunnelArgs }
  | { name: 'demo'; port: number; bind: string; tunnel: TunnelArgs }
  | {
      name: 'relay';
      port: number;
      bind: string;
      domain: string | undefined;
      tokensFile: string | undefined;
      trustProxy: string[];
      defaultHost: string | undefined;
      cert: string | undefined;
      key: string | undefined;
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

function tunnelArgs(values: Record<string, string | boolean | string[] | undefined>): TunnelArgs {
  const hostHeader = (values['host-header'] as string | undefined) ?? 'upstream';
  if (hostHeader !== 'upstream' && hostHeader !== 'visitor') {
    throw new UsageError(`--host-header must be "upstream" or "visitor", not "${hostHeader}"`);
  }
  return {
    relay: values['relay'] as string | undefined,
    host: values['host'] as string | undefined,
    token: values['token'] as string | undefined,
    workers: int(values['workers'] as string | undefined, 'workers', 1, 64, 8),
    hostHeader,
    timeoutMs: int(values['timeout'] as string | undefined, 'timeout', 1, 600, 60) * 1000,
    json: values['json'] === true,
  };
}

/** Turns a local port or URL into the upstream URL. */
export function parseTarget(raw: string): string {
  if (/^\d+$/.test(raw)) {
    const port = Number(raw);
    if (port < 1 || port > 65535) throw new UsageError(`port ${raw} is out of range (1-65535)`);
    return `http://127.0.0.1:${port}`;
  }
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new UsageError(`"${raw}" is neither a port nor a URL (try 3000 or http://127.0.0.1:3000)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`"${raw}" is not an http:// or https:// URL`);
  }
  return url.href.replace(/\/$/, '');
}

/** Parses the whole command line. */
export function parseCommand(argv: string[]): Command {
  const [name, ...rest] = argv;
  switch (name) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      return { name: 'help' };
    case '--version':
    case '-v':
    case 'version':
      return { name: 'version' };
    case 'http': {
      const { values, positionals } = parse(rest, TUNNEL_OPTIONS, 1);
      if (!positionals[0]) throw new UsageError('http needs the local port or URL to tunnel, e.g. porthole http 3000');
      return { name: 'http', target: parseTarget(positionals[0]), tunnel: tunnelArgs(values) };
    }
    case 'demo': {
      const { values } = parse(rest, DEMO_OPTIONS, 0);
      return {
        name: 'demo',
        port: int(values.port, 'port', 0, 65535, 0),
        bind: values.bind ?? '127.0.0.1',
        tunnel: tunnelArgs(values),
      };
    }
    case 'relay': {
      const { values } = parse(rest, RELAY_OPTIONS, 0);
      if ((values.cert === undefined) !== (values.key === undefined))
        throw new UsageError('--cert and --key go together');
      return {
        name: 'relay',
        port: int(values.port, 'port', 0, 65535, 8080),
        bind: values.bind ?? '127.0.0.1',
        domain: values.domain,
        tokensFile: values.tokens,
        trustProxy: values['trust-proxy'] ?? [],
        defaultHost: values['default-host'],
        cert: values.cert,
        key: values.key,
        json: values.json === true,
      };
    }
    default:
      throw new UsageError(`unknown command "${name}"`);
  }
}
