// @vitest-environment node
// The WebSocket bridge against the real inspector server (src-main/cli/inspector/InspectorServer.ts),
// with command handlers of the test's own. Not a fake bridge: this is the bridge under test. In Node's
// environment, not jsdom's: jsdom's WebSocket sends the test page's Origin, which the inspector rightly
// refuses, and jsdom's Event class breaks undici's. Node's WebSocket, as a program's, sends no Origin.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InspectorServer } from '../../src-main/cli/inspector/InspectorServer.ts';
import {
  COMMAND_CHANNELS,
  fail,
  ok,
  type CommandHandlers,
  type PushMessage,
  type TunnelView,
} from '../../src-main/ipc/contract.ts';
import {
  createWsBridge,
  inspectorBridgeUrl,
  type ConnectionState,
  type WsBridge,
} from '../../src-renderer/ws-bridge.ts';
import { makeDetail, makeTunnel, summaryOf } from './fake-bridge.ts';

const staticDir = mkdtempSync(join(tmpdir(), 'porthole-ws-bridge-'));

interface Server {
  server: InspectorServer;
  push(message: PushMessage): void;
  received: Array<[string, unknown]>;
}

let tunnels: TunnelView[] = [makeTunnel('demo', 'Offline demo')];
const servers: InspectorServer[] = [];
const bridges: WsBridge[] = [];

async function startServer(port = 0, token = 'secret-token'): Promise<Server> {
  const received: Array<[string, unknown]> = [];
  const pushers = new Set<(m: PushMessage) => void>();
  const handlers = Object.fromEntries(
    COMMAND_CHANNELS.map((c) => [
      c,
      async (payload: unknown) => (received.push([c, payload]), fail('not-implemented', c)),
    ]),
  ) as unknown as CommandHandlers;
  handlers['tunnels:list'] = async () => (received.push(['tunnels:list', undefined]), ok(tunnels));
  handlers['tunnels:start'] = async ({ id }) => {
    received.push(['tunnels:start', { id }]);
    const t = tunnels.find((x) => x.id === id);
    return t ? ok({ ...t, state: { phase: 'starting' } }) : fail('not-found', `no tunnel with id ${id}`);
  };
  handlers['requests:list'] = async ({ tunnelId }) => ok([summaryOf(makeDetail(tunnelId, { id: 'kept-1' }))]);
  handlers['profiles:list'] = async () => ok([]);
  handlers['settings:get'] = async () =>
    ok({ language: 'en' as const, launchAtLogin: false, notifications: true, theme: 'system' as const });
  const server = new InspectorServer({
    port,
    exactPort: port !== 0,
    staticDir,
    token,
    handlers,
    subscribe(push) {
      pushers.add(push);
      return () => pushers.delete(push);
    },
  });
  await server.listen();
  servers.push(server);
  return { server, received, push: (m) => pushers.forEach((p) => p(m)) };
}

function connect(server: InspectorServer, token = 'secret-token', queueTimeoutMs = 5000): WsBridge {
  const bridge = createWsBridge({
    url: `ws://127.0.0.1:${server.port}/bridge?token=${token}`,
    queueTimeoutMs,
    backoff: { minMs: 20, maxMs: 100 },
  });
  bridges.push(bridge);
  return bridge;
}

function until(bridge: WsBridge, state: ConnectionState): Promise<void> {
  if (bridge.connection.state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const off = bridge.connection.subscribe((s) => {
      if (s !== state) return;
      off();
      resolve();
    });
  });
}

afterEach(async () => {
  for (const b of bridges.splice(0)) b.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  tunnels = [makeTunnel('demo', 'Offline demo')];
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('WebSocket bridge', () => {
  it('finds the bridge URL in the page address', () => {
    expect(inspectorBridgeUrl({ protocol: 'http:', host: '127.0.0.1:4040', hash: '#token=ab%2Fc' })).toBe(
      'ws://127.0.0.1:4040/bridge?token=ab%2Fc',
    );
    expect(inspectorBridgeUrl({ protocol: 'https:', host: 'localhost:4041', hash: '#token=x' })).toBe(
      'wss://localhost:4041/bridge?token=x',
    );
    expect(inspectorBridgeUrl({ protocol: 'http:', host: '127.0.0.1:4040', hash: '' })).toBeNull();
  });

  it('sends commands with their payloads and gets their results', async () => {
    const { server, received } = await startServer();
    const bridge = connect(server);
    // Sent before the link is open: it waits for it.
    const list = await bridge.tunnels.list();
    expect(list).toEqual({ ok: true, value: tunnels });
    expect(bridge.connection.state).toBe('open');
    const started = await bridge.tunnels.start({ id: 'demo' });
    expect(started.ok && started.value.state).toEqual({ phase: 'starting' });
    expect(received).toContainEqual(['tunnels:start', { id: 'demo' }]);
    expect(await bridge.tunnels.start({ id: 'nope' })).toEqual({
      ok: false,
      error: { code: 'not-found', message: 'no tunnel with id nope' },
    });
    // The server checks payloads against the contract's schemas.
    const bad = await bridge.tunnels.start({ id: '' });
    expect(!bad.ok && bad.error.code).toBe('invalid-payload');
  });

  it('delivers pushed events to their listeners until they unsubscribe', async () => {
    const { server, push } = await startServer();
    const bridge = connect(server);
    await until(bridge, 'open');
    const seen: TunnelView[][] = [];
    const off = bridge.on('tunnels:changed', (list) => seen.push(list));
    const batches: number[] = [];
    bridge.on('requests:batch', (batch) => batches.push(batch.length));
    push({ event: 'tunnels:changed', payload: tunnels });
    push({ event: 'requests:batch', payload: [summaryOf(makeDetail('demo')), summaryOf(makeDetail('demo'))] });
    await vi.waitFor(() => expect(batches).toEqual([2]));
    expect(seen).toEqual([tunnels]);
    off();
    push({ event: 'tunnels:changed', payload: [] });
    push({ event: 'requests:batch', payload: [] });
    await vi.waitFor(() => expect(batches).toEqual([2, 0]));
    expect(seen).toHaveLength(1);
  });

  it('reconnects after the server goes away, then replays the current state as events', async () => {
    const first = await startServer();
    const port = first.server.port;
    const bridge = connect(first.server);
    await until(bridge, 'open');
    const states: ConnectionState[] = [];
    bridge.connection.subscribe((s) => states.push(s));
    const lists: TunnelView[][] = [];
    bridge.on('tunnels:changed', (l) => lists.push(l));
    const batches: string[][] = [];
    bridge.on('requests:batch', (b) => batches.push(b.map((r) => r.id)));

    await first.server.close();
    servers.splice(servers.indexOf(first.server), 1);
    await until(bridge, 'connecting');
    // A command issued while the link is down waits for the next one.
    tunnels = [makeTunnel('demo', 'Offline demo'), makeTunnel('api', 'API')];
    const pending = bridge.tunnels.list();
    await startServer(port);
    expect(await pending).toEqual({ ok: true, value: tunnels });
    await vi.waitFor(() => expect(batches).toEqual([['kept-1'], ['kept-1']]));
    expect(lists).toEqual([tunnels]);
    expect(states).toContain('open');
  });

  it('loads again what calls gave up on once a late first connection opens', async () => {
    const probe = await startServer();
    const port = probe.server.port;
    await probe.server.close();
    servers.splice(servers.indexOf(probe.server), 1);
    const bridge = createWsBridge({
      url: `ws://127.0.0.1:${port}/bridge?token=secret-token`,
      queueTimeoutMs: 50,
      backoff: { minMs: 20, maxMs: 50 },
    });
    bridges.push(bridge);
    const lists: TunnelView[][] = [];
    bridge.on('tunnels:changed', (l) => lists.push(l));
    expect((await bridge.tunnels.list()).ok).toBe(false);
    await startServer(port);
    await vi.waitFor(() => expect(lists).toEqual([tunnels]));
  });

  it('keeps retrying with a wrong token, and fails the calls that wait too long', async () => {
    const { server } = await startServer();
    const bridge = connect(server, 'wrong', 150);
    const r = await bridge.tunnels.list();
    expect(r).toEqual({
      ok: false,
      error: { code: 'unavailable', message: 'not connected to the Porthole inspector' },
    });
    expect(bridge.connection.state).toBe('connecting');
  });

  it('copies and opens http(s) URLs only, as the page', async () => {
    const { server } = await startServer();
    const bridge = connect(server);
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, 'clipboard', { configurable: true, value: { writeText } });
    const open = vi.fn((_url?: string, _target?: string, _features?: string) => null);
    vi.stubGlobal('window', { open });
    expect(await bridge.copyText('http://demo.localhost:40123/')).toEqual({ ok: true, value: null });
    expect(writeText).toHaveBeenCalledWith('http://demo.localhost:40123/');
    expect((await bridge.copyText('javascript:alert(1)')).ok).toBe(false);
    expect(await bridge.openExternal('https://example.com/')).toEqual({ ok: true, value: null });
    expect(open).toHaveBeenCalledWith('https://example.com/', '_blank', 'noopener,noreferrer');
    expect((await bridge.openExternal('file:///etc/passwd')).ok).toBe(false);
    expect(open).toHaveBeenCalledTimes(1);
  });
});
