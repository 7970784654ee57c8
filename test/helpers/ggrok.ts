import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SOURCE = join(import.meta.dirname, '../fixtures/ggrok');
const GORILLA = '/usr/share/gocode/src/github.com/gorilla/websocket';

/**
 * Builds the test's ggrok peer (test/fixtures/ggrok, Go) with Debian's golang-go and the gorilla
 * package from golang-github-gorilla-websocket-dev, vendored, with no module download; cached by
 * the source's modification time. Null, with the reason, where Go or gorilla is missing.
 */
export function buildGgrok(): { binary: string } | { missing: string } {
  const go = ['/usr/bin/go', '/usr/lib/go/bin/go'].find((p) => existsSync(p));
  if (!go) return { missing: 'Go is not installed (Debian: golang-go)' };
  if (!existsSync(GORILLA)) return { missing: 'gorilla/websocket is not installed (Debian: golang-github-gorilla-websocket-dev)' };
  const dir = join(tmpdir(), 'porthole-ggrok-build');
  const binary = join(dir, 'ggrok');
  const stamp = String(statSync(join(SOURCE, 'main.go')).mtimeMs);
  if (existsSync(binary) && existsSync(join(dir, 'stamp')) && execFileSync('cat', [join(dir, 'stamp')]).toString() === stamp) {
    return { binary };
  }
  mkdirSync(join(dir, 'vendor/github.com/gorilla'), { recursive: true });
  cpSync(join(SOURCE, 'main.go'), join(dir, 'main.go'));
  cpSync(join(SOURCE, 'go.mod'), join(dir, 'go.mod'));
  cpSync(GORILLA, join(dir, 'vendor/github.com/gorilla/websocket'), { recursive: true });
  writeFileSync(join(dir, 'vendor/modules.txt'), '# github.com/gorilla/websocket v1.5.0\n## explicit\ngithub.com/gorilla/websocket\n');
  execFileSync(go, ['build', '-o', binary, '.'], {
    cwd: dir,
    env: { ...process.env, GOFLAGS: '-mod=vendor', GOPROXY: 'off', GOCACHE: join(dir, 'cache'), GO111MODULE: 'on' },
    stdio: 'pipe',
  });
  writeFileSync(join(dir, 'stamp'), stamp);
  return { binary };
}

/** Starts the peer; resolves once it printed a line matching `ready`. */
export function runGgrok(binary: string, args: string[], ready: RegExp): Promise<{ proc: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = out.match(ready);
      if (m) resolve({ proc, match: m });
    });
    proc.once('exit', (code) => reject(new Error(`ggrok ${args[0]} exited with ${code}: ${out}`)));
  });
}
