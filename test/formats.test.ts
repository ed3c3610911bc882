import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../src/import/run.js';
import type { CatalogDefinition } from '../src/model/catalog.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { listRowErrors } from '../src/store/imports.js';
import { getProduct } from '../src/store/products.js';
import { samplePath } from './helpers/samples.js';
import { openTestStore, type TestStore } from './helpers/store.js';

const PARSE = path.resolve(import.meta.dirname, 'fixtures/parse');
const WOO = fs.readFileSync(samplePath('woocommerce-sample-products.csv'));

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

  it('imports a Google Shopping RSS feed with no mapping at all: g:id is the sku, g:price the price', async () => {
    const run = await importBytes(
      { id: 'google-bare' },
      fs.readFileSync(path.join(PARSE, 'google-shopping.xml')),
    );
    expect(run).toMatchObject({ status: 'applied', counts: { created: 2, errors: 0 } });
    const p = await product('google-bare', 'ACME-001');
    expect(p?.fields).toEqual({
      sku: 'ACME-001',
      title: 'Salt & Pepper <Grinder> Set',
      description: 'Two grinders & a stand – ceramic ☕',
      brand: 'Acme',
      gtin: '04006381333931',
      price: 24.9,
      currency: 'EUR',
      manage_stock: false,
      availability: 'in_stock',
      url: 'https://shop.example/p/acme-001?ref=feed&utm=g',
      image_url: 'https://cdn.example/acme-001/main.jpg',
    });
    // What no canonical field holds stays, under Google's name: the other images as a list,
    // each shipping entry as an object.
    expect(p?.attributes).toEqual({
      additional_image_link: [
        'https://cdn.example/acme-001/side.jpg',
        'https://cdn.example/acme-001/back.jpg',
        'https://cdn.example/acme-001/box.jpg',
      ],
      shipping: [
        { country: 'FR', service: 'Standard', price: '4.95 EUR' },
        { country: 'BE', price: '6.95 EUR' },
      ],
    });
    expect((await product('google-bare', 'ACME-002'))?.fields).toMatchObject({
      title: 'Mug "Morning" 35 cl',
      price: 9.5,
      sale_price: 7.9,
      currency: 'EUR',
      availability: 'out_of_stock',
    });
  });

  it('imports the stock, variants and categories of a Google feed with no mapping', async () => {
    const run = await importBytes(
      { id: 'google-variants' },
      fs.readFileSync(path.join(PARSE, 'google-shopping-variants.xml')),
      'feed.xml',
    );
    expect(run).toMatchObject({ status: 'applied', counts: { created: 3, errors: 0 } });
    const m = await product('google-variants', 'TEE-RED-M');
    expect(m?.fields).toMatchObject({
      parent_sku: 'TEE',
      title: 'Organic tee, red, M',
      url: 'https://shop.example/p/tee?variant=red-m',
      image_url: 'https://cdn.example/tee/red.jpg',
      price: 19.9,
      sale_price: 14.9,
      currency: 'EUR',
      quantity: 12,
      manage_stock: true,
      availability: 'in_stock',
      category: 'Apparel > Tees',
      condition: 'new',
      mpn: 'TEE-01-R-M',
    });
    expect(m?.attributes).toEqual({
      additional_image_link: ['https://cdn.example/tee/red-back.jpg'],
      color: 'red',
      size: 'M',
    });
    expect((await product('google-variants', 'TEE-RED-L'))?.fields).toMatchObject({
      parent_sku: 'TEE',
      quantity: 0,
      manage_stock: true,
      availability: 'out_of_stock',
    });
    // No g:quantity: stock not managed.
    const gift = await product('google-variants', 'GIFT-CARD');
    expect(gift?.fields).toMatchObject({ price: 25, manage_stock: false });
    expect(gift?.fields.quantity).toBeUndefined();
  });

  it('reads a mapping that names g: columns, whether the feed strips the prefix or keeps it', async () => {
    const mapping = {
      sku: 'g:id',
      title: 'title',
      price: 'g:price',
      sale_price: 'g:sale_price',
      brand: 'g:brand',
      gtin: 'g:gtin',
      availability: 'g:availability',
    };
    const bytes = fs.readFileSync(path.join(PARSE, 'google-shopping.xml'));
    const stripped = await importBytes({ id: 'google', mapping }, bytes, 'feed.xml');
    const asWritten = await importBytes(
      { id: 'google-as-written', mapping, options: { stripNamespaces: [] } },
      bytes,
      'feed.xml',
    );
    for (const [run, catalog, prefix] of [
      [stripped, 'google', ''],
      [asWritten, 'google-as-written', 'g:'],
    ] as const) {
      expect(run).toMatchObject({ status: 'applied', counts: { created: 2 } });
      const p = await product(catalog, 'ACME-001');
      expect(p?.fields).toMatchObject({
        title: 'Salt & Pepper <Grinder> Set',
        price: 24.9,
        currency: 'EUR',
        brand: 'Acme',
        gtin: '04006381333931',
        availability: 'in_stock',
        manage_stock: false,
      });
      expect(p?.fields.description).toBe('Two grinders & a stand – ceramic ☕');
      // Google's defaults still give the fields the mapping leaves out.
      expect(p?.fields).toMatchObject({
        url: 'https://shop.example/p/acme-001?ref=feed&utm=g',
        image_url: 'https://cdn.example/acme-001/main.jpg',
      });
      // The keys read are fields, not attributes as well.
      expect(Object.keys(p?.attributes ?? {}).sort()).toEqual([
        `${prefix}additional_image_link`,
        `${prefix}shipping`,
      ]);
      expect(p?.attributes[`${prefix}shipping`]).toEqual([
        { [`${prefix}country`]: 'FR', [`${prefix}service`]: 'Standard', [`${prefix}price`]: '4.95 EUR' },
        { [`${prefix}country`]: 'BE', [`${prefix}price`]: '6.95 EUR' },
      ]);
      expect((await product(catalog, 'ACME-002'))?.fields).toMatchObject({ price: 9.5, sale_price: 7.9 });
    }
    // A nested path written with prefixes reaches the stripped element too.
    const nested = await importBytes(
      { id: 'google-nested', mapping: { sku: 'g:id', mpn: 'g:shipping/g:country' } },
      bytes,
    );
    expect(nested.status).toBe('applied');
    expect((await product('google-nested', 'ACME-001'))?.fields.mpn).toBe('FR');
  });

  it('holds a Google feed whose mapping names a g: column the feed lacks', async () => {
    const run = await importBytes(
      { id: 'google-missing', mapping: { sku: 'g:id', mpn: 'g:mpn' } },
      fs.readFileSync(path.join(PARSE, 'google-shopping.xml')),
    );
    expect(run.status).toBe('held');
    expect(run.heldReasons).toContainEqual({
      code: 'missing_columns',
      message: 'the feed lacks mapped column "g:mpn"',
    });
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
    const run = await importBytes(
      { id: 'nd', safety: { maxErrorPercent: 100 } },
      Buffer.from(text),
      'feed.ndjson',
    );
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
