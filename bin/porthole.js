#!/usr/bin/env node
// The `porthole` command. It runs the built CLI (out/main/cli.js, made by `npm run build`, and by
// `npm test`, `npm run demo` and `npm run bench` when the sources changed) while the sources are the
// ones it was built from (bin/source-stamp.js), else the TypeScript sources themselves through Node's
// type stripping (Node 22.19+), so that an edit is never hidden behind a stale build. The built CLI
// needs no type stripper: 16-31 MiB less memory per process (npm run bench).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nodeTooOld } from './node-version.js';
import { sourceStamp } from './source-stamp.js';

// Before anything an older Node cannot run (the TypeScript sources, undici): one line, exit 1.
const tooOld = nodeTooOld();
if (tooOld) {
  process.stderr.write(`porthole: ${tooOld}\n`);
  process.exit(1);
}

// A young generation of 1 MiB semi-spaces instead of V8's default (up to 32 MiB on 64-bit). Socket
// buffers are freed by scavenges, and V8 scavenges when the young generation fills with the small
// objects that hold them: the smaller it is, the sooner they go, instead of piling up until 64 MiB of
// them force a full collection. Measured: a 256 MiB download over the WebSocket transport grew the
// worker by 65-85 MiB with 4 MiB semi-spaces and by 24-35 MiB with 1 MiB; npm run bench ran the same
// within its noise, and RSS at its end was 20-45 MiB lower. (4 MiB had been chosen against V8's
// default: large bodies about 50 % faster, RSS 50-90 MiB lower.) V8 sizes its heap when it starts, so the flag must be
// on the command line: the command runs itself again with it (execve keeps the process id, stdio and
// signals). Not when the user chose a size (on the command line or in NODE_OPTIONS), nor where running
// twice would show: under a debugger (--inspect*), with preloaded modules (--require, --import), when
// started by fork() with an IPC channel (which does not survive execve), or with PORTHOLE_NO_REEXEC
// set; and not where there is no execve (Windows).
const YOUNG_GENERATION = '--max-semi-space-size=1';
const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
const chosen = flags.some((f) => f.startsWith('--max-semi-space-size'));
const visible =
  process.send !== undefined ||
  flags.some((f) => f === '-r' || /^--(inspect|debug|require|import|loader|experimental-loader)\b/.test(f));
if (!chosen && !visible && !process.env.PORTHOLE_NO_REEXEC && typeof process.execve === 'function') {
  try {
    process.execve(process.execPath, [
      process.execPath,
      YOUNG_GENERATION,
      ...process.execArgv,
      ...process.argv.slice(1),
    ]);
  } catch {
    // Refused (Node's permission model): run with V8's default.
  }
}

const root = new URL('../', import.meta.url);
const built = new URL('out/main/cli.js', root);

/** True when the build exists and was made from the sources as they are now. */
function buildIsCurrent() {
  let stamp;
  try {
    stamp = readFileSync(new URL('out/main/cli.stamp', root), 'utf8').trim();
  } catch {
    return false;
  }
  // A packaged copy ships the build without its sources.
  if (!existsSync(new URL('src-main/', root))) return true;
  return stamp === sourceStamp(fileURLToPath(root));
}

let cli;
if (buildIsCurrent()) {
  try {
    cli = await import(built.href);
  } catch (err) {
    // A build that lost a chunk: the sources still work.
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  }
}
cli ??= await import('../src-main/cli/main.ts');

const code = await cli.main(process.argv.slice(2));
process.exitCode = code;
// Let stdout drain; do not wait on keep-alive sockets or timers of a stopped engine.
setTimeout(() => process.exit(code), 1000).unref();
