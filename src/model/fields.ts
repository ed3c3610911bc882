/** The canonical product fields (SPEC §1), in the order they are shown and stored. */
export const CANONICAL_FIELDS = [
  'sku',
  'parent_sku',
  'title',
  'description',
  'brand',
  'gtin',
  'mpn',
  'price',
  'sale_price',
  'currency',
  'quantity',
  'manage_stock',
  'status',
  'availability',
  'url',
  'image_url',
  'category',
  'condition',
  'weight',
] as const;

export type CanonicalField = (typeof CANONICAL_FIELDS)[number];

/**
 * Google Shopping's names of the canonical fields it names otherwise (`g:id` is the sku,
 * `g:link` the url…): read from a Google feed on import, written by the google-shopping
 * channel preset. The others (`title`, `description`, `brand`, `gtin`, `mpn`, `condition`,
 * `price`, `sale_price`, `availability`, `quantity`) have the canonical name.
 */
export const GOOGLE_FIELD_NAMES: Readonly<Partial<Record<CanonicalField, string>>> = {
  sku: 'id',
  url: 'link',
  image_url: 'image_link',
  parent_sku: 'item_group_id',
  category: 'product_type',
};

/** A canonical field's name in Google Shopping's product data. */
export function googleName(field: CanonicalField): string {
  return GOOGLE_FIELD_NAMES[field] ?? field;
}

/**
 * The largest quantity a product may have: far above any real stock, far below what a barcode
 * pasted into the stock column reads as (`4006381333931`). Refused past it at import, in stock
 * pushes and order lines; rules never take a quantity past it.
 */
export const MAX_QUANTITY = 1_000_000_000;

/**
 * The longest sku, in characters: what marketplaces take (Google's `id` 50, most others 50 to
 * 100), and what every route that names a product can carry. A longer one is a row error.
 */
export const MAX_SKU_LENGTH = 100;

/** How a canonical field's cell is typed. */
export type FieldType = 'text' | 'decimal' | 'integer' | 'boolean' | 'status';

export const FIELD_TYPES: Record<CanonicalField, FieldType> = {
  sku: 'text',
  parent_sku: 'text',
  title: 'text',
  description: 'text',
  brand: 'text',
  gtin: 'text',
  mpn: 'text',
  price: 'decimal',
  sale_price: 'decimal',
  currency: 'text',
  quantity: 'integer',
  manage_stock: 'boolean',
  status: 'status',
  availability: 'text',
  url: 'text',
  image_url: 'text',
  category: 'text',
  condition: 'text',
  weight: 'decimal',
};

const CANONICAL_SET: ReadonlySet<string> = new Set(CANONICAL_FIELDS);

/** Whether a name is one of the canonical product fields. */
export function isCanonicalField(name: string): name is CanonicalField {
  return CANONICAL_SET.has(name);
}
