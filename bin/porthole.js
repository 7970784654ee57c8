#!/usr/bin/env node
// The `porthole` command. It runs the built CLI (out/main/cli.js, made by `npm run build`, and by
// `npm test` and `npm run demo` when the sources changed) when that is at least as new as the
// sources, else the TypeScript sources themselves through Node's type stripping (Node 22.19+), so
// that an edit is never hidden behind a stale build. The built CLI needs no type stripper: 16-31 MiB
// less memory per process (npm run bench), and it runs from node_modules, where Node refuses
// to strip types.
import { existsSync, readdirSync, statSync } from 'node:fs';

// A young generation of 4 MiB semi-spaces instead of V8's default (up to 32 MiB on 64-bit). Measured
// by npm run bench: large bodies move about 50 % faster (socket buffers are freed by scavenges
// instead of piling up for full collections), the p99 at one connection after a large-body run falls
// from 10-19 ms to about 4.5 ms, and RSS at the end of the run is 50-90 MiB lower; small bodies cost
// 0-15 % more CPU (within the machine's noise). V8 sizes its heap when it starts, so the flag must be
// on the command line: the command runs itself again with it (execve keeps the process id, stdio and
// signals). A flag the user gave, on the command line or in NODE_OPTIONS, wins; where execve is
// missing (Windows) it runs as it is.
const YOUNG_GENERATION = '--max-semi-space-size=4';
const setByUser = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) =>
  a.includes('--max-semi-space-size'),
);
if (!setByUser && typeof process.execve === 'function') {
  try {
    process.execve(process.execPath, [
      process.execPath,
      YOUNG_GENERATION,
      ...process.execArgv,
      ...process.argv.slice(1),
    ]);
  } catch {
    // Not available here: run with V8's default.
  }
}

const root = new URL('../', import.meta.url);
const built = new URL('out/main/cli.js', root);

/** The newest modification time under a path (0 when it does not exist). */
function newest(url) {
  const s = statSync(url, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return s.mtimeMs;
  let max = s.mtimeMs;
  for (const entry of readdirSync(url)) max = Math.max(max, newest(new URL(entry, `${url.href}/`)));
  return max;
}

function builtIsFresh() {
  const builtAt = newest(built);
  if (builtAt === 0) return false;
  // An installed package ships the build without its sources.
  if (!existsSync(new URL('src-main/', root))) return true;
  return Math.max(newest(new URL('src-main', root)), newest(new URL('package.json', root))) <= builtAt;
}

const { main } = builtIsFresh() ? await import(built.href) : await import('../src-main/cli/main.ts');

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Let stdout drain; do not wait on keep-alive sockets or timers of a stopped engine.
setTimeout(() => process.exit(code), 1000).unref();
