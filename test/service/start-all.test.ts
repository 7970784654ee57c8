// "Start all" starts every tunnel it can: one that cannot start (here, the offline demo, whose relay
// port is taken) does not keep the others down, and the answer says which did not start and why.
import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { DemoEnvironment } from '../../src-main/service/DemoEnvironment.ts';
import { PortholeService } from '../../src-main/service/PortholeService.ts';
import { MemorySettingsStore } from '../../src-main/service/SettingsStore.ts';
import { TunnelManager } from '../../src-main/engine/TunnelManager.ts';
import { echoHandler, startRelay, startServer } from '../helpers/net.ts';
import { MemoryProfileStore, testInfo } from '../app/helpers.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

describe('Start all', () => {
  it('starts the tunnels it can, and says which did not and why', async () => {
    const relay = await startRelay();
    cleanups.push(() => relay.close(0));
    const up = await startServer(echoHandler());
    cleanups.push(() => up.close());
    // The demo's relay port, taken by someone else.
    const squatter = net.createServer();
    squatter.listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    cleanups.push(() => new Promise<void>((r) => squatter.close(() => r())));
    const takenPort = (squatter.address() as net.AddressInfo).port;
    const profiles = new MemoryProfileStore();
    await profiles.save({
      id: 'local-demo',
      name: 'Offline demo',
      relay: { kind: 'fpw', url: `http://127.0.0.1:${takenPort}/`, host: 'demo-words.localhost', token: 'd' },
      upstream: { kind: 'http', target: 'http://127.0.0.1:1' },
    });
    for (const name of ['one', 'two']) {
      await profiles.save({
        id: name,
        name,
        relay: { kind: 'fpw', url: `${relay.url}/`, host: `${name}.test`, token: name },
        upstream: { kind: 'http', target: up.url },
      });
    }
    const service = new PortholeService({
      manager: new TunnelManager({ batchIntervalMs: 20 }),
      profiles,
      settings: new MemorySettingsStore(),
      demo: new DemoEnvironment({ port: takenPort }),
      info: testInfo,
    });
    cleanups.push(() => service.close(0));
    await service.load({ autoStart: false });
    const r = await service.commands['tunnels:start-all'](undefined);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.message).toMatch(
        /1 of 3 tunnels did not start: Offline demo: .*EADDRINUSE|1 of 3 tunnels did not start: Offline demo: .*in use/,
      );
    }
    // The one that could not start shows so, with the reason, as after an auto-start at launch.
    const demo = service.tunnels().find((t) => t.name === 'Offline demo')!;
    expect(demo.state.phase).toBe('failed');
    expect(demo.state.phase === 'failed' && demo.state.reason).toMatch(/offline demo could not start/);
    const phases = service.tunnels().map((t) => [t.name, t.state.phase]);
    expect(phases).toContainEqual(['one', expect.stringMatching(/starting|online/)]);
    expect(phases).toContainEqual(['two', expect.stringMatching(/starting|online/)]);
  });
});
