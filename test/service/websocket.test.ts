// A visitor's WebSocket session through a real relay and tunnel (WebSocket transport), as the
// service's detail view gives it to a UI: traffic each way, close codes and the last messages.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TunnelManager } from '../../src-main/engine/TunnelManager.ts';
import type { EventName, EventPayloads, Result } from '../../src-main/ipc/contract.ts';
import type { RelayServer } from '../../src-main/relay/RelayServer.ts';
import { DemoEnvironment } from '../../src-main/service/DemoEnvironment.ts';
import { PortholeService } from '../../src-main/service/PortholeService.ts';
import { MemorySettingsStore } from '../../src-main/service/SettingsStore.ts';
import { MemoryProfileStore, testInfo } from '../app/helpers.ts';
import { startRelay, visit } from '../helpers/net.ts';
import { relayOf } from '../helpers/transports.ts';

let relay: RelayServer;
let upstream: http.Server;
let upstreamUrl: string;
let service: PortholeService;

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

function next<E extends EventName>(event: E, pred: (p: EventPayloads[E]) => boolean): Promise<EventPayloads[E]> {
  return new Promise((resolve) => {
    const off = service.subscribe((m) => {
      if (m.event === event && pred(m.payload as EventPayloads[E])) {
        off();
        resolve(m.payload as EventPayloads[E]);
      }
    });
  });
}

beforeAll(async () => {
  relay = await startRelay();
  // An echo that answers "close please" by closing with 4321.
  upstream = http.createServer((_req, res) => res.end('plain page'));
  const wss = new WebSocketServer({ server: upstream });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      if (!isBinary && data.toString() === 'close please') return ws.close(4321, 'as you asked');
      ws.send(data, { binary: isBinary });
    });
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  service = new PortholeService({
    manager: new TunnelManager({ batchIntervalMs: 20 }),
    profiles: new MemoryProfileStore(),
    settings: new MemorySettingsStore(),
    demo: new DemoEnvironment(),
    info: testInfo,
  });
  await service.load();
});

afterAll(async () => {
  await service.close(0);
  await relay.close(0);
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

describe("a visitor's WebSocket session in the service's views", () => {
  it('reaches the detail view: messages and bytes each way, close codes, the last messages in order', async () => {
    const profile = value(
      await service.commands['profiles:create']({
        profile: {
          name: 'Echo over WebSocket',
          relay: relayOf('ws', relay),
          upstream: { kind: 'http', target: upstreamUrl, insecure: false },
          workers: 2,
          hostHeader: 'upstream',
          upstreamTimeoutMs: 10_000,
          autoStart: false,
          access: { basicAuth: [], allow: [], deny: [] },
          headers: { request: { add: [], remove: [] }, response: { add: [], remove: [] } },
        },
      }),
    );
    const online = next('tunnels:status-changed', (t) => t.id === profile.id && t.state.phase === 'online');
    value(await service.commands['tunnels:start']({ id: profile.id }));
    await online;

    const session = next('requests:batch', (b) => b.some((r) => r.status === 101));
    const ws = new WebSocket(`ws://127.0.0.1:${relay.port}/chat?room=1`, { headers: { host: profile.relay.host } });
    const received: string[] = [];
    ws.on('message', (data: Buffer, binary: boolean) => received.push(binary ? data.toString('hex') : data.toString()));
    await once(ws, 'open');
    // One at a time, each after the echo of the one before: the order both ways is known.
    const echoed = (n: number) =>
      new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (received.length < n) return;
          clearInterval(check);
          resolve();
        }, 5);
      });
    ws.send('hello ✓');
    await echoed(1);
    ws.send(Buffer.from([0, 1, 2, 0xfe, 0xff]), { binary: true });
    await echoed(2);
    ws.send('x'.repeat(1000));
    await echoed(3);
    expect(received).toEqual(['hello ✓', '000102feff', 'x'.repeat(1000)]);
    const closed = once(ws, 'close');
    ws.send('close please');
    const [code] = (await closed) as [number];
    expect(code).toBe(4321);

    const summary = (await session).find((r) => r.status === 101)!;
    expect(summary).toMatchObject({ method: 'GET', url: '/chat?room=1', status: 101 });
    const detail = value(await service.commands['requests:get']({ tunnelId: profile.id, id: summary.id }));
    const websocket = detail.websocket!;
    expect(websocket.fromVisitor).toMatchObject({ messages: 4, closeCode: 4321 });
    expect(websocket.fromUpstream).toMatchObject({ messages: 3, closeCode: 4321 });
    // Bytes on the wire, as the record counts them for the session.
    expect(websocket.fromVisitor.bytes).toBe(detail.requestBytes);
    expect(websocket.fromUpstream.bytes).toBe(detail.responseBytes);
    expect(websocket.fromVisitor.bytes).toBeGreaterThan(1000);

    // Both ways in one list, oldest first: each message from the visitor before its echo.
    const last = websocket.last.map((m) => ({
      from: m.from,
      kind: m.kind,
      size: m.size,
      truncated: m.truncated,
      preview: Buffer.from(m.base64, 'base64'),
    }));
    const data = last.filter((m) => m.kind === 'text' || m.kind === 'binary');
    expect(data.map((m) => [m.from, m.kind, m.size])).toEqual([
      ['visitor', 'text', Buffer.byteLength('hello ✓')],
      ['upstream', 'text', Buffer.byteLength('hello ✓')],
      ['visitor', 'binary', 5],
      ['upstream', 'binary', 5],
      ['visitor', 'text', 1000],
      ['upstream', 'text', 1000],
      ['visitor', 'text', 'close please'.length],
    ]);
    expect(data[0]!.preview.toString()).toBe('hello ✓');
    expect(data[2]!.preview).toEqual(Buffer.from([0, 1, 2, 0xfe, 0xff]));
    // A long message: its first bytes, marked as cut.
    expect(data[4]!.truncated).toBe(true);
    expect(data[4]!.preview.length).toBeLessThan(1000);
    expect(data[4]!.preview.toString()).toMatch(/^x+$/);
    // The close messages: the service's first (code and reason), then the visitor's answer.
    const closes = last.filter((m) => m.kind === 'close');
    expect(closes.map((m) => m.from)).toEqual(['upstream', 'visitor']);
    expect(closes[0]!.preview.readUInt16BE(0)).toBe(4321);
    expect(closes[0]!.preview.subarray(2).toString()).toBe('as you asked');
    expect(websocket.last.map((m) => m.at)).toEqual([...websocket.last.map((m) => m.at)].sort((a, b) => a - b));
    expect(websocket.last[0]!.at).toBeGreaterThanOrEqual(detail.startedAt);

    // A plain request has no websocket part.
    const plain = next('requests:batch', (b) => b.some((r) => r.url === '/plain'));
    expect((await visit(relay.port, profile.relay.host, { path: '/plain' })).body.toString()).toBe('plain page');
    const plainSummary = (await plain).find((r) => r.url === '/plain')!;
    const plainDetail = value(await service.commands['requests:get']({ tunnelId: profile.id, id: plainSummary.id }));
    expect(plainDetail.status).toBe(200);
    expect(plainDetail.websocket).toBeUndefined();
  });
});
