import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
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

  it('builds only when a source is newer than the build', () => {
    const dir = root({
      'src-main/index.ts': '',
      'out/main/index.js': '',
      'out/main/cli.js': '',
      'out/preload/index.cjs': '',
      'out/renderer/index.html': '',
    });
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, 'src-main/index.ts'), old, old);
    expect(buildIsStale(dir)).toBe(false);
    writeFileSync(join(dir, 'src-main/index.ts'), 'changed');
    utimesSync(join(dir, 'out/main/index.js'), old, old);
    expect(buildIsStale(dir)).toBe(true);
    expect(buildIsStale(root({ 'src-main/index.ts': '' }))).toBe(true);
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
