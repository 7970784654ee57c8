// @vitest-environment jsdom
import { act, cleanup, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { bridgeWith, FakeBridge, makeTunnel } from './fake-bridge.ts';
import { renderUI } from './render.tsx';

afterEach(cleanup);

describe('tunnel list', () => {
  it('shows each tunnel with its status in words, URL and request count, and starts and stops it with the switch', async () => {
    const demo = makeTunnel('demo', 'Offline demo');
    demo.counters.requests = 3;
    const api = makeTunnel('api', 'API', {
      phase: 'online',
      publicUrl: 'http://api.localhost:40123/',
      since: Date.now(),
    });
    const bridge = bridgeWith(demo, api);
    const { user } = renderUI(bridge);

    const list = await screen.findByRole('navigation', { name: 'Tunnels' });
    const demoItem = within(list).getByRole('button', { name: /Offline demo/ });
    expect(demoItem.textContent).toContain('stopped');
    expect(demoItem.textContent).toContain('http://demo.localhost:40123/');
    expect(demoItem.textContent).toContain('3 requests');
    expect(within(list).getByRole('button', { name: /API/ }).textContent).toContain('online');

    const demoSwitch = within(list).getByRole('switch', { name: 'Run tunnel Offline demo' });
    expect(demoSwitch.getAttribute('aria-checked')).toBe('false');
    await user.click(demoSwitch);
    expect(bridge.callsOf('tunnels:start')).toEqual([{ id: 'demo' }]);
    await waitFor(() => expect(demoSwitch.getAttribute('aria-checked')).toBe('true'));
    expect(within(list).getByRole('button', { name: /Offline demo/ }).textContent).toContain('online');

    await user.click(demoSwitch);
    expect(bridge.callsOf('tunnels:stop')).toEqual([{ id: 'demo' }]);
    await waitFor(() => expect(demoSwitch.getAttribute('aria-checked')).toBe('false'));
    expect(within(list).getByRole('button', { name: /Offline demo/ }).textContent).toContain('stopped');
  });

  it('follows pushed status changes, and shows the last error and next retry while reconnecting', async () => {
    const bridge = bridgeWith(makeTunnel('demo', 'Offline demo'));
    renderUI(bridge);
    const page = await screen.findByRole('article', { name: 'Offline demo' });
    act(() => {
      bridge.setPhase('demo', {
        phase: 'reconnecting',
        attempt: 3,
        nextRetryAt: Date.now() + 8000,
        lastError: 'connect ECONNREFUSED 127.0.0.1:40123',
      });
    });
    const status = within(page).getByRole('status');
    expect(status.textContent).toContain('attempt 3');
    expect(status.textContent).toContain('connect ECONNREFUSED 127.0.0.1:40123');
    expect(status.textContent).toMatch(/Next try at .+ \(in [78] s\)/);
    expect(screen.getByRole('navigation', { name: 'Tunnels' }).textContent).toContain('reconnecting (attempt 3)');

    act(() => {
      bridge.setPhase('demo', { phase: 'failed', reason: 'the relay refused the host' });
    });
    expect(within(page).getByRole('alert').textContent).toContain('the relay refused the host');
  });

  it('copies and opens the public URL through the bridge, and shows its QR code', async () => {
    const bridge = bridgeWith(
      makeTunnel('demo', 'Offline demo', { phase: 'online', publicUrl: 'http://demo.localhost:40123/', since: 0 }),
    );
    const { user } = renderUI(bridge);
    const page = await screen.findByRole('article', { name: 'Offline demo' });
    await user.click(within(page).getByRole('button', { name: 'Copy' }));
    expect(bridge.copied).toEqual(['http://demo.localhost:40123/']);
    expect((await screen.findByRole('status', { name: 'Messages' })).textContent).toContain(
      'Copied http://demo.localhost:40123/',
    );
    await user.click(within(page).getByRole('button', { name: 'Open' }));
    expect(bridge.opened).toEqual(['http://demo.localhost:40123/']);
    const qr = await within(page).findByRole('img', { name: 'QR code of http://demo.localhost:40123/' });
    await waitFor(() => expect(qr.getAttribute('src') ?? '').toMatch(/^data:image\/png;base64,/));
    expect(page.textContent).toContain('This address works on this computer only');
  });

  it('shows the live counters', async () => {
    const tunnel = makeTunnel('demo', 'Offline demo', {
      phase: 'online',
      publicUrl: 'http://demo.localhost:40123/',
      since: 0,
    });
    tunnel.counters = { requests: 1234, inFlight: 2, bytesIn: 1536, bytesOut: 3 * 1024 * 1024, p50Ms: 8, p95Ms: 1250 };
    const bridge = bridgeWith(tunnel);
    renderUI(bridge);
    const counters = await screen.findByRole('group', { name: 'Live counters' });
    const value = (label: string) => within(counters).getByText(label).nextElementSibling?.textContent;
    expect(value('Requests')).toBe('1,234');
    expect(value('In flight')).toBe('2');
    // Sizes are 1024-based, and say so: KiB and MiB, in every language.
    expect(value('Received')).toBe('1.5 KiB');
    expect(value('Sent')).toBe('3 MiB');
    expect(value('Median (last minute)')).toBe('8 ms');
    expect(value('95th percentile (last minute)')).toBe('1.25 s');

    act(() => bridge.emit('settings:changed', { ...bridge.settingsValue, language: 'zh-CN' }));
    const zh = await screen.findByRole('group', { name: '实时计数' });
    expect(within(zh).getByText('已接收').nextElementSibling?.textContent).toBe('1.5 KiB');
    expect(within(zh).getByText('已发送').nextElementSibling?.textContent).toBe('3 MiB');
  });

  it('offers the offline demo when there is no tunnel, and starts it', async () => {
    const bridge = new FakeBridge();
    const { user } = renderUI(bridge);
    const empty = await screen.findByRole('region', { name: 'Put a local service on the internet' });
    expect(empty.textContent).toContain('A tunnel gives something that runs on this computer');
    await user.click(within(empty).getByRole('button', { name: 'Start the offline demo' }));
    expect(bridge.callsOf('profiles:create-from-preset')).toEqual([{ preset: 'local-demo' }]);
    expect(bridge.callsOf('tunnels:start')).toEqual([{ id: 'local-demo' }]);
    const page = await screen.findByRole('article', { name: 'Offline demo' });
    await waitFor(() => expect(within(page).getByRole('switch').getAttribute('aria-checked')).toBe('true'));
  });
});
