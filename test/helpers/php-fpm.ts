import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Debian's PHP-FPM binary (there is no `php-fpm` on PATH). */
export const PHP_FPM = '/usr/sbin/php-fpm8.2';

export interface PhpFpm {
  /** The address to give FastCgiUpstream: `127.0.0.1:PORT` or `unix:/tmp/.../php-fpm.sock`. */
  address: string;
  /** The master's process id. */
  pid: number;
  /** Everything the master printed (its log, workers' output). */
  log(): string;
  /** Kills the master (and so its workers) and removes the temp folder. */
  stop(): Promise<void>;
}

export interface PhpFpmOptions {
  /** Listen on a unix socket in the temp folder instead of a TCP port. */
  unixSocket?: boolean;
  /** Workers in the static pool. @default 4 */
  children?: number;
  /** `pm.max_requests`: a worker exits (closing its kept connection) after this many. @default 0 (never) */
  maxRequests?: number;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts a private PHP-FPM master in the foreground with a pool of its own (static, 4 workers,
 * errors logged to stderr and not shown in pages), and resolves once it accepts connections.
 * @throws when PHP-FPM is not installed: the tests need it, they are never skipped.
 */
export async function startPhpFpm(opts: PhpFpmOptions = {}): Promise<PhpFpm> {
  if (!existsSync(PHP_FPM)) {
    throw new Error(
      `${PHP_FPM} is missing: install Debian's PHP-FPM (apt-get install --no-install-recommends php-fpm; .ci/run does it)`,
    );
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'porthole-fpm-'));
  // mkdtemp makes 0700; workers that ran as another user could not reach the socket otherwise.
  await chmod(dir, 0o755);
  const listen = opts.unixSocket ? path.join(dir, 'php-fpm.sock') : `127.0.0.1:${await freePort()}`;
  const conf = `[global]
pid = ${dir}/php-fpm.pid
error_log = ${dir}/php-fpm.log
log_level = notice
daemonize = no

[test]
listen = ${listen}
listen.mode = 0666
pm = static
pm.max_children = ${opts.children ?? 4}
pm.max_requests = ${opts.maxRequests ?? 0}
catch_workers_output = yes
decorate_workers_output = no
clear_env = no
php_admin_flag[display_errors] = off
php_admin_flag[log_errors] = on
php_admin_value[upload_max_filesize] = 16M
php_admin_value[post_max_size] = 32M
`;
  const confPath = path.join(dir, 'php-fpm.conf');
  await writeFile(confPath, conf);

  // -O copies the log to stderr (a socket, which /proc/self/fd/2 as error_log cannot open), where
  // readiness is awaited.
  const child: ChildProcess = spawn(PHP_FPM, ['-F', '-O', '-y', confPath, '-R'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (b: Buffer): void => {
    output += b.toString('utf8');
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = once(child, 'exit');

  try {
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (output.includes('ready to handle connections')) {
          child.stderr!.off('data', check);
          child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null): void =>
        reject(new Error(`php-fpm exited with ${code} before it was ready:\n${output}`));
      child.stderr!.on('data', check);
      child.once('exit', onExit);
      check();
    });
    // The master says it is ready once it listens; one connection proves it.
    const probe = opts.unixSocket ? net.connect(listen) : net.connect(Number(listen.split(':')[1]), '127.0.0.1');
    await once(probe, 'connect');
    probe.destroy();
  } catch (err) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    address: opts.unixSocket ? `unix:${listen}` : listen,
    pid: child.pid!,
    log: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        // SIGTERM is PHP-FPM's immediate shutdown: the master kills its workers and exits.
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
