import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyHeldRun, runImport } from '../src/import/run.js';
import type { CatalogDefinition } from '../src/model/catalog.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { readHistory } from '../src/store/history.js';
import { type ImportRunRecord, listRowErrors } from '../src/store/imports.js';
import { listProducts, type StoredProduct } from '../src/store/products.js';
import { openTestStore, type TestStore } from './helpers/store.js';

// A bad cell never deletes a product (issue 15): in a full import, a row that names a sku the
// catalog has but fails validation keeps that product's last good version.

const FIXTURES = path.resolve(import.meta.dirname, 'fixtures');
const MAPPING = { sku: 'SKU', title: 'Name', price: 'Price', quantity: 'Stock' } as const;

let t: TestStore;
beforeAll(async () => {
  t = await openTestStore();
});
afterAll(async () => {
  await t?.cleanup();
});

async function define(id: string, extra: Partial<CatalogDefinition> = {}): Promise<void> {
  await saveCatalog(t.store, { kind: 'catalog', id, mapping: MAPPING, ...extra }, 'test');
}

function importFile(id: string, name: string): Promise<ImportRunRecord> {
  return runImport(t.store, {
    catalogId: id,
    input: { kind: 'file', path: path.join(FIXTURES, name) },
    mode: 'full',
    force: false,
    actor: 'test',
  });
}

function importText(id: string, text: string): Promise<ImportRunRecord> {
  return runImport(t.store, {
    catalogId: id,
    input: { kind: 'upload', stream: Readable.from([Buffer.from(text)]) },
    mode: 'full',
    force: false,
    actor: 'test',
  });
}

async function products(id: string): Promise<Map<string, StoredProduct>> {
  const { products: list } = await listProducts(t.store, id, { limit: 1000 });
  return new Map(list.map((p) => [p.sku, p]));
}

const errorsOf = (run: ImportRunRecord) => listRowErrors(t.store, run.id, { limit: 100, offset: 0 });

describe('a bad cell never deletes a product', () => {
  it('keeps the last good version of each product whose row is invalid, and says so', async () => {
    await define('keep');
    expect((await importFile('keep', 'catalog-ten-products.csv')).status).toBe('applied');
    const before = await products('keep');

    // TEE-02's price is "12.5O", TEE-03's stock "nine", TEE-08's title has a stray comma.
    const run = await importFile('keep', 'bad-cells-keep-products.csv');
    expect(run.status).toBe('applied');
    expect(run.counts).toEqual({
      rows: 16,
      valid: 13,
      created: 6,
      updated: 1,
      unchanged: 6,
      removed: 0,
      errors: 3,
      skipped: 0,
      warnings: 0,
      kept: 3,
    });
    const after = await products('keep');
    expect(after.size).toBe(16);
    for (const sku of ['TEE-02', 'TEE-03', 'TEE-08']) expect(after.get(sku), sku).toEqual(before.get(sku));
    expect(after.get('TEE-10')?.fields.price).toBe(21);
    expect((await errorsOf(run)).map((e) => [e.line, e.sku, e.code, e.message])).toEqual([
      [
        3,
        'TEE-02',
        'invalid_price',
        `price "12.5O" in column "Price" is not a number (the feed's decimal separator is "."); the product keeps its last imported version`,
      ],
      [
        4,
        'TEE-03',
        'invalid_quantity',
        'quantity "nine" in column "Stock" is not a whole number ≥ 0; the product keeps its last imported version',
      ],
      [
        9,
        'TEE-08',
        'column_count',
        'expected 5 columns, found 6; the product keeps its last imported version',
      ],
    ]);
    const { events } = await readHistory(t.store, { catalog: 'keep', type: 'product.removed', limit: 10 });
    expect(events).toEqual([]);
  });

  it('creates nothing for an invalid row of a new sku, and lets a valid row of the same sku win', async () => {
    await define('keep-new', { safety: { maxErrorPercent: 100 } });
    await importText('keep-new', 'SKU,Name,Price,Stock\nA,Alpha,5.00,1\nB,Beta,6.00,2\n');
    const before = await products('keep-new');
    // C is new and invalid: not created. B has a bad row, then a good one: the good one wins.
    const run = await importText(
      'keep-new',
      'SKU,Name,Price,Stock\nA,Alpha,5.00,1\nB,Beta,oops,2\nC,Gamma,x,3\nB,Beta new,7.00,2\n',
    );
    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({
      rows: 4,
      valid: 2,
      created: 0,
      updated: 1,
      unchanged: 1,
      kept: 0,
      errors: 2,
    });
    const after = await products('keep-new');
    expect([...after.keys()]).toEqual(['A', 'B']);
    expect(after.get('A')).toEqual(before.get('A'));
    expect(after.get('B')?.fields).toMatchObject({ title: 'Beta new', price: 7 });
  });

  it('keeps a product whose rows are all invalid once, however often the sku repeats', async () => {
    await define('keep-twice', { safety: { maxErrorPercent: 100 } });
    await importText('keep-twice', 'SKU,Name,Price,Stock\nA,Alpha,5.00,1\nB,Beta,6.00,2\n');
    const before = await products('keep-twice');
    const run = await importText(
      'keep-twice',
      'SKU,Name,Price,Stock\nA,Alpha,bad,1\nA,Alpha,worse,1\nB,Beta,6.00,2\n',
    );
    expect(run.counts).toMatchObject({ valid: 1, kept: 1, unchanged: 1, removed: 0, errors: 2 });
    expect(await products('keep-twice')).toEqual(before);
  });

  it('holds a run in which more than maxErrorPercent of the rows are invalid, then applies it keeping them', async () => {
    await define('too-bad');
    await importFile('too-bad', 'catalog-ten-products.csv');
    const before = await products('too-bad');

    const run = await importFile('too-bad', 'too-many-bad-rows.csv');
    expect(run.status).toBe('held');
    expect(run.heldReasons).toEqual([
      {
        code: 'too_many_errors',
        message: '4 of 10 rows (40 %) are invalid, more than the 20 % allowed',
      },
    ]);
    expect(run.counts).toMatchObject({ valid: 6, kept: 4, errors: 4, removed: 0 });
    expect(await products('too-bad')).toEqual(before);
    // A number too large to be one is an error naming the field, never a null price.
    expect((await errorsOf(run)).find((e) => e.sku === 'TEE-04')).toMatchObject({
      code: 'invalid_price',
      message: expect.stringMatching(/^price "1e400" in column "Price" is too large to be a number/),
    });

    const applied = await applyHeldRun(t.store, run.id, 'test');
    expect(applied.status).toBe('applied');
    expect(await products('too-bad')).toEqual(before);
  });

  it('lets a catalog allow a larger share of invalid rows', async () => {
    await define('lenient', { safety: { maxErrorPercent: 50 } });
    await importFile('lenient', 'catalog-ten-products.csv');
    const run = await importFile('lenient', 'too-many-bad-rows.csv');
    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ kept: 4, removed: 0 });
  });
});
