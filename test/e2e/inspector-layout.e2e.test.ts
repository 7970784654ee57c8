// The browser tier, for layout: the inspector of a real `porthole demo` (behind a password, so that
// some requests are refused) in Debian's headless Chromium at the window sizes people use, measured
// with the real layout (boxes, scroll widths), not the DOM alone. Screenshots land in test-results/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM,
  RESULTS,
  ensureBuiltRenderer,
  requireChromium,
  startDemo,
  until,
  type Demo,
} from '../helpers/browser.ts';
import { killAll } from '../helpers/cli.ts';
import { visit } from '../helpers/net.ts';

const AUTH = { authorization: `Basic ${Buffer.from('me:s3cret').toString('base64')}` };

let demo: Demo;
let browser: Browser;
let page: Page;
/** What went wrong while the page loaded: failed responses and console errors. */
const problems: string[] = [];

beforeAll(async () => {
  requireChromium();
  await ensureBuiltRenderer();
  mkdirSync(RESULTS, { recursive: true });
  demo = await startDemo(['--basic-auth', 'me:s3cret']);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  page = await browser.newPage({ locale: 'en-US', viewport: { width: 1440, height: 900 } });
  // A missing control fails its test in a few seconds, saying which, rather than at the test's timeout.
  page.setDefaultTimeout(5_000);
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
  });
  page.on('requestfailed', (r) => problems.push(`failed ${r.url()}: ${r.failure()?.errorText ?? ''}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(demo.inspectorUrl);
  await page
    .getByRole('navigation', { name: 'Tunnels' })
    .getByText('online', { exact: true })
    .waitFor({ timeout: 15_000 });
}, 150_000);

const requestList = (): Locator => page.getByRole('table', { name: 'Requests' });
const detail = (): Locator => page.getByRole('region', { name: 'Request detail' });
const row = (name: string): Locator =>
  requestList()
    .getByRole('row')
    .filter({ has: page.getByRole('button', { name, exact: true }) });

/** Content wider than its box (cut, or only seen by scrolling sideways). */
async function overflows(el: Locator): Promise<{ scrollWidth: number; clientWidth: number } | null> {
  const m = await el.evaluate((e) => ({ scrollWidth: e.scrollWidth, clientWidth: e.clientWidth }));
  return m.scrollWidth > m.clientWidth ? m : null;
}

/** Opens a request by its row's button, and waits for its detail. */
async function open(name: string): Promise<void> {
  await requestList().getByRole('button', { name, exact: true }).click();
  await detail().getByRole('toolbar', { name: 'Request actions' }).waitFor();
}

async function closeDetail(): Promise<void> {
  if (await detail().count()) await detail().getByRole('button', { name: 'Close the request detail' }).click();
}

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
  await killAll();
});

describe('the inspector in Chromium', () => {
  it('loads with an icon and nothing failing: no 404, no console error', async () => {
    const icon = await page.evaluate(() => document.querySelector<HTMLLinkElement>('link[rel~="icon"]')?.href ?? null);
    expect(icon).not.toBeNull();
    const got = await page.request.get(icon!);
    expect(got.status()).toBe(200);
    expect(got.headers()['content-type']).toMatch(/^image\//);
    // What a browser asks for where a page names no icon (the inspector's own error pages).
    const fallback = await page.request.get(new URL('/favicon.ico', demo.inspectorUrl).href);
    expect(fallback.status()).toBe(200);
    expect(fallback.headers()['content-type']).toMatch(/^image\//);
    // A reload, with the icon cached or not, asks for nothing that fails either.
    await page.reload();
    await page.getByRole('navigation', { name: 'Tunnels' }).getByText('online', { exact: true }).waitFor();
    await until('the page settles', async () => (await page.evaluate(() => document.readyState)) === 'complete');
    expect(problems).toEqual([]);
  });

  it('shows a refused request’s status and what refused it in full, in the list wide and narrow', async () => {
    expect((await visit(demo.port, demo.host, { path: '/' })).status).toBe(401);
    expect((await visit(demo.port, demo.host, { path: '/api/time', headers: AUTH })).status).toBe(200);
    await row('Open GET / (401)').waitFor();
    await row('Open GET /api/time (200)').waitFor();
    const cell = (): Locator => row('Open GET / (401)').locator('.ph-col-status');
    const fits = async (when: string): Promise<void> => {
      expect(await cell().textContent()).toBe('401password');
      expect(await overflows(cell()), when).toBeNull();
      const box = (await cell().boundingBox())!;
      for (const part of [cell().locator('.ph-status-code'), cell().getByText('password', { exact: true })]) {
        const b = (await part.boundingBox())!;
        expect(b.x, when).toBeGreaterThanOrEqual(box.x);
        expect(b.x + b.width, when).toBeLessThanOrEqual(box.x + box.width + 0.5);
      }
      // Every rule's mark, in both languages, fits the same cell (measured in place).
      const chip = cell().locator('.ph-chip');
      const original = await chip.textContent();
      for (const label of ['IP denied', 'IP not allowed', 'password', 'IP 被拒绝', 'IP 不在允许列表', '密码']) {
        await chip.evaluate((e, text) => (e.textContent = text), label);
        expect(await overflows(cell()), `${when}: ${label}`).toBeNull();
      }
      await chip.evaluate((e, text) => (e.textContent = text), original);
    };

    for (const viewport of [
      { width: 1440, height: 900 },
      { width: 1280, height: 800 },
    ]) {
      await page.setViewportSize(viewport);
      await closeDetail();
      await fits(`list alone at ${viewport.width}`);
      await open('Open GET /api/time (200)');
      await fits(`list beside a request at ${viewport.width}`);
      await page.screenshot({ path: join(RESULTS, `layout-refused-${viewport.width}.png`) });
    }
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('shows a binary body’s whole hex dump (offset, hex and ASCII) without scrolling sideways', async () => {
    const body = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const echo = await visit(demo.port, demo.host, {
      method: 'POST',
      path: '/echo?bin=1',
      headers: { ...AUTH, 'content-type': 'application/octet-stream' },
      body,
    });
    expect(echo.status).toBe(200);
    for (const viewport of [
      { width: 1440, height: 900 },
      { width: 1280, height: 800 },
    ]) {
      await page.setViewportSize(viewport);
      await open('Open POST /echo?bin=1 (200)');
      await detail().getByRole('tab', { name: 'Request' }).click();
      const dump = detail().getByLabel('Hex dump');
      const when = `at ${viewport.width}x${viewport.height}`;
      expect((await dump.textContent())!.split('\n')[7]).toBe(
        '00000070  70 71 72 73 74 75 76 77  78 79 7a 7b 7c 7d 7e 7f  |pqrstuvwxyz{|}~.|',
      );
      expect(await overflows(dump), when).toBeNull();
      expect(await overflows(detail()), when).toBeNull();
      const box = (await dump.boundingBox())!;
      const pane = (await detail().boundingBox())!;
      expect(box.x + box.width, when).toBeLessThanOrEqual(Math.min(viewport.width, pane.x + pane.width));
      await dump.scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(RESULTS, `layout-hex-${viewport.width}.png`) });
    }
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('gives an open request most of the height: the tunnel’s overview folds away, and opens again on demand', async () => {
    const article = page.getByRole('article');
    const qr = article.getByRole('img', { name: /^QR code of / });
    const counters = article.getByRole('group', { name: 'Live counters' });
    for (const viewport of [
      { width: 1440, height: 900 },
      { width: 1280, height: 800 },
    ]) {
      const when = `at ${viewport.width}x${viewport.height}`;
      await page.setViewportSize(viewport);
      await closeDetail();
      // No request open: the whole overview.
      await qr.waitFor();
      expect(await article.getByRole('button', { name: 'Hide overview' }).getAttribute('aria-expanded')).toBe('true');

      await open('Open GET /api/time (200)');
      await qr.waitFor({ state: 'hidden' });
      const top = (await detail().boundingBox())!.y;
      expect(top, when).toBeLessThanOrEqual(viewport.height * 0.3);
      // Folded, the counters still show (on one line).
      expect(await counters.isVisible(), when).toBe(true);
      expect((await counters.boundingBox())!.height, when).toBeLessThan(40);
      await page.screenshot({ path: join(RESULTS, `layout-folded-${viewport.width}.png`) });

      const show = article.getByRole('button', { name: 'Show overview' });
      expect(await show.getAttribute('aria-expanded')).toBe('false');
      await show.click();
      await qr.waitFor();
      expect(await article.getByRole('button', { name: 'Hide overview' }).getAttribute('aria-expanded')).toBe('true');
      await article.getByRole('button', { name: 'Hide overview' }).click();
      await qr.waitFor({ state: 'hidden' });
      expect((await detail().boundingBox())!.y, when).toBe(top);
    }
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('keeps the request toolbar, Export all as HAR included, on one line at 1440 and 1280 wide', async () => {
    const toolbar = page.getByRole('toolbar', { name: 'Requests' });
    const exportAll = toolbar.getByRole('button', { name: 'Export all as HAR' });
    for (const viewport of [
      { width: 1440, height: 900 },
      { width: 1280, height: 800 },
    ]) {
      await page.setViewportSize(viewport);
      for (const requestOpen of [false, true]) {
        if (requestOpen) await open('Open GET /api/time (200)');
        else await closeDetail();
        const when = `at ${viewport.width}x${viewport.height}${requestOpen ? ' with a request open' : ''}`;
        const search = (await toolbar.getByRole('searchbox', { name: 'Filter requests' }).boundingBox())!;
        const pause = (await toolbar.getByRole('button', { name: 'Pause' }).boundingBox())!;
        const button = (await exportAll.boundingBox())!;
        // On the toolbar's first line, beside the filter, and itself one line high.
        expect(Math.abs(button.y + button.height / 2 - (search.y + search.height / 2)), when).toBeLessThan(2);
        expect(button.height, when).toBeCloseTo(pause.height, 0);
        expect(await overflows(exportAll), when).toBeNull();
        expect(button.x + button.width, when).toBeLessThanOrEqual(viewport.width);
        // Every control of the toolbar on that one line (their middles within a few pixels).
        const middles = await toolbar.evaluate((e) =>
          [...e.querySelectorAll('input, select, button')].map((c) => {
            const r = c.getBoundingClientRect();
            return r.top + r.height / 2;
          }),
        );
        expect(Math.max(...middles) - Math.min(...middles), `${when}: ${middles.join(', ')}`).toBeLessThan(4);
      }
      await page.screenshot({ path: join(RESULTS, `layout-toolbar-${viewport.width}.png`) });
    }
    await page.setViewportSize({ width: 1440, height: 900 });
  });
});
