// @vitest-environment jsdom
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { systemLanguage } from '../../src-renderer/ui/i18n/index.ts';
import { NoBridge } from '../../src-renderer/ui/NoBridge.tsx';
import { bridgeWith, FakeBridge, makeTunnel } from './fake-bridge.ts';
import { renderUI } from './render.tsx';

afterEach(cleanup);

describe('settings', () => {
  it('changes the language, and the whole UI follows', async () => {
    const bridge = bridgeWith(makeTunnel('demo', 'Offline demo'));
    const { user } = renderUI(bridge);
    await user.click(await screen.findByRole('button', { name: 'Settings' }));
    const page = await screen.findByRole('region', { name: 'Settings' });
    await user.selectOptions(within(page).getByLabelText('Language'), '简体中文');
    expect(bridge.callsOf('settings:set')).toEqual([{ language: 'zh-CN' }]);
    expect(await screen.findByRole('region', { name: '设置' })).toBeTruthy();
    const nav = screen.getByRole('navigation', { name: '隧道' });
    expect(within(nav).getByRole('button', { name: '新建隧道' })).toBeTruthy();
    expect(within(nav).getByRole('switch', { name: '运行隧道 Offline demo' })).toBeTruthy();
    expect(nav.textContent).toContain('已停止');
    expect(document.querySelector('.ph-app')!.getAttribute('lang')).toBe('zh-CN');
  });

  it('changes the theme', async () => {
    const bridge = new FakeBridge();
    const { user } = renderUI(bridge);
    await user.click(await screen.findByRole('button', { name: 'Settings' }));
    expect(document.querySelector('.ph-app')!.getAttribute('data-theme')).toBe('system');
    await user.click(screen.getByRole('radio', { name: 'Dark' }));
    expect(bridge.callsOf('settings:set')).toEqual([{ theme: 'dark' }]);
    await waitFor(() => expect(document.querySelector('.ph-app')!.getAttribute('data-theme')).toBe('dark'));
    expect(screen.getByRole('radio', { name: 'Dark' })).toHaveProperty('checked', true);
  });

  it('offers launch at login and notifications in the desktop app', async () => {
    const bridge = new FakeBridge();
    bridge.info = { ...bridge.info, shell: 'electron', secrets: { encrypted: true, backend: 'gnome_libsecret' } };
    const { user } = renderUI(bridge);
    await user.click(await screen.findByRole('button', { name: 'Settings' }));
    await user.click(await screen.findByRole('checkbox', { name: 'Start Porthole when I log in' }));
    await user.click(screen.getByRole('checkbox', { name: 'Notify me when a tunnel comes online, drops or fails' }));
    expect(bridge.callsOf('settings:set')).toEqual([{ launchAtLogin: true }, { notifications: false }]);
    expect(screen.getByRole('region', { name: 'Settings' }).textContent).toContain('encrypted by the system');
  });

  it('shows them as desktop-only in the browser inspector', async () => {
    const { user } = renderUI(new FakeBridge());
    await user.click(await screen.findByRole('button', { name: 'Settings' }));
    const login = await screen.findByRole('checkbox', { name: 'Start Porthole when I log in' });
    expect(login).toHaveProperty('disabled', true);
    expect(document.getElementById(login.getAttribute('aria-describedby')!)!.textContent).toBe(
      'These two apply to the desktop app only.',
    );
  });

  it('starts in the system’s language', () => {
    expect(systemLanguage(['zh-TW', 'en-US'])).toBe('zh-CN');
    expect(systemLanguage(['de-DE', 'en-GB'])).toBe('en');
    expect(systemLanguage(['fr-FR'])).toBe('en');
    expect(systemLanguage(['zh'])).toBe('zh-CN');
  });
});

describe('without a bridge', () => {
  it('says how to reach Porthole', () => {
    render(<NoBridge />);
    expect(screen.getByRole('main').textContent).toContain('#token=');
  });
});

describe('profiles that could not be opened', () => {
  it('are named in a banner with the reason, and stay out of the tunnel list', async () => {
    const bridge = bridgeWith(makeTunnel('demo', 'Offline demo'));
    bridge.info = {
      ...bridge.info,
      unreadableProfiles: [
        { id: 'blog', name: 'My blog', reason: 'its secrets could not be opened: the keyring is locked' },
        { id: null, name: null, reason: 'not an object' },
      ],
    };
    renderUI(bridge);
    const banner = await screen.findByRole('note', { name: /2 saved tunnels could not be opened/ });
    expect(banner.textContent).toContain('My blog: its secrets could not be opened: the keyring is locked');
    expect(banner.textContent).toContain('(no name): not an object');
    expect(banner.textContent).toContain('They stay in the data file untouched');
    const nav = screen.getByRole('navigation', { name: 'Tunnels' });
    expect(nav.textContent).not.toContain('My blog');
  });

  it('give no banner when every profile opened', async () => {
    const bridge = bridgeWith(makeTunnel('demo', 'Offline demo'));
    renderUI(bridge);
    await screen.findByRole('navigation', { name: 'Tunnels' });
    await waitFor(() => expect(bridge.callsOf('app:info').length).toBeGreaterThan(0));
    expect(screen.queryByRole('note', { name: /could not be opened/ })).toBeNull();
  });
});
