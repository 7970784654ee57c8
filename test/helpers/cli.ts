import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/porthole.js', import.meta.url));

/** A `porthole` process, spawned for real, with its output collected line by line. */
export interface CliProcess {
  proc: ChildProcess;
  stdout: string[];
  stderr: string[];
  /** Resolves with the first stdout line matching, or rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<ChildProcess>();

export function spawnCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const proc = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const listeners = new Set<() => void>();
  const collect = (into: string[]) => {
    let rest = '';
    return (chunk: Buffer): void => {
      rest += chunk.toString('utf8');
      const lines = rest.split('\n');
      rest = lines.pop() ?? '';
      into.push(...lines);
      for (const l of listeners) l();
    };
  };
  proc.stdout!.on('data', collect(stdout));
  proc.stderr!.on('data', collect(stderr));
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      running.delete(proc);
      for (const l of listeners) l();
      resolve(code);
    }),
  );
  return {
    proc,
    stdout,
    stderr,
    exited,
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(
              `no line matching ${pattern} within ${timeoutMs} ms; stdout: ${stdout.join('\n')}; stderr: ${stderr.join('\n')}`,
            ),
          );
        }, timeoutMs);
        const check = (): void => {
          for (const line of stdout) {
            const m = line.match(pattern);
            if (m) {
              clearTimeout(timer);
              listeners.delete(check);
              resolve(m);
              return;
            }
          }
          if (proc.exitCode !== null) {
            clearTimeout(timer);
            listeners.delete(check);
            reject(new Error(`exited with ${proc.exitCode} before printing ${pattern}; stderr: ${stderr.join('\n')}`));
          }
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Kills whatever a test left running. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (p) =>
        new Promise<void>((resolve) => {
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
}
