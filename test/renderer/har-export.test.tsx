// @vitest-environment jsdom
// HAR export: the file comes from the engine's own toHar (as the main process makes it), and what
// the UI downloads must validate against the HAR 1.2 schema in test/fixtures.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { act, cleanup, screen, within } from '@testing-library/react';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { toHar } from '../../src-main/engine/har.ts';
import type { RequestRecord } from '../../src-main/engine/request-log.ts';
import type { RequestDetail } from '../../src-main/ipc/contract.ts';
import { bridgeWith, makeDetail, makeTunnel, summaryOf, type FakeBridge } from './fake-bridge.ts';
import { renderUI } from './render.tsx';

const PUBLIC_URL = 'http://demo.localhost:40123/';

const validate = (() => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  return ajv.compile(JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/har-1.2.schema.json'), 'utf8')));
})();

/** The engine's record behind a detail the fake bridge holds. */
function recordOf(d: RequestDetail): RequestRecord {
  const body = (b: RequestDetail['requestBody']) => ({
    bytes: Buffer.from(b.base64, 'base64'),
    size: b.size,
    truncated: b.truncated,
  });
  return {
    ...summaryOf(d),
    requestHeaders: d.requestHeaders.map(([k, v]): [string, string] => [k, v]),
    responseHeaders: d.responseHeaders.map(([k, v]): [string, string] => [k, v]),
    requestBody: body(d.requestBody),
    responseBody: body(d.responseBody),
    replayBody: d.replayable ? Buffer.from(d.requestBody.base64, 'base64') : null,
  };
}

interface Download {
  fileName: string;
  type: string;
  text: string;
}

let downloads: Promise<Download>[];

beforeEach(() => {
  downloads = [];
  const blobs = new Map<string, Blob>();
  let n = 0;
  // jsdom has no object URLs and does not download: record what the page hands to the browser.
  vi.spyOn(URL, 'createObjectURL').mockImplementation((blob) => {
    const url = `blob:test/${n++}`;
    blobs.set(url, blob as Blob);
    return url;
  });
  vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => undefined);
  vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
    const blob = blobs.get(this.href)!;
    downloads.push(blob.text().then((text) => ({ fileName: this.download, type: blob.type, text })));
  });
});

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

async function setup(): Promise<{ bridge: FakeBridge; user: ReturnType<typeof renderUI>['user'] }> {
  const bridge = bridgeWith(makeTunnel('demo', 'Offline demo', { phase: 'online', publicUrl: PUBLIC_URL, since: 0 }));
  bridge.harFor = (tunnelId, ids) => {
    const all = bridge.records.get(tunnelId) ?? [];
    const chosen = ids ? all.filter((r) => ids.includes(r.id)) : all;
    return {
      fileName: 'Offline-demo-2026-11-22-09-30-00.har',
      mimeType: 'application/json',
      text: `${JSON.stringify(toHar(chosen.map(recordOf), PUBLIC_URL, '0.1.0'), null, 2)}\n`,
    };
  };
  const { user } = renderUI(bridge);
  await screen.findByRole('article', { name: 'Offline demo' });
  act(() =>
    bridge.push(
      makeDetail('demo', {
        id: 'json',
        url: '/api/data?x=1',
        requestHeaders: [['cookie', 'a=1; b=2']],
        responseHeaders: [['content-type', 'application/json']],
        responseBody: '{"ok":true}',
      }),
      makeDetail('demo', {
        id: 'form',
        method: 'POST',
        url: '/login',
        requestHeaders: [['content-type', 'application/x-www-form-urlencoded']],
        requestBody: 'user=ada&pass=x',
        status: 302,
        responseHeaders: [['location', '/home']],
      }),
      makeDetail('demo', {
        id: 'big',
        url: '/video.bin',
        responseHeaders: [['content-type', 'application/octet-stream']],
        responseBody: Uint8Array.from([0, 1, 2, 255]),
        responseSize: 10_000_000,
      }),
    ),
  );
  await screen.findByRole('table', { name: 'Requests' });
  return { bridge, user };
}

async function downloaded(): Promise<{ file: Download; har: { log: { entries: Array<Record<string, unknown>> } } }> {
  expect(downloads).toHaveLength(1);
  const file = await downloads[0]!;
  return { file, har: JSON.parse(file.text) as { log: { entries: Array<Record<string, unknown>> } } };
}

describe('HAR export', () => {
  it('downloads every request as a HAR 1.2 file that validates against the schema', async () => {
    const { bridge, user } = await setup();
    await user.click(screen.getByRole('button', { name: 'Export all as HAR' }));
    expect(bridge.callsOf('requests:export-har')).toEqual([{ tunnelId: 'demo' }]);
    const { file, har } = await downloaded();
    expect(file.fileName).toBe('Offline-demo-2026-11-22-09-30-00.har');
    expect(file.type).toBe('application/json');
    expect(validate(har), JSON.stringify(validate.errors)).toBe(true);
    expect(har.log.entries).toHaveLength(3);
    // A body cut to its preview says so in the entry's comment.
    expect(String(har.log.entries[2]!['comment'])).toContain('response body cut to its first 4 of 10000000 bytes');
  });

  it('downloads only the selected requests', async () => {
    const { bridge, user } = await setup();
    const exportSelected = screen.getByRole('button', { name: 'Export HAR (0 selected)' });
    expect(exportSelected).toHaveProperty('disabled', true);
    await user.click(screen.getByRole('checkbox', { name: 'Select GET /api/data?x=1' }));
    await user.click(screen.getByRole('checkbox', { name: 'Select POST /login' }));
    await user.click(screen.getByRole('button', { name: 'Export HAR (2 selected)' }));
    expect(bridge.callsOf('requests:export-har')).toEqual([{ tunnelId: 'demo', ids: ['json', 'form'] }]);
    const { har } = await downloaded();
    expect(validate(har), JSON.stringify(validate.errors)).toBe(true);
    const urls = har.log.entries.map((e) => (e['request'] as { url: string }).url);
    expect(urls).toEqual(['http://demo.localhost:40123/api/data?x=1', 'http://demo.localhost:40123/login']);
  });

  it('downloads the request open in the detail view', async () => {
    const { bridge, user } = await setup();
    await user.click(screen.getByRole('button', { name: 'Open POST /login (302)' }));
    const detail = await screen.findByRole('region', { name: 'Request detail' });
    await user.click(await within(detail).findByRole('button', { name: 'Export HAR' }));
    expect(bridge.callsOf('requests:export-har')).toEqual([{ tunnelId: 'demo', ids: ['form'] }]);
    const { har } = await downloaded();
    expect(validate(har), JSON.stringify(validate.errors)).toBe(true);
    const request = har.log.entries[0]!['request'] as { postData: { params: unknown } };
    expect(request.postData.params).toEqual([
      { name: 'user', value: 'ada' },
      { name: 'pass', value: 'x' },
    ]);
  });
});
