// Two tunnels on one host: the relay must never let workers with different access or header rules
// serve the same host at once (a visitor would get through the one without a password).
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayServer } from '../../src-main/relay/RelayServer.ts';
import { echoHandler, startRelay, startServer, startTunnel, visit, type Server } from '../helpers/net.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function setup(): Promise<{ relay: RelayServer; upstream: Server }> {
  const relay = await startRelay();
  cleanups.push(() => relay.close(0));
  const upstream = await startServer(echoHandler());
  cleanups.push(() => upstream.close());
  return { relay, upstream };
}

const locked = {
  access: { basicAuth: [{ user: 'admin', password: 's3cret' }], allow: [], deny: [] },
};

describe('workers of one host with different rules', () => {
  it('refuses a second tunnel whose access rules differ, with a 409 that says why', async () => {
    const { relay, upstream } = await setup();
    const relayFields = { host: 'shared.test', token: 'same-token' };
    const first = await startTunnel(relay.url, upstream.url, { profile: { ...locked, relay: relayFields } });
    cleanups.push(() => first.close(0));
    const second = await startTunnel(relay.url, upstream.url, { profile: { relay: relayFields }, wait: false });
    cleanups.push(() => second.close(0));
    await expect(second.whenOnline()).rejects.toThrow(/HTTP 409.*different access or header rules/);
    // Every visitor still meets the password.
    for (let i = 0; i < 12; i++) {
      const r = await visit(relay.port, 'shared.test', { path: `/p${i}` });
      expect(r.status).toBe(401);
    }
  });

  it('refuses a second tunnel whose header rules differ', async () => {
    const { relay, upstream } = await setup();
    const relayFields = { host: 'headers.test', token: 'same-token' };
    const first = await startTunnel(relay.url, upstream.url, { profile: { relay: relayFields } });
    cleanups.push(() => first.close(0));
    const second = await startTunnel(relay.url, upstream.url, {
      profile: {
        relay: relayFields,
        headers: {
          request: { add: [], remove: [] },
          response: { add: [{ name: 'x-frame-options', value: 'DENY' }], remove: [] },
        },
      },
      wait: false,
    });
    cleanups.push(() => second.close(0));
    await expect(second.whenOnline()).rejects.toThrow(/409/);
  });

  it('lets tunnels with the same rules share a host, and each serves visitors', async () => {
    const { relay, upstream } = await setup();
    const relayFields = { host: 'pair.test', token: 'same-token' };
    const a = await startTunnel(relay.url, upstream.url, { profile: { ...locked, relay: relayFields } });
    cleanups.push(() => a.close(0));
    const b = await startTunnel(relay.url, upstream.url, { profile: { ...locked, relay: relayFields } });
    cleanups.push(() => b.close(0));
    const auth = `Basic ${Buffer.from('admin:s3cret').toString('base64')}`;
    for (let i = 0; i < 20; i++) {
      const r = await visit(relay.port, 'pair.test', { path: `/ok${i}`, headers: { authorization: auth } });
      expect(r.status).toBe(200);
    }
    expect(a.snapshot().counters.requests + b.snapshot().counters.requests).toBe(20);
  });

  it('takes a tunnel with new rules at once after the old one stopped (a profile edit)', async () => {
    const { relay, upstream } = await setup();
    const relayFields = { host: 'edit.test', token: 'same-token' };
    const before = await startTunnel(relay.url, upstream.url, { profile: { relay: relayFields } });
    await before.close(1000);
    const after = await startTunnel(relay.url, upstream.url, { profile: { ...locked, relay: relayFields } });
    cleanups.push(() => after.close(0));
    expect(after.state.phase).toBe('online');
    expect((await visit(relay.port, 'edit.test')).status).toBe(401);
  });
});
