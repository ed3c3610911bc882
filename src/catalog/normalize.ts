import type { CatalogDefinition, DecimalSeparator } from '../model/catalog.js';
import {
  CANONICAL_FIELDS,
  type CanonicalField,
  FIELD_TYPES,
  GOOGLE_FIELD_NAMES,
  MAX_QUANTITY,
  MAX_SKU_LENGTH,
} from '../model/fields.js';
import type { FieldValue, NormalizedProduct } from '../model/product.js';
import { type KeyedRecord, type RawValue, scalarText, valueAt } from '../parse/records.js';
import type { ParseWarning, RawRecord, RowIssue } from '../parse/types.js';
import { readNumber } from './numbers.js';

/** A JSON value as stored in a product's fields or attributes. */
/** A JSON value: canonical fields are scalars; attributes of XML and JSON feeds may be lists or objects. */
export type NormalizeResult = { ok: true; product: NormalizedProduct } | { ok: false; issue: RowIssue };

/** How the header was understood: which column feeds which field, and what is missing. */
export interface HeaderPlan {
  /** Canonical field → column index. */
  fields: Array<{ field: CanonicalField; index: number; column: string }>;
  /** Attribute name → column index (every column not mapped to a field). */
  attributes: Array<{ name: string; index: number }>;
  /** Mapped columns that the header lacks. */
  missingColumns: string[];
  /** Header columns that appear more than once (later ones are renamed `name (2)`). */
  duplicateColumns: string[];
  /** How many columns the header has: every record must have as many. */
  width: number;
}

/**
 * Plans the mapping of a header. Explicit mapping wins; a canonical field without a
 * mapping is taken from a column of the same name, if there is one.
 */
export function planHeader(header: string[], mapping: CatalogDefinition['mapping'] = {}): HeaderPlan {
  const names: string[] = [];
  const seen = new Map<string, number>();
  const duplicateColumns: string[] = [];
  for (const raw of header) {
    const count = (seen.get(raw) ?? 0) + 1;
    seen.set(raw, count);
    if (count > 1) duplicateColumns.push(raw);
    names.push(count > 1 ? `${raw} (${count})` : raw);
  }
  const indexOf = new Map(names.map((n, i) => [n, i]));
  const fields: HeaderPlan['fields'] = [];
  const missingColumns: string[] = [];
  const used = new Set<number>();
  for (const field of CANONICAL_FIELDS) {
    const column = mapping[field];
    if (column !== undefined) {
      const index = indexOf.get(column);
      if (index === undefined) missingColumns.push(column);
      else {
        fields.push({ field, index, column });
        used.add(index);
      }
    } else {
      const index = indexOf.get(field);
      if (index !== undefined && !used.has(index)) {
        fields.push({ field, index, column: field });
        used.add(index);
      }
    }
  }
  const attributes = names.flatMap((name, index) =>
    used.has(index) || name === '' ? [] : [{ name, index }],
  );
  return { fields, attributes, missingColumns, duplicateColumns, width: header.length };
}

/**
 * The row issue of a CSV record whose number of cells is not the header's, naming the sku
 * read from `skuIndex` when there is one (a stray comma in a title shifts the cells after
 * it, not the sku before it): the product keeps its last imported version instead of being
 * removed.
 */
export function columnCountIssue(
  record: RawRecord,
  width: number,
  skuIndex: number | undefined,
): RowIssue | undefined {
  if (record.values.length === width) return undefined;
  const sku = skuIndex === undefined ? '' : (record.values[skuIndex] ?? '').replaceAll('\u0000', '').trim();
  return {
    line: record.line,
    // A sku too long to be one names no product (skuTooLong refuses it in a valid row).
    sku: sku === '' || [...sku].length > MAX_SKU_LENGTH ? null : sku,
    code: 'column_count',
    message: `expected ${width} columns, found ${record.values.length}`,
  };
}

// A number as a spreadsheet would show it, without leading zeros that carry meaning (GTINs, zip codes).
const PLAIN_NUMBER = /^-?(?:0|[1-9]\d{0,14})(?:\.\d+)?$|^-?\.\d+$/;
const TRUE_WORDS = new Set(['1', 'true', 'yes', 'y', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'n', 'off']);
/**
 * The status words of the common shop exports (the README's table): Shopify `active`,
 * `draft`, `archived`; WooCommerce `publish`, `draft`, `pending`, `private`, `future` and its
 * `Published` 1, 0, -1; Magento's `status` and `product_online` 1 (enabled) and 2 (disabled);
 * PrestaShop's and Shopware's `active` 1/0; BigCommerce's `Product Visible?` Y/N.
 */
const ACTIVE_WORDS = new Set([
  'active',
  'published',
  'publish',
  'enabled',
  'online',
  'visible',
  ...TRUE_WORDS,
]);
const INACTIVE_WORDS = new Set([
  'inactive',
  'draft',
  'archived',
  'private',
  'pending',
  'future',
  'unpublished',
  'disabled',
  'offline',
  'hidden',
  '-1',
  '2',
  ...FALSE_WORDS,
]);

/** A typed canonical value, or the row issue that refuses the row. */
type Typed = { ok: true; value: FieldValue } | { ok: false; issue: RowIssue };

/**
 * Types one non-empty cell of a canonical field: numbers with the feed's decimal separator
 * and any thousands grouping (a price may carry its currency, `12.50 EUR`, `€ 4,50`), whole
 * quantities ≥ 0 (`100.0000` is 100), the shops' booleans and status words. `currency`
 * receives a price's currency code when it has one.
 */
function typeCanonical(
  field: CanonicalField,
  cell: string,
  column: string,
  line: number,
  sku: string,
  currency: (code: string) => void,
  decimal: DecimalSeparator,
): Typed {
  switch (FIELD_TYPES[field]) {
    case 'text':
      return { ok: true, value: cell };
    case 'decimal': {
      const isPrice = field === 'price' || field === 'sale_price';
      const n = readNumber(cell, decimal, { currency: isPrice, exponent: true });
      if (!n.ok) {
        return fail(
          line,
          sku,
          isPrice ? 'invalid_price' : 'invalid_number',
          n.reason === 'out_of_range'
            ? `${field} "${cut(cell)}" in column "${column}" is too large to be a number`
            : `${field} "${cut(cell)}" in column "${column}" is not a number (the feed's decimal separator is "${decimal}")`,
        );
      }
      if (n.currency !== undefined) currency(n.currency);
      return { ok: true, value: n.value };
    }
    case 'integer': {
      const n = readNumber(cell, decimal);
      if (!n.ok || n.value < 0 || !Number.isSafeInteger(n.value)) {
        return fail(
          line,
          sku,
          'invalid_quantity',
          `${field} "${cut(cell)}" in column "${column}" is not a whole number ≥ 0`,
        );
      }
      if (n.value > MAX_QUANTITY) {
        return fail(
          line,
          sku,
          'invalid_quantity',
          `${field} "${cut(cell)}" in column "${column}" is more than ${MAX_QUANTITY.toLocaleString('en-US')}: a barcode in the stock column?`,
        );
      }
      return { ok: true, value: n.value };
    }
    case 'boolean': {
      const b = parseBoolean(cell);
      if (b === undefined) {
        return fail(
          line,
          sku,
          'invalid_boolean',
          `${field} "${cut(cell)}" in column "${column}" is not yes/no, true/false or 1/0`,
        );
      }
      return { ok: true, value: b };
    }
    case 'status': {
      const word = cell.toLowerCase();
      if (ACTIVE_WORDS.has(word)) return { ok: true, value: 'active' };
      if (INACTIVE_WORDS.has(word)) return { ok: true, value: 'inactive' };
      return fail(
        line,
        sku,
        'invalid_status',
        `status "${cut(cell)}" in column "${column}" is not active or inactive`,
      );
    }
  }
}

/**
 * Fills `fields` from (field, cell) pairs and derives the stock rule: an empty quantity
 * means the shop does not manage this product's stock, unless a manage_stock column says
 * otherwise. Returns the row issue that refuses the row, if any.
 */
function fillFields(
  fields: Record<string, FieldValue>,
  cells: Iterable<{ field: CanonicalField; column: string; cell: string | undefined }>,
  line: number,
  sku: string,
  keepNulls: boolean,
  hasQuantity: boolean,
  decimal: DecimalSeparator,
): RowIssue | undefined {
  let currency: string | undefined;
  const setCurrency = (code: string) => {
    currency = code;
  };
  for (const { field, column, cell } of cells) {
    if (cell === undefined || cell === '') {
      if (keepNulls) fields[field] = null;
      continue;
    }
    const typed = typeCanonical(field, cell, column, line, sku, setCurrency, decimal);
    if (!typed.ok) return typed.issue;
    fields[field] = typed.value;
  }
  if (currency !== undefined && (fields.currency === undefined || fields.currency === null))
    fields.currency = currency;
  if (hasQuantity && (fields.manage_stock === undefined || fields.manage_stock === null)) {
    fields.manage_stock = typeof fields.quantity === 'number';
  }
  return undefined;
}

/**
 * Turns raw records into products: types the canonical fields, keeps every other column
 * as a typed attribute, and reports a row that cannot be a product as a RowIssue.
 * In partial mode, empty mapped cells become explicit nulls (they clear the field).
 * `decimal` is the feed's decimal separator (see settleDecimalSeparator).
 */
export function createNormalizer(
  plan: HeaderPlan,
  mode: 'full' | 'partial',
  decimal: DecimalSeparator = '.',
  warnings?: ParseWarning[],
) {
  const nul = new NulRemover();
  const clean = (s: string, column: string) => nul.clean(s, column);
  const skuCol = plan.fields.find((f) => f.field === 'sku');
  const hasQuantity = plan.fields.some((f) => f.field === 'quantity');
  const otherFields = plan.fields.filter((f) => f.field !== 'sku');
  const keepNulls = mode === 'partial';

  function normalizeRow(record: RawRecord): NormalizeResult {
    const { values, line } = record;
    const wrongWidth = columnCountIssue(record, plan.width, skuCol?.index);
    if (wrongWidth) return { ok: false, issue: wrongWidth };
    const sku = skuCol ? clean(values[skuCol.index] ?? '', skuCol.column).trim() : '';
    if (sku === '') {
      return fail(
        line,
        null,
        'missing_sku',
        skuCol ? `no sku in column "${skuCol.column}"` : 'no sku column',
      );
    }
    const tooLong = skuTooLong(sku, line, `column "${skuCol?.column}"`);
    if (tooLong) return tooLong;
    const fields: Record<string, FieldValue> = Object.create(null);
    fields.sku = sku;
    const cells = otherFields.map(({ field, index, column }) => ({
      field,
      column,
      cell: clean(values[index] ?? '', column).trim(),
    }));
    const issue = fillFields(fields, cells, line, sku, keepNulls, hasQuantity, decimal);
    if (issue) return { ok: false, issue };
    const attributes: Record<string, FieldValue> = Object.create(null);
    for (const { name, index } of plan.attributes) {
      const cell = clean(values[index] ?? '', name);
      if (cell.trim() === '') {
        if (keepNulls) attributes[name] = null;
        continue;
      }
      attributes[name] = typeAttribute(cell);
    }
    return { ok: true, product: { line, sku, fields, attributes } };
  }

  return function normalize(record: RawRecord): NormalizeResult {
    const result = normalizeRow(record);
    nul.report(record.line, result, warnings);
    return result;
  };
}

/**
 * Google's product attributes that may be given several times, from Google Merchant Center's
 * product data specification (https://support.google.com/merchants/answer/7052112): kept as
 * a list even when an item gives one, so that a rule or a channel reads them the same way
 * whatever the item (a single `g:certification` is a list of one, as two are a list of two).
 */
export const GOOGLE_REPEATED_NAMES: readonly string[] = [
  'additional_image_link',
  'lifestyle_image_link',
  'product_type',
  'product_detail',
  'product_highlight',
  'size_type',
  'certification',
  'loyalty_program',
  'promotion_id',
  'shipping',
  'carrier_shipping',
  'free_shipping_threshold',
  'shipping_handling_business_days',
  'shipping_transit_business_days',
  'tax',
  'included_destination',
  'excluded_destination',
  'shopping_ads_excluded_country',
  'consumer_notice',
  'display_ads_similar_id',
];

/** Where a keyed feed holds each canonical field: keys or paths, tried in order; the first present wins. */
export type KeyedColumns = Record<CanonicalField, readonly string[]>;

/** How a keyed feed is read into products. */
export interface KeyedPlan {
  columns: KeyedColumns;
  /** Attributes kept as lists even when an item gives one value. */
  lists: ReadonlySet<string>;
}

/** What a keyed feed tells about its names (see KeyedFeed). */
export interface KeyedNames {
  /** The prefixes the feed binds to Google's namespace (`g`): a Google Shopping feed. */
  googlePrefixes: readonly string[];
  /** The name a key written `g:price` has in the records (`price`), or null if kept. */
  strippedName(name: string): string | null;
}

/**
 * Plans how a keyed feed is read: where each canonical field is, which attributes are lists.
 * A mapped field reads its
 * column, or the same path with namespace prefixes stripped when the feed strips them (a
 * mapping written `g:id` finds the `id` of a feed whose `g:` is stripped). An unmapped field
 * reads the key of its own name; in a Google Shopping feed, then its Google name, prefixed
 * first: `g:id` before `id` for the sku, as an Atom entry's own `id` is not the product's.
 * With the prefixes kept (`stripNamespaces: []`), `g:price` is still found for `price`.
 * Google's repeatable attributes (GOOGLE_REPEATED_NAMES) are lists in a Google feed.
 */
export function planKeyedFeed(mapping: CatalogDefinition['mapping'] = {}, names: KeyedNames): KeyedPlan {
  const out = Object.create(null) as Record<CanonicalField, string[]>;
  for (const field of CANONICAL_FIELDS) {
    const column = mapping[field];
    const list: string[] = [];
    const add = (key: string) => {
      if (!list.includes(key)) list.push(key);
    };
    if (column !== undefined) {
      add(column);
      add(
        column
          .split('/')
          .map((part) => names.strippedName(part) ?? part)
          .join('/'),
      );
    } else {
      add(field);
      for (const p of names.googlePrefixes) add(`${p}:${field}`);
      const google = GOOGLE_FIELD_NAMES[field];
      if (google !== undefined && names.googlePrefixes.length > 0) {
        for (const p of names.googlePrefixes) add(`${p}:${google}`);
        add(google);
      }
    }
    out[field] = list;
  }
  const lists = new Set<string>();
  if (names.googlePrefixes.length > 0) {
    for (const name of GOOGLE_REPEATED_NAMES) {
      lists.add(name);
      for (const p of names.googlePrefixes) lists.add(`${p}:${name}`);
    }
  }
  return { columns: out, lists };
}

/**
 * The normalizer of keyed feeds (XML, JSON, NDJSON). A canonical field reads the first
 * present of its columns (see planKeyedFeed; by default the key its mapping names, or the
 * key of its own name; a path such as `g:shipping/g:price` reaches into nested elements);
 * every other top-level key is an attribute: text typed as in CSV, lists and nested objects
 * kept as JSON. In partial mode an absent key leaves the stored value alone, and an empty
 * one clears it.
 */
export function createKeyedNormalizer(
  { columns, lists }: KeyedPlan,
  mode: 'full' | 'partial',
  decimal: DecimalSeparator = '.',
  warnings?: ParseWarning[],
) {
  const nul = new NulRemover();
  const clean = (s: string, column: string) => nul.clean(s, column);
  const keepNulls = mode === 'partial';
  const plan = CANONICAL_FIELDS.map((field) => ({ field, columns: columns[field] }));
  const skuWhere = columns.sku.map((k) => `"${k}"`).join(' or ');
  // The first column of each field is never an attribute; another is not when it was read.
  const used = new Set(plan.map((p) => topKey(p.columns[0] ?? p.field)));
  const others = plan.filter((p) => p.field !== 'sku');

  function normalizeItem(record: KeyedRecord): NormalizeResult {
    const { data, line } = record;
    // Top-level keys read through a column other than a field's first: not attributes.
    const read: string[] = [];
    const skuAt = firstPresent(data, columns.sku, 'sku', read);
    const sku = clean(scalarText(skuAt.raw), skuAt.column).trim();
    if (sku === '') return fail(line, null, 'missing_sku', `no sku in ${skuWhere}`);
    const tooLong = skuTooLong(sku, line, `"${skuAt.column}"`);
    if (tooLong) return tooLong;
    const fields: Record<string, FieldValue> = Object.create(null);
    fields.sku = sku;
    const cells: Array<{ field: CanonicalField; column: string; cell: string | undefined }> = [];
    let quantityPresent = false;
    for (const { field, columns: keys } of others) {
      const { raw, column } = firstPresent(data, keys, field, read);
      if (raw === undefined && keepNulls) continue;
      if (field === 'quantity' && raw !== undefined) quantityPresent = true;
      cells.push({
        field,
        column,
        cell: raw === undefined ? undefined : clean(scalarText(raw), column).trim(),
      });
    }
    const issue = fillFields(fields, cells, line, sku, keepNulls, quantityPresent || !keepNulls, decimal);
    if (issue) return { ok: false, issue };
    const attributes: Record<string, FieldValue> = Object.create(null);
    for (const key of Object.keys(data)) {
      if (used.has(key) || read.includes(key)) continue;
      const value = toFieldValue(data[key] ?? null, (s) => clean(s, key));
      if (value === null || value === '') {
        if (keepNulls) attributes[key] = null;
        continue;
      }
      attributes[key] = lists.has(key) && !Array.isArray(value) ? [value] : value;
    }
    return { ok: true, product: { line, sku, fields, attributes } };
  }

  return function normalize(record: KeyedRecord): NormalizeResult {
    const result = normalizeItem(record);
    nul.report(record.line, result, warnings);
    return result;
  };
}

/**
 * The value of the first of `keys` present in `data` (the first key, or `fallback`, when
 * none is), and the key it was read from; a key other than the first that is read goes
 * into `read` (by its top-level key), so that it is not kept as an attribute too.
 */
function firstPresent(
  data: KeyedRecord['data'],
  keys: readonly string[],
  fallback: string,
  read: string[],
): { raw: RawValue | undefined; column: string } {
  for (const [i, key] of keys.entries()) {
    const raw = valueAt(data, key);
    if (raw === undefined) continue;
    if (i > 0) read.push(topKey(key));
    return { raw, column: key };
  }
  return { raw: undefined, column: keys[0] ?? fallback };
}

/** The top-level key of a path (`g:shipping` of `g:shipping/g:price`). */
function topKey(path: string): string {
  const slash = path.indexOf('/');
  return slash === -1 ? path : path.slice(0, slash);
}

function toFieldValue(v: RawValue, clean: (s: string) => string): FieldValue {
  if (v === null) return null;
  if (typeof v === 'string') return v.trim() === '' ? '' : typeAttribute(clean(v));
  if (Array.isArray(v)) return v.map((x) => toFieldValue(x, clean));
  const out: Record<string, FieldValue> = Object.create(null);
  for (const k of Object.keys(v)) out[k] = toFieldValue(v[k] ?? null, clean);
  return out;
}

/** A sku longer than MAX_SKU_LENGTH characters: the row error that refuses its row. */
function skuTooLong(sku: string, line: number, where: string): { ok: false; issue: RowIssue } | undefined {
  // UTF-16 units are never fewer than characters: most skus are settled without counting.
  if (sku.length <= MAX_SKU_LENGTH) return undefined;
  const length = [...sku].length;
  if (length <= MAX_SKU_LENGTH) return undefined;
  return fail(
    line,
    `${[...sku].slice(0, 40).join('')}…`,
    'sku_too_long',
    `the sku in ${where} has ${length.toLocaleString('en-US')} characters, more than the ${MAX_SKU_LENGTH} a sku may have`,
  );
}

/**
 * Removes NUL characters from a row's cells (PostgreSQL text cannot hold them) and tells,
 * once per row, which columns held them: the row is imported, with a warning.
 */
class NulRemover {
  private columns: string[] = [];

  clean(s: string, column: string): string {
    if (!s.includes('\u0000')) return s;
    if (!this.columns.includes(column)) this.columns.push(column);
    return s.replaceAll('\u0000', '');
  }

  /** Adds the row's warning to `warnings` if NULs were removed, and starts the next row afresh. */
  report(line: number, result: NormalizeResult, warnings: ParseWarning[] | undefined): void {
    if (this.columns.length === 0) return;
    const columns = this.columns;
    this.columns = [];
    warnings?.push({
      line,
      sku: result.ok ? result.product.sku : result.issue.sku,
      code: 'nul_removed',
      message: `NUL characters removed from ${columns.map((c) => `"${c}"`).join(', ')}`,
    });
  }
}

/** Accepts the ways shops write a boolean; undefined when it is none of them. */
export function parseBoolean(cell: string): boolean | undefined {
  const w = cell.trim().toLowerCase();
  if (TRUE_WORDS.has(w)) return true;
  if (FALSE_WORDS.has(w)) return false;
  return undefined;
}

/**
 * Types an attribute cell: a plain number becomes a number (`.5`, `12`, `-3.25`),
 * TRUE/FALSE become booleans, and everything else stays text as written, including
 * codes whose leading zeros or exponent matter (`00123`, `3.65275E+11`).
 */
export function typeAttribute(cell: string): FieldValue {
  const t = cell.trim();
  if (PLAIN_NUMBER.test(t)) return Number(t);
  const lower = t.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  return cell;
}

function fail(
  line: number,
  sku: string | null,
  code: RowIssue['code'],
  message: string,
): { ok: false; issue: RowIssue } {
  return { ok: false, issue: { line, sku, code, message } };
}

function cut(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
