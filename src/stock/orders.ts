import { Ajv } from 'ajv';
import { schemaErrorPath } from '../catalog/definition.js';
import { AppError } from '../errors.js';
import { reportOperation } from '../metrics.js';
import { MAX_SKU_LENGTH } from '../model/fields.js';
import { getChannel } from '../store/channels.js';
import { recordHistory } from '../store/history.js';
import { bumpStockRevision } from '../store/revisions.js';
import {
  closingStatus,
  insertLedgerEntries,
  type LedgerCause,
  lockOrder,
  lockProductsForStock,
  type NewLedgerEntry,
  type OrderLineState,
  type OrderRow,
  pendingOrders,
  recordOrderReport,
  shareLockCatalog,
  stockOf,
  updateOrder,
} from '../store/stock.js';
import type { Store } from '../store/types.js';

/** The statuses a channel reports an order in (SPEC §3 "Orders and the stock ledger"). */
export const ORDER_STATUSES = ['paid', 'unpaid', 'cancelled', 'refunded'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** An order report as a channel sends it. */
export interface OrderReport {
  orderId: string;
  status: OrderStatus;
  /** Required to take stock (paid, unpaid); a cancellation or refund gives back what was taken. */
  lines?: Array<{ sku: string; quantity: number }>;
}

/** The JSON Schema of an order report; also the API's body schema. */
export const orderReportSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId', 'status'],
  properties: {
    orderId: { type: 'string', minLength: 1, maxLength: 200 },
    status: { enum: [...ORDER_STATUSES] },
    lines: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['sku', 'quantity'],
        properties: {
          sku: { type: 'string', minLength: 1, maxLength: MAX_SKU_LENGTH },
          quantity: { type: 'integer', minimum: 1, maximum: 1_000_000 },
        },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: true }).compile(orderReportSchema);

/** Checks an order report; the message names the JSON path of every fault. */
export function checkOrderReport(value: unknown): OrderReport {
  if (!validate(value)) {
    const faults = (validate.errors ?? []).map((e) => {
      const where = schemaErrorPath(e);
      if (e.keyword === 'required') return `${where}: is required`;
      if (e.keyword === 'additionalProperties') return `${where}: is not a known property`;
      if (e.keyword === 'enum') return `${where}: must be one of ${ORDER_STATUSES.join(', ')}`;
      return `${where}: ${e.message ?? 'is invalid'}`;
    });
    throw new AppError('ORDER_INVALID', faults.join('; '));
  }
  const report = value as OrderReport;
  if ((report.status === 'paid' || report.status === 'unpaid') && !report.lines?.length) {
    throw new AppError('ORDER_INVALID', `$.lines: a ${report.status} order needs at least one line`);
  }
  return report;
}

/** What reporting an order did. */
export interface OrderResult {
  order: OrderRow;
  /** The same channel, order and status was reported before: nothing moved this time. */
  duplicate: boolean;
  /** Stock movements made now, with the effective stock after them. */
  movements: Array<{ sku: string; delta: number; cause: LedgerCause; effectiveStock: number }>;
  /** Lines whose sku is not a product of the catalog: kept on the order, nothing moved. */
  unlinked: Array<{ sku: string; quantity: number }>;
  /** Lines of products whose stock is not managed: nothing moved. */
  notManaged: Array<{ sku: string; quantity: number }>;
  /** Skus whose effective stock went below 0 with this order, and by how many units. */
  oversold: Array<{ sku: string; units: number }>;
  /**
   * A paid or unpaid report that came after the order was cancelled or refunded: recorded,
   * but the order stays closed and takes no units. Null when the report came in order.
   */
  outOfOrder: { reported: OrderStatus; closedBy: string } | null;
}

/** Whether an order in this status holds its units (unpaid ones unless the channel skips them). */
function holdsStock(status: OrderStatus, skipUnpaid: boolean): boolean {
  return status === 'paid' || (status === 'unpaid' && !skipUnpaid);
}

/** Lines with one entry per sku (a channel may split one sku over several lines). */
function mergeLines(
  lines: ReadonlyArray<{ sku: string; quantity: number }>,
): Array<{ sku: string; quantity: number }> {
  const bySku = new Map<string, number>();
  for (const l of lines) bySku.set(l.sku, (bySku.get(l.sku) ?? 0) + l.quantity);
  return [...bySku].map(([sku, quantity]) => ({ sku, quantity }));
}

/**
 * Applies an order report to the stock ledger in one transaction (SPEC §3 "Orders and the
 * stock ledger"). Idempotent per channel, order and status. An order takes its units when it
 * turns paid (or unpaid, unless the channel skips unpaid orders) and gives them back when it
 * is cancelled or refunded, once: the order row remembers whether it holds stock. The
 * products are locked while the ledger moves, so concurrent orders for one sku lose nothing.
 */
export async function reportOrder(
  store: Store,
  channelId: string,
  value: unknown,
  actor: string,
): Promise<OrderResult> {
  const report = checkOrderReport(value);
  const channel = await getChannel(store, channelId);
  if (!channel) throw new AppError('CHANNEL_NOT_FOUND', `no channel "${channelId}"`);
  const catalogId = channel.catalog;
  const skipUnpaid = channel.definition.options?.skipUnpaidOrders === true;

  const reported = await store.transaction(async (tx) => {
    await shareLockCatalog(tx, catalogId);
    const { order } = await lockOrder(tx, {
      channelId,
      orderId: report.orderId,
      catalogId,
      status: report.status,
    });
    const result: OrderResult = {
      order,
      duplicate: false,
      movements: [],
      unlinked: [],
      notManaged: [],
      oversold: [],
      outOfOrder: null,
    };
    // Read before this report is recorded: a cancellation reported twice is a duplicate, not late.
    const closedBy = await closingStatus(tx, channelId, report.orderId);
    if (!(await recordOrderReport(tx, channelId, report.orderId, report.status))) {
      result.duplicate = true;
      return result;
    }
    // A cancelled or refunded order is closed: a "paid" arriving after it (channels do not
    // always deliver in order) must not take its units again.
    const late = closedBy !== undefined && (report.status === 'paid' || report.status === 'unpaid');
    if (late) result.outOfOrder = { reported: report.status, closedBy };
    const wantsStock = !late && holdsStock(report.status, skipUnpaid);
    // Taking uses the report's lines; giving back uses what the order took.
    const lines: OrderLineState[] =
      wantsStock && !order.holdsStock
        ? await classify(tx, catalogId, mergeLines(report.lines ?? []))
        : report.lines?.length && order.lines.length === 0
          ? await classify(tx, catalogId, mergeLines(report.lines))
          : order.lines;
    if (!wantsStock && order.holdsStock)
      await lockProductsForStock(
        tx,
        catalogId,
        lines.map((l) => l.sku),
      );

    const entries: NewLedgerEntry[] = [];
    if (wantsStock !== order.holdsStock) {
      const cause: LedgerCause = wantsStock
        ? 'order'
        : report.status === 'refunded'
          ? 'refund'
          : 'cancellation';
      for (const l of lines) {
        if (!l.linked || !l.managed) continue;
        entries.push({
          sku: l.sku,
          delta: wantsStock ? -l.quantity : l.quantity,
          cause,
          channelId,
          orderId: report.orderId,
        });
      }
    }
    for (const l of lines) {
      if (!l.linked) result.unlinked.push({ sku: l.sku, quantity: l.quantity });
      else if (!l.managed) result.notManaged.push({ sku: l.sku, quantity: l.quantity });
    }
    // The stock revision row is the last lock taken (see catalog_stock in the migrations).
    if (entries.length > 0) {
      await insertLedgerEntries(tx, catalogId, entries, await bumpStockRevision(tx, catalogId), actor);
    }
    result.order = await updateOrder(tx, {
      channelId,
      orderId: report.orderId,
      status: late ? closedBy : report.status,
      holdsStock: wantsStock,
      lines,
    });

    if (entries.length > 0) {
      const stock = await stockOf(
        tx,
        catalogId,
        entries.map((e) => e.sku),
      );
      for (const e of entries) {
        const s = stock.get(e.sku);
        const raw = s?.raw ?? 0;
        result.movements.push({
          sku: e.sku,
          delta: e.delta,
          cause: e.cause,
          effectiveStock: Math.max(0, raw),
        });
        // Below zero because of this order: the units it took that were not there.
        if (e.delta < 0 && raw < 0) {
          const units = Math.min(-e.delta, -raw);
          result.oversold.push({ sku: e.sku, units });
          await recordHistory(tx, {
            type: 'stock.oversold',
            catalogId,
            channelId,
            sku: e.sku,
            actor,
            data: {
              units,
              order: report.orderId,
              effectiveStock: raw,
              pendingOrders: await pendingOrders(tx, catalogId, e.sku),
            },
          });
        }
      }
    }
    await recordHistory(tx, {
      type: 'order.reported',
      catalogId,
      channelId,
      actor,
      data: {
        order: report.orderId,
        status: report.status,
        holdsStock: wantsStock,
        movements: result.movements,
        ...(result.unlinked.length ? { unlinked: result.unlinked } : {}),
        ...(result.notManaged.length ? { notManaged: result.notManaged } : {}),
        ...(result.outOfOrder ? { outOfOrder: result.outOfOrder } : {}),
      },
    });
    return result;
  });
  for (const o of reported.oversold) {
    reportOperation(store, { type: 'oversell', catalog: catalogId, channel: channelId, units: o.units });
  }
  return reported;
}

/** Locks the lines' products and says for each line whether it is linked and managed. */
async function classify(
  tx: Parameters<typeof lockProductsForStock>[0],
  catalogId: string,
  lines: Array<{ sku: string; quantity: number }>,
): Promise<OrderLineState[]> {
  const products = await lockProductsForStock(
    tx,
    catalogId,
    lines.map((l) => l.sku),
  );
  return lines.map((l) => {
    const p = products.get(l.sku);
    return { sku: l.sku, quantity: l.quantity, linked: p !== undefined, managed: p?.managed === true };
  });
}
