import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './browser.ts';

/** Debian's HAProxy, run by a test in the foreground with its own configuration. */
export interface Haproxy {
  port: number;
  stop(): Promise<void>;
}

/**
 * The HAProxy configuration of the README's cluster section, as it is written there, moved to
 * 127.0.0.1: the frontend on `port`, one server line per relay port.
 */
export function readmeHaproxyConfig(port: number, relayPorts: number[]): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /```haproxy\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no ```haproxy block');
  const servers = /^(\s*)server relay1 .*$/m.exec(block);
  if (!servers || !/^\s*bind :80$/m.test(block))
    throw new Error('the README HAProxy block changed shape: update this helper');
  const indent = servers[1]!;
  return block
    .replace(/^\s*bind :80$/m, `    bind 127.0.0.1:${port}`)
    .replace(/^\s*server relay\d .*\n?/gm, '')
    .concat(relayPorts.map((p, i) => `${indent}server relay${i + 1} 127.0.0.1:${p}\n`).join(''));
}

export async function startHaproxy(config: string, port: number): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'porthole-haproxy-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const proc: ChildProcess = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`haproxy exited with ${proc.exitCode}: ${output}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error(`haproxy did not listen on ${port}: ${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}
