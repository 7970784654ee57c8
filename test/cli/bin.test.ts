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
  writeFileSync(join(dir, 'out/main/cli.js'), 'export async function main() { console.log("built"); return 0; }\n');
  if (withSources) {
    mkdirSync(join(dir, 'src-main/cli'), { recursive: true });
    writeFileSync(
      join(dir, 'src-main/cli/main.ts'),
      'export async function main(_args: string[]): Promise<number> { console.log("source"); return 0; }\n',
    );
  }
  return dir;
}

async function which(dir: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'bin/porthole.js')]);
  return stdout.trim();
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
});
