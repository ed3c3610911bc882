/** The revision counters a channel's feed is stale by: the catalog's and its stock's. */
import type { Queryable } from './types.js';

/**
 * Bumps a catalog's stock revision (a stock movement) and returns the new one: its channels'
 * feeds are stale from now on. Take it last in a transaction: it is the row orders queue on.
 */
export async function bumpStockRevision(db: Queryable, catalogId: string): Promise<number> {
  const rows = await db.query<{ revision: number | string }>({
    text: `INSERT INTO catalog_stock (catalog_id, revision) VALUES ($1, 1)
           ON CONFLICT (catalog_id) DO UPDATE SET revision = catalog_stock.revision + 1
           RETURNING revision`,
    values: [catalogId],
  });
  return Number(rows[0]?.revision ?? 0);
}

/** Bumps a catalog's revision: its channels' feeds are stale from now on. */
export async function bumpCatalogRevision(db: Queryable, catalogId: string): Promise<void> {
  await db.query({ text: 'UPDATE catalogs SET revision = revision + 1 WHERE id = $1', values: [catalogId] });
}

/** A catalog's revision now (0 for a catalog never imported; -1 when there is no such catalog). */
export async function catalogRevision(db: Queryable, catalogId: string): Promise<number> {
  const rows = await db.query<{ revision: number | string }>({
    text: 'SELECT revision FROM catalogs WHERE id = $1',
    values: [catalogId],
  });
  return rows[0] ? Number(rows[0].revision) : -1;
}
