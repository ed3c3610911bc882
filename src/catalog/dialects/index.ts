import type { DecimalSeparator } from '../../model/catalog.js';
import { type CanonicalField, FIELD_TYPES } from '../../model/fields.js';
import type { FieldValue } from '../../model/product.js';
import type { ParseWarning, RawRecord } from '../../parse/types.js';
import {
  columnCountIssue,
  createNormalizer,
  type HeaderPlan,
  type NormalizeResult,
  planHeader,
} from '../normalize.js';
import { shopify } from './shopify.js';
import { Columns, type Mapping, type RowWarning, type SkippedRow } from './spec.js';
import { woocommerce } from './woocommerce.js';

export type { RowWarning, RowWarningCode, SkippedRow } from './spec.js';

/**
 * Export dialects: the shop exports merchants do not choose (SPEC §2, a definition's
 * `preset`). A dialect gives the export's default mapping and reshapes each raw CSV record
 * before the normalizer maps and types it: Shopify variant rows inherit their product's
 * columns, WooCommerce parents given as `id:NN` become SKUs, and so on. Streaming: the state
 * is one Shopify product row, or a bounded map of WooCommerce parent IDs. Adding one is a
 * file in this folder (a DialectSpec) listed here, and its test.
 */
export const DIALECTS = [shopify, woocommerce] as const;

/** A dialect's name, as a definition's `preset` gives it. */
export type ExportDialect = (typeof DIALECTS)[number]['name'];

/** The dialects' names, for the definition's schema. */
export const DIALECT_NAMES: readonly ExportDialect[] = DIALECTS.map((d) => d.name);

/** The dialect a definition names (its `preset`, which the schema checked against DIALECT_NAMES). */
export function dialectNamed(name: string): ExportDialect {
  const spec = DIALECTS.find((d) => d.name === name);
  if (!spec) throw new Error(`no export dialect "${name}"`);
  return spec.name;
}

function dialectSpec(name: ExportDialect) {
  const spec = DIALECTS.find((d) => d.name === name);
  if (!spec) throw new Error(`no export dialect "${name}"`);
  return spec;
}

/** What a dialect made of one record: the record to normalize, or why there is none. */
export interface DialectStep {
  record?: RawRecord;
  /** Attributes to set on the product after normalization: lists a CSV cell cannot carry. */
  attributes?: Record<string, FieldValue>;
  skipped?: SkippedRow;
  warnings: RowWarning[];
}

export interface DialectTransform {
  dialect: ExportDialect;
  /** The feed's header, then the columns the dialect derives (`price (shopify)`, …). */
  header: string[];
  /** For planHeader: the dialect's defaults, each overridden by the definition's own mapping. */
  mapping: Mapping;
  /** Indexes of the feed's own columns that hold numbers (prices, stock, weight), for detection. */
  numericColumns: number[];
  transform(record: RawRecord): DialectStep;
}

/** Recognises a shop's export by its (English) column names: the first dialect whose signature the header has. */
export function detectDialect(header: string[]): ExportDialect | undefined {
  const names = new Set(header.map((h) => h.trim()));
  return DIALECTS.find((d) => d.signature.every((c) => names.has(c)))?.name;
}

/**
 * The dialect's mapping and record transformer for a feed with this header. `explicit` is
 * the catalog definition's mapping: a field it maps keeps that column, and a derived group
 * any of whose fields it maps is not derived.
 */
export function createDialectTransform(
  dialect: ExportDialect,
  header: string[],
  explicit: Mapping = {},
  decimal: DecimalSeparator = '.',
): DialectTransform {
  const spec = dialectSpec(dialect);
  const cols = new Columns(header);
  const derived = spec.derived.filter((group) => group.every((f) => explicit[f] === undefined)).flat();
  const derivedColumns = derived.map((f) => `${f} (${dialect})`);
  // The SKU column is mapped even when the header lacks it: a feed without it is not this
  // export (a dialect set by hand on another shop's file), and the run is held for that
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
    dialect,
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

/** What a dialect's normalizer makes of one record. */
export interface DialectResult {
  /** Absent when the record was skipped as not a product. */
  result?: NormalizeResult;
  skipped?: SkippedRow;
  warnings: RowWarning[];
}

/**
 * The import's normalizer for a shop's export: the dialect's transform, then the CSV normalizer
 * over the extended header and merged mapping. `skuColumn` is the column the sku is read
 * from (the export's `Variant SKU` or `SKU`, unless the definition maps another).
 */
export function createDialectNormalizer(
  dialect: ExportDialect,
  header: string[],
  explicit: Mapping | undefined,
  mode: 'full' | 'partial',
  decimal: DecimalSeparator = '.',
  warnings?: ParseWarning[],
): {
  plan: HeaderPlan;
  skuColumn: string;
  numericColumns: number[];
  normalize: (record: RawRecord) => DialectResult;
} {
  const t = createDialectTransform(dialect, header, explicit, decimal);
  const plan = planHeader(t.header, t.mapping);
  const normalize = createNormalizer(plan, mode, decimal, warnings);
  const skuIndex = header.indexOf(t.mapping.sku ?? dialectSpec(dialect).sku);
  const skuAt = skuIndex === -1 ? undefined : skuIndex;
  return {
    plan,
    skuColumn: t.mapping.sku ?? dialectSpec(dialect).sku,
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

function omitKeys(
  attributes: Record<string, FieldValue>,
  keys: ReadonlySet<string | undefined>,
): Record<string, FieldValue> | undefined {
  const kept = Object.entries(attributes).filter(([k]) => !keys.has(k));
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}
