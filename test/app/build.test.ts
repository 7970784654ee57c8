import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

// `electron-vite build` needs only the electron package's version, never its binary, so the desktop
// bundles are proven to build on a machine where Electron cannot be downloaded.
describe('desktop build', () => {
  beforeAll(async () => {
    await run(process.execPath, ['node_modules/electron-vite/bin/electron-vite.js', 'build'], { timeout: 120_000 });
  }, 150_000);

  it('emits an ESM main process', async () => {
    const main = await readFile('out/main/index.js', 'utf8');
    expect(main).toMatch(/^import .* from "electron";$/m);
    expect(main).toContain('contextIsolation: true');
    expect(main).toContain('sandbox: true');
    expect(main).toContain('nodeIntegration: false');
  });

  it('emits a CommonJS preload that requires nothing but electron', async () => {
    const preload = await readFile('out/preload/index.cjs', 'utf8');
    const required = [...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    expect(required.length).toBeGreaterThan(0);
    expect(new Set(required)).toEqual(new Set(['electron']));
  });

  it('emits a renderer page with a Content-Security-Policy', async () => {
    const html = await readFile('out/renderer/index.html', 'utf8');
    expect(html).toMatch(/<meta\s+http-equiv="Content-Security-Policy"\s+content="[^"]*default-src 'self'/);
    expect(html).not.toContain("'unsafe-eval'");
  });
});
