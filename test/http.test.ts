import fs, { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/errors.js';
import { buildApp } from '../src/http/app.js';
import { SAMPLES } from './helpers/samples.js';
import { openTestStore, type TestStore } from './helpers/store.js';

const WOO = fs.readFileSync(path.join(SAMPLES, 'woocommerce-sample-products.csv'));
const KEY = 'test-key-0123456789';
const auth = { authorization: `Bearer ${KEY}` };
const MAX_UPLOAD = 64 * 1024;

const wooCatalog = {
  kind: 'catalog',
  id: 'woo',
  mapping: { sku: 'SKU', title: 'Name', price: 'Regular price', sale_price: 'Sale price', quantity: 'Stock' },
};

describe('HTTP API', () => {
  let t: TestStore;
  let app: FastifyInstance;

  beforeAll(async () => {
    t = await openTestStore();
    app = await buildApp({
      store: t.store,
      apiKey: KEY,
      maxUploadBytes: MAX_UPLOAD,
      dataDir: mkdtempSync(path.join(tmpdir(), 'feedwright-app-')),
    });
  });
  afterAll(async () => {
    await app.close();
    await t.cleanup();
  });

  const upload = (body: Buffer | string | Readable, query = '', headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: `/api/catalogs/woo/imports${query}`,
      headers: { ...auth, 'content-type': 'text/csv', ...headers },
      payload: body,
    });
  const productCount = async () =>
    (await app.inject({ method: 'GET', url: '/api/catalogs/woo/products?limit=1', headers: auth })).json()
      .total;

  it('answers /health without a key, naming the store', async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', store: t.store.kind });
  });

  it('refuses /api without the right bearer key', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: KEY }]) {
      const res = await app.inject({ method: 'GET', url: '/api/catalogs', headers });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHORIZED');
    }
  });

  it('refuses a faulty catalog definition with the JSON path of each fault', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: '/api/catalogs/woo',
      headers: auth,
      payload: { ...wooCatalog, mapping: { sku: 'SKU', colour: 'Color' }, safety: { maxDropPercent: 150 } },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error.code).toBe('DEFINITION_INVALID');
    expect(body.error.message).toContain('$.mapping.colour: is not a known property');
    expect(body.error.message).toContain('$.safety.maxDropPercent');
    expect((await app.inject({ method: 'GET', url: '/api/catalogs/woo', headers: auth })).statusCode).toBe(
      404,
    );
  });

  it('creates a catalog with PUT and reports it unchanged when PUT again', async () => {
    const first = await app.inject({
      method: 'PUT',
      url: '/api/catalogs/woo',
      headers: auth,
      payload: wooCatalog,
    });
    expect(first.statusCode).toBe(201);
    expect(first.json().catalog.version).toBe(1);
    const again = await app.inject({
      method: 'PUT',
      url: '/api/catalogs/woo',
      headers: auth,
      payload: wooCatalog,
    });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ outcome: 'unchanged', catalog: { version: 1 } });
  });

  it('imports an uploaded feed and serves its products, paged, and one product with its history', async () => {
    const res = await upload(WOO);
    expect(res.statusCode).toBe(201);
    expect(res.json().run).toMatchObject({ status: 'applied', counts: { rows: 25, valid: 25, created: 25 } });

    const page1 = (
      await app.inject({ method: 'GET', url: '/api/catalogs/woo/products?limit=10', headers: auth })
    ).json();
    expect(page1.total).toBe(25);
    expect(page1.products).toHaveLength(10);
    const page2 = (
      await app.inject({
        method: 'GET',
        url: `/api/catalogs/woo/products?limit=10&after=${page1.next}`,
        headers: auth,
      })
    ).json();
    expect(page2.products[0].sku > page1.products[9].sku).toBe(true);

    const one = await app.inject({
      method: 'GET',
      url: '/api/catalogs/woo/products/woo-beanie',
      headers: auth,
    });
    expect(one.statusCode).toBe(200);
    expect(one.json().product.fields).toMatchObject({
      sku: 'woo-beanie',
      price: 20,
      sale_price: 18,
      manage_stock: false,
    });
    expect(one.json().history.map((e: { type: string }) => e.type)).toEqual(['product.created']);

    const missing = await app.inject({
      method: 'GET',
      url: '/api/catalogs/woo/products/nope',
      headers: auth,
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('PRODUCT_NOT_FOUND');
  });

  it('answers 413 to an upload over the body limit, declared or streamed, and changes nothing', async () => {
    const before = await productCount();
    const big = Buffer.concat([WOO.subarray(0, WOO.indexOf('\n') + 1), Buffer.alloc(MAX_UPLOAD * 2, 'x,')]);
    const declared = await upload(big);
    expect(declared.statusCode).toBe(413);
    expect(declared.json().error.code).toBe('PAYLOAD_TOO_LARGE');

    // No Content-Length: the limit is enforced while the body streams into the parser.
    const rows = WOO.toString('utf8').split('\n');
    const header = `${rows[0]}\n`;
    const body = rows.slice(1, 6).join('\n');
    const chunks = [header, ...Array.from({ length: 200 }, () => `${body}\n`)];
    const streamed = await upload(Readable.from(chunks), '', { 'transfer-encoding': 'chunked' });
    expect(streamed.statusCode).toBe(413);
    expect(streamed.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await productCount()).toBe(before);
    const beanie = await app.inject({
      method: 'GET',
      url: '/api/catalogs/woo/products/woo-beanie',
      headers: auth,
    });
    expect(beanie.json().product.fields.price).toBe(20);
  });

  it('shows a run with its row errors, line and sku', async () => {
    const text = WOO.toString('utf8')
      .replace('woo-belt,"Belt"', 'woo-belt,"Belt"')
      .replace(',woo-cap,', ',,');
    const res = await upload(text, '?mode=partial');
    expect(res.statusCode).toBe(201);
    const run = res.json().run;
    expect(run.counts.errors).toBe(1);
    const detail = await app.inject({ method: 'GET', url: `/api/imports/${run.id}`, headers: auth });
    expect(detail.json().rowErrors).toEqual([
      { line: 8, sku: null, code: 'missing_sku', message: 'no sku in column "SKU"' },
    ]);
    const list = await app.inject({ method: 'GET', url: '/api/catalogs/woo/imports?limit=1', headers: auth });
    expect(list.json().runs[0].id).toBe(run.id);
    expect(list.json().next).not.toBeNull();
  });

  it('holds a feed that drops most products (202), then applies it on request', async () => {
    const lines = WOO.toString('utf8').trimEnd().split('\n');
    const res = await upload(`${lines.slice(0, 6).join('\n')}\n`);
    expect(res.statusCode).toBe(202);
    const run = res.json().run;
    expect(run.status).toBe('held');
    expect(run.heldReasons[0].code).toBe('too_many_removed');
    expect(run.applicable).toBe(true);
    expect(await productCount()).toBe(25);

    const applied = await app.inject({ method: 'POST', url: `/api/imports/${run.id}/apply`, headers: auth });
    expect(applied.statusCode).toBe(200);
    expect(applied.json().run).toMatchObject({ status: 'applied', forced: true, counts: { removed: 20 } });
    expect(await productCount()).toBe(5);

    const twice = await app.inject({ method: 'POST', url: `/api/imports/${run.id}/apply`, headers: auth });
    expect(twice.statusCode).toBe(409);
    expect(twice.json().error.code).toBe('IMPORT_NOT_HELD');
  });

  it('applies a held import at once with ?force=true', async () => {
    const res = await upload(WOO);
    expect(res.json().run.counts.created).toBe(20);
    const lines = WOO.toString('utf8').trimEnd().split('\n');
    const forced = await upload(`${lines.slice(0, 3).join('\n')}\n`, '?force=true');
    expect(forced.statusCode).toBe(201);
    expect(forced.json().run).toMatchObject({ status: 'applied', forced: true, counts: { removed: 23 } });
    expect(await productCount()).toBe(2);
  });

  it('filters and pages the history', async () => {
    // Two held runs: the feed that dropped most products, and the upload cut at the body limit.
    const held = await app.inject({ method: 'GET', url: '/api/history?type=import.held', headers: auth });
    expect(
      held.json().events.map((e: { data: { reasons: Array<{ code: string }> } }) => e.data.reasons[0]?.code),
    ).toEqual(['too_many_removed', 'fetch_failed']);
    const imports = await app.inject({
      method: 'GET',
      url: '/api/history?type=import&limit=2',
      headers: auth,
    });
    const page = imports.json();
    expect(page.events).toHaveLength(2);
    expect(page.events.every((e: { type: string }) => e.type.startsWith('import.'))).toBe(true);
    const next = await app.inject({
      method: 'GET',
      url: `/api/history?type=import&limit=2&before=${page.next}`,
      headers: auth,
    });
    expect(next.json().events[0].id).toBeLessThan(page.events[1].id);
    const sku = await app.inject({ method: 'GET', url: '/api/history?sku=woo-belt', headers: auth });
    expect(sku.json().events.map((e: { type: string }) => e.type)).toEqual([
      'product.removed',
      'product.created',
      'product.removed',
      'product.created',
    ]);
    // One run's changes: the run that applied the feed cut to two products removed 23.
    const runs = (
      await app.inject({ method: 'GET', url: '/api/catalogs/woo/imports?limit=100', headers: auth })
    ).json();
    const runId = runs.runs.find(
      (r: { forced: boolean; counts: { removed: number } }) => r.forced && r.counts.removed === 23,
    ).id;
    const ofRun = await app.inject({
      method: 'GET',
      url: `/api/history?run=${runId}&limit=500`,
      headers: auth,
    });
    const types = ofRun.json().events.map((e: { type: string; run: number }) => `${e.type}#${e.run}`);
    expect(types.filter((t: string) => t === `product.removed#${runId}`)).toHaveLength(23);
    expect(new Set(types.map((t: string) => t.split('#')[1]))).toEqual(new Set([String(runId)]));
    const future = await app.inject({
      method: 'GET',
      url: '/api/history?since=2999-01-01T00:00:00Z',
      headers: auth,
    });
    expect(future.json()).toEqual({ events: [], next: null });
    const bad = await app.inject({ method: 'GET', url: '/api/history?since=yesterday', headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('BAD_REQUEST');
  });

  it('lists catalogs, each with its latest import run', async () => {
    await app.inject({
      method: 'PUT',
      url: '/api/catalogs/empty',
      headers: auth,
      payload: { kind: 'catalog', id: 'empty' },
    });
    const runs = (
      await app.inject({ method: 'GET', url: '/api/catalogs/woo/imports?limit=1', headers: auth })
    ).json();
    const res = await app.inject({ method: 'GET', url: '/api/catalogs', headers: auth });
    const byId = new Map(res.json().catalogs.map((c: { id: string }) => [c.id, c]));
    expect(byId.get('woo')).toMatchObject({ lastImport: { id: runs.runs[0].id } });
    expect(byId.get('empty')).toMatchObject({ lastImport: null });
  });

  it('answers unknown routes and catalogs with coded JSON errors and no stack trace', async () => {
    const route = await app.inject({ method: 'GET', url: '/api/nothing-here', headers: auth });
    expect(route.statusCode).toBe(404);
    expect(route.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no route GET /api/nothing-here' } });
    const catalog = await app.inject({
      method: 'POST',
      url: '/api/catalogs/nope/imports',
      headers: auth,
      payload: 'a',
    });
    expect(catalog.statusCode).toBe(404);
    expect(catalog.json().error.code).toBe('CATALOG_NOT_FOUND');
    expect(catalog.body).not.toContain('    at ');
  });
});

describe('error registry', () => {
  it('gives every code a status and a meaning', () => {
    for (const [code, { status, doc }] of Object.entries(ERROR_CODES)) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(doc.length, code).toBeGreaterThan(10);
    }
  });
});
