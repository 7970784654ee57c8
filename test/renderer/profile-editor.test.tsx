// @vitest-environment jsdom
import { act, cleanup, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { SAVED_SECRET, commandSchemas } from '../../src-main/ipc/contract.ts';
import { bridgeWith, FakeBridge, makeProfile, makeTunnel } from './fake-bridge.ts';
import { renderUI } from './render.tsx';

afterEach(cleanup);

/** The messages shown for a field, by the field's label. */
function messagesOf(label: string | RegExp): string[] {
  const input = screen.getByLabelText(label);
  const ids = (input.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => id.endsWith('-error'));
  return ids.flatMap((id) => [...document.getElementById(id)!.querySelectorAll('p')].map((p) => p.textContent!));
}

async function newTunnelForm(bridge: FakeBridge) {
  const { user } = renderUI(bridge);
  await user.click(await screen.findByRole('button', { name: 'New tunnel' }));
  const form = await screen.findByRole('form', { name: 'New tunnel' });
  return { user, form };
}

describe('profile editor', () => {
  it('shows the engine schema’s problems next to their fields, in English and in Chinese', async () => {
    const bridge = new FakeBridge();
    const { user, form } = await newTunnelForm(bridge);
    await user.click(within(form).getByRole('radio', { name: 'Another relay' }));
    await user.type(screen.getByLabelText('Relay URL'), 'ftp://relay.example.com/');
    await user.type(screen.getByLabelText('Host'), 'not a host!');
    await user.type(screen.getByLabelText('URL'), 'localhost:3000');
    await user.clear(screen.getByLabelText('Workers'));
    await user.type(screen.getByLabelText('Workers'), '0');
    await user.clear(screen.getByLabelText('Time the service has to answer (seconds)'));
    await user.type(screen.getByLabelText('Time the service has to answer (seconds)'), '900');
    await user.click(within(form).getByRole('button', { name: 'Add user' }));
    await user.type(screen.getByLabelText('User 1'), 'ada:lovelace');
    await user.type(screen.getByLabelText('Allowed IPs'), '10.0.0.0/8{enter}{enter}10.0.0.0/33');
    await user.click(within(form).getAllByRole('button', { name: 'Add header' })[0]!);
    await user.type(screen.getByLabelText('Request header 1: name'), 'Bad Header');
    await user.click(within(form).getByRole('button', { name: 'Create tunnel' }));

    expect(bridge.callsOf('profiles:create')).toEqual([]);
    expect(within(form).getByRole('alert').textContent).toContain('Fix the 10 fields marked above.');
    expect(messagesOf('Name')).toEqual(['Give the tunnel a name.']);
    expect(messagesOf('Relay URL')).toEqual(['The relay URL must be an http:// or https:// URL.']);
    expect(messagesOf('Host')).toEqual(['The host must be a host name such as my-app.example.com.']);
    expect(messagesOf('URL')).toEqual(['The service must be an http:// or https:// URL.']);
    expect(messagesOf('Workers')).toEqual(['Workers must be a whole number from 1 to 64.']);
    expect(messagesOf('Time the service has to answer (seconds)')).toEqual([
      'The time must be between 1 and 600 seconds.',
    ]);
    expect(messagesOf('User 1')).toEqual(['A user name cannot hold “:”.']);
    expect(messagesOf('Password of user 1')).toEqual(['Give a password.']);
    expect(messagesOf('Allowed IPs')).toEqual(['Line 3: not an IP address or range such as 10.0.0.0/8.']);
    expect(messagesOf('Request header 1: name')).toEqual(['Not a header name, such as X-Request-Id.']);
    expect(screen.getByLabelText('Name').getAttribute('aria-invalid')).toBe('true');
    // The first field with a problem gets the focus.
    expect(document.activeElement).toBe(screen.getByLabelText('Name'));

    // The language changes (from the settings page or the tray): the same problems, in Chinese.
    act(() => bridge.emit('settings:changed', { ...bridge.settingsValue, language: 'zh-CN' }));
    const zh = await screen.findByRole('form', { name: '新建隧道' });
    expect(within(zh).getByRole('alert').textContent).toContain('请修正上面标出的 10 个字段。');
    expect(messagesOf('名称')).toEqual(['请为隧道命名。']);
    expect(messagesOf('中继 URL')).toEqual(['中继 URL 必须是 http:// 或 https:// 地址。']);
    expect(messagesOf('主机名')).toEqual(['主机名必须是类似 my-app.example.com 的主机名。']);
    expect(messagesOf('URL')).toEqual(['服务地址必须是 http:// 或 https:// 地址。']);
    expect(messagesOf('工作线程')).toEqual(['工作线程数必须是 1 到 64 之间的整数。']);
    expect(messagesOf('服务响应的时限（秒）')).toEqual(['时限必须在 1 到 600 秒之间。']);
    expect(messagesOf('用户 1')).toEqual(['用户名不能包含“:”。']);
    expect(messagesOf('用户 1 的密码')).toEqual(['请填写密码。']);
    expect(messagesOf('允许的 IP')).toEqual(['第 3 行：不是 IP 地址或网段（例如 10.0.0.0/8）。']);
    expect(messagesOf('请求头 1：名称')).toEqual(['不是有效的请求头名称，例如 X-Request-Id。']);
  });

  it('shows a problem once a field is left, before any save', async () => {
    const bridge = new FakeBridge();
    const { user } = await newTunnelForm(bridge);
    await user.type(screen.getByLabelText('Allowed IPs'), '300.1.2.3');
    expect(messagesOf('Allowed IPs')).toEqual([]);
    await user.tab();
    expect(messagesOf('Allowed IPs')).toEqual(['Line 1: not an IP address or range such as 10.0.0.0/8.']);
    await user.clear(screen.getByLabelText('Allowed IPs'));
    await user.type(screen.getByLabelText('Allowed IPs'), '2001:db8::/32');
    expect(messagesOf('Allowed IPs')).toEqual([]);
  });

  it('creates a profile with every field, as a draft the contract accepts', async () => {
    const bridge = new FakeBridge();
    const { user, form } = await newTunnelForm(bridge);
    await user.type(screen.getByLabelText('Name'), 'Shop');
    await user.click(within(form).getByRole('button', { name: 'Generate host' }));
    const host = (screen.getByLabelText('Host') as HTMLInputElement).value;
    expect(host).toMatch(/^[a-z]+(-[a-z]+){4}\.28820\.com$/);
    await user.selectOptions(screen.getByLabelText('Kind'), 'fastcgi');
    await user.type(screen.getByLabelText('PHP-FPM address'), '127.0.0.1:9000');
    await user.type(screen.getByLabelText('Document root'), '/var/www/shop/public');
    await user.click(within(form).getByRole('button', { name: 'Add user' }));
    await user.type(screen.getByLabelText('User 1'), 'ada');
    await user.type(screen.getByLabelText('Password of user 1'), 's3cret');
    await user.type(screen.getByLabelText('Denied IPs'), '192.0.2.0/24');
    await user.type(screen.getByLabelText('Response headers to remove'), 'x-powered-by');
    await user.click(within(form).getByRole('checkbox', { name: 'Start this tunnel when Porthole starts' }));
    await user.selectOptions(screen.getByLabelText('Host header the service sees'), 'visitor');
    await user.click(within(form).getByRole('button', { name: 'Create tunnel' }));

    const [payload] = bridge.callsOf('profiles:create') as Array<{ profile: Record<string, unknown> }>;
    expect(commandSchemas['profiles:create'].safeParse(payload).success).toBe(true);
    expect(payload!.profile).toMatchObject({
      name: 'Shop',
      relay: { kind: 'fpw', url: 'https://{host}/', host },
      upstream: { kind: 'fastcgi', address: '127.0.0.1:9000', root: '/var/www/shop/public', index: 'index.php' },
      workers: 8,
      upstreamTimeoutMs: 60_000,
      hostHeader: 'visitor',
      autoStart: true,
      access: { basicAuth: [{ user: 'ada', password: 's3cret' }], allow: [], deny: ['192.0.2.0/24'] },
      headers: { request: { add: [], remove: [] }, response: { add: [], remove: ['x-powered-by'] } },
    });
    // No token given: the main process makes one.
    expect((payload!.profile['relay'] as Record<string, unknown>)['token']).toBeUndefined();
    await screen.findByRole('article', { name: 'Shop' });
  });

  it('follows symbolic links out of a folder only when asked, with a warning that says the risk', async () => {
    const bridge = new FakeBridge();
    const { user, form } = await newTunnelForm(bridge);
    await user.type(screen.getByLabelText('Name'), 'Wiki');
    await user.selectOptions(screen.getByLabelText('Kind'), 'folder');
    await user.type(screen.getByLabelText('Folder'), '/usr/share/dokuwiki');
    const follow = within(form).getByRole('checkbox', { name: 'Follow symbolic links that lead outside the folder' });
    expect((follow as HTMLInputElement).checked).toBe(false);
    await user.click(follow);
    expect(within(form).getByRole('note').textContent).toContain('anyone with the address can read what these links');
    await user.click(within(form).getByRole('button', { name: 'Create tunnel' }));
    const [payload] = bridge.callsOf('profiles:create') as Array<{ profile: Record<string, unknown> }>;
    expect(commandSchemas['profiles:create'].safeParse(payload).success).toBe(true);
    expect(payload!.profile['upstream']).toEqual({
      kind: 'folder',
      root: '/usr/share/dokuwiki',
      dotfiles: false,
      listing: true,
      followSymlinks: true,
    });
  });

  it('edits a saved profile with its secrets masked until revealed', async () => {
    const bridge = bridgeWith(makeTunnel('demo', 'Offline demo'));
    bridge.profileList = [
      makeProfile('demo', 'Offline demo', {
        access: { basicAuth: [{ user: 'ada', password: 'pw-1' }], allow: [], deny: [] },
        upstream: { kind: 'http', target: 'https://localhost:8443', insecure: true },
      }),
    ];
    const { user } = renderUI(bridge);
    const page = await screen.findByRole('article', { name: 'Offline demo' });
    await user.click(within(page).getByRole('tab', { name: 'Profile' }));
    const form = screen.getByRole('form', { name: 'Profile of Offline demo' });
    const token = screen.getByLabelText('Token') as HTMLInputElement;
    expect(token.type).toBe('password');
    expect(token.value).toBe('token-of-demo');
    const reveal = within(form).getByRole('button', { name: 'Show Token' });
    await user.click(reveal);
    expect(token.type).toBe('text');
    expect(within(form).getByRole('button', { name: 'Hide Token' }).getAttribute('aria-pressed')).toBe('true');
    expect((screen.getByLabelText('Password of user 1') as HTMLInputElement).type).toBe('password');
    // The insecure-certificate option is on: its warning shows.
    expect(within(form).getByRole('note').textContent).toContain('will not check the service’s HTTPS certificate');
    // Generate host keeps the domain the host has.
    await user.click(within(form).getByRole('button', { name: 'Generate host' }));
    expect((screen.getByLabelText('Host') as HTMLInputElement).value).toMatch(/^[a-z]+(-[a-z]+){4}\.localhost$/);
    await user.clear(screen.getByLabelText('Name'));
    await user.type(screen.getByLabelText('Name'), 'Demo 2');
    await user.click(within(form).getByRole('button', { name: 'Save' }));
    const [payload] = bridge.callsOf('profiles:update') as Array<{ id: string; profile: { name: string } }>;
    expect(payload!.id).toBe('demo');
    expect(payload!.profile.name).toBe('Demo 2');
    expect(commandSchemas['profiles:update'].safeParse(payload).success).toBe(true);
    expect((await screen.findByRole('status', { name: 'Messages' })).textContent).toContain('Saved Demo 2.');
  });

  it('holds only marks for saved secrets, fetches one when Reveal is clicked, and saves the marks back untouched', async () => {
    const bridge = bridgeWith(makeTunnel('demo', 'Offline demo'));
    bridge.profileList = [
      makeProfile('demo', 'Offline demo', {
        relay: { kind: 'fpw', url: 'http://127.0.0.1:9/', host: 'demo.localhost', token: SAVED_SECRET },
        access: { basicAuth: [{ user: 'ada', password: SAVED_SECRET }], allow: [], deny: [] },
      }),
    ];
    bridge.secrets = { 'demo relay.token': 'the-real-token', 'demo access.basicAuth.0.password': 'pw-1' };
    const { user } = renderUI(bridge);
    const page = await screen.findByRole('article', { name: 'Offline demo' });
    await user.click(within(page).getByRole('tab', { name: 'Profile' }));
    const form = screen.getByRole('form', { name: 'Profile of Offline demo' });
    const token = screen.getByLabelText('Token') as HTMLInputElement;
    expect(bridge.callsOf('profiles:secret')).toEqual([]);
    await user.click(within(form).getByRole('button', { name: 'Show Token' }));
    expect(bridge.callsOf('profiles:secret')).toEqual([{ id: 'demo', path: 'relay.token' }]);
    expect(token.type).toBe('text');
    expect(token.value).toBe('the-real-token');
    // The password stays a mark, untouched; saving sends the mark back, which keeps the saved one.
    await user.clear(screen.getByLabelText('Name'));
    await user.type(screen.getByLabelText('Name'), 'Demo 3');
    await user.click(within(form).getByRole('button', { name: 'Save' }));
    const [payload] = bridge.callsOf('profiles:update') as Array<{
      profile: { access: { basicAuth: Array<{ password: string }> } };
    }>;
    expect(payload!.profile.access.basicAuth[0]!.password).toBe(SAVED_SECRET);
    // Typing into a field that holds a mark replaces it.
    const password = screen.getByLabelText('Password of user 1') as HTMLInputElement;
    await user.type(password, 'new');
    expect(password.value).toBe('new');
  });

  it('chooses the transport: ws:// for WebSocket and ggrok, http(s):// for FPW, with the schema’s messages in both languages', async () => {
    const bridge = new FakeBridge();
    const { user, form } = await newTunnelForm(bridge);
    const transport = screen.getByLabelText('Transport') as HTMLSelectElement;
    expect(transport.value).toBe('fpw');
    expect([...transport.options].map((o) => o.value)).toEqual(['fpw', 'ws', 'ggrok']);
    await user.type(screen.getByLabelText('Name'), 'Chat');
    await user.selectOptions(transport, 'ws');
    // Only FPW has a public relay: over WebSocket the relay URL is asked for at once.
    expect(within(form).queryByRole('radio', { name: 'Another relay' })).toBeNull();
    await user.type(screen.getByLabelText('Relay URL'), 'https://relay.example.com/');
    await user.click(within(form).getByRole('button', { name: 'Create tunnel' }));
    expect(bridge.callsOf('profiles:create')).toEqual([]);
    expect(messagesOf('Relay URL')).toEqual(['The relay URL must be a ws:// or wss:// URL.']);
    await user.selectOptions(transport, 'ggrok');
    expect(messagesOf('Relay URL')).toEqual(['The relay URL must be a ws:// or wss:// URL.']);
    act(() => bridge.emit('settings:changed', { ...bridge.settingsValue, language: 'zh-CN' }));
    await screen.findByRole('form', { name: '新建隧道' });
    expect(messagesOf('中继 URL')).toEqual(['中继 URL 必须是 ws:// 或 wss:// 地址。']);
    act(() => bridge.emit('settings:changed', { ...bridge.settingsValue, language: 'en' }));
    await screen.findByRole('form', { name: 'New tunnel' });

    // FPW takes http(s)://, and says so of a ws:// URL.
    await user.selectOptions(transport, 'fpw');
    await user.click(within(form).getByRole('radio', { name: 'Another relay' }));
    await user.clear(screen.getByLabelText('Relay URL'));
    await user.type(screen.getByLabelText('Relay URL'), 'ws://relay.example.com/');
    expect(messagesOf('Relay URL')).toEqual(['The relay URL must be an http:// or https:// URL.']);

    // A ggrok server with a ws:// URL is a draft the contract accepts.
    await user.selectOptions(transport, 'ggrok');
    await user.type(screen.getByLabelText('URL'), 'http://127.0.0.1:3000');
    await user.click(within(form).getByRole('button', { name: 'Create tunnel' }));
    const [payload] = bridge.callsOf('profiles:create') as Array<{ profile: Record<string, unknown> }>;
    expect(commandSchemas['profiles:create'].safeParse(payload).success).toBe(true);
    expect(payload!.profile['relay']).toEqual({ kind: 'ggrok', url: 'ws://relay.example.com/' });
  });

  it('creates a TCP tunnel over the WebSocket transport: host:port and the public port asked for', async () => {
    const bridge = new FakeBridge();
    const { user, form } = await newTunnelForm(bridge);
    await user.type(screen.getByLabelText('Name'), 'Redis');
    await user.selectOptions(screen.getByLabelText('Transport'), 'ws');
    await user.type(screen.getByLabelText('Relay URL'), 'wss://relay.example.com/');
    const kind = screen.getByLabelText('Kind') as HTMLSelectElement;
    expect([...kind.options].map((o) => o.value)).toEqual(['http', 'fastcgi', 'folder', 'tcp']);
    await user.selectOptions(kind, 'tcp');
    expect(form.textContent).toContain('TCP needs the WebSocket transport');
    await user.type(screen.getByLabelText('Local address'), 'localhost:6379');
    await user.type(screen.getByLabelText('Public port'), '30001');
    await user.click(within(form).getByRole('button', { name: 'Create tunnel' }));
    const [payload] = bridge.callsOf('profiles:create') as Array<{ profile: Record<string, unknown> }>;
    expect(commandSchemas['profiles:create'].safeParse(payload).success).toBe(true);
    expect(payload!.profile).toMatchObject({
      name: 'Redis',
      relay: { kind: 'ws', url: 'wss://relay.example.com/' },
      upstream: { kind: 'tcp', target: 'localhost:6379', remotePort: 30001 },
    });
  });

  it('refuses TCP over FPW or ggrok, saying why, and a bad address or port, in both languages', async () => {
    const bridge = new FakeBridge();
    const { user, form } = await newTunnelForm(bridge);
    await user.type(screen.getByLabelText('Name'), 'Redis');
    await user.selectOptions(screen.getByLabelText('Kind'), 'tcp');
    await user.type(screen.getByLabelText('Local address'), 'redis');
    await user.type(screen.getByLabelText('Public port'), '70000');
    await user.click(within(form).getByRole('button', { name: 'Create tunnel' }));
    expect(bridge.callsOf('profiles:create')).toEqual([]);
    expect(messagesOf('Kind')).toEqual(['A TCP service needs the WebSocket transport.']);
    expect(messagesOf('Local address')).toEqual(['The address must be host:port or a port, such as 127.0.0.1:6379.']);
    expect(messagesOf('Public port')).toEqual(['The public port must be a whole number from 1 to 65535.']);
    await user.selectOptions(screen.getByLabelText('Transport'), 'ggrok');
    expect(messagesOf('Kind')).toEqual(['A TCP service needs the WebSocket transport.']);
    act(() => bridge.emit('settings:changed', { ...bridge.settingsValue, language: 'zh-CN' }));
    await screen.findByRole('form', { name: '新建隧道' });
    expect(messagesOf('类型')).toEqual(['TCP 服务需要 WebSocket 传输方式。']);
    expect(messagesOf('本地地址')).toEqual(['地址必须是 host:port 或端口号，例如 127.0.0.1:6379。']);
    expect(messagesOf('公网端口')).toEqual(['公网端口必须是 1 到 65535 之间的整数。']);
    act(() => bridge.emit('settings:changed', { ...bridge.settingsValue, language: 'en' }));
    await screen.findByRole('form', { name: 'New tunnel' });
    await user.selectOptions(screen.getByLabelText('Transport'), 'ws');
    expect(messagesOf('Kind')).toEqual([]);
  });

  it('edits a saved WebSocket profile with a TCP service, keeping its transport', async () => {
    const bridge = bridgeWith(makeTunnel('redis', 'Redis'));
    bridge.profileList = [
      makeProfile('redis', 'Redis', {
        relay: { kind: 'ws', url: 'ws://relay.example.com:8080/', host: 'redis.relay.example.com', token: 't' },
        upstream: { kind: 'tcp', target: '127.0.0.1:6379', remotePort: 30002 },
      }),
    ];
    const { user } = renderUI(bridge);
    const page = await screen.findByRole('article', { name: 'Redis' });
    await user.click(within(page).getByRole('tab', { name: 'Profile' }));
    const form = screen.getByRole('form', { name: 'Profile of Redis' });
    expect((screen.getByLabelText('Transport') as HTMLSelectElement).value).toBe('ws');
    expect((screen.getByLabelText('Relay URL') as HTMLInputElement).value).toBe('ws://relay.example.com:8080/');
    expect((screen.getByLabelText('Kind') as HTMLSelectElement).value).toBe('tcp');
    expect((screen.getByLabelText('Local address') as HTMLInputElement).value).toBe('127.0.0.1:6379');
    expect((screen.getByLabelText('Public port') as HTMLInputElement).value).toBe('30002');
    await user.clear(screen.getByLabelText('Public port'));
    await user.click(within(form).getByRole('button', { name: 'Save' }));
    const [payload] = bridge.callsOf('profiles:update') as Array<{ id: string; profile: Record<string, unknown> }>;
    expect(commandSchemas['profiles:update'].safeParse(payload).success).toBe(true);
    expect(payload!.profile['relay']).toEqual({
      kind: 'ws',
      url: 'ws://relay.example.com:8080/',
      host: 'redis.relay.example.com',
      token: 't',
    });
    // No public port: any free one.
    expect(payload!.profile['upstream']).toEqual({ kind: 'tcp', target: '127.0.0.1:6379' });
  });
});
