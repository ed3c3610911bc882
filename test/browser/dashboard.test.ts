import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/config/config.js';
import { applyDefinitions } from '../../src/definitions/apply.js';
import { buildApp } from '../../src/http/app.js';
import { buildDashboard } from '../../src/http/dashboard-build.js';
import { openTestStore, type TestStore } from '../helpers/store.js';

// The dashboard end to end, as a merchant and an analyst use it: in headless Chromium
// (Debian's package, never a download), against a real server on the embedded store with
// the example catalog, channels and rule sets of the repository.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const KEY = 'e2e-key-0123456789abcdef';
const SHOTS = path.join(PACKAGE_ROOT, 'test-results', 'dashboard');

/** The example catalog's own WooCommerce export, with two bad rows added at its end. */
function feedWithErrors(dir: string): { file: string; badPriceLine: number; noSkuLine: number } {
  const source = readFileSync(path.join(PACKAGE_ROOT, 'feeds/samples/woocommerce-sample-products.csv'));
  const rows = parse(source, { bom: true }) as string[][];
  const header = rows[0] ?? [];
  const row = (values: Record<string, string>) => header.map((h) => values[h] ?? '');
  rows.push(
    row({ SKU: 'e2e-bad-price', Name: 'Price typed in words', 'Regular price': 'twelve', Published: '1' }),
  );
  rows.push(row({ SKU: '', Name: 'A product without a sku', 'Regular price': '9.90', Published: '1' }));
  const file = path.join(dir, 'woocommerce-export.csv');
  writeFileSync(file, stringify(rows));
  // Every record of the sample is one line (no line break inside a quoted field)? Count them.
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n').length;
  return { file, badPriceLine: lines - 1, noSkuLine: lines };
}

describe('dashboard in a browser', () => {
  let t: TestStore;
  let app: FastifyInstance;
  let browser: Browser;
  let page: Page;
  let base: string;
  let work: string;

  const shot = async (name: string) => {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  };
  const go = async (hash: string) => {
    await page.goto(`${base}/#/${hash}`);
    await page.waitForLoadState('networkidle');
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium)`);
    }
    mkdirSync(SHOTS, { recursive: true });
    work = mkdtempSync(path.join(tmpdir(), 'feedwright-e2e-'));
    const dashboard = await buildDashboard(path.join(work, 'dashboard'));
    t = await openTestStore();
    await applyDefinitions(t.store, PACKAGE_ROOT);
    app = await buildApp({
      store: t.store,
      apiKey: KEY,
      maxUploadBytes: 64 * 1024 * 1024,
      dataDir: path.join(work, 'data'),
      dashboardDir: dashboard.outDir,
    });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
    });
    page = await context.newPage();
    // A script error anywhere fails the test where it happens.
    page.on('pageerror', (err) => {
      throw err;
    });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await t?.cleanup();
  });

  it('signs in with the API key, refusing a wrong one', async () => {
    await page.goto(`${base}/`);
    await page.fill('input[name=apiKey]', 'not-the-key');
    await page.click('button[type=submit]');
    await expect.poll(() => page.textContent('[role=alert]')).toContain('not the server’s API key');
    await shot('01-sign-in-refused');
    await page.fill('input[name=apiKey]', KEY);
    await page.click('button[type=submit]');
    await page.waitForSelector('nav >> text=Catalogs');
    await page.waitForSelector('[data-testid=catalogs] >> text=Example store');
    expect(await page.textContent('[data-testid=catalogs]')).toContain('never imported');
    await shot('02-catalogs');
  });

  it('uploads a feed and shows the import with its row errors, filterable and downloadable', async () => {
    const feed = feedWithErrors(work);
    await page.click('[data-testid=catalogs] >> text=Example store');
    await page.waitForSelector('[data-testid=import-form]');
    await page.setInputFiles('[data-testid=import-form] input[type=file]', feed.file);
    await page.click('[data-testid=import-form] >> text=Upload and import');
    const result = page.locator('[data-testid=import-result]');
    await result.waitFor();
    // Row errors make it a warning, not a plain success.
    expect(await result.textContent()).toMatch(
      /applied with errors: 27 rows · 25 created · 0 updated · 0 removed · 2 errors/,
    );
    expect(await result.getAttribute('class')).toBe('notice');
    await expect
      .poll(() => page.textContent('[data-testid=products]'))
      .toContain('25 products in the catalog');
    await shot('03-catalog-after-upload');

    await page.click('[data-testid=import-result] >> text=See the run');
    const errors = page.locator('[data-testid=row-errors]');
    await errors.waitFor();
    const text = (await errors.textContent()) ?? '';
    expect(text).toContain('e2e-bad-price');
    expect(text).toContain(String(feed.badPriceLine));
    expect(text).toContain(String(feed.noSkuLine));
    expect(await page.locator('[data-testid=row-errors] tbody tr').count()).toBe(2);
    await shot('04-import-run');

    await page.fill('[data-testid=row-errors] input[type=search]', 'e2e-bad');
    await expect.poll(() => page.locator('[data-testid=row-errors] tbody tr').count()).toBe(1);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('[data-testid=row-errors] >> text=Download CSV'),
    ]);
    const csv = readFileSync((await download.path()) ?? '', 'utf8');
    const lines = csv.trim().split(/\r?\n/);
    expect(lines[0]).toBe('Line,SKU,Reason,Message');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`${feed.badPriceLine},e2e-bad-price,`);
  });

  it('edits a rule: a live validation error at its JSON path, then the preview, then a new version', async () => {
    await go('rules');
    await page.waitForSelector('text=buffer-stock');
    await shot('05a-rules');
    await page.click('a:has-text("buffer-stock")');
    const editor = page.locator('textarea.editor');
    await editor.waitFor();
    const original = await editor.inputValue();
    const broken = original.replace('"lessThanInclusive"', '"lessThanOrSo"');
    expect(broken).not.toBe(original);
    await editor.fill(broken);
    const problems = page.locator('[data-testid=rule-problems]');
    await expect
      .poll(() => problems.textContent(), { timeout: 10_000 })
      .toContain('$.rules[0].when.all[0].operator');
    await shot('05-rule-invalid');

    const edited = original.replace('"value": 3', '"value": 20');
    expect(edited).not.toBe(original);
    await editor.fill(edited);
    await expect.poll(() => problems.locator('li').count(), { timeout: 10_000 }).toBe(0);
    await page.click('[data-testid=rule-preview] >> text=Run the preview');
    const preview = page.locator('[data-testid=rule-preview-result]');
    await preview.waitFor();
    expect(await preview.textContent()).toContain('Over catalog example');
    expect(await page.locator('[data-testid=rule-preview-totals] tbody tr').count()).toBeGreaterThan(0);
    await shot('06-rule-preview');

    await page.click('[data-testid=rule-editor] >> button:has-text("Save")');
    await page.waitForSelector('[data-testid=rule-saved]');
    await page.waitForSelector('[data-testid=rule-versions] >> text=version 2');
    await shot('07-rule-saved');
  });

  it('publishes a channel, and its feed URL answers what the page says', async () => {
    await go('channels');
    await page.waitForSelector('[data-testid=channels] >> text=example-google');
    await shot('08a-channels');
    await go('channels/example-google');
    await page.click('[data-testid=publish]');
    const published = page.locator('[data-testid=publish-result]');
    await published.waitFor();
    expect(await published.textContent()).toMatch(/Published version \d+: 25 items/);
    const url = ((await page.textContent('[data-testid=feed-url-value]')) ?? '').trim();
    expect(url).toMatch(/\/feeds\/example-google\/[\w-]+\.xml$/);
    const feed = await fetch(new URL(new URL(url).pathname, base));
    expect(feed.status).toBe(200);
    expect(feed.headers.get('content-type')).toContain('xml');
    const body = await feed.text();
    expect(body).toContain('<rss');
    expect(body).toContain('<g:id>woo-hoodie</g:id>');

    // The fetch is logged once its response is over, then written in a batch.
    await expect
      .poll(async () => {
        await app.feeds.fetchLog.flush();
        const res = await app.inject({
          method: 'GET',
          url: '/api/channels/example-google/fetches',
          headers: { authorization: `Bearer ${KEY}` },
        });
        return (res.json() as { fetches: unknown[] }).fetches.length;
      })
      .toBe(1);
    await page.reload();
    await page.waitForLoadState('networkidle');
    await expect
      .poll(() => page.textContent('[data-testid=delivery-headline]'))
      .toMatch(/fetched version \d+/);
    await shot('08-channel');

    // Disabling asks first, then the URL answers 404; enabling serves the feed again.
    page.once('dialog', (d) => void d.accept());
    await page.click('[data-testid=toggle-enabled]');
    await expect.poll(() => page.textContent('[data-testid=toggle-enabled]')).toBe('Enable');
    expect((await fetch(new URL(new URL(url).pathname, base))).status).toBe(404);
    await page.click('[data-testid=toggle-enabled]');
    await expect.poll(() => page.textContent('[data-testid=toggle-enabled]')).toBe('Disable');
    expect((await fetch(new URL(new URL(url).pathname, base))).status).toBe(200);
  });

  it('opens a product and shows why it looks as it does on each channel', async () => {
    await go('products');
    await page.fill('[data-testid=product-search] input[type=search]', 'woo-hoodie-blue');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=products-found] >> text=woo-hoodie-blue-logo');
    await shot('09a-products-search');
    await page.click('[data-testid=products-found] >> text=woo-hoodie-blue-logo');
    const explain = page.locator('[data-testid=explain-example-google]');
    await explain.waitFor();
    const trace = (await explain.locator('[data-testid=rule-trace]').textContent()) ?? '';
    expect(trace).toContain('low-stock-to-zero');
    expect(trace).toContain('pause-acme-over-christmas');
    expect(await explain.locator('[data-testid=feed-row]').textContent()).toContain('woo-hoodie-blue-logo');
    await shot('09-product');
  });

  it('shows the history, filtered', async () => {
    await go('history?type=rules.updated');
    const events = page.locator('[data-testid=events]');
    await events.waitFor();
    expect(await events.textContent()).toContain('buffer-stock');
    expect(await page.locator('[data-testid=events] tbody tr').count()).toBe(1);
    await shot('10-history');
  });

  it('works on a phone screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await go('catalogs/example');
    // Nothing wider than the screen: the page does not scroll sideways.
    const width = await page.evaluate<number>('document.documentElement.scrollWidth');
    expect(width).toBeLessThanOrEqual(390);
    await page.click('button.menu-toggle');
    await page.waitForSelector('nav.open >> text=History');
    await shot('11-phone-catalog');
    await go('products/example/woo-hoodie-blue-logo');
    await page.locator('[data-testid=explain-example-google]').waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await shot('12-phone-product');
  });
});
