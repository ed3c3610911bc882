import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { MAX_SKU_LENGTH } from '../src/model/fields.js';
import { openTestStore, type TestStore } from './helpers/store.js';

// No character and no length breaks a route (issue 16, points 6 and 10): a NUL is refused
// with a 400 naming the field, or removed from a feed row with a warning; a sku longer than
// any stored one is a row error; every refusal, 414 included, has the API's error shape.

const KEY = 'hostile-requests-key';
const auth = { authorization: `Bearer ${KEY}` };

describe('hostile requests', () => {
  let t: TestStore;
  let app: FastifyInstance;
  let dataDir: string;
  const api = (method: 'GET' | 'PUT' | 'POST' | 'PATCH', url: string, payload?: unknown) =>
    app.inject({
      method,
      url: `/api${url}`,
      headers: auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const importCsv = (csv: string) =>
    app.inject({
      method: 'POST',
      url: '/api/catalogs/shop/imports',
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: csv,
    });

  beforeAll(async () => {
    t = await openTestStore();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-hostile-'));
    app = await buildApp({ store: t.store, apiKey: KEY, maxUploadBytes: 1 << 20, dataDir });
    expect(
      (await api('PUT', '/catalogs/shop', { kind: 'catalog', id: 'shop', safety: { maxErrorPercent: 100 } }))
        .statusCode,
    ).toBe(201);
    expect((await importCsv('sku,title,quantity\nA,Apple,5\nB,Bean,7\n')).statusCode).toBe(201);
    expect(
      (await api('PUT', '/channels/plain', { kind: 'channel', id: 'plain', catalog: 'shop', format: 'csv' }))
        .statusCode,
    ).toBe(201);
  });
  afterAll(async () => {
    await app.close();
    await t.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a NUL character anywhere in a request with a 400 naming the field', async () => {
    const cases: Array<
      [Promise<{ statusCode: number; json: () => { error: { code: string; message: string } } }>, string]
    > = [
      [
        api('POST', '/channels/plain/orders', {
          orderId: 'O\u00001',
          status: 'paid',
          lines: [{ sku: 'A', quantity: 1 }],
        }),
        'body.orderId',
      ],
      [
        api('POST', '/channels/plain/orders', {
          orderId: 'O-2',
          status: 'paid',
          lines: [{ sku: 'A\u0000', quantity: 1 }],
        }),
        'body.lines[0].sku',
      ],
      [api('PATCH', '/catalogs/shop/stock', [{ sku: 'B\u0000', quantity: 1 }]), 'body[0].sku'],
      [
        api('PUT', '/rules/nul', {
          id: 'nul',
          rules: [{ id: 'r', description: 'bad\u0000', when: { all: [] }, then: [{ exclude: true }] }],
        }),
        'body.rules[0].description',
      ],
      [api('PUT', '/catalogs/shop', { kind: 'catalog', id: 'shop', name: 'Shop\u0000' }), 'body.name'],
      [api('GET', '/catalogs/shop/products?q=%00'), 'querystring.q'],
      [api('GET', '/history?sku=%00'), 'querystring.sku'],
      [api('GET', '/catalogs/shop/products/%00'), 'params.sku'],
    ];
    for (const [pending, where] of cases) {
      const res = await pending;
      expect(res.statusCode, where).toBe(400);
      expect(res.json().error, where).toEqual({
        code: 'BAD_REQUEST',
        message: `${where} contains a NUL character (\\u0000)`,
      });
    }
    // Nothing moved.
    expect((await api('GET', '/catalogs/shop/products/A')).json().stock.effective).toBe(5);
  });

  it('removes a NUL character from a feed row, with a row warning naming its column', async () => {
    const res = await importCsv('sku,title,quantity\nA,App\u0000le,5\nB,Bean,7\n');
    expect(res.statusCode).toBe(201);
    expect(res.json().run.counts).toMatchObject({ errors: 0, warnings: 1, updated: 0 });
    const run = (await api('GET', `/imports/${res.json().run.id}`)).json();
    expect(run.rowWarnings).toEqual([
      { line: 2, sku: 'A', code: 'nul_removed', message: 'NUL characters removed from "title"' },
    ]);
    expect((await api('GET', '/catalogs/shop/products/A')).json().product.fields.title).toBe('Apple');
  });

  it(`refuses a sku longer than ${MAX_SKU_LENGTH} characters as a row error, and answers its routes in the API's shape`, async () => {
    const long = 'L'.repeat(10_000);
    const res = await importCsv(`sku,title,quantity\nA,Apple,5\nB,Bean,7\n${long},Long,1\n`);
    expect(res.statusCode).toBe(201);
    expect(res.json().run.counts).toMatchObject({ errors: 1, created: 0 });
    const run = (await api('GET', `/imports/${res.json().run.id}`)).json();
    expect(run.rowErrors[0]).toMatchObject({
      line: 4,
      code: 'sku_too_long',
      message: 'the sku in column "sku" has 10,000 characters, more than the 100 a sku may have',
    });
    // A route named by such a sku: 414 in the API's error shape, the URL not echoed.
    const tooLong = await api('GET', `/catalogs/shop/products/${long}`);
    expect(tooLong.statusCode).toBe(414);
    expect(tooLong.json()).toEqual({
      error: { code: 'URI_TOO_LONG', message: 'a path segment is longer than 1024 characters' },
    });
    // A sku of the longest length, percent-encoded, still reaches its route.
    const accented = 'é'.repeat(MAX_SKU_LENGTH);
    expect((await importCsv(`sku,title\nA,Apple\nB,Bean\n${accented},Accents\n`)).statusCode).toBe(201);
    const found = await api('GET', `/catalogs/shop/products/${encodeURIComponent(accented)}`);
    expect(found.statusCode).toBe(200);
    // A malformed URL is refused in the same shape.
    const bad = await api('GET', '/catalogs/shop/products/%E0%A4%A');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('BAD_REQUEST');
    // An order line naming such a sku is refused with its path.
    const order = await api('POST', '/channels/plain/orders', {
      orderId: 'LONG-1',
      status: 'paid',
      lines: [{ sku: 'L'.repeat(101), quantity: 1 }],
    });
    expect(order.statusCode).toBe(400);
    expect(order.json().error.message).toContain('$.lines[0].sku');
  });
});
