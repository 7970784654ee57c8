import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { sourceStamp } from '../../bin/source-stamp.js';
import { buildIsStale, electronBinary } from '../../scripts/electron.ts';

const run = promisify(execFile);

function root(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-root-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('npm start / npm run dev launcher', () => {
  it('finds the Electron binary without loading the electron package, or says what is missing', () => {
    expect(electronBinary(root({}), {})).toEqual({ missing: expect.stringMatching(/not installed/) });
    const pkg = { 'node_modules/electron/package.json': '{}' };
    expect(electronBinary(root(pkg), {})).toEqual({ missing: expect.stringMatching(/never downloaded/) });
    const named = root({ ...pkg, 'node_modules/electron/path.txt': 'electron' });
    expect(electronBinary(named, {})).toEqual({ missing: expect.stringMatching(/binary is missing/) });
    const whole = root({
      ...pkg,
      'node_modules/electron/path.txt': 'electron',
      'node_modules/electron/dist/electron': '',
    });
    expect(electronBinary(whole, {})).toEqual({ path: join(whole, 'node_modules/electron/dist/electron') });
    const elsewhere = root({ 'electron-dist/electron': '' });
    expect(electronBinary(named, { ELECTRON_OVERRIDE_DIST_PATH: join(elsewhere, 'electron-dist') })).toEqual({
      path: join(elsewhere, 'electron-dist/electron'),
    });
  });

  function built(): string {
    const dir = root({
      'package.json': '{}',
      'src-main/index.ts': '',
      'out/main/index.js': '',
      'out/main/cli.js': '',
      'out/preload/index.cjs': '',
      'out/renderer/index.html': '',
    });
    const old = new Date(Date.now() - 60_000);
    for (const f of ['src-main/index.ts', 'src-main', 'package.json']) utimesSync(join(dir, f), old, old);
    writeFileSync(join(dir, 'out/main/cli.stamp'), `${sourceStamp(dir)}\n`);
    return dir;
  }

  it('builds only when a source is newer than the build', () => {
    const dir = built();
    expect(buildIsStale(dir)).toBe(false);
    writeFileSync(join(dir, 'src-main/index.ts'), 'changed');
    utimesSync(join(dir, 'out/main/index.js'), new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    expect(buildIsStale(dir)).toBe(true);
    expect(buildIsStale(root({ 'src-main/index.ts': '' }))).toBe(true);
  });

  it('builds when a source changed but kept an old time (copied with rsync -a), or the build has no stamp', () => {
    const dir = built();
    const old = new Date(Date.now() - 600_000);
    writeFileSync(join(dir, 'src-main/index.ts'), 'an update');
    utimesSync(join(dir, 'src-main/index.ts'), old, old);
    expect(buildIsStale(dir)).toBe(true);
    const unstamped = built();
    rmSync(join(unstamped, 'out/main/cli.stamp'));
    expect(buildIsStale(unstamped)).toBe(true);
  });

  const here = electronBinary();
  it.skipIf('path' in here)(
    `without the binary, says so in one line, no stack trace${'path' in here ? ' (skipped: the binary is installed here)' : ''}`,
    async () => {
      for (const mode of ['start', 'dev']) {
        const r = await run(process.execPath, ['scripts/electron.ts', mode]).catch(
          (e: { code: number; stdout: string; stderr: string }) => e,
        );
        expect('code' in r ? r.code : 0).toBe(1);
        expect(r.stdout).toBe('');
        const lines = r.stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^porthole: cannot open the desktop app: .*npm run demo/);
      }
    },
  );
});
