// @vitest-environment jsdom
import { act, cleanup, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { bridgeWith, makeDetail, makeTunnel, type FakeBridge } from './fake-bridge.ts';
import { renderUI } from './render.tsx';

afterEach(cleanup);

// A 1x1 transparent PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);

async function openTunnel(): Promise<{ bridge: FakeBridge; user: ReturnType<typeof renderUI>['user'] }> {
  const bridge = bridgeWith(
    makeTunnel('demo', 'Offline demo', { phase: 'online', publicUrl: 'http://demo.localhost:40123/', since: 0 }),
  );
  const { user } = renderUI(bridge);
  await screen.findByRole('article', { name: 'Offline demo' });
  return { bridge, user };
}

async function openRequest(user: ReturnType<typeof renderUI>['user'], name: RegExp): Promise<HTMLElement> {
  await user.click(await screen.findByRole('button', { name }));
  const detail = await screen.findByRole('region', { name: 'Request detail' });
  await within(detail).findByRole('toolbar', { name: 'Request actions' });
  return detail;
}

describe('request detail', () => {
  it('fetches the request when opened and shows a JSON body pretty-printed and foldable', async () => {
    const { bridge, user } = await openTunnel();
    act(() =>
      bridge.push(
        makeDetail('demo', {
          id: 'j1',
          url: '/api/user?id=7',
          responseHeaders: [
            ['content-type', 'application/json; charset=utf-8'],
            ['x-trace', 'abc'],
          ],
          responseBody: JSON.stringify({
            name: 'Ada',
            roles: ['admin', 'dev'],
            address: { city: 'London', zip: null },
          }),
        }),
      ),
    );
    const detail = await openRequest(user, /^Open GET \/api\/user\?id=7 \(200\)$/);
    expect(bridge.callsOf('requests:get')).toEqual([{ tunnelId: 'demo', id: 'j1' }]);
    expect(detail.textContent).toContain('http://demo.localhost:40123/api/user?id=7');
    expect(detail.textContent).toContain('203.0.113.7');

    await user.click(within(detail).getByRole('tab', { name: 'Response' }));
    expect(within(detail).getByRole('table', { name: 'Response headers' }).textContent).toContain('x-trace');
    const body = within(detail).getByRole('region', { name: 'Response body' });
    expect(body.textContent).toContain('JSON');
    const tree = within(body).getByRole('group', { name: 'JSON' });
    expect(tree.textContent).toContain('"name": "Ada"');
    expect(tree.textContent).toContain('"zip": null');
    // Two levels open at first; each object and array folds and unfolds.
    const address = [...tree.querySelectorAll('details')].find((d) =>
      d.querySelector(':scope > summary')?.textContent?.startsWith('"address"'),
    )!;
    expect(address.open).toBe(true);
    await user.click(address.querySelector('summary')!);
    expect(address.open).toBe(false);
    expect(address.querySelector('summary')!.textContent).toContain('2 keys');
    // The raw text is one click away.
    await user.click(within(body).getByRole('button', { name: 'Raw' }));
    expect(within(body).getByText(/^\{"name":"Ada"/)).toBeTruthy();
  });

  it('shows form fields as a table', async () => {
    const { bridge, user } = await openTunnel();
    act(() =>
      bridge.push(
        makeDetail('demo', {
          id: 'f1',
          method: 'POST',
          url: '/login',
          requestHeaders: [['content-type', 'application/x-www-form-urlencoded']],
          requestBody: 'user=ada&note=hello+world&city=M%C3%BCnchen',
          status: 302,
        }),
      ),
    );
    const detail = await openRequest(user, /^Open POST \/login \(302\)$/);
    await user.click(within(detail).getByRole('tab', { name: 'Request' }));
    const table = within(detail).getByRole('table', { name: 'Form fields' });
    const rows = within(table)
      .getAllByRole('row')
      .slice(1)
      .map((r) => [...r.querySelectorAll('td')].map((c) => c.textContent));
    expect(rows).toEqual([
      ['user', 'ada'],
      ['note', 'hello world'],
      ['city', 'München'],
    ]);
  });

  it('previews an image', async () => {
    const { bridge, user } = await openTunnel();
    act(() =>
      bridge.push(
        makeDetail('demo', {
          id: 'i1',
          url: '/logo.png',
          responseHeaders: [['content-type', 'image/png']],
          responseBody: PNG,
        }),
      ),
    );
    const detail = await openRequest(user, /^Open GET \/logo\.png \(200\)$/);
    await user.click(within(detail).getByRole('tab', { name: 'Response' }));
    const img = within(detail).getByRole('img', { name: /^Image preview \(image\/png, \d+ B\)$/ });
    expect(img.getAttribute('src')).toBe(`data:image/png;base64,${PNG.toString('base64')}`);
  });

  it('shows a binary body as a hex dump, with its real size and a note that the preview was cut', async () => {
    const { bridge, user } = await openTunnel();
    const bytes = Uint8Array.from({ length: 40 }, (_, i) => (i * 37) % 256);
    bytes[0] = 0;
    act(() =>
      bridge.push(
        makeDetail('demo', {
          id: 'b1',
          url: '/download',
          responseHeaders: [['content-type', 'application/octet-stream']],
          responseBody: bytes,
          responseSize: 5 * 1024 * 1024,
        }),
      ),
    );
    const detail = await openRequest(user, /^Open GET \/download \(200\)$/);
    await user.click(within(detail).getByRole('tab', { name: 'Response' }));
    const body = within(detail).getByRole('region', { name: 'Response body' });
    expect(body.textContent).toContain('binary');
    expect(body.textContent).toContain('Size: 5 MiB');
    expect(within(body).getByRole('note').textContent).toBe('Preview cut: showing the first 40 B of 5 MiB.');
    const dump = within(body).getByLabelText('Hex dump').textContent!.split('\n');
    expect(dump).toHaveLength(3);
    expect(dump[0]).toMatch(
      /^00000000 {2}00 25 4a 6f 94 b9 de 03 {2}28 4d 72 97 bc e1 06 2b {2}\|\.%Jo\.\.\.\.\(Mr\.\.\.\.\+\|$/,
    );
    expect(dump[2]).toMatch(/^00000020 {2}/);
  });

  it('shows a percent-encoded path decoded in the list and the detail, and copies it as it was sent', async () => {
    const { bridge, user } = await openTunnel();
    const copied: string[] = [];
    Object.defineProperty(navigator, 'clipboard', {
      configurable: true,
      value: { writeText: async (text: string) => void copied.push(text) },
    });
    // UTF-8 escapes decode (upper or lower case hex); ASCII escapes (which can change what a path
    // means), invalid or cut sequences, and invisible characters (a right-to-left override) stay.
    const sent = '/%E4%B8%AD%E6%96%87/a%20b%2Fc?q=%E4%B8%AD&lower=%e6%96%87&bad=%E4%ZZ&cut=%E4%B8&rlo=%E2%80%AE';
    const shown = '/中文/a%20b%2Fc?q=中&lower=文&bad=%E4%ZZ&cut=%E4%B8&rlo=%E2%80%AE';
    act(() => bridge.push(makeDetail('demo', { id: 'p1', url: sent })));
    const list = await screen.findByRole('table', { name: 'Requests' });
    const open = within(list).getByRole('button', { name: `Open GET ${shown} (200)` });
    expect(open.textContent).toBe(shown);

    // The filter finds it by what it shows as well as by what was sent.
    const filter = screen.getByRole('searchbox', { name: 'Filter requests' });
    await user.type(filter, '中文');
    expect(within(list).getAllByRole('row')).toHaveLength(2);
    await user.clear(filter);
    await user.type(filter, '%E4%B8%AD');
    expect(within(list).getAllByRole('row')).toHaveLength(2);
    await user.clear(filter);

    const detail = await openRequest(user, /^Open GET \/中文/);
    expect(within(detail).getByRole('heading', { level: 2 }).textContent).toBe(`GET ${shown}`);
    expect(detail.textContent).toContain(`http://demo.localhost:40123${shown}`);
    expect(detail.textContent).not.toContain('%E4%B8%AD%E6%96%87');

    await user.click(within(detail).getByRole('button', { name: 'Copy as cURL' }));
    expect(copied.at(-1)!.split(' \\\n')[0]).toBe(`curl 'http://demo.localhost:40123${sent}'`);
    await user.click(within(detail).getByRole('button', { name: 'Edit and replay' }));
    expect(within(detail).getByRole('textbox', { name: 'Path and query' })).toHaveProperty('value', sent);
  });

  it('copies the request as a cURL command against the public URL', async () => {
    const { bridge, user } = await openTunnel();
    const copied: string[] = [];
    Object.defineProperty(navigator, 'clipboard', {
      configurable: true,
      value: { writeText: async (text: string) => void copied.push(text) },
    });
    act(() =>
      bridge.push(
        makeDetail('demo', {
          id: 'c1',
          method: 'POST',
          url: '/api/note?x=1',
          requestHeaders: [
            ['host', 'demo.localhost:40123'],
            ['content-type', 'application/json'],
            ['content-length', '21'],
            ['x-quote', "it's"],
          ],
          requestBody: '{"text":"don\'t stop"}',
        }),
        makeDetail('demo', {
          id: 'c2',
          method: 'PUT',
          url: '/blob',
          requestHeaders: [['content-type', 'application/octet-stream']],
          requestBody: Uint8Array.from([0, 1, 2, 255]),
        }),
      ),
    );
    let detail = await openRequest(user, /^Open POST \/api\/note\?x=1 \(200\)$/);
    await user.click(within(detail).getByRole('button', { name: 'Copy as cURL' }));
    expect(copied.at(-1)).toBe(
      [
        "curl -X POST 'http://demo.localhost:40123/api/note?x=1' \\",
        "  -H 'content-type: application/json' \\",
        "  -H 'x-quote: it'\\''s' \\",
        "  --data-binary '{\"text\":\"don'\\''t stop\"}'",
      ].join('\n'),
    );
    expect((await screen.findByRole('status', { name: 'Messages' })).textContent).toContain('Copied the cURL command.');
    detail = await openRequest(user, /^Open PUT \/blob \(200\)$/);
    await user.click(within(detail).getByRole('button', { name: 'Copy as cURL' }));
    expect(copied.at(-1)).toBe(
      [
        "printf %s 'AAEC/w==' | base64 -d | curl -X PUT 'http://demo.localhost:40123/blob' \\",
        "  -H 'content-type: application/octet-stream' \\",
        '  --data-binary @-',
      ].join('\n'),
    );
  });

  it('explains why a request whose body was not kept cannot be replayed', async () => {
    const { bridge, user } = await openTunnel();
    act(() =>
      bridge.push(
        makeDetail('demo', {
          id: 'u1',
          method: 'PUT',
          url: '/upload',
          requestHeaders: [['content-type', 'application/octet-stream']],
          requestBody: 'abc',
          requestSize: 3 * 1024 * 1024,
          replayable: false,
        }),
      ),
    );
    const detail = await openRequest(user, /^Open PUT \/upload \(200\)$/);
    const replay = within(detail).getByRole('button', { name: 'Replay' });
    expect(replay).toHaveProperty('disabled', true);
    const reason = document.getElementById(replay.getAttribute('aria-describedby')!)!;
    expect(reason.textContent).toContain('the request body (3 MiB) was larger than the replay cap');
    // A new body can still be sent with Edit and replay.
    expect(within(detail).getByRole('button', { name: 'Edit and replay' })).toHaveProperty('disabled', false);
    await waitFor(() => expect(bridge.callsOf('requests:get')).toHaveLength(1));
  });
});
