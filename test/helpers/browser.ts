// The browser tier's common ground: the built renderer (built when stale, by one test file at a time),
// Debian's Chromium, and `porthole demo` as a real process serving the inspector.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnCli, type CliProcess } from './cli.ts';

export const ROOT = join(import.meta.dirname, '../..');
export const RESULTS = join(ROOT, 'test-results');
export const CHROMIUM = process.env['PORTHOLE_CHROMIUM'] ?? '/usr/bin/chromium';
const run = promisify(execFile);

/** Newest modification time under a folder. */
function newest(dir: string): number {
  let latest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const s = statSync(path);
    latest = Math.max(latest, s.isDirectory() ? newest(path) : s.mtimeMs);
  }
  return latest;
}

/** The built page is there and newer than its sources (the renderer's, and the assets it links). */
function rendererFresh(): boolean {
  const built = join(ROOT, 'out/renderer/index.html');
  if (!existsSync(built)) return false;
  const sources = Math.max(newest(join(ROOT, 'src-renderer')), newest(join(ROOT, 'assets')));
  return statSync(built).mtimeMs >= sources;
}

/**
 * The inspector serves the built renderer (out/renderer): build it when it is missing or older than its
 * sources. Test files run side by side: a lock folder keeps two of them from building at once.
 */
export async function ensureBuiltRenderer(): Promise<void> {
  if (rendererFresh()) return;
  mkdirSync(join(ROOT, 'out'), { recursive: true });
  const lock = join(ROOT, 'out/.renderer-build.lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another file builds; a lock older than the build's time limit was left by a killed run.
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 150_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
      if (rendererFresh()) return;
    }
  }
  try {
    if (rendererFresh()) return;
    await run(process.execPath, [join(ROOT, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], {
      cwd: ROOT,
      timeout: 120_000,
    });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Resolves once `check` holds, polling (the page updates as pushes arrive). */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Fails early, saying what to do, where there is no Chromium. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's chromium package (.ci/run does) or set PORTHOLE_CHROMIUM`,
    );
  }
}

export interface Demo {
  process: CliProcess;
  configDir: string;
  publicUrl: string;
  /** The public host with its port, as a visitor's Host header. */
  host: string;
  /** The relay's port. */
  port: number;
  inspectorUrl: string;
  stop(): Promise<void>;
}

/** `porthole demo` (with `args`, e.g. access rules) in a config folder of its own. */
export async function startDemo(args: string[] = []): Promise<Demo> {
  const configDir = mkdtempSync(join(tmpdir(), 'porthole-e2e-'));
  const demo = spawnCli(['demo', ...args], { PORTHOLE_CONFIG_DIR: configDir, FPW_HOST: '', FPW_TOKEN: '' });
  const [, publicUrl = '', host = ''] = await demo.waitFor(
    /^Public URL: (http:\/\/([a-z]+(?:-[a-z]+){4}\.localhost:\d+)\/)$/,
  );
  const [, inspectorUrl = ''] = await demo.waitFor(
    /^Inspector: (http:\/\/(?:127\.0\.0\.1|localhost):\d+\/#token=\S+)$/,
  );
  return {
    process: demo,
    configDir,
    publicUrl,
    host,
    port: Number(new URL(publicUrl).port),
    inspectorUrl,
    async stop() {
      await demo.stop('SIGINT');
      rmSync(configDir, { recursive: true, force: true });
    },
  };
}
