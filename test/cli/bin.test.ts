import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/porthole.js', import.meta.url));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A checkout laid out like this one, whose built and source CLIs say which one ran. */
function checkout(withSources: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-bin-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'bin'));
  copyFileSync(BIN, join(dir, 'bin/porthole.js'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  mkdirSync(join(dir, 'out/main'), { recursive: true });
  const report = (which: string): string =>
    `console.log(JSON.stringify({ which: '${which}', pid: process.pid, execArgv: process.execArgv }));`;
  writeFileSync(join(dir, 'out/main/cli.js'), `export async function main() { ${report('built')} return 0; }\n`);
  if (withSources) {
    mkdirSync(join(dir, 'src-main/cli'), { recursive: true });
    writeFileSync(
      join(dir, 'src-main/cli/main.ts'),
      `export async function main(_args: string[]): Promise<number> { ${report('source')} return 0; }\n`,
    );
  }
  return dir;
}

interface Report {
  which: string;
  pid: number;
  execArgv: string[];
}

async function run(dir: string, env: Record<string, string> = {}): Promise<Report & { childPid: number }> {
  const child = promisify(execFile)(process.execPath, [join(dir, 'bin/porthole.js')], {
    env: { ...process.env, ...env },
  });
  const { stdout } = await child;
  return { ...(JSON.parse(stdout) as Report), childPid: child.child.pid! };
}

async function which(dir: string): Promise<string> {
  return (await run(dir)).which;
}

function age(path: string, secondsAgo: number): void {
  const t = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(path, t, t);
}

describe('bin/porthole.js', () => {
  it('runs the built CLI when it is newer than every source', async () => {
    const dir = checkout(true);
    for (const p of ['src-main/cli/main.ts', 'src-main/cli', 'src-main', 'package.json']) age(join(dir, p), 60);
    expect(await which(dir)).toBe('built');
  });

  it('runs the sources when one of them changed after the build, so an edit is never hidden', async () => {
    const dir = checkout(true);
    age(join(dir, 'out/main/cli.js'), 60);
    expect(await which(dir)).toBe('source');
  });

  it('runs the sources when there is no build yet', async () => {
    const dir = checkout(true);
    rmSync(join(dir, 'out'), { recursive: true });
    expect(await which(dir)).toBe('source');
  });

  it('runs the build of an installed package, which ships without sources', async () => {
    expect(await which(checkout(false))).toBe('built');
  });

  it('runs with a 4 MiB young generation, in the same process (what npm run bench measured best)', async () => {
    const r = await run(checkout(false), { NODE_OPTIONS: '' });
    expect(r.execArgv).toContain('--max-semi-space-size=4');
    expect(r.pid).toBe(r.childPid);
  });

  it('keeps a young generation the user chose', async () => {
    const r = await run(checkout(false), { NODE_OPTIONS: '--max-semi-space-size=8' });
    expect(r.execArgv).not.toContain('--max-semi-space-size=4');
  });
});
