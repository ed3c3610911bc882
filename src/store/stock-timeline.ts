import type { Queryable } from './types.js';

/** One instant at which a product's stock changed, and the stock right after it. */
export interface StockPoint {
  at: string;
  /**
   * What moved it: `import` (an import changed the quantity or reflected ledger entries),
   * `created` or `removed` (by an import), or the ledger's causes (`order`, `cancellation`,
   * `refund`, `adjustment`); several, comma-separated, when they happened at one instant.
   */
  cause: string;
  /** The imported quantity after this instant; null when the stock is not managed (or no product). */
  imported: number | null;
  /** The sum of the ledger entries pending after this instant. */
  pending: number;
  /** imported + pending, floored at 0: what channels saw after this instant. */
  effective: number | null;
  /** The sum of the ledger entries made at this instant (0 for an import). */
  moved: number;
  /** The import run that changed the quantity or reflected entries at this instant. */
  run: number | null;
  /** Ledger entries that run reflected (they stopped counting as pending). */
  reflected: number;
  /** The channel and order of the ledger entries made at this instant (the first one). */
  channel: string | null;
  order: string | null;
}

/** A product's stock over time: the points, oldest first, and the stock before the first. */
export interface StockTimeline {
  points: StockPoint[];
  /** The stock just before the first point (or now, with no point). */
  before: { imported: number | null; pending: number; effective: number | null };
  /** The stock now (the last point's, or `before` with no point). */
  now: { imported: number | null; pending: number; effective: number | null };
  /** Older changes exist than the first point (the limit was reached). */
  truncated: boolean;
}

interface EventRow {
  at: Date;
  kind: 'move' | 'reflect' | 'quantity';
  seq: number | string;
  cause: string | null;
  delta: number | string | null;
  channel_id: string | null;
  order_id: string | null;
  run_id: number | string | null;
  /** move: 1; reflect: entries reflected. */
  n: number | string | null;
  /** quantity: the product's quantity before and after (jsonb: a number, or null). */
  before: unknown;
  after: unknown;
  type: string | null;
}

/**
 * A product's effective stock over time (SPEC §3 "Orders and the stock ledger"), from what
 * the store keeps: the ledger's entries (each moves the pending sum when it is made, and
 * stops counting when an import reflects it) and the quantity changes imports wrote into
 * history (product.created, .updated with a quantity change, .removed). The walk starts
 * from the stock now and goes back through the newest `limit` changes since `since`, so the
 * last point is always the stock the product page shows, whatever history came before.
 */
export async function stockTimeline(
  db: Queryable,
  catalogId: string,
  sku: string,
  opts: { since?: Date; limit: number },
): Promise<StockTimeline | undefined> {
  const current = await db.query<{ exists: boolean; imported: number | null; pending: number | string }>({
    text: `SELECT p.sku IS NOT NULL AS exists,
                  CASE WHEN jsonb_typeof(p.fields->'quantity') = 'number' THEN (p.fields->>'quantity')::bigint END AS imported,
                  (SELECT coalesce(sum(delta), 0) FROM stock_ledger
                   WHERE catalog_id = $1 AND sku = $2 AND reflected_by_run IS NULL) AS pending
           FROM (SELECT 1) AS one LEFT JOIN products p ON p.catalog_id = $1 AND p.sku = $2`,
    values: [catalogId, sku],
  });
  const since = opts.since ?? new Date(0);
  // Each source newest first and bounded, then the newest `limit + 1` of them all (one more
  // tells that older ones exist). Ties at one instant keep a stable order by kind and id.
  const rows = await db.query<EventRow>({
    text: `(SELECT at, 'move' AS kind, id AS seq, cause, delta, channel_id, order_id, NULL::bigint AS run_id,
                   1 AS n, NULL::jsonb AS before, NULL::jsonb AS after, NULL AS type
            FROM stock_ledger WHERE catalog_id = $1 AND sku = $2 AND at >= $3
            ORDER BY id DESC LIMIT $4)
           UNION ALL
           (SELECT r.finished_at, 'reflect', r.id, NULL, sum(l.delta), NULL, NULL, r.id,
                   count(*), NULL, NULL, NULL
            FROM stock_ledger l JOIN import_runs r ON r.id = l.reflected_by_run
            WHERE l.catalog_id = $1 AND l.sku = $2 AND r.finished_at >= $3
            GROUP BY r.id ORDER BY r.id DESC LIMIT $4)
           UNION ALL
           (SELECT at, 'quantity', id, NULL, NULL, NULL, NULL, run_id, NULL,
                   CASE type WHEN 'product.updated' THEN data->'changes'->'quantity'->'before'
                             WHEN 'product.removed' THEN data->'fields'->'quantity' END,
                   CASE type WHEN 'product.updated' THEN data->'changes'->'quantity'->'after'
                             WHEN 'product.created' THEN data->'fields'->'quantity' END,
                   type
            FROM history
            WHERE sku = $2 AND catalog_id = $1 AND at >= $3
              AND (type IN ('product.created', 'product.removed')
                   OR (type = 'product.updated' AND data->'changes' ? 'quantity'))
            ORDER BY id DESC LIMIT $4)
           ORDER BY 1 DESC, 2, 3 DESC LIMIT $4`,
    values: [catalogId, sku, since, opts.limit + 1],
  });
  const cur = current[0];
  if (!cur?.exists && rows.length === 0) return undefined;

  let events = rows;
  let truncated = false;
  if (rows.length > opts.limit) {
    // The oldest instant may be cut in two by the limit: leave it out whole.
    truncated = true;
    const oldest = rows.at(-1)?.at.getTime();
    const whole = rows.filter((r) => r.at.getTime() !== oldest);
    events = whole.length > 0 ? whole : rows.slice(0, opts.limit);
  }

  // Walk back from now: the state after each instant, then undo what the instant did.
  let imported = cur?.exists ? (cur.imported === null ? null : Number(cur.imported)) : null;
  let pending = Number(cur?.pending ?? 0);
  const now = state(imported, pending);
  const points: StockPoint[] = [];
  for (let i = 0; i < events.length; ) {
    const at = events[i]?.at.getTime();
    const group: EventRow[] = [];
    while (i < events.length && events[i]?.at.getTime() === at) group.push(events[i++] as EventRow);
    const causes = new Set<string>();
    let moved = 0;
    let run: number | null = null;
    let reflected = 0;
    let first: EventRow | undefined;
    for (const e of group) {
      if (e.kind === 'move') {
        causes.add(e.cause ?? 'adjustment');
        moved += Number(e.delta);
        first ??= e;
      } else if (e.kind === 'reflect') {
        causes.add('import');
        run = Number(e.run_id);
        reflected += Number(e.n);
      } else {
        causes.add(
          e.type === 'product.created' ? 'created' : e.type === 'product.removed' ? 'removed' : 'import',
        );
        if (e.run_id !== null) run = Number(e.run_id);
      }
    }
    points.push({
      at: new Date(at ?? 0).toISOString(),
      cause: [...causes].join(','),
      ...state(imported, pending),
      moved,
      run,
      reflected,
      channel: first?.channel_id ?? null,
      order: first?.order_id ?? null,
    });
    for (const e of group) {
      if (e.kind === 'move') pending -= Number(e.delta);
      else if (e.kind === 'reflect') pending += Number(e.delta);
      else imported = typeof e.before === 'number' ? e.before : null;
    }
  }
  points.reverse();
  return { points, before: state(imported, pending), now, truncated };
}

function state(imported: number | null, pending: number) {
  return { imported, pending, effective: imported === null ? null : Math.max(0, imported + pending) };
}
