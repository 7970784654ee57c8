import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHar } from '../../src-main/engine/har.ts';
import { ReplayError, type Tunnel } from '../../src-main/engine/Tunnel.ts';
import type { RelayServer } from '../../src-main/relay/RelayServer.ts';
import {
  bytes,
  echoHandler,
  sha256,
  startRelay,
  startServer,
  startTunnel,
  visit,
  type Server,
} from '../helpers/net.ts';

let relay: RelayServer;
let upstream: Server;
let tunnel: Tunnel;
let calls = 0;
const host = () => tunnel.profile.relay.host;
const byUrl = (url: string) => tunnel.log.list().find((r) => r.url === url && r.replayOf === null)!;

beforeAll(async () => {
  relay = await startRelay();
  const echo = echoHandler();
  upstream = await startServer((req, res) => {
    calls += 1;
    if (req.url === '/count') {
      res.end(Buffer.from(`call ${calls}`));
      return;
    }
    echo(req, res);
  });
  tunnel = await startTunnel(relay.url, upstream.url, { options: { replayCapBytes: 64 * 1024, previewBytes: 1024 } });
});
afterAll(async () => {
  await tunnel.close(0);
  await relay.close(0);
  await upstream.close();
});

describe('replay', () => {
  it('sends a logged request to the upstream again and logs the new answer beside the old', async () => {
    await visit(relay.port, host(), { path: '/count' });
    const original = byUrl('/count');
    const again = await tunnel.replay(original.id);
    expect(again.replayOf).toBe(original.id);
    expect(again.status).toBe(200);
    expect(original.responseBody.bytes.toString()).toMatch(/^call \d+$/);
    expect(again.responseBody.bytes.toString()).not.toBe(original.responseBody.bytes.toString());
    expect(tunnel.log.get(again.id)).toBe(again);
  });

  it('replays the body byte for byte, and with edits', async () => {
    const body = bytes(5000, 3);
    await visit(relay.port, host(), { method: 'PUT', path: '/things/1?v=1', body, headers: { 'x-a': '1' } });
    const original = byUrl('/things/1?v=1');
    const same = await tunnel.replay(original.id);
    const echoed = JSON.parse(same.responseBody.bytes.toString());
    expect(echoed).toMatchObject({ method: 'PUT', url: '/things/1?v=1', bodySha: sha256(body) });
    expect(echoed.headers['x-a']).toBe('1');
    const edited = await tunnel.replay(original.id, {
      method: 'post',
      path: '/things/2',
      headers: [
        ['x-b', '2'],
        ['content-type', 'text/plain'],
      ],
      body: Buffer.from('edited'),
    });
    const e = JSON.parse(edited.responseBody.bytes.toString());
    expect(e).toMatchObject({ method: 'POST', url: '/things/2', bodySha: sha256(Buffer.from('edited')) });
    expect(e.headers['x-a']).toBeUndefined();
    expect(e.headers['x-b']).toBe('2');
  });

  it('records the length of the body an edited replay sent, not the original content-length', async () => {
    const body = bytes(3000, 5);
    await visit(relay.port, host(), { method: 'POST', path: '/sized', body, headers: { 'x-c': '3' } });
    const original = byUrl('/sized');
    const lengthOf = (r: typeof original) => r.requestHeaders.filter(([k]) => k.toLowerCase() === 'content-length');
    expect(lengthOf(original)).toEqual([['content-length', '3000']]);

    const shorter = await tunnel.replay(original.id, { body: Buffer.from('short') });
    expect(lengthOf(shorter)).toEqual([['content-length', '5']]);
    expect(shorter.requestHeaders).toContainEqual(['x-c', '3']);
    expect(JSON.parse(shorter.responseBody.bytes.toString())).toMatchObject({ bodySha: sha256(Buffer.from('short')) });

    // Headers given with the edit replace the original's, their content-length too.
    const withHeaders = await tunnel.replay(original.id, {
      headers: [
        ['content-type', 'text/plain'],
        ['Content-Length', '99'],
      ],
      body: Buffer.from('four'),
    });
    expect(lengthOf(withHeaders)).toEqual([['content-length', '4']]);

    const emptied = await tunnel.replay(original.id, { body: Buffer.alloc(0) });
    expect(lengthOf(emptied)).toEqual([['content-length', '0']]);
    expect(emptied.requestBytes).toBe(0);
  });

  it('refuses to replay a request whose body was larger than the replay cap, and says why', async () => {
    await visit(relay.port, host(), { method: 'POST', path: '/big-upload', body: bytes(100 * 1024) });
    const original = byUrl('/big-upload');
    expect(original.replayBody).toBeNull();
    const err = await tunnel.replay(original.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplayError);
    expect((err as ReplayError).code).toBe('body-not-kept');
    expect((err as Error).message).toContain('larger than the replay cap');
  });
});

describe('HAR export', () => {
  it('writes HAR 1.2 that validates, with bodies by type and cut bodies noted', async () => {
    await visit(relay.port, host(), {
      method: 'POST',
      path: '/form?q=1',
      body: 'a=1&b=two',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'sid=abc; theme=dark' },
    });
    await visit(relay.port, host(), {
      method: 'POST',
      path: '/binary',
      body: bytes(200),
      headers: { 'content-type': 'application/octet-stream' },
    });
    await visit(relay.port, host(), { path: '/bytes/4000' });
    await visit(relay.port, host(), { path: '/cookies' });
    const har = toHar(tunnel.log.list(), tunnel.publicUrl, '0.1.0');
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats.default(ajv);
    const validate = ajv.compile(
      JSON.parse(readFileSync(new URL('../fixtures/har-1.2.schema.json', import.meta.url), 'utf8')),
    );
    const valid = validate(JSON.parse(JSON.stringify(har)));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);

    const form = har.log.entries.find((e) => e.request.url.endsWith('/form?q=1'))!;
    expect(form.request.url).toBe(`${tunnel.publicUrl}form?q=1`);
    expect(form.request.queryString).toEqual([{ name: 'q', value: '1' }]);
    expect(form.request.postData).toMatchObject({ mimeType: 'application/x-www-form-urlencoded', text: 'a=1&b=two' });
    expect(form.request.postData!.params).toEqual([
      { name: 'a', value: '1' },
      { name: 'b', value: 'two' },
    ]);
    expect(form.request.cookies).toEqual([
      { name: 'sid', value: 'abc' },
      { name: 'theme', value: 'dark' },
    ]);

    // HAR 1.2's postData has no encoding field: a binary body travels as base64 in text, marked by a
    // custom field (HAR allows those whose names start with _).
    const binary = har.log.entries.find((e) => e.request.url.endsWith('/binary'))!;
    expect(binary.request.bodySize).toBe(200);
    expect(binary.request.postData).toMatchObject({ mimeType: 'application/octet-stream', _encoding: 'base64' });
    expect(Buffer.from(binary.request.postData!.text, 'base64').equals(bytes(200))).toBe(true);
    expect(form.request.postData).not.toHaveProperty('_encoding');

    const cut = har.log.entries.find((e) => e.request.url.endsWith('/bytes/4000'))!;
    expect(cut.response.content.size).toBe(4000);
    expect(cut.response.content.encoding).toBe('base64');
    expect(Buffer.from(cut.response.content.text!, 'base64').length).toBe(1024);
    expect(cut.comment).toContain('response body cut to its first 1024 of 4000 bytes');

    const cookies = har.log.entries.find((e) => e.request.url.endsWith('/cookies'))!;
    expect(cookies.response.cookies.map((c) => c.name)).toEqual(['a', 'b', 'c']);
  });
});
