// The browser end-to-end tier: `porthole demo` as a real process (relay, demo site, tunnel and the
// headless inspector), the built renderer in Debian's headless Chromium driven by playwright-core, and
// visitors sent through the tunnel by a Node client. Screenshots of the list and of a request's
// detail land in test-results/.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM,
  RESULTS,
  ROOT,
  ensureBuiltRenderer,
  requireChromium,
  startDemo,
  until,
  type Demo,
} from '../helpers/browser.ts';
import { killAll } from '../helpers/cli.ts';
import { visit } from '../helpers/net.ts';

let demo: Demo;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let inspectorUrl: string;
let publicUrl: string;
let host: string;
let port: number;

beforeAll(async () => {
  requireChromium();
  await ensureBuiltRenderer();
  mkdirSync(RESULTS, { recursive: true });
  demo = await startDemo();
  ({ publicUrl, host, port, inspectorUrl } = demo);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  context = await browser.newContext({
    locale: 'en-US',
    viewport: { width: 1440, height: 900 },
    acceptDownloads: true,
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(inspectorUrl).origin });
  page = await context.newPage();
  await page.goto(inspectorUrl);
}, 150_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
  await killAll();
});

const tunnels = (): Locator => page.getByRole('navigation', { name: 'Tunnels' });
const tunnelSwitch = (): Locator => tunnels().getByRole('switch');
const requestList = (): Locator => page.getByRole('table', { name: 'Requests' });
const detail = (): Locator => page.getByRole('region', { name: 'Request detail' });

describe('the inspector of porthole demo, in headless Chromium', () => {
  it('shows the tunnel online with its public URL', async () => {
    await tunnels().getByText('online', { exact: true }).waitFor({ timeout: 15_000 });
    expect(await tunnels().textContent()).toContain(publicUrl);
    expect(await tunnelSwitch().getAttribute('aria-checked')).toBe('true');
    const article = page.getByRole('article');
    expect(await article.textContent()).toContain(publicUrl);
    expect(await article.getByRole('img', { name: `QR code of ${publicUrl}` }).getAttribute('src')).toMatch(
      /^data:image\/png;base64,/,
    );
  });

  it('lists requests live as visitors send them', async () => {
    const home = await visit(port, host, { path: '/' });
    expect(home.status).toBe(200);
    await visit(port, host, { path: '/api/time' });
    await visit(port, host, { path: '/nowhere' });
    const echo = await visit(port, host, {
      method: 'POST',
      path: '/echo?from=e2e',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'inspector', n: 1 }),
    });
    expect(echo.status).toBe(200);
    await requestList().getByRole('button', { name: 'Open POST /echo?from=e2e (200)' }).waitFor();
    await requestList().getByRole('button', { name: 'Open GET /nowhere (404)' }).waitFor();
    await requestList().getByRole('button', { name: 'Open GET /api/time (200)' }).waitFor();
    await requestList().getByRole('button', { name: 'Open GET / (200)' }).waitFor();
    // Newest first.
    const first = requestList().getByRole('row').nth(1);
    expect(await first.textContent()).toContain('/echo?from=e2e');
    await until('the list counts 4 requests', async () => /\b4 requests\b/.test((await tunnels().textContent()) ?? ''));
    await page.screenshot({ path: join(RESULTS, 'inspector-list.png') });
  });

  it('opens a request with its headers and bodies, and replays it', async () => {
    await requestList().getByRole('button', { name: 'Open POST /echo?from=e2e (200)' }).click();
    await detail().getByRole('toolbar', { name: 'Request actions' }).waitFor();
    await detail().getByRole('tab', { name: 'Request' }).click();
    expect(await detail().getByRole('group', { name: 'JSON' }).textContent()).toContain('"hello": "inspector"');
    await detail().getByRole('tab', { name: 'Response' }).click();
    expect(await detail().getByRole('table', { name: 'Response headers' }).textContent()).toContain('content-type');
    expect(await detail().getByRole('group', { name: 'JSON' }).textContent()).toContain('"method": "POST"');
    await page.screenshot({ path: join(RESULTS, 'inspector-detail.png') });

    await detail().getByRole('button', { name: 'Replay', exact: true }).click();
    const replayed = detail().getByRole('region', { name: 'Replay response', exact: true });
    await replayed.getByRole('group', { name: 'JSON' }).waitFor();
    expect(await replayed.textContent()).toContain('200');
    expect(await replayed.textContent()).toContain('\\"hello\\":\\"inspector\\"');
    expect(await detail().getByRole('region', { name: 'Original response', exact: true }).textContent()).toContain(
      '200',
    );
    await requestList().getByRole('button', { name: 'Open replay: POST /echo?from=e2e (200)' }).waitFor();
    await page.screenshot({ path: join(RESULTS, 'inspector-replay.png') });
  });

  it('stops and starts the tunnel with its switch', async () => {
    await tunnelSwitch().click();
    await tunnels().getByText('stopped', { exact: true }).waitFor();
    expect(await tunnelSwitch().getAttribute('aria-checked')).toBe('false');
    expect(await page.getByRole('article').textContent()).toContain('Stopped.');

    await tunnelSwitch().click();
    await tunnels().getByText('online', { exact: true }).waitFor({ timeout: 15_000 });
    expect(await tunnelSwitch().getAttribute('aria-checked')).toBe('true');
    expect((await visit(port, host, { path: '/api/time' })).status).toBe(200);
  });

  it('copies the public URL to the clipboard', async () => {
    await page.getByRole('article').getByRole('button', { name: 'Copy', exact: true }).click();
    await page.getByRole('status', { name: 'Messages' }).getByText(`Copied ${publicUrl}`).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(publicUrl);
  });

  it('downloads the log as HAR 1.2', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export all as HAR' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.har$/);
    const file = join(RESULTS, 'inspector.har');
    await download.saveAs(file);
    const har = JSON.parse(readFileSync(file, 'utf8')) as { log: { entries: Array<{ request: { url: string } }> } };
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'test/fixtures/har-1.2.schema.json'), 'utf8')));
    expect(validate(har), JSON.stringify(validate.errors)).toBe(true);
    expect(har.log.entries.map((e) => e.request.url)).toContain(new URL('/echo?from=e2e', publicUrl).href);
  });
});
