import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessPolicy, parseBasic, parseHeaderArg } from '../../src-main/engine/access.ts';
import { parseCidr, unmapIpv4 } from '../../src-main/protocol/address.ts';
import { isCidr, isIpv4Literal, isIpv6Literal } from '../../src-main/protocol/ip.ts';
import { parseProfile } from '../../src-main/engine/profile.ts';
import type { RelayServer } from '../../src-main/relay/RelayServer.ts';
import type { Tunnel } from '../../src-main/engine/Tunnel.ts';
import { echoHandler, startRelay, startServer, startTunnel, visit, type Server } from '../helpers/net.ts';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('IP literals and CIDR ranges (shared with the renderer, no node:net)', () => {
  it.each(['1.2.3.4', '0.0.0.0', '255.255.255.255'])('accepts IPv4 %s', (ip) => expect(isIpv4Literal(ip)).toBe(true));
  it.each(['256.1.1.1', '1.2.3', '01.2.3.4x', '1.2.3.4.5', ''])('rejects IPv4 %s', (ip) =>
    expect(isIpv4Literal(ip)).toBe(false),
  );
  it.each(['::1', '::', '2001:db8::1', 'fe80::1:2:3:4', '::ffff:1.2.3.4', '1:2:3:4:5:6:7:8'])('accepts IPv6 %s', (ip) =>
    expect(isIpv6Literal(ip)).toBe(true),
  );
  it.each(['1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', '12345::1', '1.2.3.4'])('rejects IPv6 %s', (ip) =>
    expect(isIpv6Literal(ip)).toBe(false),
  );
  it('checks prefix lengths', () => {
    expect(isCidr('10.0.0.0/8')).toBe(true);
    expect(isCidr('10.0.0.0/33')).toBe(false);
    expect(isCidr('2001:db8::/32')).toBe(true);
    expect(isCidr('2001:db8::/129')).toBe(false);
    expect(isCidr('10.0.0.0/8/1')).toBe(false);
  });
  it('unmaps IPv4-mapped IPv6 in both notations', () => {
    expect(unmapIpv4('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(unmapIpv4('::FFFF:cb00:7109')).toBe('203.0.113.9');
    expect(unmapIpv4('2001:db8::1')).toBe('2001:db8::1');
    expect(parseCidr('::ffff:10.0.0.0/104')).toEqual({ address: '10.0.0.0', prefix: 8, type: 'ipv4' });
  });
});

describe('AccessPolicy', () => {
  it('denies on the deny list, even when also allowed', () => {
    const p = new AccessPolicy({ basicAuth: [], allow: ['10.0.0.0/8'], deny: ['10.1.0.0/16'] }, 'x');
    expect(p.check('10.2.3.4', {})).toEqual({ ok: true });
    expect(p.check('10.1.2.3', {})).toMatchObject({ ok: false, status: 403, refusedBy: 'ip-deny' });
    expect(p.check('192.0.2.1', {})).toMatchObject({ ok: false, status: 403, refusedBy: 'ip-allow' });
    expect(p.check('::ffff:10.2.3.4', {})).toEqual({ ok: true });
    // An address that does not parse is refused: it cannot be shown not to be on the deny list.
    expect(p.check('', {})).toMatchObject({ ok: false, refusedBy: 'ip-deny' });
    expect(p.check('010.1.2.3', {})).toMatchObject({ ok: false, status: 403 });
    expect(p.check('10.1.2.3, 1.1.1.1', {})).toMatchObject({ ok: false, status: 403 });
  });

  it('reads the forms relays write addresses in before matching them', () => {
    const p = new AccessPolicy({ basicAuth: [], allow: [], deny: ['10.1.0.0/16', '2001:db8::/32', 'fe80::/10'] }, 'x');
    expect(p.check('10.1.2.3:5555', {})).toMatchObject({ ok: false, refusedBy: 'ip-deny' });
    expect(p.check('[2001:db8::1]', {})).toMatchObject({ ok: false, refusedBy: 'ip-deny' });
    expect(p.check('[2001:db8::1]:443', {})).toMatchObject({ ok: false, refusedBy: 'ip-deny' });
    expect(p.check('fe80::1%eth0', {})).toMatchObject({ ok: false, refusedBy: 'ip-deny' });
    expect(p.check('::ffff:10.1.9.9', {})).toMatchObject({ ok: false, refusedBy: 'ip-deny' });
    expect(p.check('192.0.2.1:80', {})).toEqual({ ok: true });
  });

  it('matches IPv6 ranges', () => {
    const p = new AccessPolicy({ basicAuth: [], allow: ['2001:db8::/32'], deny: [] }, 'x');
    expect(p.check('2001:db8:1::5', {})).toEqual({ ok: true });
    expect(p.check('2001:db9::5', {})).toMatchObject({ ok: false, refusedBy: 'ip-allow' });
  });

  it('asks for basic auth with a realm and takes any of the pairs; passwords may hold colons', () => {
    const p = new AccessPolicy(
      {
        basicAuth: [
          { user: 'ann', password: 'a:b:c' },
          { user: 'bob', password: 'pw' },
        ],
        allow: [],
        deny: [],
      },
      'Porthole: "shop"',
    );
    const none = p.check('1.2.3.4', {});
    expect(none).toMatchObject({ ok: false, status: 401, refusedBy: 'basic-auth' });
    expect(!none.ok && none.headers['www-authenticate']).toBe('Basic realm="Porthole: shop", charset="UTF-8"');
    expect(p.check('1.2.3.4', { authorization: basic('ann', 'a:b:c') })).toEqual({ ok: true });
    expect(p.check('1.2.3.4', { authorization: basic('bob', 'pw') })).toEqual({ ok: true });
    expect(p.check('1.2.3.4', { authorization: basic('bob', 'a:b:c') })).toMatchObject({ ok: false, status: 401 });
    expect(p.check('1.2.3.4', { authorization: 'Bearer x' })).toMatchObject({ ok: false, status: 401 });
  });

  it('parses credentials and header arguments', () => {
    expect(parseBasic(basic('u', 'p:q'))).toEqual({ user: 'u', password: 'p:q' });
    expect(parseBasic('Basic !!!')).toBeNull();
    expect(parseHeaderArg('X-Env:  staging ')).toEqual({ name: 'X-Env', value: 'staging' });
    expect(() => parseHeaderArg('no colon')).toThrow(/Name: value/);
  });

  it('is checked by the profile schema', () => {
    const base = {
      id: 'a',
      name: 'a',
      relay: { kind: 'fpw', host: 'a.test', token: 't' },
      upstream: { kind: 'http', target: 'http://127.0.0.1:1' },
    };
    expect(parseProfile({ ...base, access: { allow: ['10.0.0.0/40'] } })).toMatchObject({ ok: false });
    expect(parseProfile({ ...base, access: { basicAuth: [{ user: 'a:b', password: 'x' }] } })).toMatchObject({
      ok: false,
    });
    const ok = parseProfile({ ...base, access: { deny: ['2001:db8::/32'] } });
    expect(ok.ok && ok.profile.access).toEqual({ basicAuth: [], allow: [], deny: ['2001:db8::/32'] });
  });
});

describe('access rules enforced by the worker, end to end', () => {
  let relay: RelayServer;
  let upstream: Server;
  const seen: string[] = [];
  let guarded: Tunnel;
  let fenced: Tunnel;

  beforeAll(async () => {
    // The relay trusts 127.0.0.1 as a proxy, so that X-Forwarded-For sets the visitor IP it reports.
    relay = await startRelay({ trustProxy: ['127.0.0.1/32'] });
    const echo = echoHandler();
    upstream = await startServer((req, res) => {
      seen.push(req.url ?? '');
      echo(req, res);
    });
    guarded = await startTunnel(relay.url, upstream.url, {
      profile: {
        name: 'guarded',
        access: { basicAuth: [{ user: 'ann', password: 'secret:1' }] },
        headers: {
          request: { add: [{ name: 'X-Via', value: 'porthole' }], remove: ['x-drop-me'] },
          response: { add: [{ name: 'X-Frame-Options', value: 'DENY' }], remove: ['x-echo'] },
        },
      },
    });
    fenced = await startTunnel(relay.url, upstream.url, {
      profile: {
        name: 'fenced',
        access: { allow: ['203.0.113.0/24', '2001:db8::/32'], deny: ['203.0.113.66', '2001:db8:bad::/48'] },
      },
    });
  });
  afterAll(async () => {
    await guarded.close(0);
    await fenced.close(0);
    await relay.close(0);
    await upstream.close();
  });

  it('answers 401 without the right credentials, never touching the upstream, and logs the refusal', async () => {
    const host = guarded.profile.relay.host;
    const none = await visit(relay.port, host, { path: '/private/1' });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Basic realm="Porthole: guarded", charset="UTF-8"');
    const wrong = await visit(relay.port, host, {
      path: '/private/2',
      headers: { authorization: basic('ann', 'secret') },
    });
    expect(wrong.status).toBe(401);
    expect(seen).not.toContain('/private/1');
    expect(seen).not.toContain('/private/2');
    const logged = guarded.log.list().find((r) => r.url === '/private/2');
    expect(logged).toMatchObject({ status: 401, refusedBy: 'basic-auth' });
    expect(logged!.error).toContain('basic-auth');
  });

  it('lets the right credentials in, consumes Authorization and applies header rules both ways', async () => {
    const host = guarded.profile.relay.host;
    const r = await visit(relay.port, host, {
      path: '/private/ok',
      headers: { authorization: basic('ann', 'secret:1'), 'x-drop-me': '1', 'x-keep': '2' },
    });
    expect(r.status).toBe(200);
    const echo = JSON.parse(r.body.toString());
    expect(echo.headers.authorization).toBeUndefined();
    expect(echo.headers['x-drop-me']).toBeUndefined();
    expect(echo.headers['x-keep']).toBe('2');
    expect(echo.headers['x-via']).toBe('porthole');
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['x-echo']).toBeUndefined();
  });

  it.each([
    ['203.0.113.7', 200, null],
    ['203.0.113.66', 403, 'ip-deny'],
    ['198.51.100.1', 403, 'ip-allow'],
    ['::ffff:203.0.113.8', 200, null],
    ['2001:db8:1::1', 200, null],
    ['2001:db8:bad::1', 403, 'ip-deny'],
    ['2001:db9::1', 403, 'ip-allow'],
  ])('visitor %s gets %i', async (ip, status, rule) => {
    const path = `/fenced/${encodeURIComponent(ip)}`;
    const r = await visit(relay.port, fenced.profile.relay.host, { path, headers: { 'x-forwarded-for': ip } });
    expect(r.status).toBe(status);
    expect(seen.includes(path)).toBe(status === 200);
    const logged = fenced.log.list().find((x) => x.url === path);
    expect(logged?.refusedBy).toBe(rule);
  });
});
