// @vitest-environment jsdom
import { act, cleanup, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { bridgeWith, makeDetail, makeTunnel, type FakeBridge } from './fake-bridge.ts';
import { renderUI } from './render.tsx';

afterEach(cleanup);

async function openJsonRequest(): Promise<{
  bridge: FakeBridge;
  user: ReturnType<typeof renderUI>['user'];
  detail: HTMLElement;
}> {
  const bridge = bridgeWith(
    makeTunnel('demo', 'Offline demo', { phase: 'online', publicUrl: 'http://demo.localhost:40123/', since: 0 }),
  );
  let served = 1;
  bridge.replayWith = (original, edit) =>
    makeDetail('demo', {
      id: `replay-${served}`,
      method: edit?.method ?? original.method,
      url: edit?.path ?? original.url,
      replayOf: original.id,
      status: edit?.method === 'POST' ? 201 : 200,
      responseHeaders: [['content-type', 'application/json']],
      responseBody: JSON.stringify({ visits: ++served }),
      durationMs: 30,
    });
  const { user } = renderUI(bridge);
  await screen.findByRole('article', { name: 'Offline demo' });
  act(() =>
    bridge.push(
      makeDetail('demo', {
        id: 'j1',
        method: 'GET',
        url: '/api/visits',
        requestHeaders: [
          ['accept', 'application/json'],
          ['x-test', '1'],
        ],
        responseHeaders: [['content-type', 'application/json']],
        responseBody: JSON.stringify({ visits: 1 }),
      }),
    ),
  );
  await user.click(await screen.findByRole('button', { name: 'Open GET /api/visits (200)' }));
  const detail = await screen.findByRole('region', { name: 'Request detail' });
  await within(detail).findByRole('toolbar', { name: 'Request actions' });
  return { bridge, user, detail };
}

describe('replay', () => {
  it('sends the request again and shows the new response beside the old one', async () => {
    const { bridge, user, detail } = await openJsonRequest();
    await user.click(within(detail).getByRole('button', { name: 'Replay' }));
    expect(bridge.callsOf('requests:replay')).toEqual([{ tunnelId: 'demo', id: 'j1' }]);
    expect(within(detail).getByRole('tab', { name: 'Replay' }).getAttribute('aria-selected')).toBe('true');
    const original = within(detail).getByRole('region', { name: 'Original response' });
    const replayed = await within(detail).findByRole('region', { name: 'Replay response' });
    await waitFor(() => expect(replayed.textContent).toContain('"visits": 2'));
    expect(original.textContent).toContain('"visits": 1');
    expect(original.textContent).toContain('200');
    expect(replayed.textContent).toContain('30 ms');
    // The replay is a request of its own in the list, marked as a replay.
    const row = await screen.findByRole('button', { name: 'Open replay: GET /api/visits (200)' });
    expect(row.textContent).toContain('↻');
    expect(screen.getByRole('button', { name: 'Open GET /api/visits (200)' })).toBeTruthy();
  });

  it('edits method, path, headers and body before replaying', async () => {
    const { bridge, user, detail } = await openJsonRequest();
    await user.click(within(detail).getByRole('button', { name: 'Edit and replay' }));
    const form = within(detail).getByRole('form', { name: 'Edit and replay' });
    const method = within(form).getByRole('combobox', { name: 'Method' });
    await user.clear(method);
    await user.type(method, 'post');
    const path = within(form).getByRole('textbox', { name: 'Path and query' });
    await user.clear(path);
    await user.type(path, 'api/visits?twice=1');
    await user.click(within(form).getByRole('button', { name: 'Send' }));
    // A path must start with /: nothing is sent until it does.
    expect(within(form).getByText('The path starts with /.')).toBeTruthy();
    expect(bridge.callsOf('requests:replay')).toEqual([]);
    await user.clear(path);
    await user.type(path, '/api/visits?twice=1');
    const headers = within(form).getByRole('textbox', { name: 'Headers' });
    await user.clear(headers);
    await user.type(headers, 'content-type: application/json{enter}x-test: 2');
    await user.type(within(form).getByRole('textbox', { name: 'Body' }), '{{"n":2}');
    await user.click(within(form).getByRole('button', { name: 'Send' }));
    expect(bridge.callsOf('requests:replay')).toEqual([
      {
        tunnelId: 'demo',
        id: 'j1',
        edit: {
          method: 'POST',
          path: '/api/visits?twice=1',
          headers: [
            ['content-type', 'application/json'],
            ['x-test', '2'],
          ],
          bodyBase64: Buffer.from('{"n":2}').toString('base64'),
        },
      },
    ]);
    const replayed = await within(detail).findByRole('region', { name: 'Replay response' });
    await waitFor(() => expect(replayed.textContent).toContain('201'));
  });

  it('says why when the engine refuses the replay', async () => {
    const { bridge, user, detail } = await openJsonRequest();
    bridge.records.get('demo')![0]!.replayable = false;
    bridge.replayWith = () => {
      throw new Error('unreachable');
    };
    // The detail on screen still says replayable (fetched before): the engine's refusal is shown.
    await user.click(within(detail).getByRole('button', { name: 'Replay' }));
    const replayed = await within(detail).findByRole('region', { name: 'Replay response' });
    expect(within(replayed).getByRole('alert').textContent).toContain('larger than the replay cap');
  });
});
