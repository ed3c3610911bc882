import { createReadStream } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createDialectNormalizer,
  createDialectTransform,
  detectDialect,
  type ExportDialect,
  type RowWarning,
  type SkippedRow,
} from '../../src/catalog/dialects/index.js';
import { MAX_WOO_PARENT_IDS } from '../../src/catalog/dialects/woocommerce.js';
import { createNormalizer, planHeader } from '../../src/catalog/normalize.js';
import type { NormalizedProduct } from '../../src/model/product.js';
import { parseCsv } from '../../src/parse/csv.js';
import type { RowIssue } from '../../src/parse/types.js';
import { SAMPLES } from '../helpers/samples.js';

/** A record's cells in the header's order. */
function valuesOf(header: string[], row: Record<string, string>): string[] {
  return header.map((h) => row[h] ?? '');
}

/** Runs records through a preset and the import's normalizer, as an import would. */
function runPreset(
  preset: ExportDialect,
  header: string[],
  rows: Array<Record<string, string>>,
  mapping: Record<string, string> = {},
) {
  const { plan, normalize } = createDialectNormalizer(preset, header, mapping, 'full');
  const products = new Map<string, NormalizedProduct>();
  const errors: RowIssue[] = [];
  const skipped: SkippedRow[] = [];
  const warnings: RowWarning[] = [];
  rows.forEach((row, i) => {
    const out = normalize({ line: i + 2, values: valuesOf(header, row) });
    warnings.push(...out.warnings);
    if (out.skipped) skipped.push(out.skipped);
    if (out.result?.ok) products.set(out.result.product.sku, out.result.product);
    else if (out.result) errors.push(out.result.issue);
  });
  return { plan, products, errors, skipped, warnings };
}

function get(products: Map<string, NormalizedProduct>, sku: string): NormalizedProduct {
  const p = products.get(sku);
  if (!p) throw new Error(`no product ${sku}`);
  return p;
}

const SHOPIFY = [
  'Handle',
  'Title',
  'Body (HTML)',
  'Vendor',
  'Type',
  'Tags',
  'Published',
  'Option1 Name',
  'Option1 Value',
  'Variant SKU',
  'Variant Inventory Tracker',
  'Variant Inventory Qty',
  'Variant Price',
  'Variant Compare At Price',
  'Variant Barcode',
  'Image Src',
  'Image Position',
  'Image Alt Text',
  'SEO Title',
  'Google Shopping / Gender',
  'Google Shopping / MPN',
  'Variant Image',
  'Status',
];

/** A Shopify product row: every product-level column filled. */
function shopifyProduct(handle: string, sku: string, extra: Record<string, string> = {}) {
  return {
    Handle: handle,
    Title: `Title of ${handle}`,
    'Body (HTML)': '<p>Soft</p>',
    Vendor: 'Acme',
    Type: 'Shirts',
    Tags: 'a, b',
    Published: 'TRUE',
    'Option1 Name': 'Size',
    'Option1 Value': 'S',
    'Variant SKU': sku,
    'Variant Inventory Tracker': 'shopify',
    'Variant Inventory Qty': '5',
    'Variant Price': '10',
    'SEO Title': `SEO ${handle}`,
    'Google Shopping / Gender': 'unisex',
    'Google Shopping / MPN': `MPN-${sku}`,
    'Image Src': `https://img/${handle}-1.jpg`,
    'Image Position': '1',
    Status: 'active',
    ...extra,
  };
}

/** A Shopify variant row: only the variant's own columns. */
function shopifyVariant(handle: string, sku: string, extra: Record<string, string> = {}) {
  return {
    Handle: handle,
    'Option1 Value': 'M',
    'Variant SKU': sku,
    'Variant Inventory Tracker': 'shopify',
    'Variant Inventory Qty': '3',
    'Variant Price': '10',
    ...extra,
  };
}

describe('detectDialect', () => {
  it('recognises the Shopify and WooCommerce exports by their columns', async () => {
    expect(detectDialect(SHOPIFY)).toBe('shopify');
    expect(detectDialect(WOO)).toBe('woocommerce');
    const shopify = await parseCsv(createReadStream(path.join(SAMPLES, 'shopify-product-template.csv')));
    const woo = await parseCsv(createReadStream(path.join(SAMPLES, 'woocommerce-sample-products.csv')));
    expect(detectDialect(shopify.header)).toBe('shopify');
    expect(detectDialect(woo.header)).toBe('woocommerce');
  });

  it('leaves other feeds alone, even with one or two look-alike columns', () => {
    expect(detectDialect(['sku', 'title', 'price', 'quantity'])).toBeUndefined();
    expect(detectDialect(['Handle', 'Title', 'SKU', 'Price'])).toBeUndefined();
    expect(detectDialect(['SKU', 'Name', 'Regular price'])).toBeUndefined();
    expect(detectDialect([])).toBeUndefined();
  });
});

describe('Shopify preset', () => {
  it('maps the export by default and lets the definition override a field', () => {
    const t = createDialectTransform('shopify', SHOPIFY, { title: 'SEO Title' });
    expect(t.mapping).toMatchObject({
      sku: 'Variant SKU',
      title: 'SEO Title',
      brand: 'Vendor',
      gtin: 'Variant Barcode',
      quantity: 'Variant Inventory Qty',
      status: 'Status',
      price: 'price (shopify)',
      sale_price: 'sale_price (shopify)',
    });
    expect(planHeader(t.header, t.mapping).missingColumns).toEqual([]);
    const { products } = runPreset('shopify', SHOPIFY, [shopifyProduct('tee', 'T-S')], {
      title: 'SEO Title',
    });
    expect(get(products, 'T-S').fields.title).toBe('SEO tee');
  });

  it('maps only the columns an older export has (Published when there is no Status)', () => {
    const header = SHOPIFY.filter((h) => h !== 'Status' && h !== 'Variant Barcode');
    const t = createDialectTransform('shopify', header);
    expect(t.mapping.status).toBe('Published');
    expect(t.mapping.gtin).toBeUndefined();
    expect(planHeader(t.header, t.mapping).missingColumns).toEqual([]);
  });

  it("fills a variant's empty product columns from the first row of its Handle", () => {
    const { products, errors } = runPreset('shopify', SHOPIFY, [
      shopifyProduct('tee', 'T-S'),
      shopifyVariant('tee', 'T-M'),
      shopifyVariant('tee', 'T-L', { Vendor: 'Other brand' }),
    ]);
    expect(errors).toEqual([]);
    const m = get(products, 'T-M');
    expect(m.fields).toMatchObject({
      title: 'Title of tee',
      description: '<p>Soft</p>',
      brand: 'Acme',
      status: 'active',
      // No Product Category column in this export: Type is the category.
      category: 'Shirts',
    });
    expect(m.attributes).toMatchObject({
      Tags: 'a, b',
      Published: true,
      'Option1 Name': 'Size',
      'Option1 Value': 'M',
      'SEO Title': 'SEO tee',
      'Google Shopping / Gender': 'unisex',
    });
    // A variant's own cell wins; variant-level columns (MPN, image) are not inherited.
    expect(get(products, 'T-L').fields.brand).toBe('Other brand');
    expect(m.fields.mpn).toBeUndefined();
    expect(m.attributes['Image Src']).toBeUndefined();
  });

  it('starts afresh at each Handle: a product never inherits from the one before', () => {
    const { products } = runPreset('shopify', SHOPIFY, [
      shopifyProduct('tee', 'T-S'),
      shopifyVariant('cap', 'C-1'),
      shopifyVariant('', 'NO-HANDLE'),
    ]);
    expect(get(products, 'C-1').fields.title).toBeUndefined();
    expect(get(products, 'C-1').fields.brand).toBeUndefined();
    expect(get(products, 'NO-HANDLE').fields.title).toBeUndefined();
  });

  it('skips an image-only row as an image of the product: not a product, not an error', () => {
    const { products, errors, skipped } = runPreset('shopify', SHOPIFY, [
      shopifyProduct('tee', 'T-S'),
      shopifyVariant('tee', 'T-M'),
      {
        Handle: 'tee',
        'Image Src': 'https://img/tee-3.jpg',
        'Image Position': '3',
        'Image Alt Text': 'Back',
      },
      shopifyVariant('tee', 'T-L'),
    ]);
    expect([...products.keys()]).toEqual(['T-S', 'T-M', 'T-L']);
    expect(errors).toEqual([]);
    expect(skipped).toEqual([
      { line: 4, reason: 'image_row', message: expect.stringContaining('https://img/tee-3.jpg') },
    ]);
    // The image row changed nothing of the product the next variant inherits.
    expect(get(products, 'T-L').fields.title).toBe('Title of tee');
  });

  it('still refuses a variant row that only lacks its SKU', () => {
    const { products, errors, skipped } = runPreset('shopify', SHOPIFY, [
      shopifyProduct('tee', 'T-S'),
      shopifyVariant('tee', '', { 'Image Src': 'https://img/tee-2.jpg' }),
    ]);
    expect(products.size).toBe(1);
    expect(skipped).toEqual([]);
    expect(errors).toEqual([expect.objectContaining({ line: 3, code: 'missing_sku' })]);
  });

  it('reads an empty Variant Inventory Tracker as stock not managed', () => {
    const { products } = runPreset('shopify', SHOPIFY, [
      shopifyProduct('tee', 'T-S', { 'Variant Inventory Tracker': '', 'Variant Inventory Qty': '0' }),
      shopifyVariant('tee', 'T-M', { 'Variant Inventory Qty': '7' }),
    ]);
    const untracked = get(products, 'T-S');
    expect(untracked.fields.manage_stock).toBe(false);
    // Shopify writes a stale 0 for a count it does not keep: that 0 must not sell out the product.
    expect(untracked.fields.quantity).toBeUndefined();
    expect(untracked.fields.availability).toBe('in_stock');
    expect(get(products, 'T-M').fields).toMatchObject({ quantity: 7, manage_stock: true });
    expect(get(products, 'T-M').fields.availability).toBeUndefined();
  });

  it('makes draft and archived products inactive, for every variant of the Handle', () => {
    const { products } = runPreset('shopify', SHOPIFY, [
      shopifyProduct('jeans', 'J-28', { Status: 'draft' }),
      shopifyVariant('jeans', 'J-30'),
      shopifyProduct('hat', 'H-1', { Status: 'archived' }),
      shopifyProduct('tee', 'T-S', { Status: 'active' }),
    ]);
    expect(get(products, 'J-28').fields.status).toBe('inactive');
    expect(get(products, 'J-30').fields.status).toBe('inactive');
    expect(get(products, 'H-1').fields.status).toBe('inactive');
    expect(get(products, 'T-S').fields.status).toBe('active');
  });

  it('reads a compare-at price above the price as a sale: price is the regular price', () => {
    const { products } = runPreset('shopify', SHOPIFY, [
      shopifyProduct('hat', 'SALE', { 'Variant Price': '17.99', 'Variant Compare At Price': '22.99' }),
      shopifyProduct('jeans', 'NO-SALE', { 'Variant Price': '95', 'Variant Compare At Price': '64.95' }),
      shopifyProduct('tee', 'PLAIN', { 'Variant Price': '25' }),
    ]);
    expect(get(products, 'SALE').fields).toMatchObject({ price: 22.99, sale_price: 17.99 });
    expect(get(products, 'NO-SALE').fields.price).toBe(95);
    expect(get(products, 'NO-SALE').fields.sale_price).toBeUndefined();
    expect(get(products, 'PLAIN').fields.price).toBe(25);
    expect(get(products, 'PLAIN').fields.sale_price).toBeUndefined();
    // Both source columns stay readable as attributes.
    expect(get(products, 'SALE').attributes).toMatchObject({
      'Variant Price': 17.99,
      'Variant Compare At Price': 22.99,
    });
  });

  it('keeps an explicit price mapping as it is, without a derived sale price', () => {
    const row = shopifyProduct('hat', 'SALE', {
      'Variant Price': '17.99',
      'Variant Compare At Price': '22.99',
    });
    const { products, plan } = runPreset('shopify', SHOPIFY, [row], { price: 'Variant Price' });
    expect(get(products, 'SALE').fields.price).toBe(17.99);
    expect(get(products, 'SALE').fields.sale_price).toBeUndefined();
    expect(plan.attributes.map((a) => a.name)).not.toContain('sale_price (shopify)');
  });

  it('reports an invalid price in the derived column as a row error', () => {
    const { errors } = runPreset('shopify', SHOPIFY, [
      shopifyProduct('tee', 'T-S', { 'Variant Price': '12,50' }),
    ]);
    expect(errors).toEqual([
      expect.objectContaining({
        line: 2,
        sku: 'T-S',
        code: 'invalid_price',
        message: expect.stringContaining('12,50'),
      }),
    ]);
  });

  it('keeps a barcode in scientific notation as written, with a warning that skips nothing', () => {
    const { products, warnings } = runPreset('shopify', SHOPIFY, [
      shopifyProduct('tee', 'T-S', { 'Variant Barcode': '3.65275E+11' }),
      shopifyVariant('tee', 'T-M', { 'Variant Barcode': '0012345678905' }),
    ]);
    expect(get(products, 'T-S').fields.gtin).toBe('3.65275E+11');
    expect(get(products, 'T-M').fields.gtin).toBe('0012345678905');
    expect(warnings).toEqual([
      {
        line: 2,
        sku: 'T-S',
        code: 'barcode_scientific_notation',
        message: expect.stringContaining('"3.65275E+11"'),
      },
    ]);
  });

  it("takes the variant's image, else the product's first image", () => {
    const { products } = runPreset('shopify', SHOPIFY, [
      shopifyProduct('tee', 'T-S', { 'Variant Image': 'https://img/tee-green.jpg' }),
      shopifyVariant('tee', 'T-M', { 'Image Src': 'https://img/tee-2.jpg' }),
    ]);
    expect(get(products, 'T-S').fields.image_url).toBe('https://img/tee-green.jpg');
    expect(get(products, 'T-M').fields.image_url).toBe('https://img/tee-1.jpg');
  });

  it('does not change the record it was given', () => {
    const t = createDialectTransform('shopify', SHOPIFY);
    t.transform({ line: 2, values: valuesOf(SHOPIFY, shopifyProduct('tee', 'T-S')) });
    const values = valuesOf(SHOPIFY, shopifyVariant('tee', 'T-M'));
    const before = [...values];
    const step = t.transform({ line: 3, values });
    expect(values).toEqual(before);
    expect(step.record?.values.length).toBe(t.header.length);
  });
});

const WOO = [
  'ID',
  'Type',
  'SKU',
  'Name',
  'Published',
  'In stock?',
  'Stock',
  'Sale price',
  'Regular price',
  'Categories',
  'Images',
  'Parent',
  'Weight (kg)',
];

describe('WooCommerce preset', () => {
  it('maps the export by default', () => {
    const t = createDialectTransform('woocommerce', WOO);
    expect(t.mapping).toMatchObject({
      sku: 'SKU',
      title: 'Name',
      price: 'Regular price',
      sale_price: 'Sale price',
      quantity: 'Stock',
      status: 'Published',
      weight: 'Weight (kg)',
      parent_sku: 'parent_sku (woocommerce)',
      category: 'category (woocommerce)',
    });
    expect(planHeader(t.header, t.mapping).missingColumns).toEqual([]);
  });

  it('reads an empty Stock as not managed, with "In stock?" as its availability', () => {
    const { products } = runPreset('woocommerce', WOO, [
      { SKU: 'in', 'In stock?': '1' },
      { SKU: 'out', 'In stock?': '0' },
      { SKU: 'back', 'In stock?': 'backorder' },
      { SKU: 'counted', 'In stock?': '1', Stock: '4' },
    ]);
    for (const [sku, availability] of [
      ['in', 'in_stock'],
      ['out', 'out_of_stock'],
      ['back', 'backorder'],
    ] as const) {
      const p = get(products, sku);
      expect(p.fields.manage_stock, sku).toBe(false);
      expect(p.fields.quantity, sku).toBeUndefined();
      expect(p.fields.availability, sku).toBe(availability);
    }
    // Managed stock speaks through its quantity.
    expect(get(products, 'counted').fields).toMatchObject({ quantity: 4, manage_stock: true });
    expect(get(products, 'counted').fields.availability).toBeUndefined();
  });

  it('resolves a parent written as id:NN to the SKU of a variable product read earlier', () => {
    const { products, warnings } = runPreset('woocommerce', WOO, [
      { ID: '44', Type: 'variable', SKU: 'tee' },
      { ID: '46', Type: 'simple', SKU: 'cap' },
      { ID: '76', Type: 'variation', SKU: 'tee-red', Parent: 'id:44' },
      { ID: '77', Type: 'variation', SKU: 'tee-blue', Parent: 'tee' },
      { ID: '78', Type: 'variation', SKU: 'orphan', Parent: 'id:99' },
      { ID: '79', Type: 'variation', SKU: 'cap-red', Parent: 'id:46' },
    ]);
    expect(get(products, 'tee-red').fields.parent_sku).toBe('tee');
    expect(get(products, 'tee-blue').fields.parent_sku).toBe('tee');
    expect(get(products, 'orphan').fields.parent_sku).toBe('id:99');
    expect(get(products, 'cap-red').fields.parent_sku).toBe('id:46');
    expect(get(products, 'tee').fields.parent_sku).toBeUndefined();
    expect(warnings).toEqual([
      expect.objectContaining({ line: 6, sku: 'orphan', code: 'parent_not_found' }),
      expect.objectContaining({ line: 7, sku: 'cap-red', code: 'parent_not_found' }),
    ]);
  });

  it('remembers a bounded number of parent IDs, forgetting the oldest', () => {
    const t = createDialectTransform('woocommerce', WOO);
    const values = (row: Record<string, string>) => valuesOf(WOO, row);
    for (let i = 0; i <= MAX_WOO_PARENT_IDS; i++) {
      t.transform({ line: i + 2, values: values({ ID: String(i), Type: 'variable', SKU: `p${i}` }) });
    }
    const parentOf = (id: number) => {
      const step = t.transform({ line: 0, values: values({ SKU: 'v', Parent: `id:${id}` }) });
      return step.record?.values[t.header.indexOf('parent_sku (woocommerce)')];
    };
    expect(parentOf(MAX_WOO_PARENT_IDS)).toBe(`p${MAX_WOO_PARENT_IDS}`);
    expect(parentOf(1)).toBe('p1');
    expect(parentOf(0)).toBe('id:0');
  });

  it('reads prices, Published, the first of Images and Categories, and keeps all images as a list', () => {
    const { products } = runPreset('woocommerce', WOO, [
      {
        SKU: 'beanie',
        Published: '1',
        'Regular price': '20',
        'Sale price': '18',
        Categories: 'Clothing > Accessories, Sale\\, last pieces',
        Images: 'https://img/a.jpg, https://img/b.jpg',
      },
      { SKU: 'draft', Published: '0', 'Regular price': '5' },
      { SKU: 'private', Published: '-1' },
    ]);
    const beanie = get(products, 'beanie');
    expect(beanie.fields).toMatchObject({
      price: 20,
      sale_price: 18,
      status: 'active',
      image_url: 'https://img/a.jpg',
      category: 'Clothing > Accessories',
    });
    expect(beanie.attributes.Images).toEqual(['https://img/a.jpg', 'https://img/b.jpg']);
    expect(beanie.attributes.Categories).toBe('Clothing > Accessories, Sale\\, last pieces');
    expect(get(products, 'draft').fields.status).toBe('inactive');
    expect(get(products, 'private').fields.status).toBe('inactive');
    expect(get(products, 'draft').attributes.Images).toBeUndefined();
  });
});

/** A shared sample export, read by the import's CSV parser, through its detected preset. */
async function importSample(file: string) {
  const feed = await parseCsv(createReadStream(path.join(SAMPLES, file)));
  const preset = detectDialect(feed.header);
  if (!preset) throw new Error(`${file}: no preset detected`);
  // The import's own pieces: the preset's transform, then planHeader and the CSV normalizer.
  const t = createDialectTransform(preset, feed.header);
  const plan = planHeader(t.header, t.mapping);
  const normalize = createNormalizer(plan, 'full');
  const products = new Map<string, NormalizedProduct>();
  const raw = new Map<string, Record<string, string>>();
  const errors: RowIssue[] = [];
  const skipped: SkippedRow[] = [];
  const warnings: RowWarning[] = [];
  let rows = 0;
  for await (const record of feed.records) {
    rows++;
    const step = t.transform(record);
    warnings.push(...step.warnings);
    if (step.skipped) skipped.push(step.skipped);
    if (!step.record) continue;
    const result = normalize(step.record);
    if (!result.ok) {
      errors.push(result.issue);
      continue;
    }
    Object.assign(result.product.attributes, step.attributes);
    products.set(result.product.sku, result.product);
    raw.set(result.product.sku, Object.fromEntries(feed.header.map((h, i) => [h, record.values[i] ?? ''])));
  }
  return { preset, plan, rows, products, raw, errors: [...feed.issues, ...errors], skipped, warnings };
}

describe('the shared sample exports', () => {
  it('imports the Shopify template as its 16 variants', async () => {
    const s = await importSample('shopify-product-template.csv');
    expect(s.preset).toBe('shopify');
    expect(s.plan.missingColumns).toEqual([]);
    expect(s.rows).toBe(17);
    expect(s.products.size).toBe(16);
    // Line 17 holds the jeans' fourth image: neither a product nor an error.
    expect(s.errors).toEqual([]);
    expect(s.skipped).toEqual([
      { line: 17, reason: 'image_row', message: expect.stringContaining('"example-pants"') },
    ]);

    const tee = get(s.products, 'SRT_COT_122');
    expect(tee.fields).toMatchObject({
      title: 'Example T-Shirt',
      brand: 'Acme',
      status: 'active',
      price: 25,
    });
    expect(tee.fields.description).toContain('This t-shirt is as simple as it gets.');
    expect(tee.fields.category).toBe('Apparel & Accessories > Clothing > Clothing Tops > T-Shirts');

    expect(get(s.products, 'PNT_DEN_285').fields).toMatchObject({
      title: 'Example Jeans',
      quantity: 20,
      manage_stock: true,
      price: 95,
    });
    const untracked = get(s.products, 'SRT_COT_111');
    expect(untracked.fields.manage_stock).toBe(false);
    expect(untracked.fields.quantity).toBeUndefined();
    expect(untracked.fields.availability).toBe('in_stock');

    // example-pants is a draft, example-hat archived: every variant is inactive.
    for (const sku of ['PNT_DEN_285', 'PNT_DEN_305', 'PNT_DEN_405', 'HAT_GRY_275']) {
      expect(get(s.products, sku).fields.status, sku).toBe('inactive');
    }
    // The beanie sells at 17.99 instead of 22.99.
    expect(get(s.products, 'HAT_GRY_275').fields).toMatchObject({ price: 22.99, sale_price: 17.99 });
    expect(get(s.products, 'PNT_DEN_285').fields.sale_price).toBeUndefined();

    // Every barcode is kept exactly as the file writes it, and flagged once.
    for (const [sku, p] of s.products) {
      expect(p.fields.gtin, sku).toBe(s.raw.get(sku)?.['Variant Barcode']);
      expect(p.fields.gtin, sku).toMatch(/E\+11$/);
    }
    expect(s.warnings).toHaveLength(16);
    expect(s.warnings.every((w) => w.code === 'barcode_scientific_notation')).toBe(true);
    expect(new Set(s.warnings.map((w) => w.sku))).toEqual(new Set(s.products.keys()));
    expect(s.warnings.find((w) => w.sku === 'SRT_COT_122')?.line).toBe(3);
  });

  it('imports the WooCommerce sample as its 25 products', async () => {
    const s = await importSample('woocommerce-sample-products.csv');
    expect(s.preset).toBe('woocommerce');
    expect(s.plan.missingColumns).toEqual([]);
    expect(s.products.size).toBe(25);
    expect(s.errors).toEqual([]);
    expect(s.skipped).toEqual([]);
    expect(s.warnings).toEqual([]);

    // Stock is empty throughout the export: no product has managed stock.
    for (const [sku, p] of s.products) {
      expect(p.fields.manage_stock, sku).toBe(false);
      expect(p.fields.quantity, sku).toBeUndefined();
      expect(p.fields.availability, sku).toBe('in_stock');
      expect(p.fields.status, sku).toBe('active');
    }
    expect(get(s.products, 'woo-vneck-tee-red').fields).toMatchObject({
      parent_sku: 'woo-vneck-tee',
      title: 'V-Neck T-Shirt - Red',
      price: 20,
    });
    expect(get(s.products, 'woo-hoodie-blue-logo').fields.parent_sku).toBe('woo-hoodie');
    expect(get(s.products, 'woo-beanie').fields).toMatchObject({
      price: 20,
      sale_price: 18,
      category: 'Clothing > Accessories',
      image_url: 'https://woocommercecore.mystagingwebsite.com/wp-content/uploads/2017/12/beanie-2.jpg',
    });
    const tee = get(s.products, 'woo-vneck-tee');
    expect(tee.fields.weight).toBe(0.5);
    expect(tee.attributes.Images).toHaveLength(3);
    expect(tee.fields.image_url).toBe((tee.attributes.Images as string[])[0]);
  });
});
