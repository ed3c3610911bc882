import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogDefinition } from '../src/catalog/definition.js';
import { runImport } from '../src/catalog/import-run.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { listRowErrors } from '../src/store/imports.js';
import { getProduct } from '../src/store/products.js';
import { openTestStore, type TestStore } from './helpers/store.js';

const PARSE = path.resolve(import.meta.dirname, 'fixtures/parse');
const WOO = fs.readFileSync(
  path.resolve(import.meta.dirname, '../../shared/samples/woocommerce-sample-products.csv'),
);

describe('imports of every format', () => {
  let t: TestStore;
  beforeAll(async () => {
    t = await openTestStore();
  });
  afterAll(async () => {
    await t.cleanup();
  });

  async function importBytes(def: Omit<CatalogDefinition, 'kind'>, bytes: Buffer, name?: string) {
    await saveCatalog(t.store, { kind: 'catalog', ...def }, 'test');
    return runImport(t.store, {
      catalogId: def.id,
      input: { kind: 'upload', stream: Readable.from([bytes]), name },
      mode: 'full',
      force: false,
      actor: 'test',
    });
  }
  const product = (catalog: string, sku: string) => getProduct(t.store, catalog, sku);

  it('imports a Google Shopping RSS feed, with its g: fields, repeated and nested elements', async () => {
    const run = await importBytes(
      {
        id: 'google',
        mapping: {
          sku: 'g:id',
          title: 'title',
          price: 'g:price',
          sale_price: 'g:sale_price',
          brand: 'g:brand',
          gtin: 'g:gtin',
          availability: 'g:availability',
        },
      },
      fs.readFileSync(path.join(PARSE, 'google-shopping.xml')),
      'feed.xml',
    );
    expect(run.status).toBe('applied');
    const p = await product('google', 'ACME-001');
    expect(p?.fields).toMatchObject({
      title: 'Salt & Pepper <Grinder> Set',
      price: 24.9,
      currency: 'EUR',
      brand: 'Acme',
      gtin: '04006381333931',
      manage_stock: false,
    });
    expect(p?.attributes['g:additional_image_link']).toEqual([
      'https://cdn.example/acme-001/side.jpg',
      'https://cdn.example/acme-001/back.jpg',
      'https://cdn.example/acme-001/box.jpg',
    ]);
    expect(p?.attributes['g:shipping']).toEqual([
      { 'g:country': 'FR', 'g:service': 'Standard', 'g:price': '4.95 EUR' },
      { 'g:country': 'BE', 'g:price': '6.95 EUR' },
    ]);
    expect(p?.fields.description).toBe('Two grinders & a stand – ceramic ☕');
    expect((await product('google', 'ACME-002'))?.fields).toMatchObject({ price: 9.5, sale_price: 7.9 });
  });

  it('imports a JSON array found at its path, keeping nested objects and lists', async () => {
    const run = await importBytes(
      { id: 'json', format: 'json', options: { itemsPath: 'data.products' } },
      fs.readFileSync(path.join(PARSE, 'nested-items.json')),
    );
    expect(run).toMatchObject({ status: 'applied', counts: { created: 3 } });
    const p = await product('json', 'J-1');
    expect(p?.fields).toMatchObject({
      title: 'Tent "Summit" 2p',
      price: 199.9,
      quantity: 4,
      manage_stock: true,
    });
    // A 20-digit GTIN is kept as written, not rounded by floating point.
    expect(p?.fields.gtin).toBe('12345678901234567890');
    expect(p?.attributes.dimensions).toEqual({ width_cm: 210, height_cm: 110 });
    expect(p?.attributes.images).toEqual(['https://cdn.example/j-1/a.jpg', 'https://cdn.example/j-1/b.jpg']);
  });

  it('imports NDJSON, one object a line, a bad line being a row error', async () => {
    const text = '{"sku":"N-1","price":"5"}\n{"sku":"N-2","price":"x"}\nnot json\n{"sku":"N-3"}\n';
    const run = await importBytes({ id: 'nd' }, Buffer.from(text), 'feed.ndjson');
    expect(run).toMatchObject({ status: 'applied', counts: { created: 2, errors: 2 } });
    const errors = await listRowErrors(t.store, run.id, { limit: 10, offset: 0 });
    expect(errors.map((e) => [e.line, e.code])).toEqual([
      [2, 'invalid_price'],
      [3, 'malformed_record'],
    ]);
  });

  it('reads a gzip-compressed CSV transparently', async () => {
    const run = await importBytes(
      { id: 'gz', mapping: { sku: 'SKU', title: 'Name', price: 'Regular price', quantity: 'Stock' } },
      gzipSync(WOO),
      'export.csv.gz',
    );
    expect(run).toMatchObject({ status: 'applied', counts: { created: 25 } });
    expect((await product('gz', 'woo-beanie'))?.fields.price).toBe(20);
  });

  it('detects a ;-delimited ISO-8859-1 CSV without being told', async () => {
    const bytes = fs.readFileSync(path.join(PARSE, 'latin1-semicolon.csv'));
    const run = await importBytes(
      { id: 'latin1', mapping: { sku: 'Référence', title: 'Désignation', quantity: 'Stock' } },
      bytes,
    );
    expect(run).toMatchObject({ status: 'applied', counts: { created: 3 } });
    expect((await product('latin1', 'L-1'))?.fields).toMatchObject({ title: 'Crème brûlée', quantity: 12 });
    expect((await product('latin1', 'L-2'))?.fields.title).toBe('Pâté "maison"');
    // A decimal comma is not a number: the price stays text, as written, in its attribute.
    expect((await product('latin1', 'L-1'))?.attributes.Prix).toBe('4,50');
  });

  it('holds an HTML error page served as the feed, changing nothing', async () => {
    await importBytes({ id: 'html', mapping: { sku: 'SKU' } }, Buffer.from('SKU\nA-1\n'));
    const run = await importBytes(
      { id: 'html', mapping: { sku: 'SKU' } },
      fs.readFileSync(path.join(PARSE, 'html-error-page.csv')),
      'feed.csv',
    );
    expect(run.status).toBe('held');
    expect(run.heldReasons[0]).toMatchObject({
      code: 'parse_failed',
      message: expect.stringMatching(/HTML/),
    });
    expect(await product('html', 'A-1')).toBeDefined();
  });

  it('holds an XML feed with an entity expansion attack, in bounded time', async () => {
    const started = Date.now();
    const run = await importBytes(
      { id: 'laughs' },
      fs.readFileSync(path.join(PARSE, 'billion-laughs.xml')),
      'f.xml',
    );
    expect(run.status).toBe('held');
    expect(run.heldReasons[0]?.message).toMatch(/ENTITY|entit/i);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
