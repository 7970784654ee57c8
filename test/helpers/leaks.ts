import os from 'node:os';
import { expect } from 'vitest';

/**
 * Checks that a page a visitor sees shows nothing of the machine behind the tunnel: no local path
 * (the given ones, and the temp folder every test works in), no Node error code or message.
 */
export function expectNothingLocal(page: string, ...paths: string[]): void {
  for (const p of [...paths, os.tmpdir()]) expect(page).not.toContain(p);
  expect(page).not.toMatch(/\bE[A-Z]{3,}\b|UND_ERR|realpath|errno|syscall|\bat \S+:\d+:\d+/);
}
