import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { encodeHeaderJson } from '../../src-main/protocol/fpw-codec.ts';
import type { Tunnel } from '../../src-main/engine/Tunnel.ts';
import { readBody, startRelay, startServer, startTunnel, visit } from '../helpers/net.ts';
import { ScriptedRelay } from '../helpers/scripted-relay.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function workerAgainst(
  relay: ScriptedRelay,
): Promise<{ tunnel: Tunnel; upstreamSeen: Array<Record<string, unknown>> }> {
  const upstreamSeen: Array<Record<string, unknown>> = [];
  const upstream = await startServer((req, res) => {
    void readBody(req).then((body) => {
      upstreamSeen.push({ method: req.method, url: req.url, headers: req.headers, body: body.toString() });
      res.setHeader('set-cookie', ['s=1', 't=2']);
      res.writeHead(201, { 'content-type': 'text/plain', 'x-up': 'yes' });
      res.end(Buffer.from(`answer to ${req.method} ${req.url}`));
    });
  });
  cleanups.push(() => upstream.close());
  const tunnel = await startTunnel(relay.url, upstream.url, {
    profile: { workers: 1 },
    options: { heldAfterMs: 50 },
    wait: false,
  });
  cleanups.push(() => tunnel.close(0));
  return { tunnel, upstreamSeen };
}

describe('the worker speaks every relay dialect', () => {
  it('reads a relay that sends only fpw-rid and the JSON keys (the reference relay sketch)', async () => {
    const relay = await new ScriptedRelay().start();
    cleanups.push(() => relay.close());
    const { upstreamSeen } = await workerAgainst(relay);
    const poll = await relay.next();
    expect(poll.header('fpw-host')).toBeTruthy();
    expect(poll.header('user-agent')).toBe('php-worker-v1');
    poll.res.writeHead(200, {
      'fpw-rid': 'rid-1',
      'fpw-header': encodeHeaderJson({
        method: 'PUT',
        url: '/json/only?a=1',
        'x-forwarded-for': '203.0.113.9',
        'x-visitor': 'v',
      }),
      'content-length': '4',
    });
    poll.res.end(Buffer.from('data'));
    const reply = await relay.nextReply();
    expect(reply.header('fpw-rid')).toBe('rid-1');
    expect(reply.header('fpw-id')).toBe('rid-1');
    expect(reply.header('fpw-status')).toBe('201');
    const headers = JSON.parse(reply.header('fpw-header')!);
    expect(headers['x-up']).toBe('yes');
    expect(headers['set-cookie']).toEqual(['s=1', 't=2']);
    expect(reply.body.toString()).toBe('answer to PUT /json/only?a=1');
    const seen = upstreamSeen[0]!;
    expect(seen.method).toBe('PUT');
    expect(seen.url).toBe('/json/only?a=1');
    expect(seen.body).toBe('data');
    const h = seen.headers as Record<string, string>;
    expect(h['x-visitor']).toBe('v');
    expect(h['x-forwarded-for']).toBe('203.0.113.9');
    expect(h['method']).toBeUndefined();
    expect(h['url']).toBeUndefined();
    relay.idle(reply);
  });

  it('reads a relay that sends only fpw-id and the dedicated headers (the seed README)', async () => {
    const relay = await new ScriptedRelay().start();
    cleanups.push(() => relay.close());
    const { upstreamSeen } = await workerAgainst(relay);
    const poll = await relay.next();
    poll.res.writeHead(200, {
      'fpw-id': 'id-7',
      'fpw-method': 'DELETE',
      'fpw-url': '/dedicated?b=2',
      'fpw-ip': '198.51.100.4',
      'fpw-header': encodeHeaderJson({ 'x-visitor': 'w' }),
      'content-length': '0',
    });
    poll.res.end();
    const reply = await relay.nextReply();
    expect(reply.header('fpw-id')).toBe('id-7');
    expect(reply.header('fpw-status')).toBe('201');
    expect(reply.body.toString()).toBe('answer to DELETE /dedicated?b=2');
    const seen = upstreamSeen[0]!;
    expect(seen.method).toBe('DELETE');
    expect((seen.headers as Record<string, string>)['x-forwarded-for']).toBe('198.51.100.4');
    relay.idle(reply);
  });

  it('answers a malformed fpw-header with a 502 for that id and goes on serving', async () => {
    const relay = await new ScriptedRelay().start();
    cleanups.push(() => relay.close());
    const { tunnel } = await workerAgainst(relay);
    const poll = await relay.next();
    poll.res.writeHead(200, { 'fpw-id': 'bad-1', 'fpw-header': '{"not json', 'content-length': '0' }).end();
    const reply = await relay.nextReply();
    expect(reply.header('fpw-id')).toBe('bad-1');
    expect(reply.header('fpw-status')).toBe('502');
    expect(reply.body.toString()).toContain('could not read');
    reply.res
      .writeHead(200, {
        'fpw-id': 'good-2',
        'fpw-method': 'GET',
        'fpw-url': '/after',
        'fpw-header': '{}',
        'content-length': '0',
      })
      .end();
    const next = await relay.nextReply();
    expect(next.header('fpw-id')).toBe('good-2');
    expect(next.header('fpw-status')).toBe('201');
    expect(next.body.toString()).toBe('answer to GET /after');
    expect(tunnel.state.phase).toBe('online');
    relay.idle(next);
  });
});

describe('the relay serves workers of every dialect', () => {
  it('serves a worker that reads only fpw-rid and the JSON and re-sends its last reply headers on every poll', async () => {
    const relay = await startRelay({ holdMs: 200 });
    cleanups.push(() => relay.close(0));
    const host = 'legacy.test';
    const agent = new Agent({ connect: { noDelay: true } });
    cleanups.push(() => agent.close());
    let running = true;
    // A worker like the Python reference: it never clears fpw-rid/fpw-status/fpw-header from its headers.
    const sticky: Record<string, string> = {};
    let body: Buffer = Buffer.alloc(0);
    const loop = (async () => {
      while (running) {
        const res = await request(`${relay.url}/`, {
          method: 'POST',
          headers: { 'fpw-host': host, 'fpw-token': 'legacy-token', 'user-agent': 'php-worker-v1', ...sticky },
          body,
          dispatcher: agent,
        }).catch(() => null);
        if (!res) break;
        const visitorBody = Buffer.from(await res.body.arrayBuffer());
        const rid = res.headers['fpw-rid'] as string | undefined;
        if (!rid) continue; // idle: poll again, with the same sticky headers as before
        const json = JSON.parse(res.headers['fpw-header'] as string);
        const answer = `legacy ${json.method} ${json.url} from ${json['x-forwarded-for']} body=${visitorBody.toString()}`;
        sticky['fpw-rid'] = rid;
        sticky['fpw-status'] = '200';
        sticky['fpw-header'] = JSON.stringify({ 'content-type': 'text/plain', 'x-n': json.url });
        body = Buffer.from(answer);
      }
    })();
    cleanups.push(async () => {
      running = false;
      await relay.close(0);
      await loop;
    });
    const until = Date.now() + 5000;
    while (!relay.hosts().some((h) => h.host === host && h.polls > 0) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (let i = 0; i < 5; i++) {
      const r = await visit(relay.port, host, { method: 'POST', path: `/n/${i}`, body: `b${i}` });
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe(`legacy POST /n/${i} from 127.0.0.1 body=b${i}`);
      expect(r.headers['x-n']).toBe(`/n/${i}`);
      // Let at least one idle answer go by, so that the stale reply is re-sent as a poll.
      await new Promise((r) => setTimeout(r, 250));
    }
  });
});

describe('relay-side checks of ids and tokens', () => {
  it('treats a reply with an unknown id as a poll and a reply from the wrong token as a refusal', async () => {
    const relay = await startRelay({ holdMs: 1000 });
    cleanups.push(() => relay.close(0));
    const agent = new Agent();
    cleanups.push(() => agent.close());
    const host = 'owned.test';
    const post = (token: string, extra: Record<string, string> = {}, body = '') =>
      request(`${relay.url}/`, {
        method: 'POST',
        headers: { 'fpw-host': host, 'fpw-token': token, ...extra },
        body,
        dispatcher: agent,
      });
    // A Porthole worker's first poll on a connection is answered at once with the public URL.
    const first = await post('owner', { 'fpw-features': 'public-url' });
    expect(first.headers['fpw-public-url']).toBe(`http://${host}:${relay.port}/`);
    await first.body.dump();
    // A reply for an id the relay never issued: held like a poll, and used for the next visitor.
    // (Re-sent after an idle answer, as a worker that keeps its last reply headers does.)
    const visitor = visit(relay.port, host, { path: '/mine', headers: { 'x-marker': 'v1' } });
    let id: string | undefined;
    let held;
    for (let i = 0; i < 5 && !id; i++) {
      held = await post('owner', { 'fpw-id': 'f'.repeat(32), 'fpw-status': '200', 'fpw-header': '{}' }, 'stale body');
      id = held.headers['fpw-id'] as string | undefined;
      if (!id) await held.body.dump();
    }
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(held!.headers['fpw-url']).toBe('/mine');
    await held!.body.dump();
    // Someone else, with another token, tries to answer it.
    const forged = await post('intruder', { 'fpw-id': id!, 'fpw-status': '200', 'fpw-header': '{}' }, 'forged');
    expect(forged.statusCode).toBe(403);
    await forged.body.dump();
    // The owner answers; the visitor gets the owner's body.
    const real = post('owner', { 'fpw-id': id!, 'fpw-status': '200', 'fpw-header': '{"x-real":"1"}' }, 'real answer');
    const v = await visitor;
    expect(v.status).toBe(200);
    expect(v.body.toString()).toBe('real answer');
    expect(v.headers['x-real']).toBe('1');
    void real.catch(() => undefined);
  });

  it('answers fpw-token without fpw-host with 400', async () => {
    const relay = await startRelay();
    cleanups.push(() => relay.close(0));
    const r = await request(`${relay.url}/`, { method: 'POST', headers: { 'fpw-token': 'x' } });
    expect(r.statusCode).toBe(400);
    await r.body.dump();
  });
});
