import type { DecimalSeparator } from '../../model/catalog.js';
import type { CanonicalField } from '../../model/fields.js';
import type { FieldValue } from '../../model/product.js';

export type Mapping = Partial<Record<CanonicalField, string>>;

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

/** Column lookup by name (the first of repeated names, as planHeader maps them). */
export class Columns {
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

/** One record reshaped by a dialect: `values` edited in place, plus the derived fields' cells. */
export interface Shaped {
  values: string[];
  derived: Partial<Record<CanonicalField, string>>;
  attributes?: Record<string, FieldValue>;
  skipped?: SkippedRow;
  warnings: RowWarning[];
}

/**
 * A shop's export dialect: how feedwright reads the CSV a shop writes, which merchants
 * cannot choose (the definition's `preset`). One file per dialect in this folder, listed
 * once in index.ts's DIALECTS.
 */
export interface DialectSpec<Name extends string = string> {
  /** Its name in a definition's `preset`. */
  name: Name;
  /** Columns (English names) whose presence together tells the export apart: it is detected by them. */
  signature: string[];
  /** The export's SKU column: mapped whether or not the header has it (see createDialectTransform). */
  sku: string;
  /** Default field → source column, for the columns this header has. */
  defaults(cols: Columns): Mapping;
  /** Fields computed per row, in groups that stand or fall together (price with sale_price). */
  derived: CanonicalField[][];
  /** The export's columns the derived numeric fields are computed from. */
  numericSources: string[];
  start(cols: Columns, decimal: DecimalSeparator): (values: string[], line: number) => Shaped;
}

/** The entries of a default mapping whose column the header has. */
export function present(cols: Columns, defaults: Record<string, string | undefined>): Mapping {
  const out: Mapping = {};
  for (const [field, column] of Object.entries(defaults)) {
    if (column !== undefined && cols.has(column)) out[field as CanonicalField] = column;
  }
  return out;
}
