// @vitest-environment jsdom
// Every control has an accessible name, on every page of the UI.
import { act, cleanup, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { bridgeWith, FakeBridge, makeDetail, makeTunnel } from './fake-bridge.ts';
import { renderUI } from './render.tsx';

afterEach(cleanup);

const ROLES = [
  'button',
  'switch',
  'checkbox',
  'radio',
  'textbox',
  'searchbox',
  'combobox',
  'tab',
  'link',
  'img',
] as const;

/** Controls with an empty accessible name, described for the failure message. */
function unnamed(): string[] {
  return ROLES.flatMap((role) =>
    screen.queryAllByRole(role, { name: '' }).map((el) => `${role}: ${el.outerHTML.slice(0, 120)}`),
  );
}

describe('accessible names', () => {
  it('name every control of the tunnel page, the request detail, edit and replay, and the profile', async () => {
    const bridge = bridgeWith(
      makeTunnel('demo', 'Offline demo', { phase: 'online', publicUrl: 'http://demo.localhost:40123/', since: 0 }),
    );
    bridge.profileList[0]!.access.basicAuth = [{ user: 'ada', password: 'pw' }];
    bridge.profileList[0]!.headers.request.add = [{ name: 'x-a', value: '1' }];
    const { user } = renderUI(bridge);
    await screen.findByRole('article', { name: 'Offline demo' });
    act(() =>
      bridge.push(
        makeDetail('demo', {
          id: 'x',
          url: '/a.png',
          responseHeaders: [['content-type', 'image/png']],
          responseBody: Buffer.from('89504e470d0a1a0a', 'hex'),
        }),
      ),
    );
    await user.click(await screen.findByRole('button', { name: 'Open GET /a.png (200)' }));
    const detail = await screen.findByRole('region', { name: 'Request detail' });
    await within(detail).findByRole('toolbar', { name: 'Request actions' });
    for (const tab of ['Overview', 'Request', 'Response']) {
      await user.click(within(detail).getByRole('tab', { name: tab }));
      expect(unnamed()).toEqual([]);
    }
    await user.click(within(detail).getByRole('button', { name: 'Edit and replay' }));
    expect(unnamed()).toEqual([]);
    await user.click(screen.getByRole('tab', { name: 'Profile' }));
    expect(unnamed()).toEqual([]);
    await user.selectOptions(screen.getByLabelText('Kind'), 'folder');
    await user.click(screen.getByRole('radio', { name: 'Another relay' }));
    expect(unnamed()).toEqual([]);
  });

  it('name every control of the empty state, the new tunnel form and the settings', async () => {
    const { user } = renderUI(new FakeBridge());
    await screen.findByRole('button', { name: 'Start the offline demo' });
    expect(unnamed()).toEqual([]);
    await user.click(screen.getByRole('button', { name: 'New tunnel' }));
    await user.selectOptions(screen.getByLabelText('Kind'), 'fastcgi');
    expect(unnamed()).toEqual([]);
    await user.selectOptions(screen.getByLabelText('Transport'), 'ws');
    await user.selectOptions(screen.getByLabelText('Kind'), 'tcp');
    expect(unnamed()).toEqual([]);
    await user.click(screen.getByRole('button', { name: 'Settings' }));
    await screen.findByRole('combobox', { name: 'Language' });
    expect(unnamed()).toEqual([]);
  });
});
