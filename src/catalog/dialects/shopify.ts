import { readNumber } from '../numbers.js';
import { type DialectSpec, present } from './spec.js';

// ---------------------------------------------------------------------------------------
// Shopify: one row per variant; the product's columns are written on its first row only.

const SHOPIFY_PRODUCT_COLUMNS = new Set([
  'Title',
  'Body (HTML)',
  'Vendor',
  'Product Category',
  'Standardized Product Type',
  'Custom Product Type',
  'Type',
  'Tags',
  'Published',
  'Option1 Name',
  'Option2 Name',
  'Option3 Name',
  'Gift Card',
  'SEO Title',
  'SEO Description',
  'Status',
]);

/** Columns written once per product; an MPN, like a barcode, belongs to one variant. */
function isShopifyProductColumn(name: string): boolean {
  return (
    SHOPIFY_PRODUCT_COLUMNS.has(name) ||
    (name.startsWith('Google Shopping / ') && name !== 'Google Shopping / MPN') ||
    name.startsWith('Included / ') ||
    name.includes('(product.metafields.')
  );
}

/** Shopify's product export (Products → Export, CSV for Excel or plain CSV). */
export const shopify: DialectSpec<'shopify'> = {
  name: 'shopify',
  signature: ['Handle', 'Variant SKU', 'Variant Price'],
  sku: 'Variant SKU',
  defaults: (cols) =>
    present(cols, {
      title: 'Title',
      description: 'Body (HTML)',
      brand: 'Vendor',
      gtin: 'Variant Barcode',
      mpn: 'Google Shopping / MPN',
      quantity: 'Variant Inventory Qty',
      // Status (active, draft, archived) is the product's state; older exports only have Published.
      status: cols.first('Status', 'Published'),
      category: cols.first('Product Category', 'Type'),
      condition: 'Google Shopping / Condition',
      weight: 'Variant Grams',
    }),
  derived: [['price', 'sale_price'], ['availability'], ['image_url']],
  numericSources: ['Variant Price', 'Variant Compare At Price'],
  start(cols, decimal) {
    const productColumns = cols.header.flatMap((name, i) => (isShopifyProductColumn(name) ? [i] : []));
    const imageRowColumns = new Set(
      cols.header.flatMap((name, i) => (name === 'Handle' || name.startsWith('Image ') ? [i] : [])),
    );
    const qtyAt = cols.at('Variant Inventory Qty');
    const tracked = cols.has('Variant Inventory Tracker');
    let handle: string | undefined;
    // The current Handle's first row: the only state kept.
    let product: string[] = [];

    return (values, line) => {
      const h = cols.cell(values, 'Handle');
      const first = h !== handle || h === '';
      if (first) {
        handle = h === '' ? undefined : h;
        product = h === '' ? [] : values.slice();
      }

      const image = cols.cell(values, 'Image Src');
      const imageOnly =
        cols.cell(values, 'Variant SKU') === '' &&
        image !== '' &&
        values.every((v, i) => v.trim() === '' || imageRowColumns.has(i));
      if (imageOnly) {
        const position = cols.cell(values, 'Image Position');
        return {
          values,
          derived: {},
          skipped: {
            line,
            reason: 'image_row',
            message: `image${position ? ` ${position}` : ''} of "${h}" (${image}): an image of the product, not a product`,
          },
          warnings: [],
        };
      }
      if (!first) {
        for (const i of productColumns) {
          if ((values[i] ?? '').trim() === '' && product[i]) values[i] = product[i];
        }
      }

      // An empty tracker: Shopify does not count this variant's stock (its quantity is a
      // stale 0); the product stays on sale whatever the count.
      const managed = !tracked || cols.cell(values, 'Variant Inventory Tracker') !== '';
      if (!managed && qtyAt !== undefined) values[qtyAt] = '';

      // Compare-at above the price is Shopify's "was" price: Google's price is the regular
      // price and sale_price what the customer pays now.
      const price = cols.cell(values, 'Variant Price');
      const compareAt = cols.cell(values, 'Variant Compare At Price');
      const p = readNumber(price, decimal, { currency: true });
      const c = readNumber(compareAt, decimal, { currency: true });
      const onSale = p.ok && c.ok && c.value > p.value;

      return {
        values,
        derived: {
          price: onSale ? compareAt : price,
          sale_price: onSale ? price : '',
          availability: managed ? '' : 'in_stock',
          image_url:
            cols.cell(values, 'Variant Image') ||
            cols.cell(product, 'Image Src') ||
            cols.cell(values, 'Image Src'),
        },
        warnings: [],
      };
    };
  },
};
