// Guessing tokens is not free: failed claims and wrong tokens are limited per client address (as
// resolved through --trust-proxy), 403 until the limit, then 429, and the relay's log says so.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayServer } from '../../src-main/relay/RelayServer.ts';
import { echoHandler, startRelay, startServer, startTunnel } from '../helpers/net.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function setup(opts: Parameters<typeof startRelay>[0] = {}) {
  const lines: string[] = [];
  const relay: RelayServer = await startRelay({
    failedClaimsLimit: 5,
    failedClaimsWindowMs: 60_000,
    ...opts,
    log: (l) => lines.push(l),
  });
  cleanups.push(() => relay.close(0));
  const up = await startServer(echoHandler());
  cleanups.push(() => up.close());
  const owner = await startTunnel(relay.url, up.url, { profile: { relay: { host: 'owned.test', token: 'right' } } });
  cleanups.push(() => owner.close(0));
  return { relay, lines };
}

/** A poll with a wrong token, from a given source address (and an X-Forwarded-For). */
function guess(relay: RelayServer, from: string, xff?: string): Promise<{ status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: relay.port,
        method: 'POST',
        path: '/',
        localAddress: from,
        agent: false,
        headers: {
          'fpw-host': 'owned.test',
          'fpw-token': `guess-${Math.random()}`,
          'content-length': '0',
          ...(xff ? { 'x-forwarded-for': xff } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const retry = res.headers['retry-after'];
          resolve({ status: res.statusCode!, ...(retry ? { retryAfter: String(retry) } : {}) });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('wrong tokens', () => {
  it('are answered 403 up to the limit, then 429 with Retry-After, per address, with a log line', async () => {
    const { relay, lines } = await setup();
    for (let i = 0; i < 5; i++) expect((await guess(relay, '127.0.0.3')).status).toBe(403);
    const limited = await guess(relay, '127.0.0.3');
    expect(limited.status).toBe(429);
    expect(limited.retryAfter).toMatch(/^\d+$/);
    expect(lines.some((l) => /127\.0\.0\.3 .*failed claims/.test(l))).toBe(true);
    // Another address is not limited by the first one's guesses.
    expect((await guess(relay, '127.0.0.4')).status).toBe(403);
  });

  it('are counted per visitor address behind a trusted proxy, not per proxy', async () => {
    const { relay } = await setup({ trustProxy: ['127.0.0.5'] });
    for (let i = 0; i < 5; i++) expect((await guess(relay, '127.0.0.5', '198.51.100.7')).status).toBe(403);
    expect((await guess(relay, '127.0.0.5', '198.51.100.7')).status).toBe(429);
    expect((await guess(relay, '127.0.0.5', '198.51.100.8')).status).toBe(403);
  });
});
