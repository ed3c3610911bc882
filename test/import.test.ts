import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { typeAttribute } from '../src/catalog/normalize.js';
import { AppError } from '../src/errors.js';
import { applyHeldRun, recoverInterruptedRuns, runImport } from '../src/import/run.js';
import type { CatalogDefinition } from '../src/model/catalog.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { readHistory } from '../src/store/history.js';
import { getRun, type ImportRunRecord, listRowErrors, listRuns } from '../src/store/imports.js';
import { migrate } from '../src/store/migrate.js';
import { openPgliteStore } from '../src/store/pglite-store.js';
import { countProducts, getProduct, listProducts, type StoredProduct } from '../src/store/products.js';
import type { Queryable, Store } from '../src/store/types.js';
import { startFixtureServer } from './helpers/fixture-server.js';
import { killWhenPastRows } from './helpers/kill-child.js';
import { SAMPLES } from './helpers/samples.js';
import { BACKEND, openTestStore, type TestStore } from './helpers/store.js';

const FIXTURES = path.resolve(import.meta.dirname, 'fixtures');
const REPO = path.resolve(import.meta.dirname, '..');

/** The mapping of the fixtures named catalog-*.csv and of most bad-row fixtures. */
const SHOP_MAPPING = { sku: 'SKU', title: 'Name', price: 'Price', quantity: 'Stock' } as const;

/** The bad-row fixtures are mostly bad rows: the gate on their share is tested apart. */
const ANY_ERRORS = { mapping: SHOP_MAPPING, safety: { maxErrorPercent: 100 } } as const;

let t: TestStore;
let store: Store;

beforeAll(async () => {
  t = await openTestStore();
  store = t.store;
});
afterAll(async () => {
  await t?.cleanup();
});

async function defineCatalog(
  id: string,
  extra: Partial<CatalogDefinition> = { mapping: SHOP_MAPPING },
  db: Store = store,
): Promise<void> {
  await saveCatalog(db, { kind: 'catalog', id, ...extra }, 'test');
}

interface ImportOptions {
  mode?: 'full' | 'partial';
  force?: boolean;
  db?: Store;
}

function importFile(catalogId: string, file: string, o: ImportOptions = {}): Promise<ImportRunRecord> {
  return runImport(o.db ?? store, {
    catalogId,
    input: { kind: 'file', path: file },
    mode: o.mode ?? 'full',
    force: o.force ?? false,
    actor: 'test',
  });
}

const importFixture = (catalogId: string, name: string, o: ImportOptions = {}) =>
  importFile(catalogId, path.join(FIXTURES, name), o);

function importChunks(catalogId: string, chunks: Buffer[], o: ImportOptions = {}): Promise<ImportRunRecord> {
  return runImport(o.db ?? store, {
    catalogId,
    input: { kind: 'upload', stream: Readable.from(chunks) },
    mode: o.mode ?? 'full',
    force: o.force ?? false,
    actor: 'test',
  });
}

const rowErrors = (runId: number, db: Queryable = store) =>
  listRowErrors(db, runId, { limit: 1000, offset: 0 });

async function products(catalogId: string, db: Queryable = store): Promise<Map<string, StoredProduct>> {
  const { products: list, next } = await listProducts(db, catalogId, { limit: 5000 });
  expect(next).toBeNull();
  return new Map(list.map((p) => [p.sku, p]));
}

async function product(catalogId: string, sku: string): Promise<StoredProduct> {
  const p = await getProduct(store, catalogId, sku);
  if (!p) throw new Error(`no product ${sku} in ${catalogId}`);
  return p;
}

async function historyOf(catalogId: string, type: string) {
  const { events } = await readHistory(store, { catalog: catalogId, type, limit: 1000 });
  return events;
}

describe('real exports', () => {
  it('imports the WooCommerce sample export', async () => {
    await defineCatalog('woo', {
      mapping: {
        sku: 'SKU',
        title: 'Name',
        price: 'Regular price',
        sale_price: 'Sale price',
        quantity: 'Stock',
        parent_sku: 'Parent',
        status: 'Published',
        weight: 'Weight (lbs)',
        category: 'Categories',
      },
    });
    const run = await importFile('woo', path.join(SAMPLES, 'woocommerce-sample-products.csv'));

    expect(run.status).toBe('applied');
    expect(run.counts).toEqual({
      rows: 25,
      valid: 25,
      created: 25,
      updated: 0,
      unchanged: 0,
      removed: 0,
      errors: 0,
      skipped: 0,
      warnings: 0,
      kept: 0,
    });
    expect(await rowErrors(run.id)).toEqual([]);
    const all = await products('woo');
    expect(all.size).toBe(25);

    const beanie = all.get('woo-beanie');
    expect(beanie?.fields).toMatchObject({ title: 'Beanie', price: 20, sale_price: 18, status: 'active' });
    expect(beanie?.fields.category).toBe('Clothing > Accessories');
    expect(all.get('woo-vneck-tee-red')?.fields).toMatchObject({
      parent_sku: 'woo-vneck-tee',
      title: 'V-Neck T-Shirt - Red',
      price: 20,
    });
    // Weight written as ".5" in the export.
    expect(all.get('woo-vneck-tee')?.fields.weight).toBe(0.5);
    // Stock is empty throughout the export: no product has managed stock.
    for (const p of all.values()) {
      expect(p.fields.manage_stock, p.sku).toBe(false);
      expect(p.fields.quantity, p.sku).toBeUndefined();
    }
    // Unmapped columns are kept under their source names.
    expect(beanie?.attributes).toMatchObject({ Type: 'simple', 'Attribute 1 name': 'Color' });
  });

  it('imports the Shopify product template through its preset: variants, inheritance, the image row', async () => {
    await defineCatalog('shopify', {
      mapping: {
        sku: 'Variant SKU',
        title: 'Title',
        quantity: 'Variant Inventory Qty',
        gtin: 'Variant Barcode',
        status: 'Status',
      },
    });
    const run = await importFile('shopify', path.join(SAMPLES, 'shopify-product-template.csv'));

    expect(run.status).toBe('applied');
    // 16 variants; the row with only an image (line 17) is an image of its product: skipped, not an error.
    expect(run.counts).toMatchObject({ rows: 17, valid: 16, created: 16, errors: 0, skipped: 1 });
    expect(await rowErrors(run.id)).toEqual([]);
    const all = await products('shopify');
    expect(all.size).toBe(16);
    expect(all.get('PNT_DEN_285')?.fields).toMatchObject({
      title: 'Example Jeans',
      price: 95,
      quantity: 20,
      manage_stock: true,
      status: 'inactive',
    });
    // A variant row inherits the product-level columns of its Handle's first row.
    expect(all.get('SRT_COT_122')?.fields).toMatchObject({ title: 'Example T-Shirt', brand: 'Acme' });
    const shirt = all.get('SRT_COT_111');
    // A barcode that a spreadsheet turned into an exponent stays exactly as written, with a warning.
    expect(shirt?.fields.gtin).toBe('3.65275E+11');
    // An empty Variant Inventory Tracker: Shopify does not count this stock.
    expect(shirt?.fields).toMatchObject({ price: 25, manage_stock: false, status: 'active' });
    expect(shirt?.fields.quantity).toBeUndefined();
    const warnings = await listRowErrors(store, run.id, { limit: 100, offset: 0, severity: 'warning' });
    expect(run.counts.warnings).toBe(16);
    expect(warnings[0]).toMatchObject({ line: 2, sku: 'SRT_COT_111', code: 'barcode_scientific_notation' });
  });

  for (const [how, definition] of [
    ['detected from its header (no mapping)', {}],
    ['set in the definition', { preset: 'woocommerce' }],
  ] as const) {
    it(`imports the WooCommerce sample through the woocommerce preset ${how}`, async () => {
      const id = `woo-preset-${'preset' in definition ? 'set' : 'detected'}`;
      await defineCatalog(id, definition);
      const run = await importFile(id, path.join(SAMPLES, 'woocommerce-sample-products.csv'));

      expect(run.status).toBe('applied');
      expect(run.counts).toMatchObject({ rows: 25, valid: 25, created: 25, errors: 0, warnings: 0 });
      const all = await products(id);
      expect([...all.keys()].sort()).toEqual(
        [
          'Woo-beanie-logo',
          'Woo-tshirt-logo',
          'logo-collection',
          'woo-album',
          'woo-beanie',
          'woo-belt',
          'woo-cap',
          'woo-hoodie',
          'woo-hoodie-blue',
          'woo-hoodie-blue-logo',
          'woo-hoodie-green',
          'woo-hoodie-red',
          'woo-hoodie-with-logo',
          'woo-hoodie-with-pocket',
          'woo-hoodie-with-zipper',
          'woo-long-sleeve-tee',
          'woo-polo',
          'woo-single',
          'woo-sunglasses',
          'woo-tshirt',
          'woo-vneck-tee',
          'woo-vneck-tee-blue',
          'woo-vneck-tee-green',
          'woo-vneck-tee-red',
          'wp-pennant',
        ].sort(),
      );
      // Regular price is the price, Sale price the sale price; a product not on sale has none.
      expect(all.get('woo-belt')?.fields).toMatchObject({ title: 'Belt', price: 65, sale_price: 55 });
      expect(all.get('woo-hoodie-red')?.fields).toMatchObject({ price: 45, sale_price: 42 });
      expect(all.get('wp-pennant')?.fields.price).toBe(11.05);
      expect(all.get('woo-sunglasses')?.fields).toMatchObject({ price: 90 });
      expect(all.get('woo-sunglasses')?.fields.sale_price).toBeUndefined();
      // A variable product has no price of its own: its variations carry them.
      expect(all.get('woo-vneck-tee')?.fields.price).toBeUndefined();
      expect(all.get('woo-beanie')?.fields).toMatchObject({
        category: 'Clothing > Accessories',
        status: 'active',
        weight: 0.2,
        image_url: expect.stringMatching(/beanie-2\.jpg$/),
      });
      // Each variation names its variable product as parent_sku; other products have none.
      const parents = [...all.values()].filter((p) => p.fields.parent_sku !== undefined);
      expect(Object.fromEntries(parents.map((p) => [p.sku, p.fields.parent_sku]))).toEqual({
        'woo-vneck-tee-red': 'woo-vneck-tee',
        'woo-vneck-tee-green': 'woo-vneck-tee',
        'woo-vneck-tee-blue': 'woo-vneck-tee',
        'woo-hoodie-red': 'woo-hoodie',
        'woo-hoodie-green': 'woo-hoodie',
        'woo-hoodie-blue': 'woo-hoodie',
        'woo-hoodie-blue-logo': 'woo-hoodie',
      });
      // Stock is empty throughout the sample: nothing is counted, and "In stock?" (1 for every
      // product) is what says it can be sold.
      for (const p of all.values()) {
        expect(p.fields, p.sku).toMatchObject({ manage_stock: false, availability: 'in_stock' });
        expect(p.fields.quantity, p.sku).toBeUndefined();
      }
    });
  }

  it('reads managed stock, "In stock?" and id:NN parents of a WooCommerce export', async () => {
    await defineCatalog('woo-stock', { preset: 'woocommerce' });
    const run = await importFixture('woo-stock', 'woocommerce-managed-stock.csv');

    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ rows: 8, valid: 8, created: 8, errors: 0, warnings: 0 });
    const all = await products('woo-stock');
    expect(all.get('WM-MUG')?.fields).toMatchObject({ price: 9.9, quantity: 12, manage_stock: true });
    // A managed stock of 0 is a count, not "not managed".
    expect(all.get('WM-CUP')?.fields).toMatchObject({ quantity: 0, manage_stock: true });
    // Stock not managed: no quantity, and "In stock?" gives the availability.
    expect(all.get('WM-POSTER')?.fields).toMatchObject({ manage_stock: false, availability: 'out_of_stock' });
    expect(all.get('WM-POSTER')?.fields.quantity).toBeUndefined();
    expect(all.get('WM-PREORDER')?.fields).toMatchObject({ manage_stock: false, availability: 'backorder' });
    // With a count, the count says it; "In stock?" does not override it.
    expect(all.get('WM-MUG')?.fields.availability).toBeUndefined();
    expect(all.get('WM-SHIRT-S')?.fields).toMatchObject({
      parent_sku: 'WM-SHIRT',
      price: 19.5,
      sale_price: 15,
      quantity: 3,
      manage_stock: true,
    });
    expect(all.get('WM-SHIRT-M')?.fields).toMatchObject({ parent_sku: 'WM-SHIRT', quantity: 0 });
    expect(all.get('WM-SHIRT')?.attributes.Images).toEqual([
      'https://shop.example/shirt.jpg',
      'https://shop.example/shirt-back.jpg',
    ]);
    // Published -1 is a private product.
    expect(all.get('WM-SECRET')?.fields.status).toBe('inactive');
  });

  it('imports the Shopify template through the shopify preset set in the definition, with no mapping', async () => {
    await defineCatalog('shopify-set', { preset: 'shopify' });
    const run = await importFile('shopify-set', path.join(SAMPLES, 'shopify-product-template.csv'));

    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({
      rows: 17,
      valid: 16,
      created: 16,
      errors: 0,
      skipped: 1,
      warnings: 16,
    });
    const all = await products('shopify-set');
    expect([...all.keys()].filter((sku) => sku.startsWith('SRT_'))).toHaveLength(12);
    expect(all.get('PNT_DEN_305')?.fields).toMatchObject({
      title: 'Example Jeans',
      brand: 'Acme',
      price: 95,
      quantity: 15,
      manage_stock: true,
      status: 'inactive',
    });
    // A compare-at price below the price is no sale.
    expect(all.get('PNT_DEN_305')?.fields.sale_price).toBeUndefined();
    // Compare-at 22.99 above the price 17.99: the customer pays 17.99, down from 22.99.
    expect(all.get('HAT_GRY_275')?.fields).toMatchObject({
      price: 22.99,
      sale_price: 17.99,
      quantity: 50,
      status: 'inactive',
    });
    expect(all.get('SRT_COT_433')?.fields).toMatchObject({
      title: 'Example T-Shirt',
      price: 25,
      manage_stock: false,
      availability: 'in_stock',
      status: 'active',
      gtin: '7.38293E+11',
    });
    expect(all.get('SRT_COT_433')?.fields.quantity).toBeUndefined();
  });

  it('holds a file that is not the export its preset names, changing nothing', async () => {
    await defineCatalog('shopify-then-woo', { preset: 'shopify' });
    await importFile('shopify-then-woo', path.join(SAMPLES, 'shopify-product-template.csv'));
    const before = await products('shopify-then-woo');
    expect(before.size).toBe(16);

    const run = await importFile('shopify-then-woo', path.join(SAMPLES, 'woocommerce-sample-products.csv'));
    expect(run.status).toBe('held');
    expect(run.heldReasons).toEqual([
      { code: 'missing_columns', message: 'the feed lacks mapped column "Variant SKU"' },
      { code: 'no_valid_rows', message: 'no valid row among 25 rows' },
      {
        code: 'too_many_removed',
        message: 'would remove 16 of 16 products (100 %), more than the 50 % allowed',
      },
    ]);
    expect(await products('shopify-then-woo')).toEqual(before);

    await defineCatalog('woo-given-shopify', { preset: 'woocommerce' });
    const other = await importFile('woo-given-shopify', path.join(SAMPLES, 'shopify-product-template.csv'));
    expect(other.status).toBe('held');
    expect(other.heldReasons[0]).toEqual({
      code: 'missing_columns',
      message: 'the feed lacks mapped column "SKU"',
    });
    expect(await countProducts(store, 'woo-given-shopify')).toBe(0);
  });
});

describe('a preset on a feed that is not CSV', () => {
  const xml = Buffer.from(
    '<?xml version="1.0"?>\n<products>\n' +
      '<product><sku>X-1</sku><title>Mug</title><price>5</price></product>\n' +
      '<product><sku>X-2</sku><title>Cup</title><price>4</price></product>\n' +
      '</products>\n',
  );
  const json = Buffer.from('[{"SKU":"J-1","Name":"Mug"},{"SKU":"J-2","Name":"Cup"}]');

  it('holds an XML feed given to a catalog with a preset and no format, importing nothing', async () => {
    await defineCatalog('shopify-xml', { preset: 'shopify' });
    const run = await importChunks('shopify-xml', [xml]);
    expect(run).toMatchObject({ status: 'held', applicable: false });
    expect(run.heldReasons).toEqual([
      { code: 'parse_failed', message: 'the shopify preset reads CSV or TSV exports; this feed is XML' },
    ]);
    expect(await countProducts(store, 'shopify-xml')).toBe(0);
  });

  it('holds a JSON feed the same way, leaving the catalog as it was', async () => {
    await defineCatalog('woo-json', { preset: 'woocommerce' });
    const seeded = await importFile('woo-json', path.join(SAMPLES, 'woocommerce-sample-products.csv'));
    expect(seeded.status).toBe('applied');
    const before = await products('woo-json');

    const run = await importChunks('woo-json', [json]);
    expect(run).toMatchObject({ status: 'held', applicable: false });
    expect(run.heldReasons).toEqual([
      {
        code: 'parse_failed',
        message: 'the woocommerce preset reads CSV or TSV exports; this feed is JSON',
      },
    ]);
    expect(await products('woo-json')).toEqual(before);
  });
});

describe('a feed that cannot be opened or read', () => {
  it('holds the run for a file that is not there, saying it could not be opened', async () => {
    await defineCatalog('missing-file');
    const file = path.join(FIXTURES, 'no-such-feed.csv');
    const run = await importFile('missing-file', file);
    expect(run).toMatchObject({ status: 'held', applicable: false });
    expect(run.heldReasons).toEqual([
      { code: 'fetch_failed', message: `the feed could not be opened: cannot read ${file}: no such file` },
    ]);
  });

  it('holds a linked feed whose body ends before its first byte, saying it could not be fetched', async () => {
    const server = await startFixtureServer();
    try {
      server.route('/empty-body.csv', (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/csv', 'content-length': '100' });
        res.flushHeaders();
        setTimeout(() => res.destroy(), 20);
      });
      await defineCatalog('empty-body', { source: { url: server.url('/empty-body.csv') } });
      const run = await runImport(store, {
        catalogId: 'empty-body',
        input: { kind: 'default' },
        mode: 'full',
        force: false,
        actor: 'test',
        allowPrivateSources: true,
      });
      expect(run.status).toBe('held');
      expect(run.heldReasons).toEqual([
        {
          code: 'fetch_failed',
          message: expect.stringMatching(
            /^the feed could not be fetched: the download of \S+ was truncated after 0 of 100 bytes/,
          ),
        },
      ]);
      expect(server.hits('/empty-body.csv')).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('holds the run for an upload cut mid-way, saying it could not be read to its end', async () => {
    await defineCatalog('cut-upload');
    const before = await importChunks('cut-upload', [
      fs.readFileSync(path.join(FIXTURES, 'catalog-ten-products.csv')),
    ]);
    expect(before.status).toBe('applied');
    const stored = await products('cut-upload');

    async function* cut(): AsyncGenerator<Buffer> {
      yield Buffer.from('SKU,Name,Price,Stock\nTEE-01,Tee,9,1\n');
      throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    }
    const run = await runImport(store, {
      catalogId: 'cut-upload',
      input: { kind: 'upload', stream: Readable.from(cut()) },
      mode: 'full',
      force: false,
      actor: 'test',
    });
    expect(run.status).toBe('held');
    expect(run.heldReasons).toEqual([
      { code: 'fetch_failed', message: 'the feed could not be read to its end: aborted' },
    ]);
    expect(await products('cut-upload')).toEqual(stored);
  });
});

describe('bad rows', () => {
  it('skips rows without a sku and records their lines', async () => {
    await defineCatalog('bad-sku', ANY_ERRORS);
    const run = await importFixture('bad-sku', 'missing-sku.csv');

    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ rows: 4, valid: 2, created: 2, errors: 2 });
    expect(await rowErrors(run.id)).toEqual([
      { line: 3, sku: null, code: 'missing_sku', message: 'no sku in column "SKU"' },
      { line: 4, sku: null, code: 'missing_sku', message: 'no sku in column "SKU"' },
    ]);
    expect([...(await products('bad-sku')).keys()]).toEqual(['A-1', 'A-4']);
  });

  it('skips rows whose quantity is not a whole number ≥ 0', async () => {
    await defineCatalog('bad-qty', ANY_ERRORS);
    const run = await importFixture('bad-qty', 'bad-quantity.csv');

    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ rows: 5, valid: 2, created: 2, errors: 3 });
    const errors = await rowErrors(run.id);
    expect(errors.map(({ line, sku, code }) => ({ line, sku, code }))).toEqual([
      { line: 3, sku: 'Q-2', code: 'invalid_quantity' },
      { line: 4, sku: 'Q-3', code: 'invalid_quantity' },
      { line: 5, sku: 'Q-4', code: 'invalid_quantity' },
    ]);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringContaining('"-1"'),
      expect.stringContaining('"2.5"'),
      expect.stringContaining('"abc"'),
    ]);
    const all = await products('bad-qty');
    expect([...all.keys()]).toEqual(['Q-1', 'Q-5']);
    expect(all.get('Q-5')?.fields).toMatchObject({ quantity: 0, manage_stock: true });
  });

  it('skips rows whose price is not a number', async () => {
    await defineCatalog('bad-price', ANY_ERRORS);
    const run = await importFixture('bad-price', 'bad-price.csv');

    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ rows: 3, valid: 2, errors: 1 });
    expect(await rowErrors(run.id)).toEqual([
      {
        line: 3,
        sku: 'P-2',
        code: 'invalid_price',
        message: expect.stringMatching(/price "12,50" .*not a number/),
      },
    ]);
    const all = await products('bad-price');
    expect([...all.keys()]).toEqual(['P-1', 'P-3']);
    expect(all.get('P-3')?.fields.price).toBe(0.5);
  });

  it('keeps the first row of a duplicated sku and reports the later ones', async () => {
    await defineCatalog('dup', ANY_ERRORS);
    const run = await importFixture('dup', 'duplicate-skus.csv');

    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ rows: 5, valid: 3, created: 3, errors: 2 });
    expect(await rowErrors(run.id)).toEqual([
      {
        line: 4,
        sku: 'D-1',
        code: 'duplicate_sku',
        message: expect.stringContaining('first seen on line 2'),
      },
      {
        line: 6,
        sku: 'D-1',
        code: 'duplicate_sku',
        message: expect.stringContaining('first seen on line 2'),
      },
    ]);
    const all = await products('dup');
    expect(all.size).toBe(3);
    expect(all.get('D-1')?.fields).toMatchObject({ title: 'First', price: 5, quantity: 1 });
  });

  it('skips a record longer than maxRecordSize and reads every row after it', async () => {
    await defineCatalog('too-long', { ...ANY_ERRORS, options: { maxRecordSize: 2048 } });
    const run = await importFixture('too-long', 'record-too-long.csv');

    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ rows: 6, valid: 3, created: 3, errors: 3 });
    // L-4's quoted cell spans lines 5 to 7: the lines after it keep their numbers.
    expect(await rowErrors(run.id)).toEqual([
      { line: 3, sku: null, code: 'record_too_long', message: 'record longer than 2048 bytes' },
      { line: 5, sku: null, code: 'record_too_long', message: 'record longer than 2048 bytes' },
      { line: 8, sku: 'L-5', code: 'invalid_quantity', message: expect.stringContaining('"many"') },
    ]);
    expect([...(await products('too-long')).keys()]).toEqual(['L-1', 'L-3', 'L-6']);
  });

  it('gives the same outcome for an over-long record whatever the upload is cut into', async () => {
    const bytes = fs.readFileSync(path.join(FIXTURES, 'record-too-long.csv'));
    const outcomes = [];
    for (const size of [1, 7, 100, 2049, bytes.length]) {
      const id = `too-long-chunks-${size}`;
      await defineCatalog(id, { ...ANY_ERRORS, options: { maxRecordSize: 2048 } });
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const run = await importChunks(id, chunks);
      outcomes.push({
        size,
        counts: run.counts,
        errors: (await rowErrors(run.id)).map((e) => `${e.line}:${e.code}`),
        skus: [...(await products(id)).keys()],
      });
    }
    for (const o of outcomes) {
      expect(o).toEqual({
        size: o.size,
        counts: outcomes.at(-1)?.counts,
        errors: ['3:record_too_long', '5:record_too_long', '8:invalid_quantity'],
        skus: ['L-1', 'L-3', 'L-6'],
      });
    }
  });

  it('holds the run, changing nothing, when the header itself is over-long', async () => {
    await defineCatalog('long-header', { options: { maxRecordSize: 1024 } });
    await importChunks('long-header', [Buffer.from('sku,title\nA,Kept\n')]);
    const before = await products('long-header');

    const header = `sku,title,${Array.from({ length: 200 }, (_, i) => `column ${i}`).join(',')}`;
    const run = await importChunks('long-header', [Buffer.from(`${header}\nB,New\n`)]);
    expect(run).toMatchObject({ status: 'held', applicable: false });
    expect(run.heldReasons).toEqual([
      { code: 'parse_failed', message: 'CSV: the header is longer than 1024 bytes (line 1)' },
    ]);
    expect(await products('long-header')).toEqual(before);
  });

  it('skips records with the wrong number of columns', async () => {
    await defineCatalog('columns', ANY_ERRORS);
    const run = await importFixture('columns', 'wrong-column-count.csv');

    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ rows: 4, valid: 2, created: 2, errors: 2 });
    expect(await rowErrors(run.id)).toEqual([
      { line: 3, sku: 'C-2', code: 'column_count', message: 'expected 5 columns, found 3' },
      { line: 4, sku: 'C-3', code: 'column_count', message: 'expected 5 columns, found 6' },
    ]);
    expect([...(await products('columns')).keys()]).toEqual(['C-1', 'C-4']);
  });
});

describe('diff against the catalog', () => {
  it('writes nothing when the same feed comes again', async () => {
    await defineCatalog('same');
    const first = await importFixture('same', 'catalog-ten-products.csv');
    expect(first.status).toBe('applied');
    expect(first.counts).toMatchObject({ created: 10, updated: 0, unchanged: 0, removed: 0 });
    const before = await products('same');

    const second = await importFixture('same', 'catalog-ten-products.csv');
    expect(second.status).toBe('applied');
    expect(second.counts).toEqual({
      rows: 10,
      valid: 10,
      created: 0,
      updated: 0,
      unchanged: 10,
      removed: 0,
      errors: 0,
      skipped: 0,
      warnings: 0,
      kept: 0,
    });
    const events = await historyOf('same', 'product');
    expect(events).toHaveLength(10);
    expect(events.every((e) => e.type === 'product.created' && e.run === first.id)).toBe(true);
    // Same rows, same values, same updated_at and last run: nothing was rewritten.
    expect(await products('same')).toEqual(before);
  });

  it('records the before and after of exactly the field that changed', async () => {
    await defineCatalog('price-change');
    await importFixture('price-change', 'catalog-ten-products.csv');
    const before = await products('price-change');

    const run = await importFixture('price-change', 'catalog-one-price-changed.csv');
    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ created: 0, updated: 1, unchanged: 9, removed: 0 });

    const updates = await historyOf('price-change', 'product.updated');
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({ sku: 'TEE-04', run: run.id, actor: 'test' });
    expect(updates[0]?.data).toEqual({ changes: { price: { before: 14.5, after: 12.99 } } });

    const after = await products('price-change');
    expect(after.get('TEE-04')?.fields).toEqual({ ...before.get('TEE-04')?.fields, price: 12.99 });
    for (const [sku, p] of before) if (sku !== 'TEE-04') expect(after.get(sku), sku).toEqual(p);
  });

  it('creates, updates and removes in one run, each with its history, and leaves the rest alone', async () => {
    await defineCatalog('mixed');
    await importFixture('mixed', 'catalog-ten-products.csv');
    const before = await products('mixed');
    const lines = fs
      .readFileSync(path.join(FIXTURES, 'catalog-ten-products.csv'), 'utf8')
      .trimEnd()
      .split('\n');
    // TEE-02 gets a new title, TEE-10 is gone, NEW-1 arrives; the columns come in another order.
    const rows = lines
      .slice(1)
      .filter((l) => !l.startsWith('TEE-10,'))
      .map((l) => (l.startsWith('TEE-02,') ? l.replace('Tee 2', 'Tee Two') : l))
      .concat('NEW-1,New one,9.99,4,green');
    const reordered = ['Colour,Stock,Price,Name,SKU', ...rows.map((l) => l.split(',').reverse().join(','))];
    const run = await importChunks('mixed', [Buffer.from(`${reordered.join('\n')}\n`)]);
    expect(run.counts).toMatchObject({ created: 1, updated: 1, unchanged: 8, removed: 1 });
    const events = (
      await readHistory(store, { catalog: 'mixed', type: 'product', limit: 100 })
    ).events.filter((e) => e.run === run.id);
    expect(events.map((e) => [e.type, e.sku]).sort()).toEqual([
      ['product.created', 'NEW-1'],
      ['product.removed', 'TEE-10'],
      ['product.updated', 'TEE-02'],
    ]);
    expect(events.find((e) => e.type === 'product.updated')?.data).toEqual({
      changes: { title: { before: 'Tee 2', after: 'Tee Two' } },
    });
    const after = await products('mixed');
    expect(after.size).toBe(10);
    for (const [sku, p] of before) {
      if (sku !== 'TEE-02' && sku !== 'TEE-10') expect(after.get(sku), sku).toEqual(p);
    }
  });
});

describe('safety gate', () => {
  it('holds a feed that would remove 60 % of the products, until it is forced', async () => {
    await defineCatalog('drop');
    await importFixture('drop', 'catalog-ten-products.csv');
    const before = await products('drop');

    const held = await importFixture('drop', 'catalog-drops-sixty-percent.csv');
    expect(held.status).toBe('held');
    expect(held.heldReasons).toEqual([
      { code: 'too_many_removed', message: expect.stringContaining('6 of 10') },
    ]);
    expect(held.counts).toMatchObject({ removed: 6, unchanged: 4 });
    expect(held.applicable).toBe(true);
    expect(await products('drop')).toEqual(before);
    expect(await historyOf('drop', 'product.removed')).toEqual([]);
    expect((await historyOf('drop', 'import.held')).map((e) => e.run)).toEqual([held.id]);

    const forced = await importFixture('drop', 'catalog-drops-sixty-percent.csv', { force: true });
    expect(forced.status).toBe('applied');
    expect(forced.forced).toBe(true);
    expect(forced.heldReasons.map((r) => r.code)).toEqual(['too_many_removed']);
    expect([...(await products('drop')).keys()]).toEqual(['TEE-01', 'TEE-02', 'TEE-03', 'TEE-04']);
    expect(await historyOf('drop', 'product.removed')).toHaveLength(6);
  });

  it('applies a held run on request, and refuses one that another run has overtaken', async () => {
    await defineCatalog('held');
    await importFixture('held', 'catalog-ten-products.csv');

    const held = await importFixture('held', 'catalog-drops-sixty-percent.csv');
    expect(held.status).toBe('held');
    const applied = await applyHeldRun(store, held.id, 'person');
    expect(applied).toMatchObject({ id: held.id, status: 'applied', forced: true, applicable: false });
    expect(await countProducts(store, 'held')).toBe(4);
    const appliedEvent = (await historyOf('held', 'import.applied')).find((e) => e.run === held.id);
    expect(appliedEvent).toMatchObject({
      actor: 'person',
      data: { overrode: [{ code: 'too_many_removed' }] },
    });
    await expect(applyHeldRun(store, held.id, 'person')).rejects.toMatchObject({ code: 'IMPORT_NOT_HELD' });

    // Back to ten products, then a held run overtaken by a forced one.
    expect((await importFixture('held', 'catalog-ten-products.csv')).status).toBe('applied');
    const stale = await importFixture('held', 'catalog-drops-sixty-percent.csv');
    expect(stale.status).toBe('held');
    const newer = await importFixture('held', 'catalog-one-price-changed.csv');
    expect(newer.status).toBe('applied');
    const before = await products('held');

    const refusal = await applyHeldRun(store, stale.id, 'person').catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({ code: 'IMPORT_STALE' });
    expect(await products('held')).toEqual(before);
    // The overtaken run stays in the record, held, but its staged rows are released.
    expect(await getRun(store, stale.id)).toMatchObject({
      status: 'held',
      applicable: false,
      stagingTable: null,
    });
    const leftovers = await store.query<{ n: number }>({
      text: 'SELECT count(*)::int AS n FROM pg_class WHERE relname = $1',
      values: [`import_staging_${stale.id}`],
    });
    expect(leftovers[0]?.n).toBe(0);
  });

  it('refuses to apply a held run whose staged rows a crash emptied, keeping the catalog', async () => {
    await defineCatalog('emptied');
    await importFixture('emptied', 'catalog-ten-products.csv');
    const held = await importFixture('emptied', 'catalog-drops-sixty-percent.csv');
    expect(held.status).toBe('held');
    const before = await products('emptied');
    // What crash recovery does to an UNLOGGED table.
    await store.exec(`TRUNCATE import_staging_${held.id}`);
    await expect(applyHeldRun(store, held.id, 'person')).rejects.toMatchObject({ code: 'IMPORT_STALE' });
    expect(await products('emptied')).toEqual(before);
  });

  it('holds a feed that lacks a mapped column', async () => {
    await defineCatalog('missing-col');
    await importFixture('missing-col', 'catalog-ten-products.csv');
    const before = await products('missing-col');

    const run = await importFixture('missing-col', 'missing-mapped-column.csv');
    expect(run.status).toBe('held');
    expect(run.heldReasons).toEqual([
      { code: 'missing_columns', message: 'the feed lacks mapped column "Price"' },
    ]);
    expect(await products('missing-col')).toEqual(before);
  });

  it('holds a feed with no valid row', async () => {
    await defineCatalog('no-valid');
    await importFixture('no-valid', 'catalog-ten-products.csv');
    const before = await products('no-valid');

    const run = await importFixture('no-valid', 'no-valid-rows.csv');
    expect(run.status).toBe('held');
    expect(run.heldReasons.map((r) => r.code)).toContain('no_valid_rows');
    expect(run.counts).toMatchObject({ rows: 2, valid: 0, errors: 2 });
    expect(await products('no-valid')).toEqual(before);
    expect(await historyOf('no-valid', 'product.removed')).toEqual([]);
  });
});

describe('partial mode', () => {
  it('updates only the quantities a stock-only feed lists and removes nothing', async () => {
    await defineCatalog('stock');
    await importFixture('stock', 'catalog-ten-products.csv');
    const before = await products('stock');

    const run = await importFixture('stock', 'stock-only.csv', { mode: 'partial' });
    expect(run.status).toBe('applied');
    expect(run.heldReasons).toEqual([]);
    expect(run.counts).toMatchObject({ rows: 3, valid: 2, updated: 2, removed: 0, errors: 1 });
    expect(await rowErrors(run.id)).toEqual([
      {
        line: 4,
        sku: 'NOT-IN-CATALOG',
        code: 'unknown_sku',
        message: expect.stringContaining('not in the catalog'),
      },
    ]);

    const after = await products('stock');
    expect(after.size).toBe(10);
    expect(after.get('TEE-02')?.fields).toEqual({ ...before.get('TEE-02')?.fields, quantity: 100 });
    expect(after.get('TEE-05')?.fields).toEqual({ ...before.get('TEE-05')?.fields, quantity: 0 });
    expect(after.get('TEE-02')?.attributes).toEqual(before.get('TEE-02')?.attributes);
    for (const [sku, p] of before) {
      if (sku !== 'TEE-02' && sku !== 'TEE-05') expect(after.get(sku), sku).toEqual(p);
    }
    const changes = (await historyOf('stock', 'product.updated')).map((e) => [e.sku, e.data]);
    expect(changes.sort()).toEqual([
      ['TEE-02', { changes: { quantity: { before: 6, after: 100 } } }],
      ['TEE-05', { changes: { quantity: { before: 15, after: 0 } } }],
    ]);
    expect(await countProducts(store, 'stock')).toBe(10);
  });
});

describe('partial mode through a preset', () => {
  it.each([
    [
      'shopify',
      'shopify-product-template.csv',
      'Handle,Variant Inventory Qty\nexample-t-shirt,5\n',
      'Variant SKU',
    ],
    ['woocommerce', 'woocommerce-sample-products.csv', 'ID,Stock\n44,5\n', 'SKU'],
  ] as const)(
    "holds a %s stock feed without the export's SKU column, naming it, and changes nothing",
    async (preset, sample, feed, column) => {
      const id = `partial-${preset}`;
      await defineCatalog(id, { preset });
      expect((await importFile(id, path.join(SAMPLES, sample))).status).toBe('applied');
      const before = await products(id);

      const run = await importChunks(id, [Buffer.from(feed)], { mode: 'partial' });
      expect(run.status).toBe('held');
      expect(run.heldReasons).toEqual([
        { code: 'missing_columns', message: `the feed lacks mapped column "${column}"` },
        { code: 'no_valid_rows', message: 'no valid row among 1 rows' },
      ]);
      expect(await products(id)).toEqual(before);
    },
  );
});

describe('typed values', () => {
  it('reads booleans, short decimals and codes as a shop writes them', async () => {
    await defineCatalog('typed', {});
    const run = await importFixture('typed', 'typed-values.csv');
    expect(run.status).toBe('applied');
    expect(await rowErrors(run.id)).toEqual([]);
    const all = await products('typed');
    const field = (sku: string, name: string) => all.get(sku)?.fields[name];
    const attr = (sku: string, name: string) => all.get(sku)?.attributes[name];

    expect(['T-1', 'T-2', 'T-3', 'T-4', 'T-5', 'T-6'].map((s) => field(s, 'manage_stock'))).toEqual([
      true,
      false,
      true,
      false,
      true,
      false,
    ]);
    // Without a manage_stock cell, a quantity means managed stock, no quantity means not.
    expect(field('T-7', 'manage_stock')).toBe(true);
    expect(field('T-8', 'manage_stock')).toBe(false);
    expect(field('T-1', 'price')).toBe(0.5);
    expect(field('T-1', 'weight')).toBe(0.5);
    expect(field('T-2', 'price')).toBe(1.25);

    expect(attr('T-1', 'code')).toBe('00123');
    expect(attr('T-2', 'code')).toBe('0042');
    expect(attr('T-3', 'code')).toBe('3.65275E+11');
    expect(attr('T-1', 'size')).toBe(12);
    expect(attr('T-2', 'size')).toBe(-3.25);
    expect(attr('T-3', 'size')).toBe(0.5);
    expect(attr('T-1', 'flag')).toBe(true);
    expect(attr('T-2', 'flag')).toBe(false);
    expect(attr('T-3', 'flag')).toBe('yes');
    // An empty cell is no attribute at all.
    expect(all.get('T-5')?.attributes).toEqual({});
  });

  it('reads a header behind a UTF-8 byte order mark', async () => {
    await defineCatalog('bom', { mapping: { sku: 'SKU', title: 'Name', price: 'Price' } });
    const run = await importFixture('bom', 'bom-header.csv');
    expect(run.status).toBe('applied');
    expect(run.heldReasons).toEqual([]);
    expect((await product('bom', 'B-1')).fields).toEqual({ sku: 'B-1', title: 'Bommed', price: 5 });

    await defineCatalog('bom-attr', { mapping: { sku: 'SKU', title: 'Name' } });
    expect((await importFixture('bom-attr', 'bom-header-attribute-first.csv')).status).toBe('applied');
    expect(Object.keys((await product('bom-attr', 'H-1')).attributes)).toEqual(['Handle']);
  });

  it('reads a ;-delimited feed when the definition says so', async () => {
    await defineCatalog('semicolon', { mapping: SHOP_MAPPING, options: { delimiter: ';' } });
    const run = await importFixture('semicolon', 'semicolon-delimiter.csv');
    expect(run.status).toBe('applied');
    expect((await product('semicolon', 'S-1')).fields).toMatchObject({ title: 'Red, large', price: 12.5 });
    expect((await product('semicolon', 'S-2')).fields).toMatchObject({
      title: 'Blue "classic"; navy',
      price: 8,
    });
  });

  it('reads an ISO-8859-1 feed when the definition says so', async () => {
    await defineCatalog('latin1', { mapping: SHOP_MAPPING, options: { encoding: 'iso-8859-1' } });
    const run = await importFixture('latin1', 'latin1-encoding.csv');
    expect(run.status).toBe('applied');
    const e1 = await product('latin1', 'E-1');
    expect(e1.fields.title).toBe('Café crème');
    expect(e1.attributes.Colour).toBe('crème');
    expect((await product('latin1', 'E-2')).fields.title).toBe('Größe ½');
  });
});

describe('round trip', () => {
  /** Text with the characters that trouble CSV, COPY and JSON: delimiters, quotes, breaks, backslashes. */
  const text = fc
    .array(
      fc.oneof(
        fc.constantFrom(',', ';', '\t', '"', '\n', '\r\n', ' ', '\\', 'é', '€', '😀', '=1+2', '\\N'),
        fc.string({ unit: 'grapheme', maxLength: 6 }),
      ),
      { maxLength: 8 },
    )
    .map((parts) => parts.join('').replaceAll('\u0000', ''));
  const row = fc.record({
    title: text,
    price: fc.integer({ min: 0, max: 10_000_000 }),
    quantity: fc.option(fc.nat({ max: 1_000_000 }), { nil: undefined }),
    note: text,
  });
  const feed = fc.record({
    skus: fc.uniqueArray(
      text.map((s) => s.trim()).filter((s) => s !== ''),
      { minLength: 1, maxLength: 25 },
    ),
    rows: fc.array(row, { minLength: 25, maxLength: 25 }),
    delimiter: fc.constantFrom(',', ';', '\t'),
    encoding: fc.constantFrom('utf-8', 'utf-8 with BOM', 'utf-16le'),
    quoteAll: fc.boolean(),
    longRow: fc.option(fc.nat({ max: 24 }), { nil: undefined }),
    chunkSizes: fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 5 }),
  });

  let runs = 0;
  it('reads back every product as written, however the feed is delimited, encoded and cut', async () => {
    await fc.assert(
      fc.asyncProperty(feed, async (f) => {
        const id = `round-trip-${runs++}`;
        const cell = (v: string) =>
          f.quoteAll || v.includes(f.delimiter) || /["\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
        const lines = ['sku', 'title', 'price', 'quantity', 'Note'].map(cell).join(f.delimiter);
        let csv = `${lines}\r\n`;
        const expected = new Map<
          string,
          { fields: Record<string, unknown>; attributes: Record<string, unknown> }
        >();
        let tooLongLine: number | undefined;
        // One record may be over-long, as long as another one is valid.
        const longRow = f.skus.length > 1 ? f.longRow : undefined;
        f.skus.forEach((sku, i) => {
          const r = f.rows[i] as (typeof f.rows)[number];
          const title = i === longRow ? 'x'.repeat(1100) : r.title;
          const price = (r.price / 100).toFixed(2);
          const record = [sku, title, price, r.quantity === undefined ? '' : String(r.quantity), r.note];
          // The line a record starts on: one more than the line breaks before it.
          const line = 1 + (csv.match(/\r\n|\r|\n/g)?.length ?? 0);
          csv += `${record.map(cell).join(f.delimiter)}\r\n`;
          if (i === longRow) {
            tooLongLine = line;
            return;
          }
          const fields: Record<string, unknown> = { sku, price: Number(price) };
          if (title.trim() !== '') fields.title = title.trim();
          if (r.quantity !== undefined) fields.quantity = r.quantity;
          fields.manage_stock = r.quantity !== undefined;
          expected.set(sku, {
            fields,
            attributes: r.note.trim() === '' ? {} : { Note: typeAttribute(r.note) },
          });
        });
        const bytes =
          f.encoding === 'utf-16le'
            ? Buffer.from(`\uFEFF${csv}`, 'utf16le')
            : Buffer.from(f.encoding === 'utf-8 with BOM' ? `\uFEFF${csv}` : csv, 'utf8');
        const chunks: Buffer[] = [];
        for (let at = 0, k = 0; at < bytes.length; k++) {
          const size = f.chunkSizes[k % f.chunkSizes.length] as number;
          chunks.push(bytes.subarray(at, at + size));
          at += size;
        }
        await defineCatalog(id, {
          safety: { maxErrorPercent: 100 },
          options: {
            delimiter: f.delimiter,
            encoding: f.encoding === 'utf-16le' ? 'utf-16le' : 'utf-8',
            maxRecordSize: 1024,
          },
        });
        const run = await importChunks(id, chunks);

        expect(run.status).toBe('applied');
        expect(await rowErrors(run.id)).toEqual(
          tooLongLine === undefined
            ? []
            : [
                {
                  line: tooLongLine,
                  sku: null,
                  code: 'record_too_long',
                  message: 'record longer than 1024 bytes',
                },
              ],
        );
        const got = await products(id);
        expect(
          new Map([...got].map(([sku, p]) => [sku, { fields: p.fields, attributes: p.attributes }])),
        ).toEqual(expected);
      }),
      { numRuns: 30 },
    );
  });
});

describe('a process killed during an import', () => {
  it('leaves the catalog as it was, and the run is marked failed on recovery', {
    timeout: 180_000,
  }, async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-kill-'));
    let child: ChildProcess | undefined;
    let own: Store | undefined;
    try {
      const feed = path.join(tmp, 'large.csv');
      writeLargeFeed(feed, 200_000);
      const initial = Array.from({ length: 500 }, (_, i) => `K-${i},Before ${i},${i}.25,${i % 7}`);
      const initialCsv = Buffer.from(`sku,title,price,quantity\n${initial.join('\n')}\n`);

      // PGlite is one process: the parent works on a store on disk, and lets go of it
      // while the child imports.
      const dataDir = path.join(tmp, 'pglite');
      let db: Store;
      if (BACKEND === 'pglite') {
        own = await openPgliteStore(dataDir);
        await migrate(own);
        db = own;
      } else db = store;
      await defineCatalog('killed', {}, db);
      expect((await importChunks('killed', [initialCsv], { db })).status).toBe('applied');
      const before = await products('killed', db);
      expect(before.size).toBe(500);
      if (own) {
        await own.close();
        own = undefined;
      }

      child = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(REPO, 'test/helpers/import-child.ts'), 'killed', feed],
        {
          cwd: REPO,
          env: {
            ...process.env,
            DATABASE_URL: BACKEND === 'postgres' ? t.databaseUrl : '',
            DATA_DIR: dataDir,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const reports = await killWhenPastRows(child, 20_000);
      expect(reports).not.toContainEqual(expect.objectContaining({ event: 'finished' }));

      if (BACKEND === 'pglite') {
        own = await openPgliteStore(dataDir);
        db = own;
      }
      const [run] = (await listRuns(db, 'killed', { limit: 1 })).runs;
      expect(run?.status).toBe('running');
      expect(await products('killed', db)).toEqual(before);

      // PostgreSQL notices the dead connection, and frees its lock, a moment later.
      let status = run?.status;
      for (let i = 0; i < 100 && status === 'running'; i++) {
        await recoverInterruptedRuns(db);
        status = (await getRun(db, run?.id ?? 0))?.status;
        if (status === 'running') await new Promise((r) => setTimeout(r, 100));
      }
      const recovered = await getRun(db, run?.id ?? 0);
      expect(recovered).toMatchObject({ status: 'failed', failure: expect.stringContaining('interrupted') });
      const { events } = await readHistory(db, { catalog: 'killed', type: 'import.failed', limit: 10 });
      expect(events.map((e) => e.run)).toEqual([run?.id]);
      expect(await products('killed', db)).toEqual(before);
      const staging = await db.query<{ t: string | null }>({
        text: 'SELECT to_regclass($1)::text AS t',
        values: [`import_staging_${run?.id}`],
      });
      expect(staging[0]?.t).toBeNull();
      // Nothing is left running, so recovering again finds nothing.
      expect(await recoverInterruptedRuns(db)).toBe(0);
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await own?.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

/** A feed of `rows` products whose first 500 skus are those of the killed catalog, all changed. */
function writeLargeFeed(file: string, rows: number): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, 'sku,title,price,quantity,colour\n');
    const batch = 10_000;
    for (let start = 0; start < rows; start += batch) {
      let text = '';
      for (let i = start; i < Math.min(rows, start + batch); i++)
        text += `K-${i},After ${i},${i}.99,${i % 13},blue\n`;
      fs.writeSync(fd, text);
    }
  } finally {
    fs.closeSync(fd);
  }
}
