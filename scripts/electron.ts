#!/usr/bin/env node
// `npm start` (build if the sources changed, then open the app) and `npm run dev` (hot reload). Both
// check for the Electron binary first, without loading the `electron` package (loading it starts a
// download from GitHub, which fails with a stack trace where GitHub is out of reach), and say in one
// line what is missing.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sourceStamp } from '../bin/source-stamp.js';

/** Where the Electron executable is, or why there is none. */
export type ElectronBinary = { path: string } | { missing: string };

/** Finds the executable the `electron` package would run (its path.txt names it inside dist/). */
export function electronBinary(root: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): ElectronBinary {
  const pkg = join(root, 'node_modules', 'electron');
  if (!existsSync(join(pkg, 'package.json'))) return { missing: 'the electron package is not installed (npm install)' };
  let relative: string;
  try {
    relative = readFileSync(join(pkg, 'path.txt'), 'utf8').trim();
  } catch {
    return {
      missing:
        'the Electron binary was never downloaded (node_modules/electron/path.txt is absent; it comes from GitHub on first use)',
    };
  }
  const dist = env['ELECTRON_OVERRIDE_DIST_PATH'] || join(pkg, 'dist');
  const executable = join(dist, relative);
  if (!existsSync(executable)) return { missing: `the Electron binary is missing (${executable})` };
  return { path: executable };
}

function newest(path: string): number {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return s.mtimeMs;
  let max = s.mtimeMs;
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

/**
 * True when the built app is older than any of its sources, or the built CLI was not made from the
 * sources as they are now (its stamp, see bin/source-stamp.js, catches sources copied in with old times).
 */
export function buildIsStale(root: string = process.cwd()): boolean {
  let stamp: string;
  try {
    stamp = readFileSync(join(root, 'out/main/cli.stamp'), 'utf8').trim();
  } catch {
    return true;
  }
  if (stamp !== sourceStamp(root)) return true;
  const built = Math.min(
    ...['out/main/index.js', 'out/main/cli.js', 'out/preload/index.cjs', 'out/renderer/index.html'].map((f) =>
      newest(join(root, f)),
    ),
  );
  if (built === 0) return true;
  const sources = ['src-main', 'src-renderer', 'electron.vite.config.ts', 'package.json'].map((f) =>
    newest(join(root, f)),
  );
  return Math.max(...sources) > built;
}

if (import.meta.main) {
  const mode = process.argv[2];
  if (mode === 'ensure-built') {
    // `npm run demo`: the headless inspector serves the built renderer; build it when it is missing or
    // older than its sources (about a second), and never needs the Electron binary.
    if (buildIsStale()) {
      const r = spawnSync(process.execPath, ['node_modules/electron-vite/bin/electron-vite.js', 'build'], {
        stdio: 'inherit',
      });
      process.exit(r.status ?? 1);
    }
    process.exit(0);
  }
  if (mode !== 'start' && mode !== 'dev') {
    process.stderr.write('usage: node scripts/electron.ts start|dev|ensure-built\n');
    process.exit(2);
  }
  const binary = electronBinary();
  if ('missing' in binary) {
    process.stderr.write(
      `porthole: cannot open the desktop app: ${binary.missing}. \`npm run demo\` runs Porthole without it.\n`,
    );
    process.exit(1);
  }
  const args = mode === 'dev' ? ['dev'] : buildIsStale() ? ['preview'] : ['preview', '--skipBuild'];
  const child = spawn(
    process.execPath,
    ['node_modules/electron-vite/bin/electron-vite.js', ...args, ...process.argv.slice(3)],
    {
      stdio: 'inherit',
    },
  );
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => child.kill(s));
}
