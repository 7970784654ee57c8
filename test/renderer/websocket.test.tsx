// @vitest-environment jsdom
// A visitor's WebSocket session in the inspector: one entry in the list, marked as a WebSocket, and
// opened, its traffic each way, the close codes and the last messages.
import { act, cleanup, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { WsMessageView } from '../../src-main/ipc/contract.ts';
import { bridgeWith, makeDetail, makeTunnel, type FakeBridge } from './fake-bridge.ts';
import { renderUI } from './render.tsx';

afterEach(cleanup);

const OPENED = Date.UTC(2026, 10, 22, 9, 30, 0);
const b64 = (b: Buffer | string): string => Buffer.from(b).toString('base64');
const close = (code: number, reason: string): Buffer => {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
};
const message = (
  from: WsMessageView['from'],
  kind: WsMessageView['kind'],
  bytes: Buffer,
  at: number,
  size = bytes.length,
): WsMessageView => ({ from, kind, at: OPENED + at, size, base64: b64(bytes), truncated: size > bytes.length });

function session() {
  return makeDetail('demo', {
    id: 'ws1',
    method: 'GET',
    url: '/echo-ws?room=%E4%B8%AD',
    status: 101,
    startedAt: OPENED,
    durationMs: 65_000,
    upstreamMs: 3,
    requestHeaders: [
      ['upgrade', 'websocket'],
      ['sec-websocket-version', '13'],
    ],
    responseHeaders: [
      ['upgrade', 'websocket'],
      ['sec-websocket-accept', 'abc='],
    ],
    requestBytes: 3 * 1024,
    responseBytes: 2 * 1024,
    replayable: true,
    websocket: {
      fromVisitor: { messages: 3, bytes: 3 * 1024, closeCode: 1000 },
      fromUpstream: { messages: 2, bytes: 2 * 1024, closeCode: 4001 },
      last: [
        message('visitor', 'text', Buffer.from('hello ✓'), 10),
        message('upstream', 'text', Buffer.from('hello ✓'), 11),
        message('visitor', 'binary', Buffer.from([0, 1, 0xfe, 0xff]), 20),
        message('upstream', 'binary', Buffer.from([0, 1, 0xfe, 0xff]), 21),
        message('visitor', 'text', Buffer.from('y'.repeat(256)), 30, 2000),
        message('visitor', 'close', close(1000, 'bye'), 64_000),
        message('upstream', 'close', close(4001, ''), 64_001),
      ],
    },
  });
}

async function openTunnel(): Promise<{ bridge: FakeBridge; user: ReturnType<typeof renderUI>['user'] }> {
  const bridge = bridgeWith(
    makeTunnel('demo', 'Offline demo', { phase: 'online', publicUrl: 'http://demo.localhost:40123/', since: 0 }),
  );
  const { user } = renderUI(bridge);
  await screen.findByRole('article', { name: 'Offline demo' });
  return { bridge, user };
}

/** The rows of a table as the text of their cells (header row left out). */
function rowsOf(table: HTMLElement): string[][] {
  return within(table)
    .getAllByRole('row')
    .slice(1)
    .map((r) => [...r.querySelectorAll('th, td')].map((c) => c.textContent!.trim()));
}

describe('a WebSocket session in the inspector', () => {
  it('is one entry in the list, marked WS, with status 101 and its traffic both ways', async () => {
    const { bridge, user } = await openTunnel();
    act(() => bridge.push(makeDetail('demo', { id: 'h1', url: '/page' }), session()));
    const list = screen.getByRole('table', { name: 'Requests' });
    const open = await within(list).findByRole('button', { name: 'Open WebSocket /echo-ws?room=中 (101)' });
    const row = open.closest('[role="row"]') as HTMLElement;
    const cells = within(row).getAllByRole('cell');
    expect(cells[2]!.textContent).toBe('WS');
    expect(cells[3]!.textContent).toContain('/echo-ws?room=中');
    expect(cells[3]!.textContent).toContain('received 3 KiB · sent 2 KiB');
    expect(cells[4]!.textContent).toBe('101');
    expect(cells[5]!.textContent).toBe('65 s');
    // A plain request keeps its method.
    expect(within(list).getByRole('button', { name: 'Open GET /page (200)' })).toBeTruthy();
    // The method filter finds WebSocket sessions.
    await user.selectOptions(screen.getByRole('combobox', { name: 'Method' }), 'WS');
    expect(within(list).queryByRole('button', { name: 'Open GET /page (200)' })).toBeNull();
    expect(within(list).getByRole('button', { name: /^Open WebSocket/ })).toBeTruthy();
  });

  it('opens on its session: opened, closed, traffic each way with the close codes, the last messages', async () => {
    const { bridge, user } = await openTunnel();
    act(() => bridge.push(session()));
    await user.click(await screen.findByRole('button', { name: 'Open WebSocket /echo-ws?room=中 (101)' }));
    const detail = await screen.findByRole('region', { name: 'Request detail' });
    await within(detail).findByRole('table', { name: 'Traffic' });
    expect(bridge.callsOf('requests:get')).toEqual([{ tunnelId: 'demo', id: 'ws1' }]);
    const head = detail.querySelector('.ph-detail-head')!;
    expect(head.textContent).toContain('WS');
    expect(head.textContent).toContain('101');
    // A session cannot be replayed or copied as cURL.
    expect(within(detail).queryByRole('button', { name: 'Replay' })).toBeNull();
    expect(within(detail).queryByRole('button', { name: 'Edit and replay' })).toBeNull();
    expect(within(detail).queryByRole('button', { name: 'Copy as cURL' })).toBeNull();

    const facts = Object.fromEntries(
      [...detail.querySelectorAll('.ph-fact')].map((f) => [
        f.querySelector('dt')!.textContent,
        f.querySelector('dd')!.textContent,
      ]),
    );
    expect(facts['URL']).toBe('ws://demo.localhost:40123/echo-ws?room=中');
    expect(facts['Opened']).toMatch(/2026.*9:30:00|09:30:00/);
    expect(facts['Closed']).toBe('after 65 s');
    expect(facts['Handshake']).toBe('3 ms');
    expect(facts['Visitor IP']).toBe('203.0.113.7');

    const traffic = within(detail).getByRole('table', { name: 'Traffic' });
    expect(
      within(traffic)
        .getAllByRole('columnheader')
        .map((c) => c.textContent),
    ).toEqual(['From the visitor', 'From the service']);
    expect(rowsOf(traffic)).toEqual([
      ['Messages', '3', '2'],
      ['Bytes', '3 KiB', '2 KiB'],
      ['Close code', '1000', '4001'],
    ]);

    const last = within(detail).getByRole('table', { name: 'Last messages' });
    expect(rowsOf(last)).toEqual([
      ['visitor → service', 'text', '9 B', 'hello ✓'],
      ['service → visitor', 'text', '9 B', 'hello ✓'],
      ['visitor → service', 'binary', '4 B', '00 01 fe ff'],
      ['service → visitor', 'binary', '4 B', '00 01 fe ff'],
      ['visitor → service', 'text', '2 KiB', `${'y'.repeat(256)}…`],
      ['visitor → service', 'close', '5 B', '1000 bye'],
      ['service → visitor', 'close', '2 B', '4001'],
    ]);

    // The handshake's headers are a tab away.
    await user.click(within(detail).getByRole('tab', { name: 'Request' }));
    expect(within(detail).getByRole('table', { name: 'Request headers' }).textContent).toContain(
      'sec-websocket-version',
    );
  });

  it('says it all in Chinese too', async () => {
    const { bridge, user } = await openTunnel();
    act(() => bridge.emit('settings:changed', { ...bridge.settingsValue, language: 'zh-CN' }));
    act(() => bridge.push(session()));
    await user.click(await screen.findByRole('button', { name: '打开 WebSocket /echo-ws?room=中（101）' }));
    const traffic = await screen.findByRole('table', { name: '流量' });
    expect(
      within(traffic)
        .getAllByRole('columnheader')
        .map((c) => c.textContent),
    ).toEqual(['来自访客', '来自服务']);
    expect(rowsOf(traffic).map((r) => r[0])).toEqual(['消息', '字节', '关闭码']);
    const last = screen.getByRole('table', { name: '最近的消息' });
    expect(rowsOf(last)[0]!.slice(0, 2)).toEqual(['访客 → 服务', '文本']);
  });
});
