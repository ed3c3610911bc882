import { type DialectSpec, present, type RowWarning } from './spec.js';

// ---------------------------------------------------------------------------------------
// WooCommerce: one row per product or variation; a variation names its parent.

/** Parent IDs remembered to resolve `id:NN`; the oldest are forgotten beyond this. */
export const MAX_WOO_PARENT_IDS = 100_000;

/** WooCommerce's built-in product exporter (Products → Export). */
export const woocommerce: DialectSpec<'woocommerce'> = {
  name: 'woocommerce',
  signature: ['SKU', 'Regular price', 'In stock?', 'Parent'],
  sku: 'SKU',
  defaults: (cols) =>
    present(cols, {
      title: 'Name',
      description: 'Description',
      brand: 'Brands',
      gtin: 'GTIN, UPC, EAN, or ISBN',
      price: 'Regular price',
      sale_price: 'Sale price',
      // Empty when WooCommerce does not manage the stock: the normalizer then sets manage_stock false.
      quantity: 'Stock',
      // 1 published, 0 draft or pending, -1 private.
      status: 'Published',
      weight: cols.header.find((h) => h.startsWith('Weight (')),
    }),
  derived: [['parent_sku'], ['availability'], ['image_url'], ['category']],
  numericSources: [],
  start(cols) {
    const parents = new Map<string, string>();
    return (values, line) => {
      const sku = cols.cell(values, 'SKU');
      const id = cols.cell(values, 'ID');
      if (id && sku && splitList(cols.cell(values, 'Type')).includes('variable')) {
        if (parents.size >= MAX_WOO_PARENT_IDS) parents.delete(parents.keys().next().value as string);
        parents.set(id, sku);
      }
      const warnings: RowWarning[] = [];
      let parent = cols.cell(values, 'Parent');
      const ref = /^id:(\d+)$/.exec(parent)?.[1];
      if (ref !== undefined) {
        const known = parents.get(ref);
        if (known !== undefined) parent = known;
        else {
          warnings.push({
            line,
            sku: sku || null,
            code: 'parent_not_found',
            message: `parent "${parent}" is not a variable product earlier in the file; kept as written`,
          });
        }
      }
      const images = splitList(cols.cell(values, 'Images'));
      const stock = cols.cell(values, 'Stock');
      return {
        values,
        derived: {
          parent_sku: parent,
          // With managed stock the quantity says it; without, "In stock?" is the only word.
          availability: stock === '' ? wooAvailability(cols.cell(values, 'In stock?')) : '',
          image_url: images[0] ?? '',
          category: splitList(cols.cell(values, 'Categories'))[0] ?? '',
        },
        ...(images.length > 0 ? { attributes: { Images: images } } : {}),
        warnings,
      };
    };
  },
};

function wooAvailability(inStock: string): string {
  if (inStock === '1') return 'in_stock';
  if (inStock === '0') return 'out_of_stock';
  if (inStock.toLowerCase() === 'backorder') return 'backorder';
  return inStock;
}

/** WooCommerce's lists: comma-separated, a comma inside a value written `\,`. */
function splitList(cell: string): string[] {
  if (cell === '') return [];
  return cell
    .split(/(?<!\\),/)
    .map((v) => v.replaceAll('\\,', ',').trim())
    .filter((v) => v !== '');
}
