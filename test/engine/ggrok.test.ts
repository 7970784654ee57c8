// ggrok's protocol, both ways, against peers written in Go for the test (test/fixtures/ggrok), which
// serialise exactly as ggrok does (Go's http.Request.Write, encoding/json).
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bytes, echoHandler, sha256, startServer, startTunnel, until, visit, type Server } from '../helpers/net.ts';
import { buildGgrok, runGgrok } from '../helpers/ggrok.ts';

let binary: string;
let upstream: Server;
const cleanups: Array<() => Promise<unknown> | void> = [];

beforeAll(async () => {
  const built = buildGgrok();
  if ('missing' in built) throw new Error(`the ggrok test peer cannot be built: ${built.missing}`);
  binary = built.binary;
  upstream = await startServer(echoHandler());
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(async () => {
  await upstream.close();
});

function kill(proc: ChildProcess): () => void {
  return () => void proc.kill('SIGKILL');
}

describe('Porthole as a ggrok client, to an unchanged ggrok server', () => {
  it('serves visitors: binary answers byte-exact, UTF-8 request bodies exact', async () => {
    const server = await runGgrok(binary, ['server', '-addr', '127.0.0.1:0'], /listening (\d+)/);
    cleanups.push(kill(server.proc));
    const port = Number(server.match[1]);
    let registered = '';
    server.proc.stdout!.on('data', (c: Buffer) => (registered += c.toString()));
    const tunnel = await startTunnel('x', upstream.url, {
      profile: { relay: { kind: 'ggrok', url: `ws://127.0.0.1:${port}/`, host: 'gg.localhost', token: 'unused' } },
    });
    cleanups.push(() => tunnel.close(0));
    expect(tunnel.publicUrl).toBe(`http://gg.localhost:${port}/`);
    await until(() => registered.includes(`registered gg.localhost:${port}`), 'the registration');
    const host = `gg.localhost:${port}`;
    const binaryAnswer = await visit(port, host, { path: '/bytes/300000' });
    expect(binaryAnswer.status).toBe(200);
    expect(sha256(binaryAnswer.body)).toBe(sha256(bytes(300000, 7)));
    const text = Buffer.from('héllo wörld ✓ 中文 '.repeat(500));
    const posted = await visit(port, host, { method: 'POST', path: '/echo?q=1', body: text });
    const echo = JSON.parse(posted.body.toString()) as { method: string; url: string; bodySha: string };
    expect(echo.method).toBe('POST');
    expect(echo.url).toBe('/echo?q=1');
    expect(echo.bodySha).toBe(sha256(text));
    // Answers go one at a time, each to its own visitor.
    const many = await Promise.all(
      Array.from({ length: 10 }, (_, i) => visit(port, host, { path: '/who', headers: { 'x-marker': `m${i}` } })),
    );
    many.forEach((r, i) => expect(r.body.toString()).toBe(`m${i}`));
  });
});

describe("unchanged ggrok clients at Porthole's relay (--ggrok)", () => {
  async function relayAndClient(name: string) {
    const { startRelay } = await import('../helpers/net.ts');
    const relay = await startRelay({ ggrok: true });
    cleanups.push(() => relay.close(0));
    const client = await runGgrok(
      binary,
      [
        'client',
        '-server',
        `${name}:${relay.port}`,
        '-connect',
        `127.0.0.1:${relay.port}`,
        '-local',
        String(upstream.port),
      ],
      /connected/,
    );
    cleanups.push(kill(client.proc));
    await until(() => relay.hosts().some((h) => h.host === name), 'the ggrok client registered');
    return { relay, host: `${name}:${relay.port}` };
  }

  it('serves their visitors one at a time: binary answers byte-exact, UTF-8 request bodies exact', async () => {
    const { relay, host } = await relayAndClient('ggc.localhost');
    const answer = await visit(relay.port, host, { path: '/bytes/200000' });
    expect(answer.status).toBe(200);
    expect(sha256(answer.body)).toBe(sha256(bytes(200000, 7)));
    const text = Buffer.from('ünïcødé ✓ '.repeat(1000));
    const posted = await visit(relay.port, host, { method: 'POST', path: '/echo', body: text });
    expect((JSON.parse(posted.body.toString()) as { bodySha: string }).bodySha).toBe(sha256(text));
    const many = await Promise.all(
      Array.from({ length: 8 }, (_, i) => visit(relay.port, host, { path: '/who', headers: { 'x-marker': `g${i}` } })),
    );
    many.forEach((r, i) => expect(r.body.toString()).toBe(`g${i}`));
  });

  it('answers a request ggrok cannot carry (a body that is not UTF-8) with a page that says so', async () => {
    const { relay, host } = await relayAndClient('ggbin.localhost');
    const r = await visit(relay.port, host, {
      method: 'POST',
      path: '/echo',
      body: Buffer.from([0xff, 0xfe, 0x00, 0x80]),
    });
    expect(r.status).toBe(501);
    expect(r.body.toString()).toContain('ggrok cannot carry this request');
  });

  it('refuses a ggrok client a host that a token holds', async () => {
    const { startRelay } = await import('../helpers/net.ts');
    const relay = await startRelay({ ggrok: true });
    cleanups.push(() => relay.close(0));
    const tunnel = await startTunnel(relay.url, upstream.url, {
      profile: { relay: { host: 'held.localhost', token: 'mine' } },
    });
    cleanups.push(() => tunnel.close(0));
    const client = runGgrok(
      binary,
      [
        'client',
        '-server',
        `held.localhost:${relay.port}`,
        '-connect',
        `127.0.0.1:${relay.port}`,
        '-local',
        String(upstream.port),
      ],
      /connected/,
    );
    await expect(client).rejects.toThrow(/exited with 1/);
    expect((await visit(relay.port, 'held.localhost')).status).toBe(200);
  });
});
