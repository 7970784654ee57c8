import { execFile, fork } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { sourceStamp } from '../../bin/source-stamp.js';

const BIN_DIR = fileURLToPath(new URL('../../bin/', import.meta.url));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Report {
  which: string;
  pid: number;
  execArgv: string[];
}

/** A checkout laid out like this one, built, whose built and source CLIs report which one ran. */
function checkout(opts: { sources?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-bin-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'bin'));
  for (const f of ['porthole.js', 'source-stamp.js', 'node-version.js']) copyFileSync(join(BIN_DIR, f), join(dir, 'bin', f));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  const report = (which: string): string =>
    `console.log(JSON.stringify({ which: '${which}', pid: process.pid, execArgv: process.execArgv }));`;
  mkdirSync(join(dir, 'out/main'), { recursive: true });
  writeFileSync(join(dir, 'out/main/cli.js'), `export async function main() { ${report('built')} return 0; }\n`);
  if (opts.sources !== false) {
    mkdirSync(join(dir, 'src-main/cli'), { recursive: true });
    writeFileSync(
      join(dir, 'src-main/cli/main.ts'),
      `export async function main(_args: string[]): Promise<number> { ${report('source')} return 0; }\n`,
    );
    writeFileSync(join(dir, 'out/main/cli.stamp'), `${sourceStamp(dir)}\n`);
  } else {
    writeFileSync(join(dir, 'out/main/cli.stamp'), 'packaged\n');
  }
  return dir;
}

async function run(dir: string, env: Record<string, string> = {}, nodeArgs: string[] = []) {
  const child = promisify(execFile)(process.execPath, [...nodeArgs, join(dir, 'bin/porthole.js')], {
    env: { ...process.env, NODE_OPTIONS: '', ...env },
  });
  const { stdout } = await child;
  return { ...(JSON.parse(stdout) as Report), childPid: child.child.pid! };
}

describe('bin/porthole.js', () => {
  it('runs the built CLI while the sources are the ones it was built from', async () => {
    expect((await run(checkout())).which).toBe('built');
  });

  it('runs the sources once one of them changed, even when it kept an old time, so an edit is never hidden', async () => {
    const dir = checkout();
    writeFileSync(
      join(dir, 'src-main/cli/main.ts'),
      `export async function main(_args: string[]): Promise<number> { console.log(JSON.stringify({ which: 'edited', pid: 0, execArgv: [] })); return 0; }\n`,
    );
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(join(dir, 'src-main/cli/main.ts'), old, old);
    expect((await run(dir)).which).toBe('edited');
  });

  it('runs the sources when the build is missing, unstamped (stopped half way) or lost a chunk', async () => {
    const missing = checkout();
    rmSync(join(missing, 'out'), { recursive: true });
    expect((await run(missing)).which).toBe('source');

    const unstamped = checkout();
    rmSync(join(unstamped, 'out/main/cli.stamp'));
    expect((await run(unstamped)).which).toBe('source');

    const broken = checkout();
    writeFileSync(
      join(broken, 'out/main/cli.js'),
      `import './chunk-gone.js';\nexport async function main() { return 0; }\n`,
    );
    expect((await run(broken)).which).toBe('source');
  });

  it('runs the build of a packaged copy, which has no sources', async () => {
    expect((await run(checkout({ sources: false }))).which).toBe('built');
  });

  it('runs with a 1 MiB young generation, in the same process (what npm run bench and the 256 MiB download measured best)', async () => {
    const r = await run(checkout());
    expect(r.execArgv).toContain('--max-semi-space-size=1');
    expect(r.pid).toBe(r.childPid);
  });

  it('keeps a young generation the user chose, on the command line or in NODE_OPTIONS', async () => {
    const dir = checkout();
    const viaOptions = await run(dir, { NODE_OPTIONS: '--max-semi-space-size=8' });
    expect(viaOptions.execArgv).not.toContain('--max-semi-space-size=1');
    const viaFlag = await run(dir, {}, ['--max-semi-space-size=8']);
    expect(viaFlag.execArgv).toEqual(['--max-semi-space-size=8']);
  });

  it('does not run itself again when that would show: PORTHOLE_NO_REEXEC, preloads, or fork() with IPC', async () => {
    const dir = checkout();
    expect((await run(dir, { PORTHOLE_NO_REEXEC: '1' })).execArgv).toEqual([]);
    const preload = join(dir, 'preload.mjs');
    writeFileSync(preload, '');
    expect((await run(dir, {}, ['--import', preload])).execArgv).toEqual(['--import', preload]);

    const child = fork(join(dir, 'bin/porthole.js'), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    expect((JSON.parse(out) as Report).execArgv).not.toContain('--max-semi-space-size=1');
  });
});
