/** A field's value once typed: what products hold, rules read and channels write. */
export type FieldValue = string | number | boolean | null | FieldValue[] | { [key: string]: FieldValue };

/**
 * A product after mapping and validation: canonical fields and the other source columns
 * (attributes, by their source names). Both objects have no prototype, so a column named
 * `__proto__` is just a column.
 */
export interface NormalizedProduct {
  /** The feed line its row started on. */
  line: number;
  sku: string;
  fields: Record<string, FieldValue>;
  attributes: Record<string, FieldValue>;
}

/**
 * An invalid row of a full import whose product the catalog keeps as it is (a bad price
 * must not remove a product): staged by its sku only.
 */
export interface KeptRow {
  kept: true;
  line: number;
  sku: string;
}

/** What an import stages, row by row: a product, or the sku of one kept as it was. */
export type StagedRow = NormalizedProduct | KeptRow;
