import type { Queryable } from './types.js';

/** The causes of a stock movement. */
export type LedgerCause = 'order' | 'cancellation' | 'refund' | 'adjustment';

/** One stock movement to record. */
export interface NewLedgerEntry {
  sku: string;
  delta: number;
  cause: LedgerCause;
  channelId: string | null;
  orderId: string | null;
}

/** One stock movement as stored. */
export interface LedgerEntry extends NewLedgerEntry {
  id: number;
  at: string;
  reflectedByRun: number | null;
}

/** An order's stored state. */
export interface OrderRow {
  channelId: string;
  orderId: string;
  catalogId: string;
  status: string;
  holdsStock: boolean;
  lines: OrderLineState[];
  createdAt: string;
  updatedAt: string;
}

/** A line as the order keeps it: whether it matched a product and whether stock moved for it. */
export interface OrderLineState {
  sku: string;
  quantity: number;
  /** The sku is a product of the catalog. */
  linked: boolean;
  /** The product's stock is managed (a quantity): only then do units move. */
  managed: boolean;
}

interface OrderDbRow {
  channel_id: string;
  order_id: string;
  catalog_id: string;
  status: string;
  holds_stock: boolean;
  lines: OrderLineState[];
  created_at: Date;
  updated_at: Date;
}

const toOrder = (r: OrderDbRow): OrderRow => ({
  channelId: r.channel_id,
  orderId: r.order_id,
  catalogId: r.catalog_id,
  status: r.status,
  holdsStock: r.holds_stock,
  lines: r.lines,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
});

/**
 * The order's row, created on its first report, and locked until the transaction ends: two
 * reports of one order (any status) are applied one after the other.
 */
export async function lockOrder(
  tx: Queryable,
  o: { channelId: string; orderId: string; catalogId: string; status: string },
): Promise<{ order: OrderRow; created: boolean }> {
  const inserted = await tx.query<OrderDbRow>({
    text: `INSERT INTO orders (channel_id, order_id, catalog_id, status) VALUES ($1, $2, $3, $4)
           ON CONFLICT (channel_id, order_id) DO NOTHING RETURNING *`,
    values: [o.channelId, o.orderId, o.catalogId, o.status],
  });
  if (inserted[0]) return { order: toOrder(inserted[0]), created: true };
  const rows = await tx.query<OrderDbRow>({
    text: 'SELECT * FROM orders WHERE channel_id = $1 AND order_id = $2 FOR UPDATE',
    values: [o.channelId, o.orderId],
  });
  return { order: toOrder(rows[0] as OrderDbRow), created: false };
}

/** Records a report of an order in a status: false when it was received before. */
export async function recordOrderReport(
  tx: Queryable,
  channelId: string,
  orderId: string,
  status: string,
): Promise<boolean> {
  const rows = await tx.query({
    text: `INSERT INTO order_reports (channel_id, order_id, status) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING RETURNING 1`,
    values: [channelId, orderId, status],
  });
  return rows.length > 0;
}

/**
 * The status that closed an order (`cancelled` or `refunded`), if one was reported: such an
 * order never takes units again, whatever arrives after.
 */
export async function closingStatus(
  tx: Queryable,
  channelId: string,
  orderId: string,
): Promise<string | undefined> {
  const rows = await tx.query<{ status: string }>({
    text: `SELECT status FROM order_reports WHERE channel_id = $1 AND order_id = $2
             AND status IN ('cancelled', 'refunded') ORDER BY status LIMIT 1`,
    values: [channelId, orderId],
  });
  return rows[0]?.status;
}

/** Saves an order's new status, whether it holds stock, and its lines. */
export async function updateOrder(
  tx: Queryable,
  o: { channelId: string; orderId: string; status: string; holdsStock: boolean; lines: OrderLineState[] },
): Promise<OrderRow> {
  const rows = await tx.query<OrderDbRow>({
    text: `UPDATE orders SET status = $3, holds_stock = $4, lines = $5::jsonb, updated_at = now()
           WHERE channel_id = $1 AND order_id = $2 RETURNING *`,
    values: [o.channelId, o.orderId, o.status, o.holdsStock, JSON.stringify(o.lines)],
  });
  return toOrder(rows[0] as OrderDbRow);
}

/**
 * Locks the products of a catalog among `skus` (in sku order, so that two orders never wait
 * on each other crosswise) and says which exist and which have managed stock. Concurrent
 * orders for one sku queue here: no movement is lost.
 */
export async function lockProductsForStock(
  tx: Queryable,
  catalogId: string,
  skus: readonly string[],
): Promise<Map<string, { managed: boolean }>> {
  const rows = await tx.query<{ sku: string; managed: boolean }>({
    text: `SELECT sku, jsonb_typeof(fields->'quantity') = 'number' AS managed FROM products
           WHERE catalog_id = $1 AND sku = ANY($2::text[]) ORDER BY sku FOR UPDATE`,
    values: [catalogId, [...skus]],
  });
  return new Map(rows.map((r) => [r.sku, { managed: r.managed === true }]));
}

/**
 * Holds a catalog's row in share mode until the transaction ends: stock movements run side
 * by side, and an import's apply (which locks the row for update) runs before or after them,
 * never in between, so the two never lock products in crossing orders.
 */
export async function shareLockCatalog(tx: Queryable, catalogId: string): Promise<boolean> {
  const rows = await tx.query({
    text: 'SELECT 1 FROM catalogs WHERE id = $1 FOR SHARE',
    values: [catalogId],
  });
  return rows.length > 0;
}

/**
 * Appends ledger entries, stamped with the stock revision that made them, and one
 * `stock.moved` history event per entry (so `history --sku` shows every movement), in one
 * statement.
 */
export async function insertLedgerEntries(
  tx: Queryable,
  catalogId: string,
  entries: readonly NewLedgerEntry[],
  stockRevision: number,
  actor: string,
): Promise<void> {
  if (entries.length === 0) return;
  await tx.query({
    text: `WITH ins AS (
             INSERT INTO stock_ledger (catalog_id, sku, delta, cause, channel_id, order_id, stock_revision)
             SELECT $1, e.sku, e.delta, e.cause, e.channel_id, e.order_id, $7
             FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
                  AS e (sku, delta, cause, channel_id, order_id, n)
             ORDER BY e.n
             RETURNING id, sku, delta, cause, channel_id, order_id
           )
           INSERT INTO history (type, catalog_id, channel_id, sku, actor, data)
           SELECT 'stock.moved', $1, ins.channel_id, ins.sku, $8,
                  jsonb_strip_nulls(jsonb_build_object('entry', ins.id, 'delta', ins.delta, 'cause', ins.cause,
                                                       'order', ins.order_id))
           FROM ins ORDER BY ins.id`,
    values: [
      catalogId,
      entries.map((e) => e.sku),
      entries.map((e) => e.delta),
      entries.map((e) => e.cause),
      entries.map((e) => e.channelId),
      entries.map((e) => e.orderId),
      stockRevision,
      actor,
    ],
  });
}

/** Stock of some products: the imported quantity, the pending ledger sum, and the raw effective stock. */
export async function stockOf(
  db: Queryable,
  catalogId: string,
  skus: readonly string[],
): Promise<Map<string, { imported: number | null; pending: number; raw: number | null }>> {
  const rows = await db.query<{ sku: string; imported: number | null; pending: number | string | null }>({
    text: `SELECT p.sku,
                  CASE WHEN jsonb_typeof(p.fields->'quantity') = 'number' THEN (p.fields->>'quantity')::bigint END AS imported,
                  (SELECT sum(l.delta) FROM stock_ledger l
                   WHERE l.catalog_id = p.catalog_id AND l.sku = p.sku AND l.reflected_by_run IS NULL) AS pending
           FROM products p WHERE p.catalog_id = $1 AND p.sku = ANY($2::text[])`,
    values: [catalogId, [...skus]],
  });
  return new Map(
    rows.map((r) => {
      const pending = Number(r.pending ?? 0);
      const imported = r.imported === null ? null : Number(r.imported);
      return [r.sku, { imported, pending, raw: imported === null ? null : imported + pending }];
    }),
  );
}

/** The orders whose units of a sku are pending in the ledger (they took it below what the feed says). */
export async function pendingOrders(
  db: Queryable,
  catalogId: string,
  sku: string,
  limit = 50,
): Promise<string[]> {
  const rows = await db.query<{ order_id: string; channel_id: string }>({
    text: `SELECT channel_id, order_id FROM stock_ledger
           WHERE catalog_id = $1 AND sku = $2 AND reflected_by_run IS NULL AND cause = 'order'
           GROUP BY channel_id, order_id ORDER BY min(id) DESC LIMIT $3`,
    values: [catalogId, sku, limit],
  });
  return rows.map((r) => `${r.channel_id}:${r.order_id}`);
}

/** A product's ledger entries, newest first (pending and reflected). */
export async function ledgerEntries(
  db: Queryable,
  catalogId: string,
  sku: string,
  opts: { pendingOnly?: boolean; limit: number },
): Promise<LedgerEntry[]> {
  const rows = await db.query<{
    id: number | string;
    sku: string;
    delta: number;
    cause: LedgerCause;
    channel_id: string | null;
    order_id: string | null;
    at: Date;
    reflected_by_run: number | string | null;
  }>({
    text: `SELECT id, sku, delta, cause, channel_id, order_id, at, reflected_by_run FROM stock_ledger
           WHERE catalog_id = $1 AND sku = $2 AND (NOT $3 OR reflected_by_run IS NULL)
           ORDER BY id DESC LIMIT $4`,
    values: [catalogId, sku, opts.pendingOnly === true, opts.limit],
  });
  return rows.map((r) => ({
    id: Number(r.id),
    sku: r.sku,
    delta: Number(r.delta),
    cause: r.cause,
    channelId: r.channel_id,
    orderId: r.order_id,
    at: new Date(r.at).toISOString(),
    reflectedByRun: r.reflected_by_run === null ? null : Number(r.reflected_by_run),
  }));
}

/**
 * Marks as reflected by an applied import the pending entries the import's feed can know
 * of: those made at least `reconcileAfterMs` before the feed was fetched (the run's own
 * fetch time, else its start). A partial import reflects only the skus it listed
 * (`stagingTable`). Returns how many entries it reflected.
 */
export async function reconcileLedger(
  tx: Queryable,
  a: { catalogId: string; runId: number; reconcileAfterMs: number; stagingTable?: string },
): Promise<number> {
  const rows = await tx.query<{ n: number }>({
    text: `WITH run AS (SELECT coalesce(fetched_at, started_at) AS fetched FROM import_runs WHERE id = $2),
           done AS (
             UPDATE stock_ledger l SET reflected_by_run = $2 FROM run
             WHERE l.catalog_id = $1 AND l.reflected_by_run IS NULL
               AND l.at <= run.fetched - make_interval(secs => $3::double precision / 1000)
               ${a.stagingTable ? `AND EXISTS (SELECT 1 FROM ${a.stagingTable} s WHERE s.sku = l.sku)` : ''}
             RETURNING 1
           )
           SELECT count(*)::int AS n FROM done`,
    values: [a.catalogId, a.runId, a.reconcileAfterMs],
  });
  return Number(rows[0]?.n ?? 0);
}

/**
 * The skus whose stock moved after stock revision `after` up to `upTo` (ledger entries
 * stamped with those revisions), in no order; at most `limit` of them.
 */
export async function skusMovedSince(
  db: Queryable,
  catalogId: string,
  after: number,
  upTo: number,
  limit: number,
): Promise<string[]> {
  const rows = await db.query<{ sku: string }>({
    text: `SELECT DISTINCT sku FROM stock_ledger
           WHERE catalog_id = $1 AND stock_revision > $2 AND stock_revision <= $3 LIMIT $4`,
    values: [catalogId, after, upTo, limit],
  });
  return rows.map((r) => r.sku);
}
