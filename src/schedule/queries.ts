import type { Queryable } from '../store/types.js';

/**
 * When the catalog's last full import started, whatever its outcome (null before the
 * first): a firing after that time was missed. Partial runs (stock pushes) do not count.
 */
export async function lastFullImportStart(db: Queryable, catalogId: string): Promise<Date | null> {
  const rows = await db.query<{ started_at: Date | string }>({
    text: `SELECT started_at FROM import_runs WHERE catalog_id = $1 AND mode = 'full'
           ORDER BY id DESC LIMIT 1`,
    values: [catalogId],
  });
  const at = rows[0]?.started_at;
  return at === undefined ? null : new Date(at);
}
