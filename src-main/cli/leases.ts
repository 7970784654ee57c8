import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Which hosts the `porthole` processes running on this machine serve: one small file per process
 * and host (`running/<relay+host digest>.<pid>.json` next to the config file), removed when the
 * process exits. A file whose process is gone (killed, a reboot) counts for nothing.
 */
export class HostLeases {
  readonly #dir: string;

  constructor(configDir: string) {
    this.#dir = join(configDir, 'running');
  }

  /** The pid of another live porthole serving `host` through `relayUrl`, if there is one. */
  holder(relayUrl: string, host: string): number | null {
    const prefix = `${leaseKey(relayUrl, host)}.`;
    let names: string[];
    try {
      names = readdirSync(this.#dir);
    } catch {
      return null;
    }
    for (const name of names) {
      if (!name.startsWith(prefix)) continue;
      const pid = Number(name.slice(prefix.length).replace(/\.json$/, ''));
      if (!Number.isInteger(pid) || pid === process.pid) continue;
      if (alive(pid)) return pid;
      try {
        unlinkSync(join(this.#dir, name));
      } catch {
        // another process cleaned it up first
      }
    }
    return null;
  }

  /** Records that this process serves `host` through `relayUrl`, until it exits. */
  take(relayUrl: string, host: string): void {
    const file = join(this.#dir, `${leaseKey(relayUrl, host)}.${process.pid}.json`);
    try {
      mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
      writeFileSync(
        file,
        JSON.stringify({ pid: process.pid, relay: relayUrl, host, since: new Date().toISOString() }),
        {
          mode: 0o600,
        },
      );
    } catch {
      // A read-only config folder: the relay's rule check still guards the host.
      return;
    }
    process.once('exit', () => {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    });
  }

  /** Pids of live processes holding leases, with their hosts (for tests and `porthole list`). */
  all(): Array<{ pid: number; relay: string; host: string }> {
    let names: string[];
    try {
      names = readdirSync(this.#dir);
    } catch {
      return [];
    }
    return names.flatMap((name) => {
      try {
        const lease = JSON.parse(readFileSync(join(this.#dir, name), 'utf8')) as {
          pid: number;
          relay: string;
          host: string;
        };
        return alive(lease.pid) ? [lease] : [];
      } catch {
        return [];
      }
    });
  }
}

function leaseKey(relayUrl: string, host: string): string {
  return createHash('sha256').update(`${relayUrl} ${host.toLowerCase()}`).digest('hex').slice(0, 24);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
