#!/usr/bin/env node
// The `porthole` command. It runs the built CLI (out/main/cli.js, made by `npm run build`, and by
// `npm test` and `npm run demo` when the sources changed) when that is at least as new as the
// sources, else the TypeScript sources themselves through Node's type stripping (Node 22.19+), so
// that an edit is never hidden behind a stale build. The built CLI needs no type stripper: about
// 20 MiB less memory per process (npm run bench), and it runs from node_modules, where Node refuses
// to strip types.
import { existsSync, readdirSync, statSync } from 'node:fs';

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
