import { Ajv } from 'ajv';
import { schemaErrorPath } from '../catalog/definition.js';
import { AppError } from '../errors.js';
import { MAX_QUANTITY, MAX_SKU_LENGTH } from '../model/fields.js';
import { getCatalog } from '../store/catalogs.js';
import { recordHistory } from '../store/history.js';
import { bumpStockRevision } from '../store/revisions.js';
import {
  insertLedgerEntries,
  lockProductsForStock,
  type NewLedgerEntry,
  shareLockCatalog,
  stockOf,
} from '../store/stock.js';
import type { Store } from '../store/types.js';

/** The JSON Schema of a stock push: `[{ sku, quantity }]`. */
export const stockPushSchema = {
  type: 'array',
  minItems: 1,
  maxItems: 10_000,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['sku', 'quantity'],
    properties: {
      sku: { type: 'string', minLength: 1, maxLength: MAX_SKU_LENGTH },
      quantity: { type: 'integer', minimum: 0, maximum: MAX_QUANTITY },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: true }).compile(stockPushSchema);

/** What a stock push did. */
export interface StockPushResult {
  /** Products whose effective stock the push set, with the adjustment it took. */
  adjusted: Array<{ sku: string; quantity: number; delta: number }>;
  /** Already at the pushed quantity: nothing recorded. */
  unchanged: string[];
  /** Not products of the catalog. */
  unknown: string[];
  /** Products whose stock is not managed: nothing moved. */
  notManaged: string[];
}

/**
 * `PATCH /api/catalogs/{id}/stock` (SPEC §5): the merchant's shop pushes the quantities it
 * has now, the way shops' "auto sync on every quantity change" does. Each becomes the
 * product's effective stock at once through a manual adjustment in the ledger (the imported
 * quantity stays as imported), and the next import fetched `reconcileAfter` later reflects
 * it like any other entry. Channels rebuild as after an order.
 */
export async function pushStock(
  store: Store,
  catalogId: string,
  value: unknown,
  actor: string,
): Promise<StockPushResult> {
  if (!validate(value)) {
    const faults = (validate.errors ?? []).map((e) => `${schemaErrorPath(e)}: ${e.message ?? 'is invalid'}`);
    throw new AppError('BAD_REQUEST', faults.join('; '));
  }
  const items = value as Array<{ sku: string; quantity: number }>;
  const seen = new Map<string, number>();
  for (const [i, item] of items.entries()) {
    if (seen.has(item.sku))
      throw new AppError('BAD_REQUEST', `$[${i}].sku: "${item.sku}" is also at $[${seen.get(item.sku)}]`);
    seen.set(item.sku, i);
  }
  if (!(await getCatalog(store, catalogId)))
    throw new AppError('CATALOG_NOT_FOUND', `no catalog "${catalogId}"`);
  return store.transaction(async (tx) => {
    await shareLockCatalog(tx, catalogId);
    const result: StockPushResult = { adjusted: [], unchanged: [], unknown: [], notManaged: [] };
    const skus = items.map((i) => i.sku);
    const products = await lockProductsForStock(tx, catalogId, skus);
    const stock = await stockOf(tx, catalogId, skus);
    const entries: NewLedgerEntry[] = [];
    for (const { sku, quantity } of items) {
      const p = products.get(sku);
      const s = stock.get(sku);
      if (!p) result.unknown.push(sku);
      else if (!p.managed || !s || s.raw === null) result.notManaged.push(sku);
      else if (s.raw === quantity) result.unchanged.push(sku);
      else {
        const delta = quantity - s.raw;
        entries.push({ sku, delta, cause: 'adjustment', channelId: null, orderId: null });
        result.adjusted.push({ sku, quantity, delta });
      }
    }
    // The stock revision row is the last lock taken (see catalog_stock in the migrations).
    if (entries.length > 0) {
      await insertLedgerEntries(tx, catalogId, entries, await bumpStockRevision(tx, catalogId), actor);
    }
    await recordHistory(tx, {
      type: 'stock.adjusted',
      catalogId,
      actor,
      data: {
        adjusted: result.adjusted.slice(0, 1000),
        counts: {
          adjusted: result.adjusted.length,
          unchanged: result.unchanged.length,
          unknown: result.unknown.length,
          notManaged: result.notManaged.length,
        },
        ...(result.unknown.length ? { unknown: result.unknown.slice(0, 1000) } : {}),
      },
    });
    return result;
  });
}
