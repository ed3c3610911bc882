import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { createNormalizer, planHeader } from '../../../src/catalog/normalize.js';
import { PACKAGE_ROOT } from '../../../src/config/config.js';
import type { CatalogDefinition } from '../../../src/model/catalog.js';
import { parseRuleSet } from '../../../src/rules/files.js';
import type { Product, RuleSet } from '../../../src/rules/types.js';
import { SAMPLES } from '../../helpers/samples.js';

/** The Shopify template's columns mapped as a merchant would map them. */
export const SHOPIFY_MAPPING: CatalogDefinition['mapping'] = {
  sku: 'Variant SKU',
  title: 'Title',
  brand: 'Vendor',
  price: 'Variant Price',
  quantity: 'Variant Inventory Qty',
  status: 'Status',
  gtin: 'Variant Barcode',
};

/**
 * Products of a shared sample export, read with csv-parse and typed by the import's own
 * normalizer (so quantity, manage_stock and status are what the store would hold).
 */
export function sampleProducts(file: string, mapping: CatalogDefinition['mapping']): Product[] {
  const rows = parse(readFileSync(path.join(SAMPLES, file)), {
    bom: true,
    relax_column_count: true,
  }) as string[][];
  const [header = [], ...records] = rows;
  const normalize = createNormalizer(planHeader(header, mapping), 'full');
  return records.flatMap((values, i) => {
    const r = normalize({ line: i + 2, values });
    return r.ok ? [{ sku: r.product.sku, fields: r.product.fields, attributes: r.product.attributes }] : [];
  });
}

/** The Shopify product template (17 variants, one blank row skipped). */
export function shopifyProducts(): Product[] {
  return sampleProducts('shopify-product-template.csv', SHOPIFY_MAPPING);
}

/** The WooCommerce sample, mapped as the repository's example catalog maps it. */
export function wooProducts(): Product[] {
  const def = JSON.parse(
    readFileSync(path.join(PACKAGE_ROOT, 'feeds', 'example.json'), 'utf8'),
  ) as CatalogDefinition;
  return sampleProducts('woocommerce-sample-products.csv', def.mapping);
}

/** An example rule set from `rules/`, validated. */
export function exampleRuleSet(name: string): RuleSet {
  const file = path.join('rules', `${name}.json`);
  const parsed = parseRuleSet(readFileSync(path.join(PACKAGE_ROOT, file), 'utf8'), file);
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  return parsed.ruleSet;
}

/** A product from its fields and attributes (null-prototype objects, as the import makes them). */
export function product(fields: Record<string, unknown>, attributes: Record<string, unknown> = {}): Product {
  const f = Object.assign(Object.create(null), { sku: 'SKU-1', ...fields });
  return { sku: f.sku as string, fields: f, attributes: Object.assign(Object.create(null), attributes) };
}

/** A product with one field changed (the sample rows have no quantity between 1 and 3). */
export function withFields(p: Product, fields: Record<string, unknown>): Product {
  return { ...p, fields: Object.assign(Object.create(null), p.fields, fields) };
}
