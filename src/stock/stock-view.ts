import { type LedgerEntry, ledgerEntries, stockOf } from '../store/stock.js';
import type { Queryable } from '../store/types.js';

/** A product's stock as the merchant reads it: imported, pending movements, effective. */
export interface ProductStock {
  /** false when the product's stock is not managed (no quantity): orders move nothing. */
  managed: boolean;
  /** The quantity of the last import (or stock push). */
  imported: number | null;
  /** Ledger entries the merchant's feed has not reflected yet, newest first (at most 200). */
  pending: LedgerEntry[];
  /** imported + pending, floored at 0: what rules and channel feeds see. */
  effective: number | null;
  /** Units sold beyond the stock (imported + pending below 0), 0 when none. */
  oversold: number;
}

/** The stock of one product (undefined when the catalog has no such sku). */
export async function productStock(
  db: Queryable,
  catalogId: string,
  sku: string,
): Promise<ProductStock | undefined> {
  const s = (await stockOf(db, catalogId, [sku])).get(sku);
  if (!s) return undefined;
  const pending = await ledgerEntries(db, catalogId, sku, { pendingOnly: true, limit: 200 });
  return {
    managed: s.imported !== null,
    imported: s.imported,
    pending,
    effective: s.raw === null ? null : Math.max(0, s.raw),
    oversold: s.raw !== null && s.raw < 0 ? -s.raw : 0,
  };
}
