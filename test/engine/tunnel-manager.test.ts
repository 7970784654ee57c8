import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayServer } from '../../src-main/relay/RelayServer.ts';
import type { TunnelPhase } from '../../src-main/engine/transports/fpw.ts';
import type { RequestSummary } from '../../src-main/engine/request-log.ts';
import { TunnelManager } from '../../src-main/engine/TunnelManager.ts';
import { echoHandler, startRelay, startServer, visit, type Server } from '../helpers/net.ts';

const BATCH_MS = 200;

let relay: RelayServer;
let upstream: Server;
let manager: TunnelManager;
/** Every batch the manager pushed, in order. */
const batches: RequestSummary[][] = [];
/** Managers made by single tests, closed at the end too. */
const extraManagers: TunnelManager[] = [];

const profile = (id: string, relayUrl: string, target: string) => ({
  id,
  name: `Tunnel ${id}`,
  relay: { kind: 'fpw', url: `${relayUrl}/`, host: `${id}.test`, token: `token-${id}` },
  upstream: { kind: 'http', target },
  workers: 4,
});

/** Resolves once tunnel `id` of `m` is in `phase`, following the manager's status events. */
function phase(m: TunnelManager, id: string, want: TunnelPhase): Promise<void> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      if (m.get(id)?.state.phase !== want) return false;
      m.off('status', check);
      resolve();
      return true;
    };
    if (!check()) m.on('status', check);
  });
}

/** Resolves once the batches hold `n` summaries that match `pick`, following the requests events. */
function summaries(pick: (s: RequestSummary) => boolean, n: number): Promise<RequestSummary[]> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      const got = batches.flat().filter(pick);
      if (got.length < n) return false;
      manager.off('requests', check);
      resolve(got);
      return true;
    };
    if (!check()) manager.on('requests', check);
  });
}

beforeAll(async () => {
  relay = await startRelay();
  upstream = await startServer(echoHandler());
  manager = new TunnelManager({ batchIntervalMs: BATCH_MS });
  manager.on('requests', (batch) => batches.push(batch));
});

afterAll(async () => {
  await Promise.all([manager, ...extraManagers].map((m) => m?.close(0)));
  await relay?.close(0);
  await upstream?.close();
});

describe('TunnelManager with a real relay and upstream', () => {
  it('is idle before anything runs', () => {
    manager.add(profile('one', relay.url, upstream.url));
    manager.add(profile('two', relay.url, upstream.url));
    expect(manager.list().map((s) => [s.id, s.state.phase])).toEqual([
      ['one', 'stopped'],
      ['two', 'stopped'],
    ]);
    expect(manager.aggregate()).toBe('idle');
  });

  it('starts two tunnels and reports them online through status events', async () => {
    const seen: string[] = [];
    const onStatus = (s: { id: string; state: { phase: string } }) => seen.push(`${s.id}:${s.state.phase}`);
    manager.on('status', onStatus);
    const online = Promise.all([phase(manager, 'one', 'online'), phase(manager, 'two', 'online')]);
    manager.start('one');
    manager.start('two');
    expect(manager.aggregate()).toBe('connecting');
    await online;
    manager.off('status', onStatus);
    expect(seen).toContain('one:starting');
    expect(seen).toContain('one:online');
    expect(seen).toContain('two:online');
    expect(manager.aggregate()).toBe('online');
    const one = manager.list().find((s) => s.id === 'one')!;
    expect(one.publicUrl).toBe(`http://one.test:${relay.port}/`);
    expect(one.target).toBe(upstream.url);
  });

  it('refuses to replace a running tunnel', () => {
    expect(() => manager.add(profile('one', relay.url, upstream.url))).toThrow(/running/);
  });

  it('refuses an invalid profile with a readable message', () => {
    expect(() =>
      manager.add({ ...profile('bad', relay.url, upstream.url), upstream: { kind: 'http', target: 'ftp://x' } }),
    ).toThrow('upstream.target: upstream must be an http:// or https:// URL');
    expect(manager.get('bad')).toBeUndefined();
  });

  it('pushes the summaries of 50 requests in fewer batches than requests, none lost', async () => {
    const before = batches.length;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => visit(relay.port, 'one.test', { path: `/burst/${i}?n=${i}` })),
    );
    for (const r of results) expect(r.status).toBe(200);
    const got = await summaries((s) => s.url.startsWith('/burst/'), 50);

    expect(got).toHaveLength(50);
    expect(new Set(got.map((s) => s.url))).toEqual(new Set(Array.from({ length: 50 }, (_, i) => `/burst/${i}?n=${i}`)));
    expect(new Set(got.map((s) => s.id)).size).toBe(50);
    for (const s of got) {
      expect(s.tunnelId).toBe('one');
      expect(s.status).toBe(200);
      expect(s.method).toBe('GET');
      expect(s.durationMs).not.toBeNull();
    }
    const burstBatches = batches.slice(before).filter((b) => b.some((s) => s.url.startsWith('/burst/')));
    expect(burstBatches.length).toBeGreaterThanOrEqual(1);
    expect(burstBatches.length).toBeLessThan(50);
    for (const b of batches) expect(b.length).toBeGreaterThan(0);
  });

  it('answers requests() with summaries and request() with details, per tunnel', async () => {
    const r = await visit(relay.port, 'two.test', {
      method: 'POST',
      path: '/detail?x=1',
      headers: { 'x-probe': 'caf\u00e9', 'content-type': 'text/plain' },
      body: 'hello manager',
    });
    expect(r.status).toBe(200);
    const [summary] = await summaries((s) => s.url === '/detail?x=1', 1);

    const list = manager.requests('two');
    expect(list.map((s) => s.url)).toContain('/detail?x=1');
    expect(list.every((s) => s.tunnelId === 'two')).toBe(true);
    expect(list.find((s) => s.url === '/detail?x=1')).toEqual(summary);
    // A summary is small: no headers or bodies.
    expect(Object.keys(summary!)).not.toContain('requestHeaders');

    expect(manager.requests('one').filter((s) => s.url.startsWith('/burst/'))).toHaveLength(50);
    expect(manager.requests('one').some((s) => s.url === '/detail?x=1')).toBe(false);

    const detail = manager.request('two', summary!.id);
    expect(detail).toBeDefined();
    expect(detail!.method).toBe('POST');
    expect(detail!.status).toBe(200);
    expect(detail!.visitorIp).toBe('127.0.0.1');
    expect(detail!.requestBody.bytes.toString()).toBe('hello manager');
    expect(detail!.requestBytes).toBe('hello manager'.length);
    expect(detail!.replayBody?.toString()).toBe('hello manager');
    expect(detail!.requestHeaders).toContainEqual(['x-probe', 'caf\u00e9']);
    expect(detail!.responseHeaders).toContainEqual(['x-echo', '1']);
    expect(detail!.responseBody.size).toBe(r.body.length);
    expect(detail!.responseBytes).toBe(r.body.length);

    expect(manager.request('one', summary!.id)).toBeUndefined();
    expect(manager.request('two', 'no-such-record')).toBeUndefined();
    expect(() => manager.requests('nope')).toThrow(/no tunnel/);
  });

  it('clearRequests() empties one tunnel log only', () => {
    manager.clearRequests('two');
    expect(manager.requests('two')).toEqual([]);
    expect(manager.requests('one').length).toBeGreaterThanOrEqual(50);
  });

  it('stays online while one tunnel still runs, and is idle after stopAll', async () => {
    await manager.stop('one', 0);
    expect(manager.get('one')!.state.phase).toBe('stopped');
    expect(manager.get('two')!.state.phase).toBe('online');
    expect(manager.aggregate()).toBe('online');
    const r = await visit(relay.port, 'two.test', { path: '/still-here' });
    expect(r.status).toBe(200);

    await manager.stopAll(0);
    expect(manager.list().map((s) => s.state.phase)).toEqual(['stopped', 'stopped']);
    expect(manager.aggregate()).toBe('idle');
  });

  it('restarts a stopped tunnel with startAll', async () => {
    const online = Promise.all([phase(manager, 'one', 'online'), phase(manager, 'two', 'online')]);
    manager.startAll();
    await online;
    expect(manager.aggregate()).toBe('online');
    const r = await visit(relay.port, 'one.test', { path: '/again' });
    expect(r.status).toBe(200);
    await manager.stopAll(0);
    expect(manager.aggregate()).toBe('idle');
  });
});

describe('TunnelManager with no relay listening', () => {
  it('reports connecting (reconnecting phase), not error', async () => {
    // A port that was free a moment ago: nothing listens there now.
    const gone = await startServer(() => undefined);
    const deadUrl = gone.url;
    await gone.close();

    const m = new TunnelManager();
    extraManagers.push(m);
    m.add(profile('dead', deadUrl, 'http://127.0.0.1:9'));
    const reconnecting = phase(m, 'dead', 'reconnecting');
    m.start('dead');
    await reconnecting;

    const state = m.get('dead')!.state;
    expect(state.phase).toBe('reconnecting');
    if (state.phase === 'reconnecting') {
      expect(state.attempt).toBeGreaterThanOrEqual(1);
      expect(state.lastError).toMatch(/refused/);
    }
    expect(m.aggregate()).toBe('connecting');

    await m.stop('dead', 0);
    expect(m.get('dead')!.state.phase).toBe('stopped');
    expect(m.aggregate()).toBe('idle');
  });
});

describe('editing a profile', () => {
  it('keeps the requests its tunnel saw when a stopped tunnel is re-added with a new profile', async () => {
    const m = new TunnelManager();
    extraManagers.push(m);
    m.add(profile('edit', relay.url, upstream.url));
    m.start('edit');
    await phase(m, 'edit', 'online');
    await visit(relay.port, 'edit.test', { path: '/before-edit' });
    await m.stop('edit', 0);
    m.add({ ...profile('edit', relay.url, upstream.url), name: 'Renamed', workers: 2 });
    expect(m.get('edit')!.profile.name).toBe('Renamed');
    expect(m.requests('edit').map((r) => r.url)).toContain('/before-edit');
    m.start('edit');
    await phase(m, 'edit', 'online');
    await visit(relay.port, 'edit.test', { path: '/after-edit' });
    expect(m.requests('edit').map((r) => r.url)).toEqual(expect.arrayContaining(['/before-edit', '/after-edit']));
  });

  it('keeps the counters as it keeps the requests, so that the two agree after an edit', async () => {
    const m = new TunnelManager();
    extraManagers.push(m);
    m.add(profile('count', relay.url, upstream.url));
    m.start('count');
    await phase(m, 'count', 'online');
    await visit(relay.port, 'count.test', { method: 'POST', path: '/one', body: 'hello' });
    await visit(relay.port, 'count.test', { path: '/two' });
    await m.stop('count', 0);
    const before = m.get('count')!.snapshot().counters;
    expect(before).toMatchObject({ requests: 2, inFlight: 0, bytesIn: 5 });
    expect(before.bytesOut).toBeGreaterThan(0);
    expect(before.p50Ms).not.toBeNull();

    m.add({ ...profile('count', relay.url, upstream.url), name: 'Counted', workers: 2 });
    expect(m.get('count')!.snapshot().counters).toEqual(before);
    expect(m.requests('count')).toHaveLength(2);

    m.start('count');
    await phase(m, 'count', 'online');
    await visit(relay.port, 'count.test', { path: '/three' });
    const after = m.get('count')!.snapshot().counters;
    expect(after.requests).toBe(3);
    expect(after.requests).toBe(m.requests('count').length);
    expect(after.bytesIn).toBe(5);
    expect(after.bytesOut).toBeGreaterThan(before.bytesOut);
  });
});
