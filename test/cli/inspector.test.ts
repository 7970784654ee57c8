import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { echoHandler, startServer, visit, type Server } from '../helpers/net.ts';
import { killAll, spawnCli } from '../helpers/cli.ts';

let dir: string;
let upstream: Server;
beforeAll(async () => {
  upstream = await startServer(echoHandler());
});
// A new config folder for each test: an inspector run keeps its profiles there.
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'porthole-inspector-'));
});
afterEach(async () => {
  await killAll();
  await rm(dir, { recursive: true, force: true });
});
afterAll(async () => {
  await upstream.close();
});

const env = () => ({ PORTHOLE_CONFIG_DIR: dir, FPW_HOST: '', FPW_TOKEN: '' });

/** A relay and a tunnel with its inspector on a free port; resolves with the inspector's URL parts. */
async function tunnelWithInspector() {
  const relay = spawnCli(['relay', '--port', '0'], env());
  const [, relayUrl, relayPort] = await relay.waitFor(/^Listening on (http:\/\/127\.0\.0\.1:(\d+))$/);
  const cli = spawnCli(
    [
      'http',
      String(upstream.port),
      '--relay',
      `${relayUrl}/`,
      '--host',
      'inspected.test',
      '--token',
      't',
      '--inspect=127.0.0.1:0',
    ],
    env(),
  );
  const [, origin, port, token] = await cli.waitFor(
    /^Inspector: (http:\/\/127\.0\.0\.1:(\d+))\/#token=([0-9a-f]{64})$/,
  );
  await cli.waitFor(/^Forwarding /);
  return { origin: origin!, port: Number(port), token: token!, relayPort: Number(relayPort) };
}

/** A raw GET with exactly the Host and Origin given (fetch and undici would set their own). */
function get(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/', headers }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    req.end();
  });
}

function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

describe('headless inspector', () => {
  it('refuses a foreign Host (DNS rebinding) and a foreign Origin, for pages and for the bridge', async () => {
    const { port, token } = await tunnelWithInspector();
    expect(await get(port, { host: `127.0.0.1:${port}` })).not.toBe(403);
    expect(await get(port, { host: `localhost:${port}`, origin: `http://localhost:${port}` })).not.toBe(403);
    expect(await get(port, { host: `rebound.attacker.example:${port}` })).toBe(403);
    expect(await get(port, { host: `127.0.0.1:${port}`, origin: 'http://attacker.example' })).toBe(403);
    expect(await get(port, { host: `127.0.0.1:${port}`, origin: `https://127.0.0.1:${port}` })).toBe(403);
    const bridge = `ws://127.0.0.1:${port}/bridge?token=${token}`;
    await expect(connect(bridge, { origin: 'http://attacker.example' })).rejects.toThrow('HTTP 403');
    await expect(connect(bridge, { host: `evil.example:${port}` })).rejects.toThrow('HTTP 403');
    await expect(connect(`ws://127.0.0.1:${port}/bridge?token=${'0'.repeat(64)}`)).rejects.toThrow('HTTP 401');
    const ok = await connect(bridge, { origin: `http://127.0.0.1:${port}` });
    ok.close();
  });

  it('implements the contract over its WebSocket: commands checked by schema, events pushed', async () => {
    const { port, token, relayPort } = await tunnelWithInspector();
    const ws = await connect(`ws://127.0.0.1:${port}/bridge?token=${token}`);
    const messages: Array<Record<string, unknown>> = [];
    const waiters: Array<() => void> = [];
    ws.on('message', (data) => {
      messages.push(JSON.parse(String(data)));
      waiters.splice(0).forEach((w) => w());
    });
    const next = async (pred: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
      for (;;) {
        const found = messages.find(pred);
        if (found) return found;
        await new Promise<void>((r) => waiters.push(r));
      }
    };
    let id = 0;
    const call = async (command: string, payload?: unknown) => {
      const my = ++id;
      ws.send(JSON.stringify({ id: my, command, payload }));
      return (await next((m) => m['id'] === my))['result'] as {
        ok: boolean;
        value?: unknown;
        error?: { code: string };
      };
    };
    const list = await call('tunnels:list');
    expect(list.ok).toBe(true);
    const tunnels = list.value as Array<{ id: string; publicUrl: string; state: { phase: string } }>;
    expect(tunnels).toHaveLength(1);
    expect(tunnels[0]!.state.phase).toBe('online');
    expect(tunnels[0]!.publicUrl).toBe(`http://inspected.test:${relayPort}/`);

    const bad = await call('tunnels:start', { id: 42 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid-payload' } });
    expect(await call('nope:nothing')).toMatchObject({ ok: false });

    await visit(relayPort, 'inspected.test', { path: '/seen-live' });
    const batch = await next((m) => m['event'] === 'requests:batch');
    expect((batch['payload'] as Array<{ url: string }>).map((r) => r.url)).toContain('/seen-live');

    const stopped = await call('tunnels:stop', { id: tunnels[0]!.id });
    expect(stopped).toMatchObject({ ok: true, value: { state: { phase: 'stopped' } } });
    const started = await call('tunnels:start', { id: tunnels[0]!.id });
    expect(started.ok).toBe(true);
    ws.close();
  });
});
