// What the browser inspector saves must still be there after a restart: profiles created and edited
// in it, the settings and the language, and the demo's URL.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { killAll, spawnCli } from '../helpers/cli.ts';

let configDir: string;
beforeAll(async () => {
  configDir = await mkdtemp(join(tmpdir(), 'porthole-persist-'));
});
afterEach(killAll);
afterAll(async () => {
  await rm(configDir, { recursive: true, force: true });
});

const env = () => ({ PORTHOLE_CONFIG_DIR: configDir, FPW_HOST: '', FPW_TOKEN: '' });

interface Result {
  ok: boolean;
  value?: unknown;
  error?: { code: string; message: string };
}

/** The inspector's bridge, as the page uses it. */
async function bridge(port: string, token: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/bridge?token=${token}`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let id = 0;
  const waiting = new Map<number, (r: Result) => void>();
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as { id?: number; result?: Result };
    if (m.id !== undefined) waiting.get(m.id)?.(m.result!);
  });
  return {
    call(command: string, payload?: unknown): Promise<Result> {
      const my = ++id;
      ws.send(JSON.stringify({ id: my, command, payload }));
      return new Promise((resolve) => waiting.set(my, resolve));
    },
    close: () => ws.close(),
  };
}

async function demo() {
  const p = spawnCli(['demo', '--inspect=127.0.0.1:0'], env());
  const [, port, token] = await p.waitFor(/^Inspector: http:\/\/127\.0\.0\.1:(\d+)\/#token=([0-9a-f]{64})$/);
  const [, publicUrl] = await p.waitFor(/^Public URL: (\S+)$/);
  return { p, bridge: await bridge(port!, token!), publicUrl: publicUrl! };
}

describe('the browser inspector of porthole demo, across a restart', () => {
  it('keeps created and edited profiles, settings and language, and the demo keeps its URL', async () => {
    const first = await demo();
    const tunnels = (await first.bridge.call('tunnels:list')).value as Array<{ id: string; name: string }>;
    expect(tunnels).toHaveLength(1);
    const demoId = tunnels[0]!.id;

    const created = await first.bridge.call('profiles:create', {
      profile: {
        name: 'made in the inspector',
        relay: { kind: 'fpw', url: 'http://127.0.0.1:9/' },
        upstream: { kind: 'http', target: 'http://127.0.0.1:3000' },
      },
    });
    expect(created.ok).toBe(true);
    const profiles = (await first.bridge.call('profiles:list')).value as Array<Record<string, unknown>>;
    const demoProfile = profiles.find((p) => p['id'] === demoId)!;
    const edited = await first.bridge.call('profiles:update', {
      id: demoId,
      profile: { ...demoProfile, name: 'renamed demo', workers: 3 },
    });
    expect(edited.ok).toBe(true);
    expect((await first.bridge.call('settings:set', { language: 'zh-CN' })).ok).toBe(true);
    const info = (await first.bridge.call('app:info')).value as { secrets: { encrypted: boolean; backend: string } };
    // What Settings says about secrets is true of where they now are: a file, in clear.
    expect(info.secrets).toEqual({ encrypted: false, backend: 'file' });
    first.bridge.close();
    expect(await first.p.stop('SIGINT')).toBe(0);

    const second = await demo();
    expect(second.publicUrl).toBe(first.publicUrl);
    const after = (await second.bridge.call('profiles:list')).value as Array<{ id: string; name: string; workers: number }>;
    expect(after.map((p) => p.name).sort()).toEqual(['made in the inspector', 'renamed demo']);
    expect(after.find((p) => p.id === demoId)?.workers).toBe(3);
    const settings = (await second.bridge.call('settings:get')).value as { language: string };
    expect(settings.language).toBe('zh-CN');
    // The demo's tunnel is the one that runs; the other is listed, stopped.
    const listed = (await second.bridge.call('tunnels:list')).value as Array<{ name: string; state: { phase: string } }>;
    expect(listed.find((t) => t.name === 'renamed demo')?.state.phase).toBe('online');
    expect(listed.find((t) => t.name === 'made in the inspector')?.state.phase).toBe('stopped');
    second.bridge.close();
    expect(await second.p.stop('SIGINT')).toBe(0);
  });
});
