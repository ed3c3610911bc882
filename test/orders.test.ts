import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { readHistory } from '../src/store/history.js';
import { openTestStore, type TestStore } from './helpers/store.js';

const KEY = 'orders-test-key';
const auth = { authorization: `Bearer ${KEY}` };

const CATALOG = [
  'sku,title,price,quantity',
  'S-1,Sixty,10,60',
  'S-2,Five,10,5',
  'S-3,Not managed,10,',
  'S-4,Ten,10,10',
  'S-5,Twenty,10,20',
  'S-6,Thirty,10,30',
  'S-7,Also thirty,10,30',
  'S-8,Late orders,10,10',
].join('\n');

describe('orders and the stock ledger', () => {
  let t: TestStore;
  let app: FastifyInstance;
  let dataDir: string;

  const api = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) =>
    app.inject({ method, url: `/api${url}`, headers: auth, ...(payload === undefined ? {} : { payload }) });
  const order = (channel: string, body: object) => api('POST', `/channels/${channel}/orders`, body);
  const stock = async (sku: string) => (await api('GET', `/catalogs/shop/products/${sku}`)).json().stock;
  const importCsv = async (csv: string) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/catalogs/shop/imports',
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(res.statusCode).toBe(201);
    return res.json();
  };

  beforeAll(async () => {
    t = await openTestStore();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-orders-'));
    app = await buildApp({ store: t.store, apiKey: KEY, maxUploadBytes: 1 << 20, dataDir });
    expect(
      (await api('PUT', '/catalogs/shop', { kind: 'catalog', id: 'shop', reconcileAfter: '2s' })).statusCode,
    ).toBe(201);
    await importCsv(CATALOG);
    await api('PUT', '/rules/buffer-stock', {
      id: 'buffer-stock',
      rules: [
        {
          id: 'low-to-zero',
          when: { all: [{ fact: 'quantity', operator: 'lessThanInclusive', value: 3 }] },
          then: [{ set: 'quantity', value: 0 }],
        },
      ],
    });
    const channel = (id: string, extra: object = {}) =>
      api('PUT', `/channels/${id}`, {
        kind: 'channel',
        id,
        catalog: 'shop',
        format: 'csv',
        fields: { id: 'sku', stock: 'quantity' },
        ...extra,
      });
    expect((await channel('market', { rules: ['buffer-stock'] })).statusCode).toBe(201);
    expect((await channel('plain')).statusCode).toBe(201);
    expect((await channel('strict', { options: { skipUnpaidOrders: true } })).statusCode).toBe(201);
  });
  afterAll(async () => {
    await app.close();
    await t.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a malformed report with the JSON path of each fault', async () => {
    const res = await order('plain', {
      orderId: 'bad',
      status: 'shipped',
      lines: [{ sku: 'S-1', quantity: 0 }],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('ORDER_INVALID');
    expect(res.json().error.message).toContain('$.status: must be one of paid, unpaid, cancelled, refunded');
    expect(res.json().error.message).toContain('$.lines[0].quantity: must be >= 1');
    const noLines = await order('plain', { orderId: 'bad', status: 'paid' });
    expect(noLines.statusCode).toBe(400);
    expect(noLines.json().error.message).toContain('$.lines');
    expect(
      (await order('ghost', { orderId: 'x', status: 'paid', lines: [{ sku: 'S-1', quantity: 1 }] }))
        .statusCode,
    ).toBe(404);
    expect((await stock('S-1')).effective).toBe(60);
  });

  it('moves stock once for the same report sent twice, or twenty times at once', async () => {
    const body = { orderId: 'A-1', status: 'paid', lines: [{ sku: 'S-4', quantity: 2 }] };
    const first = await order('plain', body);
    expect(first.statusCode).toBe(201);
    expect(first.json().movements).toEqual([{ sku: 'S-4', delta: -2, cause: 'order', effectiveStock: 8 }]);
    const again = await order('plain', body);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ duplicate: true, movements: [] });
    expect((await stock('S-4')).effective).toBe(8);

    const burst = { orderId: 'A-2', status: 'paid', lines: [{ sku: 'S-4', quantity: 3 }] };
    const results = await Promise.all(Array.from({ length: 20 }, () => order('plain', burst)));
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(19);
    const s = await stock('S-4');
    expect(s).toMatchObject({ imported: 10, effective: 5, oversold: 0 });
    expect(s.pending.map((e: { delta: number }) => e.delta)).toEqual([-3, -2]);
  });

  it('gives units back once on cancellation, and a refund after it moves nothing more', async () => {
    await order('plain', { orderId: 'B-1', status: 'paid', lines: [{ sku: 'S-5', quantity: 4 }] });
    expect((await stock('S-5')).effective).toBe(16);
    // Every movement is in history under its sku.
    const moved = await readHistory(t.store, { sku: 'S-5', type: 'stock.moved', limit: 10 });
    expect(moved.events.map((e) => e.data)).toEqual([
      { entry: expect.any(Number), delta: -4, cause: 'order', order: 'B-1' },
    ]);
    const cancel = await order('plain', { orderId: 'B-1', status: 'cancelled' });
    expect(cancel.statusCode).toBe(201);
    expect(cancel.json().movements).toEqual([
      { sku: 'S-5', delta: 4, cause: 'cancellation', effectiveStock: 20 },
    ]);
    const refund = await order('plain', { orderId: 'B-1', status: 'refunded' });
    expect(refund.statusCode).toBe(201);
    expect(refund.json().movements).toEqual([]);
    expect((await stock('S-5')).effective).toBe(20);

    // Paid, then refunded: the refund gives the units back.
    await order('plain', { orderId: 'B-2', status: 'paid', lines: [{ sku: 'S-5', quantity: 1 }] });
    const refunded = await order('plain', { orderId: 'B-2', status: 'refunded' });
    expect(refunded.json().movements).toEqual([
      { sku: 'S-5', delta: 1, cause: 'refund', effectiveStock: 20 },
    ]);
  });

  it('never takes units for an order that was cancelled before its paid report arrived', async () => {
    const before = (await stock('S-8')).effective;
    const cancel = await order('plain', { orderId: 'LATE-1', status: 'cancelled' });
    expect(cancel.statusCode).toBe(201);
    const paid = await order('plain', {
      orderId: 'LATE-1',
      status: 'paid',
      lines: [{ sku: 'S-8', quantity: 4 }],
    });
    expect(paid.statusCode).toBe(201);
    expect(paid.json()).toMatchObject({
      duplicate: false,
      movements: [],
      outOfOrder: { reported: 'paid', closedBy: 'cancelled' },
      order: { status: 'cancelled', holdsStock: false },
    });
    const again = await order('plain', { orderId: 'LATE-1', status: 'cancelled' });
    expect(again.statusCode).toBe(200);
    expect((await stock('S-8')).effective).toBe(before);
    // The order's history says what arrived out of order.
    const { events } = await readHistory(t.store, { channel: 'plain', type: 'order.reported', limit: 50 });
    const late = events.find((e) => e.data.order === 'LATE-1' && e.data.status === 'paid');
    expect(late?.data).toMatchObject({
      outOfOrder: { reported: 'paid', closedBy: 'cancelled' },
      movements: [],
    });
    // An order reported in order says nothing of it.
    const inOrder = await order('plain', {
      orderId: 'LATE-2',
      status: 'paid',
      lines: [{ sku: 'S-8', quantity: 1 }],
    });
    expect(inOrder.json().outOfOrder).toBeNull();
    await order('plain', { orderId: 'LATE-2', status: 'cancelled' });
    expect((await stock('S-8')).effective).toBe(before);
  });

  it('takes stock for an unpaid order, and nothing again when it turns paid', async () => {
    const unpaid = await order('plain', {
      orderId: 'C-1',
      status: 'unpaid',
      lines: [{ sku: 'S-6', quantity: 5 }],
    });
    expect(unpaid.json().movements).toEqual([{ sku: 'S-6', delta: -5, cause: 'order', effectiveStock: 25 }]);
    const paid = await order('plain', {
      orderId: 'C-1',
      status: 'paid',
      lines: [{ sku: 'S-6', quantity: 5 }],
    });
    expect(paid.statusCode).toBe(201);
    expect(paid.json()).toMatchObject({ movements: [], order: { status: 'paid', holdsStock: true } });
    expect((await stock('S-6')).effective).toBe(25);
  });

  it('takes no stock for an unpaid order on a channel that skips them, until it is paid', async () => {
    const unpaid = await order('strict', {
      orderId: 'D-1',
      status: 'unpaid',
      lines: [{ sku: 'S-6', quantity: 1 }],
    });
    expect(unpaid.json()).toMatchObject({ movements: [], order: { holdsStock: false } });
    expect((await stock('S-6')).effective).toBe(25);
    const paid = await order('strict', {
      orderId: 'D-1',
      status: 'paid',
      lines: [{ sku: 'S-6', quantity: 1 }],
    });
    expect(paid.json().movements).toEqual([{ sku: 'S-6', delta: -1, cause: 'order', effectiveStock: 24 }]);
    // Another channel may use the same order id: it is another order.
    const other = await order('plain', {
      orderId: 'D-1',
      status: 'paid',
      lines: [{ sku: 'S-6', quantity: 1 }],
    });
    expect(other.json().movements).toHaveLength(1);
  });

  it('keeps a line with an unknown sku as unlinked, moves nothing for unmanaged stock, and applies the rest', async () => {
    const res = await order('plain', {
      orderId: 'E-1',
      status: 'paid',
      lines: [
        { sku: 'NOPE', quantity: 1 },
        { sku: 'S-3', quantity: 2 },
        { sku: 'S-2', quantity: 1 },
      ],
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.unlinked).toEqual([{ sku: 'NOPE', quantity: 1 }]);
    expect(body.notManaged).toEqual([{ sku: 'S-3', quantity: 2 }]);
    expect(body.movements).toEqual([{ sku: 'S-2', delta: -1, cause: 'order', effectiveStock: 4 }]);
    expect(await stock('S-3')).toMatchObject({ managed: false, effective: null, pending: [] });
    const { events } = await readHistory(t.store, { channel: 'plain', type: 'order.reported', limit: 50 });
    const e1 = events.find((e) => e.data.order === 'E-1');
    expect(e1?.data).toMatchObject({
      unlinked: [{ sku: 'NOPE', quantity: 1 }],
      notManaged: [{ sku: 'S-3', quantity: 2 }],
    });
    // Cancelling gives back only what was taken.
    const cancel = await order('plain', { orderId: 'E-1', status: 'cancelled' });
    expect(cancel.json().movements).toEqual([
      { sku: 'S-2', delta: 1, cause: 'cancellation', effectiveStock: 5 },
    ]);
  });

  it('loses no unit under 100 concurrent orders for one sku against 60 in stock, and records 40 oversold', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        order(i % 2 ? 'plain' : 'market', {
          orderId: `F-${i}`,
          status: 'paid',
          lines: [{ sku: 'S-1', quantity: 1 }],
        }),
      ),
    );
    expect(results.every((r) => r.statusCode === 201)).toBe(true);
    const s = await stock('S-1');
    expect(s).toMatchObject({ imported: 60, effective: 0, oversold: 40 });
    expect(s.pending).toHaveLength(100);
    const { events } = await readHistory(t.store, { sku: 'S-1', type: 'stock.oversold', limit: 100 });
    expect(events.reduce((n, e) => n + Number(e.data.units), 0)).toBe(40);
    expect(events[0]?.data.pendingOrders).toEqual(
      expect.arrayContaining([expect.stringMatching(/^(plain|market):F-\d+$/)]),
    );
  });

  it('an order reaches every channel feed without an import, and the buffer rule hides low stock', async () => {
    const publisher = app.feeds.publisher;
    await publisher.check();
    const feedRow = async (channel: string, sku: string) => {
      const { feedUrl } = (await api('GET', `/channels/${channel}`)).json();
      const res = await app.inject({ url: new URL(feedUrl).pathname });
      const rows = parseCsv(res.body, { columns: true }) as Array<{ id: string; stock: string }>;
      return rows.find((r) => r.id === sku)?.stock;
    };
    expect(await feedRow('plain', 'S-2')).toBe('5');
    expect(await feedRow('market', 'S-2')).toBe('5');
    await order('plain', { orderId: 'G-1', status: 'paid', lines: [{ sku: 'S-2', quantity: 2 }] });
    await publisher.check();
    expect(await feedRow('plain', 'S-2')).toBe('3');
    // Three or fewer units: the market's buffer-stock rule publishes 0.
    expect(await feedRow('market', 'S-2')).toBe('0');
    const market = (await api('GET', '/channels/market')).json().lastPublication;
    expect(market.reason).toBe('stock moved (1 sku)');
    expect(market.diff.changed).toContain('S-2');
    // The rule trace sees the effective stock too.
    const explain = (await api('GET', '/channels/market/explain/S-2')).json();
    expect(explain.rules[0]).toMatchObject({ status: 'applied' });
    expect(explain.feedRow).toEqual({ id: 'S-2', stock: 0 });
  });

  it('takes a stock push from the shop as the effective stock at once, through an adjustment', async () => {
    const before = await stock('S-4');
    const res = await app.inject({
      method: 'PATCH',
      url: '/api/catalogs/shop/stock',
      headers: auth,
      payload: [
        { sku: 'S-4', quantity: 9 },
        { sku: 'S-5', quantity: 20 },
        { sku: 'NOPE', quantity: 1 },
        { sku: 'S-3', quantity: 4 },
      ],
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      adjusted: [{ sku: 'S-4', quantity: 9, delta: 9 - before.effective }],
      unchanged: ['S-5'],
      unknown: ['NOPE'],
      notManaged: ['S-3'],
    });
    const after = await stock('S-4');
    expect(after).toMatchObject({ imported: 10, effective: 9 });
    expect(after.pending[0]).toMatchObject({
      cause: 'adjustment',
      delta: 9 - before.effective,
      channelId: null,
    });
    const bad = await app.inject({
      method: 'PATCH',
      url: '/api/catalogs/shop/stock',
      headers: auth,
      payload: [{ sku: 'S-4', quantity: -1 }],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toContain('$[0].quantity');
    const { events } = await readHistory(t.store, { catalog: 'shop', type: 'stock.adjusted', limit: 5 });
    expect(events[0]?.data.counts).toEqual({ adjusted: 1, unchanged: 1, unknown: 1, notManaged: 1 });
  });

  it('a stale import does not put sold units back on sale; a later one becomes the truth', async () => {
    await order('plain', { orderId: 'H-1', status: 'paid', lines: [{ sku: 'S-7', quantity: 7 }] });
    // The shop's feed was fetched before reconcileAfter (2 s) passed: it cannot know of the
    // order, so its 30 units are not the truth yet.
    const stale = await importCsv(CATALOG);
    expect(stale.run.status).toBe('applied');
    const afterStale = await stock('S-7');
    expect(afterStale).toMatchObject({ imported: 30, effective: 23 });
    expect(afterStale.pending.map((e: { orderId: string }) => e.orderId)).toEqual(['H-1']);
    await new Promise((r) => setTimeout(r, 2100));
    // Fetched after reconcileAfter: the shop has seen the sale; its quantity is the truth.
    await importCsv(CATALOG.replace('S-7,Also thirty,10,30', 'S-7,Also thirty,10,21'));
    expect(await stock('S-7')).toMatchObject({ imported: 21, effective: 21, pending: [] });
    const { events } = await readHistory(t.store, { catalog: 'shop', type: 'stock.reconciled', limit: 5 });
    expect(events[0]?.data.entries).toBeGreaterThan(0);
  });

  it('takes orders while an import applies, without deadlock or lost units', async () => {
    const extra = (q: number) =>
      Array.from({ length: 3000 }, (_, i) => `X-${String(i).padStart(4, '0')},Extra ${i},5,${q + (i % 7)}`);
    // The products exist first; the import under test changes every one of them.
    await importCsv([CATALOG, ...extra(40)].join('\n'));
    const [imported, ...orders] = await Promise.all([
      importCsv([CATALOG, ...extra(50)].join('\n')),
      ...Array.from({ length: 30 }, (_, i) =>
        order('plain', {
          orderId: `J-${i}`,
          status: 'paid',
          lines: [
            { sku: `X-${String(2999 - i * 50).padStart(4, '0')}`, quantity: 1 },
            { sku: 'S-6', quantity: 1 },
          ],
        }),
      ),
    ]);
    expect(imported.run.status).toBe('applied');
    expect(orders.map((r) => r.statusCode)).toEqual(Array(30).fill(201));
    // Every order's unit is in the ledger, whether it came before or after the apply.
    expect(await stock('X-2999')).toMatchObject({ imported: 50 + (2999 % 7), effective: 49 + (2999 % 7) });
    expect(await stock('X-1549')).toMatchObject({ imported: 50 + (1549 % 7), effective: 49 + (1549 % 7) });
    const s6 = await stock('S-6');
    expect(s6.pending.filter((e: { orderId: string }) => e.orderId.startsWith('J-'))).toHaveLength(30);
  });
});
