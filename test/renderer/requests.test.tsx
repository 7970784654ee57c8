// @vitest-environment jsdom
import { act, cleanup, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestSummaryView } from '../../src-main/ipc/contract.ts';
import { MAX_REQUESTS_PER_TUNNEL, mergeRequests, NO_REQUESTS } from '../../src-renderer/ui/store/index.ts';
import { bridgeWith, makeDetail, makeTunnel, summaryOf, type FakeBridge } from './fake-bridge.ts';
import { renderUI } from './render.tsx';

afterEach(cleanup);

async function setup(): Promise<{ bridge: FakeBridge; user: ReturnType<typeof renderUI>['user']; list: HTMLElement }> {
  const bridge = bridgeWith(
    makeTunnel('demo', 'Offline demo', { phase: 'online', publicUrl: 'http://demo.localhost:40123/', since: 0 }),
  );
  const { user } = renderUI(bridge);
  await screen.findByRole('article', { name: 'Offline demo' });
  act(() =>
    bridge.push(
      makeDetail('demo', { id: 'a', method: 'GET', url: '/', status: 200, visitorIp: '198.51.100.1' }),
      makeDetail('demo', { id: 'b', method: 'POST', url: '/api/orders', status: 201 }),
      makeDetail('demo', { id: 'c', method: 'GET', url: '/missing', status: 404 }),
      makeDetail('demo', { id: 'd', method: 'DELETE', url: '/api/orders/1', status: 500 }),
      makeDetail('demo', { id: 'e', method: 'GET', url: '/old', status: 301 }),
      makeDetail('demo', {
        id: 'f',
        method: 'GET',
        url: '/private',
        status: 502,
        error: 'upstream refused the connection',
      }),
    ),
  );
  const list = await screen.findByRole('table', { name: 'Requests' });
  return { bridge, user, list };
}

/** The paths of the rows shown, top to bottom. */
function paths(list: HTMLElement): string[] {
  return within(list)
    .getAllByRole('row')
    .slice(1)
    .map((r) => r.querySelector('.ph-col-path')!.textContent!);
}

describe('requests tab', () => {
  it('lists requests newest first with method, path, coloured status, duration, size, time and visitor IP', async () => {
    const { list } = await setup();
    expect(paths(list)).toEqual(['/private', '/old', '/api/orders/1', '/missing', '/api/orders', '/']);
    const last = within(list).getAllByRole('row').at(-1)!;
    const cells = within(last)
      .getAllByRole('cell')
      .map((c) => c.textContent);
    expect(cells[2]).toBe('GET');
    expect(cells[4]).toBe('200');
    expect(cells[5]).toBe('12 ms');
    expect(cells[6]).toBe('0 B');
    expect(cells[7]).toBe('198.51.100.1');
    expect(cells[1]).toMatch(/^\d\d:\d\d:\d\d\.\d{3}$/);
    expect(last.querySelector('.ph-status-code')!.className).toContain('ph-status-2xx');
    const fiveHundred = within(list)
      .getByRole('button', { name: 'Open DELETE /api/orders/1 (500)' })
      .closest('[role=row]')!;
    expect(fiveHundred.querySelector('.ph-status-code')!.className).toContain('ph-status-5xx');
  });

  it('filters by text, method and status class', async () => {
    const { user, list } = await setup();
    await user.type(screen.getByRole('searchbox', { name: 'Filter requests' }), 'orders');
    expect(paths(list)).toEqual(['/api/orders/1', '/api/orders']);
    expect(screen.getByText('2 of 6 requests')).toBeTruthy();

    await user.selectOptions(screen.getByRole('combobox', { name: 'Method' }), 'POST');
    expect(paths(list)).toEqual(['/api/orders']);

    await user.clear(screen.getByRole('searchbox', { name: 'Filter requests' }));
    await user.selectOptions(screen.getByRole('combobox', { name: 'Method' }), '');
    await user.selectOptions(screen.getByRole('combobox', { name: 'Status' }), '4xx');
    expect(paths(list)).toEqual(['/missing']);
    await user.selectOptions(screen.getByRole('combobox', { name: 'Status' }), '5xx');
    expect(paths(list)).toEqual(['/private', '/api/orders/1']);
    await user.selectOptions(screen.getByRole('combobox', { name: 'Status' }), 'error');
    expect(paths(list)).toEqual(['/private']);
    // The text filter looks at the visitor IP and the status too.
    await user.selectOptions(screen.getByRole('combobox', { name: 'Status' }), '');
    await user.type(screen.getByRole('searchbox', { name: 'Filter requests' }), '198.51.100');
    expect(paths(list)).toEqual(['/']);
  });

  it('pauses the live view, and shows what arrived on resume', async () => {
    const { bridge, user, list } = await setup();
    const pause = screen.getByRole('button', { name: 'Pause' });
    await user.click(pause);
    expect(pause.getAttribute('aria-pressed')).toBe('true');
    act(() =>
      bridge.push(makeDetail('demo', { id: 'g', url: '/later-1' }), makeDetail('demo', { id: 'h', url: '/later-2' })),
    );
    expect(paths(list)).not.toContain('/later-1');
    const resume = screen.getByRole('button', { name: 'Resume (2 new)' });
    await user.click(resume);
    expect(paths(list).slice(0, 2)).toEqual(['/later-2', '/later-1']);
  });

  it('clears the log in the engine and on screen', async () => {
    const { bridge, user } = await setup();
    await user.click(screen.getByRole('button', { name: 'Clear' }));
    expect(bridge.callsOf('requests:clear')).toEqual([{ tunnelId: 'demo' }]);
    await waitFor(() => expect(screen.queryByRole('table', { name: 'Requests' })).toBeNull());
    expect(screen.getByText(/No requests yet/)).toBeTruthy();
  });

  it('keeps the last 500 of thousands pushed in batches, and renders only the rows in view', async () => {
    const { bridge, list } = await setup();
    const batch = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => makeDetail('demo', { id: `x${from + i}`, url: `/load/${from + i}` }));
    act(() => {
      for (let b = 0; b < 20; b++) bridge.push(...batch(b * 150, 150));
    });
    expect(screen.getByText('500 requests')).toBeTruthy();
    const shown = paths(list);
    expect(shown[0]).toBe('/load/2999');
    // 900 px of view at 30 px a row, plus overscan: far fewer rows than the 500 kept.
    expect(shown.length).toBeLessThan(60);
    expect(list.getAttribute('aria-rowcount')).toBe('501');
  });
});

describe('request summaries in the store', () => {
  const s = (id: string): RequestSummaryView => summaryOf(makeDetail('t', { id }));

  it('appends, replaces a known id in place, and drops the oldest past the bound', () => {
    let state = mergeRequests(NO_REQUESTS, [s('1'), s('2')]);
    const updated = { ...s('1'), status: 418 };
    state = mergeRequests(state, [updated, s('3')]);
    expect(state.items.map((r) => r.id)).toEqual(['1', '2', '3']);
    expect(state.items[0]!.status).toBe(418);
    state = mergeRequests(
      state,
      Array.from({ length: MAX_REQUESTS_PER_TUNNEL }, (_, i) => s(`n${i}`)),
    );
    expect(state.items).toHaveLength(MAX_REQUESTS_PER_TUNNEL);
    expect(state.items[0]!.id).toBe('n0');
  });

  it('while paused, holds new ones apart and still keeps no more than the bound in all', () => {
    let state = { ...mergeRequests(NO_REQUESTS, [s('1'), s('2')]), paused: true };
    state = mergeRequests(state, [s('3')]);
    expect(state.items.map((r) => r.id)).toEqual(['1', '2']);
    expect(state.pending.map((r) => r.id)).toEqual(['3']);
    state = mergeRequests(
      state,
      Array.from({ length: MAX_REQUESTS_PER_TUNNEL - 2 }, (_, i) => s(`p${i}`)),
    );
    expect(state.items.length + state.pending.length).toBe(MAX_REQUESTS_PER_TUNNEL);
    expect(state.items.map((r) => r.id)).toEqual(['2']);
  });
});
