import path from 'node:path';

/**
 * The real shop exports the suite reads (a Shopify product template and a WooCommerce sample
 * export), kept in the repository so a fresh clone has everything its tests need.
 */
export const SAMPLES = path.resolve(import.meta.dirname, '../fixtures/samples');

/** The path of one sample export. */
export function samplePath(file: 'shopify-product-template.csv' | 'woocommerce-sample-products.csv'): string {
  return path.join(SAMPLES, file);
}
