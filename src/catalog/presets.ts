import type { ParseWarning, RawRecord } from '../parse/types.js';
import { type CanonicalField, FIELD_TYPES } from './fields.js';
import {
  columnCountIssue,
  createNormalizer,
  type FieldValue,
  type HeaderPlan,
  type NormalizeResult,
  planHeader,
} from './normalize.js';
import { type DecimalSeparator, readNumber } from './numbers.js';

/**
 * Export presets: the shop exports merchants do not choose (SPEC §2 `preset`). A preset
 * gives the export's default mapping and reshapes each raw CSV record before the normalizer
 * maps and types it: Shopify variant rows inherit their product's columns, WooCommerce
 * parents given as `id:NN` become SKUs, and so on. Streaming: the state is one Shopify
 * product row, or a bounded map of WooCommerce parent IDs.
 */
export const PRESETS = ['shopify', 'woocommerce'] as const;
export type Preset = (typeof PRESETS)[number];

type Mapping = Partial<Record<CanonicalField, string>>;

/** A row kept as a product but worth a person's look; unlike a RowIssue it skips nothing. */
export interface RowWarning {
  line: number;
  sku: string | null;
  code: RowWarningCode;
  message: string;
}
export type RowWarningCode = 'barcode_scientific_notation' | 'parent_not_found';

/** A record that is not a product and not an error (a Shopify image row). */
export interface SkippedRow {
  line: number;
  reason: 'image_row';
  message: string;
}

/** What a preset made of one record: the record to normalize, or why there is none. */
export interface PresetStep {
  record?: RawRecord;
  /** Attributes to set on the product after normalization: lists a CSV cell cannot carry. */
  attributes?: Record<string, FieldValue>;
  skipped?: SkippedRow;
  warnings: RowWarning[];
}

export interface PresetTransform {
  preset: Preset;
  /** The feed's header, then the columns the preset derives (`price (shopify)`, …). */
  header: string[];
  /** For planHeader: the preset's defaults, each overridden by the definition's own mapping. */
  mapping: Mapping;
  /** Indexes of the feed's own columns that hold numbers (prices, stock, weight), for detection. */
  numericColumns: number[];
  transform(record: RawRecord): PresetStep;
}

const SHOPIFY_SIGNATURE = ['Handle', 'Variant SKU', 'Variant Price'];
const WOO_SIGNATURE = ['SKU', 'Regular price', 'In stock?', 'Parent'];

/** Recognises a Shopify or WooCommerce product export by its (English) column names. */
export function detectPreset(header: string[]): Preset | undefined {
  const names = new Set(header.map((h) => h.trim()));
  if (SHOPIFY_SIGNATURE.every((c) => names.has(c))) return 'shopify';
  if (WOO_SIGNATURE.every((c) => names.has(c))) return 'woocommerce';
  return undefined;
}

/** Column lookup by name (the first of repeated names, as planHeader maps them). */
class Columns {
  private readonly index = new Map<string, number>();
  constructor(readonly header: string[]) {
    header.forEach((name, i) => {
      if (!this.index.has(name)) this.index.set(name, i);
    });
  }
  at(name: string | undefined): number | undefined {
    return name === undefined ? undefined : this.index.get(name);
  }
  has(name: string): boolean {
    return this.index.has(name);
  }
  /** The first of these columns the header has. */
  first(...names: string[]): string | undefined {
    return names.find((n) => this.index.has(n));
  }
  cell(values: string[], name: string): string {
    const i = this.index.get(name);
    return i === undefined ? '' : (values[i] ?? '').trim();
  }
}

/** One record reshaped by a preset: `values` edited in place, plus the derived fields' cells. */
interface Shaped {
  values: string[];
  derived: Partial<Record<CanonicalField, string>>;
  attributes?: Record<string, FieldValue>;
  skipped?: SkippedRow;
  warnings: RowWarning[];
}

interface PresetSpec {
  /** The export's SKU column: mapped whether or not the header has it (see createPresetTransform). */
  sku: string;
  /** Default field → source column, for the columns this header has. */
  defaults(cols: Columns): Mapping;
  /** Fields computed per row, in groups that stand or fall together (price with sale_price). */
  derived: CanonicalField[][];
  /** The export's columns the derived numeric fields are computed from. */
  numericSources: string[];
  start(cols: Columns, decimal: DecimalSeparator): (values: string[], line: number) => Shaped;
}

/**
 * The preset's mapping and record transformer for a feed with this header. `explicit` is
 * the catalog definition's mapping: a field it maps keeps that column, and a derived group
 * any of whose fields it maps is not derived.
 */
export function createPresetTransform(
  preset: Preset,
  header: string[],
  explicit: Mapping = {},
  decimal: DecimalSeparator = '.',
): PresetTransform {
  const spec = SPECS[preset];
  const cols = new Columns(header);
  const derived = spec.derived.filter((group) => group.every((f) => explicit[f] === undefined)).flat();
  const derivedColumns = derived.map((f) => `${f} (${preset})`);
  // The SKU column is mapped even when the header lacks it: a feed without it is not this
  // export (a preset set by hand on another shop's file), and the run is held for that
  // missing column instead of every row failing for want of a sku.
  const mapping: Mapping = { sku: spec.sku, ...spec.defaults(cols) };
  derived.forEach((f, i) => {
    mapping[f] = derivedColumns[i];
  });
  Object.assign(mapping, explicit);
  const gtinAt = cols.at(mapping.gtin);
  const skuAt = cols.at(mapping.sku);
  const mappedColumns = new Set(Object.values(mapping));
  const shape = spec.start(cols, decimal);
  const numericColumns = [
    ...Object.entries(mapping).flatMap(([field, column]) =>
      FIELD_TYPES[field as CanonicalField] === 'decimal' || FIELD_TYPES[field as CanonicalField] === 'integer'
        ? [column]
        : [],
    ),
    ...spec.numericSources,
  ].flatMap((column) => {
    const at = cols.at(column);
    return at === undefined ? [] : [at];
  });

  return {
    preset,
    header: [...header, ...derivedColumns],
    mapping,
    numericColumns: [...new Set(numericColumns)],
    transform(record) {
      const values = header.map((_, i) => record.values[i] ?? '');
      const s = shape(values, record.line);
      if (s.skipped) return { skipped: s.skipped, warnings: s.warnings };
      const sku = skuAt === undefined ? '' : (values[skuAt] ?? '').trim();
      const warnings = [...s.warnings];
      const gtin = gtinAt === undefined ? '' : (values[gtinAt] ?? '').trim();
      if (EXCEL_EXPONENT.test(gtin)) {
        warnings.push({
          line: record.line,
          sku: sku || null,
          code: 'barcode_scientific_notation',
          message: `barcode "${gtin}" in column "${mapping.gtin}" is in scientific notation, as a spreadsheet writes long numbers: its last digits are lost; kept as written`,
        });
      }
      const attributes = s.attributes && omitKeys(s.attributes, mappedColumns);
      return {
        record: { line: record.line, values: [...values, ...derived.map((f) => s.derived[f] ?? '')] },
        ...(attributes ? { attributes } : {}),
        warnings,
      };
    },
  };
}

/** What a preset normalizer makes of one record. */
export interface PresetResult {
  /** Absent when the record was skipped as not a product. */
  result?: NormalizeResult;
  skipped?: SkippedRow;
  warnings: RowWarning[];
}

/**
 * The import's normalizer for a preset feed: the preset's transform, then the CSV normalizer
 * over the extended header and merged mapping. `skuColumn` is the column the sku is read
 * from (the export's `Variant SKU` or `SKU`, unless the definition maps another).
 */
export function createPresetNormalizer(
  preset: Preset,
  header: string[],
  explicit: Mapping | undefined,
  mode: 'full' | 'partial',
  decimal: DecimalSeparator = '.',
  warnings?: ParseWarning[],
): {
  plan: HeaderPlan;
  skuColumn: string;
  numericColumns: number[];
  normalize: (record: RawRecord) => PresetResult;
} {
  const t = createPresetTransform(preset, header, explicit, decimal);
  const plan = planHeader(t.header, t.mapping);
  const normalize = createNormalizer(plan, mode, decimal, warnings);
  const skuIndex = header.indexOf(t.mapping.sku ?? SPECS[preset].sku);
  const skuAt = skuIndex === -1 ? undefined : skuIndex;
  return {
    plan,
    skuColumn: t.mapping.sku ?? SPECS[preset].sku,
    numericColumns: t.numericColumns,
    normalize(record) {
      // Checked on the export's own columns: the transform pads a short record.
      const wrongWidth = columnCountIssue(record, header.length, skuAt);
      if (wrongWidth) return { result: { ok: false, issue: wrongWidth }, warnings: [] };
      const step = t.transform(record);
      if (!step.record) return { skipped: step.skipped, warnings: step.warnings };
      const result = normalize(step.record);
      if (result.ok && step.attributes) Object.assign(result.product.attributes, step.attributes);
      return { result, warnings: step.warnings };
    },
  };
}

// Excel shows a long number as `3.65275E+11` and saves it so (`3,65275E+11` in comma locales).
const EXCEL_EXPONENT = /^\d+(?:[.,]\d+)?E\+\d+$/i;

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

const shopify: PresetSpec = {
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

// ---------------------------------------------------------------------------------------
// WooCommerce: one row per product or variation; a variation names its parent.

/** Parent IDs remembered to resolve `id:NN`; the oldest are forgotten beyond this. */
export const MAX_WOO_PARENT_IDS = 100_000;

const woocommerce: PresetSpec = {
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

const SPECS: Record<Preset, PresetSpec> = { shopify, woocommerce };

/** The entries of a default mapping whose column the header has. */
function present(cols: Columns, defaults: Record<string, string | undefined>): Mapping {
  const out: Mapping = {};
  for (const [field, column] of Object.entries(defaults)) {
    if (column !== undefined && cols.has(column)) out[field as CanonicalField] = column;
  }
  return out;
}

function omitKeys(
  attributes: Record<string, FieldValue>,
  keys: ReadonlySet<string | undefined>,
): Record<string, FieldValue> | undefined {
  const kept = Object.entries(attributes).filter(([k]) => !keys.has(k));
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}
