// The engine-facing service over a real TunnelManager, a real relay and a real upstream on 127.0.0.1.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoEnvironment } from '../../src-main/service/DemoEnvironment.ts';
import { PortholeService } from '../../src-main/service/PortholeService.ts';
import { MemorySettingsStore } from '../../src-main/service/SettingsStore.ts';
import { TunnelManager } from '../../src-main/engine/TunnelManager.ts';
import {
  SAVED_SECRET,
  type EventName,
  type EventPayloads,
  type ProfileData,
  type Result,
  type TunnelView,
} from '../../src-main/ipc/contract.ts';
import type { RelayServer } from '../../src-main/relay/RelayServer.ts';
import { echoHandler, startRelay, startServer, visit, type Server } from '../helpers/net.ts';
import { MemoryProfileStore, testInfo } from '../app/helpers.ts';

let relay: RelayServer;
let upstream: Server;
let service: PortholeService;
let demo: DemoEnvironment;
const profiles = new MemoryProfileStore();

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

function next<E extends EventName>(
  event: E,
  pred: (p: EventPayloads[E]) => boolean = () => true,
): Promise<EventPayloads[E]> {
  return new Promise((resolve) => {
    const off = service.subscribe((m) => {
      if (m.event === event && pred(m.payload as EventPayloads[E])) {
        off();
        resolve(m.payload as EventPayloads[E]);
      }
    });
  });
}

const online = (id: string) => next('tunnels:status-changed', (t) => t.id === id && t.state.phase === 'online');

beforeAll(async () => {
  relay = await startRelay();
  upstream = await startServer(echoHandler());
  demo = new DemoEnvironment();
  service = new PortholeService({
    manager: new TunnelManager({ batchIntervalMs: 20 }),
    profiles,
    settings: new MemorySettingsStore(),
    demo,
    info: testInfo,
  });
  await service.load();
});

afterAll(async () => {
  await service.close(0);
  await relay.close(0);
  await upstream.close();
});

describe('PortholeService', () => {
  let created: ProfileData;

  it('creates a profile from a draft: id, host and token generated, tunnel added', async () => {
    const changed = next('tunnels:changed');
    created = value(
      await service.commands['profiles:create']({
        profile: {
          name: 'Echo',
          relay: { kind: 'fpw', url: `${relay.url}/` },
          upstream: { kind: 'http', target: upstream.url, insecure: false },
          workers: 2,
          hostHeader: 'upstream',
          upstreamTimeoutMs: 60_000,
          autoStart: false,
          access: { basicAuth: [], allow: [], deny: [] },
          headers: { request: { add: [], remove: [] }, response: { add: [], remove: [] } },
        },
      }),
    );
    expect(created.id).toMatch(/^p-[0-9a-f]{12}$/);
    expect(created.relay.host).toMatch(/^[a-z]+(-[a-z]+){4}\.localhost$/);
    // The UI gets a mark for the token; the token itself comes only when asked for.
    expect(created.relay.token).toBe(SAVED_SECRET);
    expect(
      value(await service.commands['profiles:secret']({ id: created.id, path: 'relay.token' })).length,
    ).toBeGreaterThan(10);
    expect((await changed).map((t) => t.id)).toEqual([created.id]);
    expect(value(await service.commands['profiles:list'](undefined))).toEqual([created]);
  });

  it('starts it, pushes its status, logs its requests in batches, lists and details them', async () => {
    const up = online(created.id);
    const started = value(await service.commands['tunnels:start']({ id: created.id }));
    expect(started.state.phase).toMatch(/starting|online/);
    const view: TunnelView = await up;
    expect(view.state.phase).toBe('online');
    expect(service.aggregate()).toBe('online');

    const batch = next('requests:batch');
    const res = await visit(relay.port, created.relay.host, { path: '/who', headers: { 'x-marker': 'm-1' } });
    expect(res.body.toString()).toBe('m-1');
    const [summary] = await batch;
    expect(summary).toMatchObject({ tunnelId: created.id, method: 'GET', url: '/who', status: 200, replayOf: null });

    const list = value(await service.commands['requests:list']({ tunnelId: created.id }));
    expect(list.map((r) => r.id)).toEqual([summary!.id]);
    const detail = value(await service.commands['requests:get']({ tunnelId: created.id, id: summary!.id }));
    expect(Buffer.from(detail.responseBody.base64, 'base64').toString()).toBe('m-1');
    expect(detail.requestHeaders).toContainEqual(['x-marker', 'm-1']);
    expect(detail.replayable).toBe(true);
  });

  it('replays a request (with an edit) and exports HAR 1.2', async () => {
    const [original] = value(await service.commands['requests:list']({ tunnelId: created.id }));
    const replayed = value(
      await service.commands['requests:replay']({
        tunnelId: created.id,
        id: original!.id,
        edit: { headers: [['x-marker', 'again']] },
      }),
    );
    expect(replayed).toMatchObject({ replayOf: original!.id, status: 200 });
    const detail = value(await service.commands['requests:get']({ tunnelId: created.id, id: replayed.id }));
    expect(Buffer.from(detail.responseBody.base64, 'base64').toString()).toBe('again');

    const har = value(await service.commands['requests:export-har']({ tunnelId: created.id }));
    expect(har.fileName).toMatch(/^Echo-.*\.har$/);
    const doc = JSON.parse(har.text) as { log: { version: string; entries: Array<{ request: { url: string } }> } };
    expect(doc.log.version).toBe('1.2');
    expect(doc.log.entries.map((e) => e.request.url)).toEqual([
      `http://${created.relay.host}:${relay.port}/who`,
      `http://${created.relay.host}:${relay.port}/who`,
    ]);

    const gone = await service.commands['requests:get']({ tunnelId: created.id, id: 'nope' });
    expect(gone).toMatchObject({ ok: false, error: { code: 'not-found' } });
    value(await service.commands['requests:clear']({ tunnelId: created.id }));
    expect(value(await service.commands['requests:list']({ tunnelId: created.id }))).toEqual([]);
  });

  it('updates a running profile: stopped, replaced, started again; the token is kept', async () => {
    const up = online(created.id);
    const updated = value(
      await service.commands['profiles:update']({
        id: created.id,
        profile: {
          ...created,
          name: 'Echo 2',
          relay: { kind: 'fpw', url: created.relay.url, host: created.relay.host },
        },
      }),
    );
    expect(updated.name).toBe('Echo 2');
    expect(updated.relay.token).toBe(created.relay.token);
    expect((await up).name).toBe('Echo 2');
    created = updated;
  });

  it('duplicates under a new id, name and host', async () => {
    const copy = value(await service.commands['profiles:duplicate']({ id: created.id }));
    expect(copy.id).not.toBe(created.id);
    expect(copy.name).toBe('Echo 2 (copy)');
    expect(copy.relay.host).not.toBe(created.relay.host);
    expect(copy.relay.host.endsWith('.localhost')).toBe(true);
    expect(copy.autoStart).toBe(false);
    expect(value(await service.commands['profiles:delete']({ id: copy.id }))).toEqual({ deleted: true });
    expect(service.tunnels().map((t) => t.id)).toEqual([created.id]);
  });

  it('exports without secrets unless asked, and imports them back with new secrets', async () => {
    const token = value(await service.commands['profiles:secret']({ id: created.id, path: 'relay.token' }));
    const plain = value(await service.commands['profiles:export']({}));
    expect(plain.fileName).toMatch(/^porthole-profiles-\d{4}-\d{2}-\d{2}\.json$/);
    expect(plain.text).not.toContain(token);
    const full = value(await service.commands['profiles:export']({ includeSecrets: true }));
    expect(full.text).toContain(token);

    const result = value(await service.commands['profiles:import']({ text: plain.text }));
    expect(result.skipped).toEqual([]);
    expect(result.secretsGenerated).toBe(1);
    const [imported] = result.imported;
    expect(imported!.id).not.toBe(created.id);
    expect(value(await service.commands['profiles:secret']({ id: imported!.id, path: 'relay.token' }))).not.toBe(token);
    value(await service.commands['profiles:delete']({ id: imported!.id }));

    const bad = value(await service.commands['profiles:import']({ text: JSON.stringify([{ name: 'x' }, 42]) }));
    expect(bad.imported).toEqual([]);
    expect(bad.skipped.map((s) => s.index)).toEqual([0, 1]);
    expect(await service.commands['profiles:import']({ text: 'not json' })).toMatchObject({
      ok: false,
      error: { code: 'invalid-profile' },
    });
  });

  it('creates a public-relay profile from its preset', async () => {
    const presets = value(await service.commands['profiles:presets'](undefined));
    expect(presets.map((p) => [p.id, p.relayUrl, p.domain])).toEqual([
      ['public-fpw', 'https://{host}/', '28820.com'],
      ['local-demo', null, 'localhost'],
    ]);
    const p = value(await service.commands['profiles:create-from-preset']({ preset: 'public-fpw', target: '3000' }));
    expect(p.relay.url).toBe('https://{host}/');
    expect(p.relay.host).toMatch(/\.28820\.com$/);
    expect(p.upstream).toEqual({ kind: 'http', target: 'http://127.0.0.1:3000', insecure: false });
    expect(await service.commands['profiles:create-from-preset']({ preset: 'public-fpw' })).toMatchObject({
      ok: false,
      error: { code: 'invalid-payload' },
    });
    value(await service.commands['profiles:delete']({ id: p.id }));
  });

  it('the offline demo: embedded relay and demo site over the WebSocket transport, online with no network', async () => {
    const p = await service.ensureDemoProfile();
    expect(p.id).toBe('local-demo');
    expect(p.relay.kind).toBe('ws');
    expect(p.relay.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    expect(p.relay.host.endsWith('.localhost')).toBe(true);
    const up = online('local-demo');
    value(await service.commands['tunnels:start']({ id: 'local-demo' }));
    const view = await up;
    const port = Number(new URL(p.relay.url).port);
    expect(view.publicUrl).toBe(`http://${p.relay.host}:${port}/`);
    const page = await visit(port, p.relay.host);
    expect(page.status).toBe(200);
    expect(page.body.toString()).toContain('Porthole demo');
    // The demo page's WebSocket echo works through it, as the page's own button shows.
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/echo-ws`, { headers: { host: p.relay.host } });
    const echoed = new Promise<string>((resolve, reject) => {
      ws.on('message', (d: Buffer) => {
        if (d.toString().includes('hello demo')) resolve(d.toString());
      });
      ws.once('error', reject);
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send('hello demo');
    expect(await echoed).toContain('hello demo');
    ws.close();
    // A second call finds the profile instead of making another.
    expect((await service.ensureDemoProfile()).relay.host).toBe(p.relay.host);
  });

  it('changes settings and says so', async () => {
    const changed = next('settings:changed');
    const s = value(await service.commands['settings:set']({ language: 'zh-CN', notifications: false }));
    expect(s).toEqual({ language: 'zh-CN', notifications: false, launchAtLogin: false, theme: 'system' });
    expect(await changed).toEqual(s);
    expect(value(await service.commands['settings:get'](undefined))).toEqual(s);
  });

  it('does not start a folder profile whose folder is missing: the tunnel fails, saying why', async () => {
    const missing = join(tmpdir(), 'porthole-no-such-folder-for-service-test');
    const folder = value(
      await service.commands['profiles:create']({
        profile: {
          name: 'Gone folder',
          relay: { kind: 'fpw', url: `${relay.url}/` },
          upstream: { kind: 'folder', root: missing, dotfiles: false, listing: true, followSymlinks: false },
          workers: 2,
          hostHeader: 'upstream',
          upstreamTimeoutMs: 60_000,
          autoStart: false,
          access: { basicAuth: [], allow: [], deny: [] },
          headers: { request: { add: [], remove: [] }, response: { add: [], remove: [] } },
        },
      }),
    );
    const failed = next('tunnels:status-changed', (t) => t.id === folder.id && t.state.phase === 'failed');
    const view = value(await service.commands['tunnels:start']({ id: folder.id }));
    expect(view.state).toEqual({ phase: 'failed', reason: `the folder ${missing} does not exist` });
    expect((await failed).state).toEqual(view.state);
    value(await service.commands['profiles:delete']({ id: folder.id }));
  });

  it('answers unknown ids with not-found values', async () => {
    expect(await service.commands['tunnels:start']({ id: 'nope' })).toMatchObject({
      ok: false,
      error: { code: 'not-found' },
    });
    expect(await service.commands['requests:list']({ tunnelId: 'nope' })).toMatchObject({
      ok: false,
      error: { code: 'not-found' },
    });
    expect(await service.commands['profiles:update']({ id: 'nope', profile: { ...created } })).toMatchObject({
      ok: false,
      error: { code: 'not-found' },
    });
  });

  it('stop-all stops every tunnel; after close() nothing new is accepted', async () => {
    const views = value(await service.commands['tunnels:stop-all'](undefined));
    expect(views.every((t) => t.state.phase === 'stopped')).toBe(true);
    expect(service.aggregate()).toBe('idle');
    await service.close(0);
    expect(await service.commands['tunnels:start']({ id: created.id })).toMatchObject({
      ok: false,
      error: { code: 'shutting-down' },
    });
    expect(value(await service.commands['app:info'](undefined))).toMatchObject({ name: 'Porthole', firstRun: false });
  });
});

describe('PortholeService at launch', () => {
  it('starts the tunnels flagged auto-start, and only those', async () => {
    const r = await startRelay();
    const up = await startServer(echoHandler());
    const store = new MemoryProfileStore([
      {
        id: 'auto',
        name: 'auto',
        relay: { kind: 'fpw', url: `${r.url}/`, host: 'auto.localhost', token: 't-auto' },
        upstream: { kind: 'http', target: up.url },
        autoStart: true,
      },
      {
        id: 'manual',
        name: 'manual',
        relay: { kind: 'fpw', url: `${r.url}/`, host: 'manual.localhost', token: 't-manual' },
        upstream: { kind: 'http', target: up.url },
      },
    ]);
    const s = new PortholeService({
      manager: new TunnelManager(),
      profiles: store,
      settings: new MemorySettingsStore(),
      info: () => {
        throw new Error('not needed');
      },
    });
    try {
      await s.load();
      const phases = Object.fromEntries(s.tunnels().map((t) => [t.id, t.state.phase]));
      expect(phases['auto']).toMatch(/starting|online/);
      expect(phases['manual']).toBe('stopped');
    } finally {
      await s.close(0);
      await r.close(0);
      await up.close();
    }
  });
});

describe('app:info', () => {
  it('names the stored profiles that could not be opened, with why, so the window can say so', async () => {
    const unreadable = [{ id: 'blog', name: 'Blog', reason: 'its secrets could not be opened: no keyring' }];
    const store = Object.assign(new MemoryProfileStore(), { unreadable });
    const s = new PortholeService({
      manager: new TunnelManager(),
      profiles: store,
      settings: new MemorySettingsStore(),
      demo: new DemoEnvironment(),
      info: testInfo,
    });
    await s.load();
    expect(value(await s.commands['app:info'](undefined)).unreadableProfiles).toEqual(unreadable);
    await s.close(0);
    const plain = new PortholeService({
      manager: new TunnelManager(),
      profiles: new MemoryProfileStore(),
      settings: new MemorySettingsStore(),
      demo: new DemoEnvironment(),
      info: testInfo,
    });
    expect(value(await plain.commands['app:info'](undefined)).unreadableProfiles).toEqual([]);
    await plain.close(0);
  });
});
