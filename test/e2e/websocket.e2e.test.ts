// The browser tier, for WebSockets: `porthole demo` (WebSocket transport) as a real process; in
// Debian's headless Chromium, the demo site's page, opened at the tunnel's public URL, talks to the
// site's WebSocket echo through the tunnel (ws://<words>.localhost:<port>/echo-ws), then closes it;
// the inspector in the same browser lists that session as one WebSocket entry and opens it on its
// messages and close codes. Screenshots of both pages land in test-results/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, RESULTS, ensureBuiltRenderer, requireChromium, startDemo, type Demo } from '../helpers/browser.ts';
import { killAll } from '../helpers/cli.ts';

let demo: Demo;
let browser: Browser;
let context: BrowserContext;
/** What went wrong on a page: failed responses, console errors, page errors. */
const problems: string[] = [];

function watch(page: Page): Page {
  page.setDefaultTimeout(10_000);
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()} ${r.url()}`);
  });
  page.on('console', (m) => {
    // The demo site has no favicon: the browser's 404 for it is no problem of the page.
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return page;
}

/** The text of each body row's cells. */
async function cells(table: Locator): Promise<string[][]> {
  const rows = await table.locator('tbody tr').all();
  return Promise.all(rows.map(async (r) => (await r.locator('th, td').allTextContents()).map((c) => c.trim())));
}

beforeAll(async () => {
  requireChromium();
  await ensureBuiltRenderer();
  mkdirSync(RESULTS, { recursive: true });
  demo = await startDemo();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  context = await browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 } });
}, 150_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
  await killAll();
});

describe("a visitor's WebSocket through porthole demo, in headless Chromium", () => {
  it('the demo page talks to the echo through the tunnel and closes with a code', async () => {
    const site = watch(await context.newPage());
    const sockets: string[] = [];
    site.on('websocket', (ws) => sockets.push(ws.url()));
    await site.goto(demo.publicUrl);
    const echo = site.getByRole('region', { name: 'WebSocket echo' });
    const log = echo.getByRole('log', { name: 'WebSocket echo log' });
    const message = echo.getByRole('textbox', { name: 'Message' });

    await message.fill('hello through the tunnel');
    await echo.getByRole('button', { name: 'Send', exact: true }).click();
    await log.getByText('← hello through the tunnel').waitFor();
    await message.fill('second ✓');
    await echo.getByRole('button', { name: 'Send', exact: true }).click();
    await log.getByText('← second ✓').waitFor();
    await message.fill('bytes');
    await echo.getByRole('button', { name: 'Send as bytes' }).click();
    await log.getByText('← 5 bytes: 62 79 74 65 73').waitFor();
    await echo.getByRole('button', { name: 'Close' }).click();
    await log.getByText('closed 1000 bye').waitFor();

    // One WebSocket, to the tunnel's public host.
    expect(sockets).toEqual([`ws://${demo.host}/echo-ws`]);
    await site.screenshot({ path: join(RESULTS, 'demo-websocket.png'), fullPage: true });
    await site.close();
  });

  it('the inspector lists the session as one WebSocket entry and opens it on its messages and close codes', async () => {
    const page = watch(await context.newPage());
    await page.goto(demo.inspectorUrl);
    const list = page.getByRole('table', { name: 'Requests' });
    const open = list.getByRole('button', { name: 'Open WebSocket /echo-ws (101)', exact: true });
    await open.waitFor({ timeout: 15_000 });
    expect(await list.getByRole('button', { name: /^Open WebSocket / }).count()).toBe(1);
    const row = list
      .getByRole('row')
      .filter({ has: page.getByRole('button', { name: 'Open WebSocket /echo-ws (101)', exact: true }) });
    expect(await row.getByRole('cell').nth(2).textContent()).toBe('WS');
    expect(await row.textContent()).toMatch(/received \d+ B · sent \d+ B/);

    await open.click();
    const detail = page.getByRole('region', { name: 'Request detail' });
    const traffic = detail.getByRole('table', { name: 'Traffic' });
    await traffic.waitFor();
    const rows = await cells(traffic);
    expect(rows[0]).toEqual(['Messages', '3', '3']);
    expect(rows[2]).toEqual(['Close code', '1000', '1000']);
    const last = await cells(detail.getByRole('table', { name: 'Last messages' }));
    expect(last.map((r) => r.slice(0, 2))).toEqual([
      ['visitor → service', 'text'],
      ['service → visitor', 'text'],
      ['visitor → service', 'text'],
      ['service → visitor', 'text'],
      ['visitor → service', 'binary'],
      ['service → visitor', 'binary'],
      ['visitor → service', 'close'],
      ['service → visitor', 'close'],
    ]);
    expect(last[0]![3]).toBe('hello through the tunnel');
    expect(last[3]![3]).toBe('second ✓');
    expect(last[4]![3]).toBe('62 79 74 65 73');
    expect(last[6]![3]).toBe('1000 bye');
    expect(await detail.textContent()).toContain(`ws://${demo.host}/echo-ws`);

    // Laid out within the detail, wide and narrow: nothing cut or scrolled sideways.
    for (const [width, height, name] of [
      [1440, 900, 'inspector-websocket.png'],
      [1024, 700, 'inspector-websocket-1024.png'],
    ] as const) {
      await page.setViewportSize({ width, height });
      const box = await detail.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
      expect(box.scroll, `${width}x${height}`).toBeLessThanOrEqual(box.client);
      await page.screenshot({ path: join(RESULTS, name) });
    }
    expect(problems).toEqual([]);
  });
});
