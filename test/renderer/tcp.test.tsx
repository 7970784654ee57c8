// @vitest-environment jsdom
// A TCP tunnel's connection in the inspector: one entry with the method TCP, the local service where
// a request has its path, the bytes each way and the duration; its detail says the same, and nothing
// of URLs, headers or bodies (a connection has none).
import { act, cleanup, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { bridgeWith, makeDetail, makeTunnel, type FakeBridge } from './fake-bridge.ts';
import { renderUI } from './render.tsx';

afterEach(cleanup);

const connection = () =>
  makeDetail('redis', {
    id: 'tcp-1',
    method: 'TCP',
    url: '127.0.0.1:6379',
    status: 200,
    durationMs: 4200,
    upstreamMs: null,
    requestHeaders: [],
    responseHeaders: [],
    requestBytes: 1536,
    responseBytes: 20 * 1024 * 1024,
    replayable: false,
  });

const refused = () =>
  makeDetail('redis', {
    id: 'tcp-2',
    method: 'TCP',
    url: 'localhost:6379',
    status: 403,
    durationMs: 0.4,
    upstreamMs: null,
    requestHeaders: [],
    responseHeaders: [],
    replayable: true,
    visitorIp: '198.51.100.9',
    refusedBy: 'ip-deny',
    error: 'refused by the ip-deny rule: your address is denied',
  });

async function openTunnel(): Promise<{ bridge: FakeBridge; user: ReturnType<typeof renderUI>['user'] }> {
  const bridge = bridgeWith(
    makeTunnel('redis', 'Redis', { phase: 'online', publicUrl: 'tcp://relay.example.com:30001', since: 0 }),
  );
  const { user } = renderUI(bridge);
  await screen.findByRole('article', { name: 'Redis' });
  return { bridge, user };
}

function factsOf(detail: HTMLElement): Record<string, string> {
  return Object.fromEntries(
    [...detail.querySelectorAll('.ph-fact')].map((f) => [
      f.querySelector('dt')!.textContent!,
      f.querySelector('dd')!.textContent!,
    ]),
  );
}

describe('a TCP connection in the inspector', () => {
  it('is one entry: method TCP, the local service, bytes each way, duration; filtered as TCP', async () => {
    const { bridge, user } = await openTunnel();
    act(() => bridge.push(connection(), refused(), makeDetail('redis', { id: 'h', url: '/page' })));
    const list = screen.getByRole('table', { name: 'Requests' });
    const open = await within(list).findByRole('button', { name: 'Open TCP 127.0.0.1:6379 (200)' });
    const cells = within(open.closest('[role="row"]') as HTMLElement).getAllByRole('cell');
    expect(cells[2]!.textContent).toBe('TCP');
    expect(cells[3]!.textContent).toBe('127.0.0.1:6379received 1.5 KiB · sent 20 MiB');
    expect(cells[4]!.textContent).toBe('200');
    expect(cells[5]!.textContent).toBe('4.2 s');
    const other = within(list).getByRole('button', { name: 'Open TCP localhost:6379 (403)' });
    expect(other.closest('[role="row"]')!.textContent).toContain('IP denied');

    await user.selectOptions(screen.getByRole('combobox', { name: 'Method' }), 'TCP');
    expect(within(list).queryByRole('button', { name: 'Open GET /page (200)' })).toBeNull();
    expect(within(list).getAllByRole('button', { name: /^Open TCP / })).toHaveLength(2);
  });

  it('opens on the connection, with no URL, headers, bodies or actions that a connection has not', async () => {
    const { bridge, user } = await openTunnel();
    act(() => bridge.push(connection()));
    await user.click(await screen.findByRole('button', { name: 'Open TCP 127.0.0.1:6379 (200)' }));
    const detail = await screen.findByRole('region', { name: 'Request detail' });
    await within(detail).findByText('Local service');
    const head = detail.querySelector('.ph-detail-head')!;
    expect(head.textContent).toBe('TCP 127.0.0.1:6379200');
    expect(factsOf(detail)).toEqual({
      'Local service': '127.0.0.1:6379',
      Opened: expect.stringMatching(/2026/) as unknown as string,
      'Open for': '4.2 s',
      'Received from the visitor': '1.5 KiB',
      'Sent to the visitor': '20 MiB',
      'Visitor IP': '203.0.113.7',
    });
    expect(within(detail).queryByRole('tab')).toBeNull();
    expect(within(detail).queryByRole('toolbar', { name: 'Request actions' })).toBeNull();
    expect(within(detail).queryByRole('button', { name: 'Replay' })).toBeNull();
  });

  it('says why a connection was refused, for a local service named by host (no URL made of it)', async () => {
    const { bridge, user } = await openTunnel();
    act(() => bridge.push(refused()));
    await user.click(await screen.findByRole('button', { name: 'Open TCP localhost:6379 (403)' }));
    const detail = await screen.findByRole('region', { name: 'Request detail' });
    await within(detail).findByText('Local service');
    const facts = factsOf(detail);
    expect(facts['Local service']).toBe('localhost:6379');
    expect(facts['Refused by']).toBe('the IP deny list');
    expect(facts['Error']).toBe('refused by the ip-deny rule: your address is denied');
    expect(detail.textContent).not.toContain('relay.example.com');
  });

  it('in Chinese', async () => {
    const { bridge, user } = await openTunnel();
    act(() => bridge.emit('settings:changed', { ...bridge.settingsValue, language: 'zh-CN' }));
    act(() => bridge.push(connection()));
    await user.click(await screen.findByRole('button', { name: '打开 TCP 127.0.0.1:6379（200）' }));
    const detail = await screen.findByRole('region', { name: '请求详情' });
    await within(detail).findByText('本地服务');
    expect(Object.keys(factsOf(detail))).toEqual([
      '本地服务',
      '打开时间',
      '持续时间',
      '从访客接收',
      '发送给访客',
      '访客 IP',
    ]);
  });
});
