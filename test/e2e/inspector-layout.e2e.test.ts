// The browser tier, for layout: the inspector of a real `porthole demo` (behind a password, so that
// some requests are refused) in Debian's headless Chromium at the window sizes people use, measured
// with the real layout (boxes, scroll widths), not the DOM alone. Screenshots land in test-results/.
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
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
});
