// The command line as a new user meets it: help for each command, clear usage errors, saved profiles
// started and listed from the headless store, profiles moved between the app and the CLI.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exportProfiles, parseImport } from '../../src-main/service/profile-io.ts';
import { ProfileSchema } from '../../src-main/engine/profile.ts';
import { echoHandler, startServer, visit, type Server } from '../helpers/net.ts';
import { killAll, spawnCli } from '../helpers/cli.ts';

let configDir: string;
let upstream: Server;

beforeAll(async () => {
  upstream = await startServer(echoHandler());
});
beforeEach(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'porthole-commands-'));
});
afterEach(async () => {
  await killAll();
  await rm(configDir, { recursive: true, force: true });
});
afterAll(async () => {
  await upstream.close();
});

const env = () => ({ PORTHOLE_CONFIG_DIR: configDir, FPW_HOST: '', FPW_TOKEN: '' });

async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnCli(args, env());
  const code = await p.exited;
  return { code, stdout: p.stdout.join('\n'), stderr: p.stderr.join('\n') };
}

describe('help', () => {
  for (const command of ['http', 'fastcgi', 'folder', 'demo', 'relay', 'start', 'list', 'import', 'export']) {
    for (const flag of ['--help', '-h']) {
      it(`porthole ${command} ${flag} prints that command's usage and exits 0`, async () => {
        const r = await run([command, flag]);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^Usage: porthole ${command}\\b`));
        expect(r.stderr).toBe('');
      });
    }
  }

  it('porthole help http is the same as porthole http --help', async () => {
    const a = await run(['help', 'http']);
    const b = await run(['http', '--help']);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toContain('--basic-auth');
  });
});

describe('what `http` takes as its target', () => {
  it('refuses a bare word that is neither a port, host:port nor URL, saying what it expected', async () => {
    const r = await run(['http', 'notaport']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"notaport"');
    expect(r.stderr).toMatch(/a port \(3000\), host:port \(localhost:3000\) or a URL/);
  });

  it('still takes a port, host:port and a URL', async () => {
    for (const target of ['3000', 'localhost:3000', 'http://127.0.0.1:3000']) {
      const r = await run(['http', target, '--workers', 'many']);
      // Reaches the option check, past the target.
      expect(r.stderr).toContain('--workers must be a whole number');
    }
  });
});

describe('`relay` cluster and public-address options', () => {
  it('refuses what cannot make a cluster, saying why, with exit code 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--redis', 'redis://127.0.0.1:6379/'], /--redis needs --cluster-secret-file/],
      [['--node-url', 'http://10.0.0.1:8080'], /give --redis too/],
      [
        ['--redis', 'http://127.0.0.1:6379/', '--cluster-secret-file', 'f'],
        /--redis must be a redis:\/\/ or rediss:\/\/ URL/,
      ],
      [
        ['--redis', 'redis://h/', '--cluster-secret-file', 'f', '--node-url', 'h:1'],
        /--node-url must be an http:\/\/ or https:\/\/ URL/,
      ],
      [['--public-scheme', 'ftp'], /--public-scheme must be "http" or "https"/],
      [['--public-port', '0'], /--public-port must be a whole number from 1 to 65535/],
    ];
    for (const [args, message] of cases) {
      const r = await run(['relay', '--port', '0', ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('refuses a cluster secret file that is missing or too short, and a wildcard bind without --node-url', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'porthole-secret-'));
    try {
      const short = join(dir, 'short');
      await writeFile(short, 'tiny\n');
      const missing = await run([
        'relay',
        '--port',
        '0',
        '--redis',
        'redis://127.0.0.1:1/',
        '--cluster-secret-file',
        join(dir, 'none'),
      ]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('cannot read --cluster-secret-file');
      const tiny = await run([
        'relay',
        '--port',
        '0',
        '--redis',
        'redis://127.0.0.1:1/',
        '--cluster-secret-file',
        short,
      ]);
      expect(tiny.code).toBe(1);
      expect(tiny.stderr).toContain('16 characters or more');
      const long = join(dir, 'long');
      await writeFile(long, 'a-secret-long-enough-for-a-cluster\n');
      const wildcard = await run([
        'relay',
        '--port',
        '0',
        '--bind',
        '0.0.0.0',
        '--redis',
        'redis://127.0.0.1:1/',
        '--cluster-secret-file',
        long,
      ]);
      expect(wildcard.code).toBe(2);
      expect(wildcard.stderr).toContain('--node-url');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('output while the relay is unreachable', () => {
  it('prints no blank line on stdout for each reconnect attempt', async () => {
    const p = spawnCli(
      ['http', String(upstream.port), '--relay', 'http://127.0.0.1:9/', '--host', 'x.localhost'],
      env(),
    );
    for (let i = 0; i < 200 && p.stderr.filter((l) => l.startsWith('Relay unreachable')).length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(p.stderr.filter((l) => l.startsWith('Relay unreachable')).length).toBeGreaterThanOrEqual(2);
    expect(await p.stop('SIGINT')).toBe(0);
    expect(p.stdout.filter((l) => l.trim() === '')).toEqual([]);
  });
});

describe('saved profiles on the command line', () => {
  it("imports the app's export file, lists the profiles with their URLs, starts one by name, and exports them again", async () => {
    const relay = spawnCli(['relay', '--port', '0'], env());
    const [, relayUrl, relayPort] = await relay.waitFor(/^Listening on (http:\/\/127\.0\.0\.1:(\d+))$/);
    // The file the desktop app writes (its export, secrets included): the same code makes it.
    const profile = ProfileSchema.parse({
      id: 'p-from-app',
      name: 'shop',
      relay: { kind: 'fpw', url: `${relayUrl!}/`, host: 'shop.localhost', token: 'app-token' },
      upstream: { kind: 'http', target: upstream.url },
      access: { basicAuth: [{ user: 'me', password: 'pw' }], allow: [], deny: [] },
    });
    const file = join(configDir, 'from-app.json');
    await writeFile(file, exportProfiles([profile], true).text);

    const imported = await run(['import', file]);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain('Imported 1 profile: shop');

    const listed = await run(['list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      new RegExp(
        `^shop +http://shop\\.localhost:${relayPort}/ +-> ${upstream.url.replaceAll('.', '\\.')} +stopped$`,
        'm',
      ),
    );

    const started = spawnCli(['start', 'shop'], env());
    await started.waitFor(new RegExp(`^Forwarding http://shop\\.localhost:${relayPort}/ -> `));
    // Its rules came along: the password is asked for, and opens.
    expect((await visit(Number(relayPort), 'shop.localhost')).status).toBe(401);
    const auth = `Basic ${Buffer.from('me:pw').toString('base64')}`;
    expect((await visit(Number(relayPort), 'shop.localhost', { headers: { authorization: auth } })).status).toBe(200);
    const running = await run(['list']);
    expect(running.stdout).toMatch(/^shop +.* running \(pid \d+\)$/m);
    expect(await started.stop('SIGINT')).toBe(0);

    const out = join(configDir, 'to-app.json');
    const exported = await run(['export', '--secrets', '--out', out]);
    expect(exported.code).toBe(0);
    // What the app imports: the same profile, secrets and all.
    const back = parseImport(await readFile(out, 'utf8'), new Set());
    expect(back.skipped).toEqual([]);
    expect(back.secretsGenerated).toBe(0);
    expect(back.profiles).toHaveLength(1);
    expect(back.profiles[0]).toMatchObject({ name: 'shop', relay: { host: 'shop.localhost', token: 'app-token' } });
    expect(back.profiles[0]!.access.basicAuth).toEqual([{ user: 'me', password: 'pw' }]);
  });

  it('says so when no profile has that name, and lists nothing when none is saved', async () => {
    const none = await run(['list']);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('No saved profiles');
    const missing = await run(['start', 'nothing-here']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no saved profile is named "nothing-here"');
  });
});
