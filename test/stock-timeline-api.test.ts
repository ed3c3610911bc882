import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { openTestStore, type TestStore } from './helpers/store.js';

const KEY = 'timeline-test-key';
const auth = { authorization: `Bearer ${KEY}` };

describe('GET /api/catalogs/{id}/products/{sku}/stock-timeline', () => {
  let t: TestStore;
  let app: FastifyInstance;
  let dataDir: string;
  let firstRun: number;
  let secondRun: number;

  const api = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) =>
    app.inject({ method, url: `/api${url}`, headers: auth, ...(payload === undefined ? {} : { payload }) });
  const order = async (channel: string, body: object) => {
    const res = await api('POST', `/channels/${channel}/orders`, body);
    expect(res.statusCode).toBe(201);
  };
  const importCsv = async (csv: string): Promise<number> => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/catalogs/shop/imports',
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().run.status).toBe('applied');
    return res.json().run.id;
  };
  const timeline = (sku: string, query = '') =>
    api('GET', `/catalogs/shop/products/${sku}/stock-timeline${query}`);

  beforeAll(async () => {
    t = await openTestStore();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-timeline-'));
    app = await buildApp({ store: t.store, apiKey: KEY, maxUploadBytes: 1 << 20, dataDir });
    // reconcileAfter 0s: the next import reflects every sale made before it started.
    expect(
      (await api('PUT', '/catalogs/shop', { kind: 'catalog', id: 'shop', reconcileAfter: '0s' })).statusCode,
    ).toBe(201);
    firstRun = await importCsv('sku,title,price,quantity\nP-1,Lamp,10,12\nP-2,Gift card,25,\n');
    for (const id of ['market', 'web']) {
      const res = await api('PUT', `/channels/${id}`, {
        kind: 'channel',
        id,
        catalog: 'shop',
        format: 'csv',
        fields: { id: 'sku', stock: 'quantity' },
      });
      expect(res.statusCode).toBe(201);
    }
    await order('market', { orderId: 'M-1', status: 'paid', lines: [{ sku: 'P-1', quantity: 2 }] });
    await order('web', { orderId: 'W-1', status: 'paid', lines: [{ sku: 'P-1', quantity: 1 }] });
    await order('web', { orderId: 'W-1', status: 'cancelled' });
    await order('market', { orderId: 'M-2', status: 'paid', lines: [{ sku: 'P-1', quantity: 1 }] });
  });
  afterAll(async () => {
    await app.close();
    await t.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows the import, each sale and cancellation, as the effective stock after each', async () => {
    const res = await timeline('P-1');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.truncated).toBe(false);
    expect(body.before).toEqual({ imported: null, pending: 0, effective: null });
    expect(
      body.points.map((p: Record<string, unknown>) => [p.cause, p.imported, p.pending, p.effective, p.moved]),
    ).toEqual([
      ['created', 12, 0, 12, 0],
      ['order', 12, -2, 10, -2],
      ['order', 12, -3, 9, -1],
      ['cancellation', 12, -2, 10, 1],
      ['order', 12, -3, 9, -1],
    ]);
    expect(body.points[0]).toMatchObject({ run: firstRun, channel: null, order: null });
    expect(body.points[1]).toMatchObject({ channel: 'market', order: 'M-1', run: null });
    expect(body.points[3]).toMatchObject({ channel: 'web', order: 'W-1' });
    // Times go forward.
    const times = body.points.map((p: { at: string }) => Date.parse(p.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // The last point is the stock the product page shows.
    const product = (await api('GET', '/catalogs/shop/products/P-1')).json();
    expect(body.now).toEqual({ imported: 12, pending: -3, effective: 9 });
    expect(product.stock).toMatchObject({ imported: 12, effective: 9 });
  });

  it('shows an import that reflects the sales as one step: the quantity moves, pending goes to 0', async () => {
    // The shop's feed now says 9: it has seen the three units sold.
    secondRun = await importCsv('sku,title,price,quantity\nP-1,Lamp,10,9\nP-2,Gift card,25,\n');
    const body = (await timeline('P-1')).json();
    expect(body.points).toHaveLength(6);
    expect(body.points.at(-1)).toMatchObject({
      cause: 'import',
      imported: 9,
      pending: 0,
      effective: 9,
      moved: 0,
      run: secondRun,
      reflected: 4,
    });
    expect(body.now).toEqual({ imported: 9, pending: 0, effective: 9 });
    // The walk back from now still gives the effective stock the channels saw then.
    expect(body.points.map((p: { effective: number }) => p.effective)).toEqual([12, 10, 9, 10, 9, 9]);
  });

  it('keeps the newest changes within the limit and says older ones exist', async () => {
    // The import is two changes at one instant (the quantity, the reflected entries); the
    // limit never cuts an instant in two.
    const body = (await timeline('P-1', '?limit=3')).json();
    expect(body.truncated).toBe(true);
    expect(body.points.map((p: { cause: string }) => p.cause)).toEqual(['order', 'import']);
    // The stock before the first point shown, computed back from now.
    expect(body.before).toEqual({ imported: 12, pending: -2, effective: 10 });
  });

  it('reads only the changes since a time, with the stock as it was then', async () => {
    const all = (await timeline('P-1')).json();
    const since = all.points[4].at;
    const body = (await timeline('P-1', `?since=${encodeURIComponent(since)}`)).json();
    expect(body.points.map((p: { cause: string }) => p.cause)).toEqual(['order', 'import']);
    expect(body.before).toEqual({ imported: 12, pending: -2, effective: 10 });
  });

  it('says a product whose stock is not managed has no effective stock', async () => {
    const body = (await timeline('P-2')).json();
    expect(body.points.map((p: Record<string, unknown>) => [p.cause, p.imported, p.effective])).toEqual([
      ['created', null, null],
    ]);
    expect(body.now).toEqual({ imported: null, pending: 0, effective: null });
  });

  it('refuses an unknown catalog or sku, and a bad time', async () => {
    const noCatalog = await api('GET', '/catalogs/ghost/products/P-1/stock-timeline');
    expect(noCatalog.statusCode).toBe(404);
    expect(noCatalog.json().error.code).toBe('CATALOG_NOT_FOUND');
    const noSku = await timeline('NOPE');
    expect(noSku.statusCode).toBe(404);
    expect(noSku.json().error).toMatchObject({
      code: 'PRODUCT_NOT_FOUND',
      message: expect.stringContaining('NOPE'),
    });
    const badSince = await timeline('P-1', '?since=yesterday');
    expect(badSince.statusCode).toBe(400);
    expect(badSince.json().error.code).toBe('BAD_REQUEST');
    const noKey = await app.inject({ method: 'GET', url: '/api/catalogs/shop/products/P-1/stock-timeline' });
    expect(noKey.statusCode).toBe(401);
  });
});
