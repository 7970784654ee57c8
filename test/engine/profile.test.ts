import { describe, expect, it } from 'vitest';
import {
  ProfileSchema,
  domainForRelay,
  generateHost,
  parseProfile,
  PUBLIC_FPW_RELAY,
} from '../../src-main/engine/profile.ts';
import { isValidHostName } from '../../src-main/protocol/host-words.ts';

const minimal = () => ({
  id: 'p1',
  name: 'My app',
  relay: { kind: 'fpw', host: 'my-app.28820.com', token: 'secret' },
  upstream: { kind: 'http', target: 'http://127.0.0.1:3000' },
});

/** The error parseProfile gives for a profile, failing the test when it is accepted. */
function errorOf(input: unknown): string {
  const r = parseProfile(input);
  if (r.ok) throw new Error(`accepted ${JSON.stringify(input)}`);
  return r.error;
}

describe('ProfileSchema', () => {
  it('applies the defaults', () => {
    const p = ProfileSchema.parse(minimal());
    expect(p.workers).toBe(8);
    expect(p.hostHeader).toBe('upstream');
    expect(p.upstreamTimeoutMs).toBe(60_000);
    expect(p.autoStart).toBe(false);
    expect(p.relay.url).toBe('https://{host}/');
    expect(p.relay.url).toBe(PUBLIC_FPW_RELAY.url);
  });

  it('keeps values that are given', () => {
    const p = ProfileSchema.parse({
      ...minimal(),
      relay: { kind: 'fpw', url: 'http://127.0.0.1:8080/server-client', host: 'a.test', token: 't' },
      workers: 3,
      hostHeader: 'visitor',
      upstreamTimeoutMs: 5000,
      autoStart: true,
    });
    expect(p).toMatchObject({ workers: 3, hostHeader: 'visitor', upstreamTimeoutMs: 5000, autoStart: true });
    expect(p.relay.url).toBe('http://127.0.0.1:8080/server-client');
  });

  it('lower-cases and trims the host', () => {
    const p = ProfileSchema.parse({ ...minimal(), relay: { kind: 'fpw', host: '  My-App.Example.COM ', token: 't' } });
    expect(p.relay.host).toBe('my-app.example.com');
  });
});

describe('parseProfile', () => {
  it('returns the profile with defaults when it is valid', () => {
    const r = parseProfile(minimal());
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.profile.workers).toBe(8);
  });

  it.each(['ftp://127.0.0.1:21', 'not a url', '127.0.0.1:3000', ''])(
    'rejects the upstream %j with a readable message',
    (target) => {
      expect(errorOf({ ...minimal(), upstream: { kind: 'http', target } })).toBe(
        'upstream.target: upstream must be an http:// or https:// URL',
      );
    },
  );

  it.each(['my_app.example.com', '-app.example.com', 'a..b', '', 'has space.com'])(
    'rejects the host %j with a readable message',
    (host) => {
      expect(errorOf({ ...minimal(), relay: { ...minimal().relay, host } })).toBe(
        'relay.host: host must be a host name such as my-app.example.com',
      );
    },
  );

  it('rejects an empty token with a readable message', () => {
    expect(errorOf({ ...minimal(), relay: { ...minimal().relay, token: '' } })).toBe('relay.token: token is required');
  });

  it('rejects a relay URL that is not http(s)', () => {
    expect(errorOf({ ...minimal(), relay: { ...minimal().relay, url: 'ws://relay.example.com/' } })).toBe(
      'relay.url: relay URL must be an http:// or https:// URL',
    );
  });

  it('rejects an empty name and out-of-range numbers', () => {
    expect(errorOf({ ...minimal(), name: '   ' })).toBe('name: name is required');
    expect(errorOf({ ...minimal(), workers: 0 })).toMatch(/^workers: /);
    expect(errorOf({ ...minimal(), workers: 65 })).toMatch(/^workers: /);
    expect(errorOf({ ...minimal(), workers: 2.5 })).toMatch(/^workers: /);
    expect(errorOf({ ...minimal(), upstreamTimeoutMs: 999 })).toMatch(/^upstreamTimeoutMs: /);
  });

  it('names the profile itself when the input is not an object', () => {
    expect(errorOf(null)).toMatch(/^profile: /);
    expect(errorOf('x')).toMatch(/^profile: /);
  });
});

describe('generated hosts', () => {
  it('the public relay puts five-word hosts under 28820.com', () => {
    expect(domainForRelay('https://{host}/')).toBe('28820.com');
    const host = generateHost('28820.com');
    expect(host).toMatch(/^[a-z]+(-[a-z]+){4}\.28820\.com$/);
    expect(isValidHostName(host)).toBe(true);
  });
});
