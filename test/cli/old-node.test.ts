// On a Node older than the project needs, every way in says so in one line of its own and stops with
// a non-zero exit code, with no JavaScript stack trace.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NEEDED } from '../../bin/node-version.js';

const ROOT = join(import.meta.dirname, '../..');

function versionOf(node: string): number[] | null {
  const r = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split('.').map(Number) : null;
}

function tooOld(v: number[]): boolean {
  return v[0]! < NEEDED[0]! || (v[0] === NEEDED[0] && v[1]! < NEEDED[1]!);
}

/** An older Node: the one .ci/run found on the machine, else the first too-old one on PATH. */
function findOldNode(): string | null {
  const given = process.env['PORTHOLE_OLD_NODE'];
  if (given) return given;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const node = join(dir, 'node');
    if (!existsSync(node)) continue;
    const v = versionOf(node);
    if (v && tooOld(v)) return node;
  }
  return null;
}

const oldNode = findOldNode();
const LINE = /Porthole needs Node\.js 22\.19 or newer, and this is Node\.js \d+\.\d+\.\d+ \(.+\): get Node 24 with "npm install --prefix ~\/\.local\/node24 node@24"/;

describe.skipIf(!oldNode)(
  `on a Node older than 22.19 (${oldNode ?? 'none found: PORTHOLE_OLD_NODE is unset and no older node is on PATH'})`,
  () => {
    it('porthole prints one line that names the Node found, the Node needed and how to get it, and exits 1', () => {
      const r = spawnSync(oldNode!, [join(ROOT, 'bin/porthole.js'), 'http', '3000'], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^porthole: /);
      expect(lines[0]).toMatch(LINE);
    });

    for (const script of [['run', 'demo'], ['start'], ['test']]) {
      it(`npm ${script.join(' ')} says so in a line of its own and fails, with no stack trace`, () => {
        const env = { ...process.env, PATH: `${dirname(oldNode!)}${delimiter}${process.env['PATH']}`, PORTHOLE_NESTED_TEST: '1' };
        const r = spawnSync('npm', script, { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
        expect(r.status).not.toBe(0);
        const output = `${r.stdout}\n${r.stderr}`;
        expect(output).toMatch(LINE);
        expect(output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
        expect(output).not.toContain('ERR_UNKNOWN_FILE_EXTENSION');
      }, 70_000);
    }
  },
);
