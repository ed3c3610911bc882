import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { MAX_QUANTITY } from '../src/model/fields.js';
import { openTestStore, type TestStore } from './helpers/store.js';

// One bound for a quantity, and sums that never overflow (issue 16, points 2 and 8): a barcode
// pasted into the stock column is a row error, a push past the bound a 400 with its path,
// stored quantities and ledger sums past 2³¹ break no route and no build, and no rule takes a
// quantity past the bound or saves a number JSON cannot hold.

const KEY = 'quantity-bounds-key';
const auth = { authorization: `Bearer ${KEY}` };

describe('quantities and the numbers of rules stay within bounds', () => {
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
  const feedRows = async (channel: string) => {
    expect((await api('POST', `/channels/${channel}/publish`)).statusCode).toBe(201);
    const url = new URL((await api('GET', `/channels/${channel}`)).json().feedUrl).pathname;
    return parse((await app.inject({ url })).body, { columns: true }) as Array<Record<string, string>>;
  };

  beforeAll(async () => {
    t = await openTestStore();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-bounds-'));
    app = await buildApp({ store: t.store, apiKey: KEY, maxUploadBytes: 1 << 20, dataDir });
    expect((await api('PUT', '/catalogs/shop', { kind: 'catalog', id: 'shop' })).statusCode).toBe(201);
    const rows = [
      'sku,title,quantity',
      'A,Apple,5',
      'B,Bean,7',
      ...Array.from({ length: 8 }, (_, i) => `C${i},C,1`),
    ];
    expect((await importCsv(rows.join('\n'))).statusCode).toBe(201);
    const channel = {
      kind: 'channel',
      catalog: 'shop',
      format: 'csv',
      fields: { id: 'sku', qty: 'quantity' },
    };
    expect((await api('PUT', '/channels/plain', { ...channel, id: 'plain' })).statusCode).toBe(201);
  });
  afterAll(async () => {
    await app.close();
    await t.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a barcode in the stock column as a row error, keeping the product as it was', async () => {
    const rows = [
      'sku,title,quantity',
      'A,Apple,4006381333931',
      'B,Bean,7',
      ...Array.from({ length: 8 }, (_, i) => `C${i},C,1`),
    ];
    const res = await importCsv(rows.join('\n'));
    expect(res.statusCode).toBe(201);
    expect(res.json().run.counts).toMatchObject({ errors: 1, kept: 1, removed: 0 });
    const run = (await api('GET', `/imports/${res.json().run.id}`)).json();
    expect(run.rowErrors[0]).toMatchObject({
      sku: 'A',
      code: 'invalid_quantity',
      message: expect.stringContaining('is more than 1,000,000,000: a barcode in the stock column?'),
    });
    expect((await api('GET', '/catalogs/shop/products/A')).json().product.fields.quantity).toBe(5);
  });

  it('refuses a stock push past the bound with a 400 naming the path', async () => {
    const res = await api('PATCH', '/catalogs/shop/stock', [
      { sku: 'A', quantity: 3 },
      { sku: 'B', quantity: 3_000_000_000 },
    ]);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain('[1].quantity');
    expect((await api('GET', '/catalogs/shop/products/A')).json().stock.effective).toBe(5);
  });

  it('reads, moves and publishes a stored quantity past 2³¹ without an error', async () => {
    // A quantity stored before the bound existed.
    await t.store.query({
      text: `UPDATE products SET fields = jsonb_set(fields, '{quantity}', '3000000000') WHERE catalog_id = 'shop' AND sku = 'B'`,
    });
    const product = await api('GET', '/catalogs/shop/products/B');
    expect(product.statusCode).toBe(200);
    expect(product.json().stock).toMatchObject({ imported: 3_000_000_000, effective: 3_000_000_000 });
    const order = await api('POST', '/channels/plain/orders', {
      orderId: 'BIG-1',
      status: 'paid',
      lines: [{ sku: 'B', quantity: 2 }],
    });
    expect(order.statusCode).toBe(201);
    expect(order.json().movements[0]).toMatchObject({ effectiveStock: 2_999_999_998 });
    expect((await feedRows('plain')).find((r) => r.id === 'B')?.qty).toBe('2999999998');
    // A push back into bounds moves it by more than a 32-bit integer holds.
    const push = await api('PATCH', '/catalogs/shop/stock', [{ sku: 'B', quantity: 10 }]);
    expect(push.statusCode).toBe(200);
    expect(push.json().adjusted).toEqual([{ sku: 'B', quantity: 10, delta: -2_999_999_988 }]);
    expect((await api('GET', '/catalogs/shop/products/B/stock-timeline')).statusCode).toBe(200);
  });

  it('keeps a quantity within the bound after every action, and refuses numbers JSON cannot hold', async () => {
    const rules = {
      id: 'huge',
      rules: [{ id: 'times', when: { all: [] }, then: [{ multiply: 'quantity', value: 1e300 }] }],
    };
    expect((await api('PUT', '/rules/huge', rules)).statusCode).toBe(201);
    const channel = {
      kind: 'channel',
      catalog: 'shop',
      format: 'csv',
      fields: { id: 'sku', qty: 'quantity' },
    };
    expect((await api('PUT', '/channels/huge', { ...channel, id: 'huge', rules: ['huge'] })).statusCode).toBe(
      201,
    );
    const rows = await feedRows('huge');
    expect(rows.find((r) => r.id === 'A')?.qty).toBe(String(MAX_QUANTITY));

    // 1e309 reads as Infinity: it would be saved as null. Refused, with its path.
    const body =
      '{"id":"inf","rules":[{"id":"r","when":{"all":[{"fact":"price","operator":"lessThan","value":1e309}]},"then":[{"exclude":true}]}]}';
    const inf = await app.inject({
      method: 'PUT',
      url: '/api/rules/inf',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: body,
    });
    expect(inf.statusCode).toBe(422);
    expect(inf.json().error.message).toContain('$.rules[0].when.all[0].value: a number too large to hold');
    const tooMany = await api('PUT', '/rules/many', {
      id: 'many',
      rules: [{ id: 'r', when: { all: [] }, then: [{ set: 'quantity', value: 5_000_000_000 }] }],
    });
    expect(tooMany.statusCode).toBe(422);
    expect(tooMany.json().error.message).toContain(
      '$.rules[0].then[0].value: quantity must be a whole number from 0 to 1,000,000,000',
    );
  });
});
