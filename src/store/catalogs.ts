import type { CatalogDefinition } from '../model/catalog.js';
import { recordHistory } from './history.js';
import type { Queryable } from './types.js';

/** A stored catalog definition with its version. */
export interface StoredCatalog {
  id: string;
  definition: CatalogDefinition;
  version: number;
  origin: string;
  createdAt: string;
  updatedAt: string;
}

interface CatalogRow {
  id: string;
  definition: CatalogDefinition;
  version: number;
  origin: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, definition, version, origin, created_at, updated_at';

function toCatalog(r: CatalogRow): StoredCatalog {
  return {
    id: r.id,
    definition: r.definition,
    version: Number(r.version),
    origin: r.origin,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

/** One catalog, or undefined. */
export async function getCatalog(db: Queryable, id: string): Promise<StoredCatalog | undefined> {
  const rows = await db.query<CatalogRow>({
    text: `SELECT ${COLUMNS} FROM catalogs WHERE id = $1`,
    values: [id],
  });
  return rows[0] ? toCatalog(rows[0]) : undefined;
}

/** Every catalog, by id. */
export async function listCatalogs(db: Queryable): Promise<StoredCatalog[]> {
  const rows = await db.query<CatalogRow>({ text: `SELECT ${COLUMNS} FROM catalogs ORDER BY id` });
  return rows.map(toCatalog);
}

/** What saving a definition did. */
export type SaveOutcome = 'created' | 'updated' | 'unchanged';

/**
 * Saves a definition. An identical definition writes nothing (applying files is
 * idempotent); a changed one bumps the version and records its diff in history.
 */
export async function saveCatalog(
  db: Queryable,
  def: CatalogDefinition,
  origin: string,
): Promise<{ outcome: SaveOutcome; catalog: StoredCatalog }> {
  const json = JSON.stringify(def);
  const rows = await db.query<CatalogRow & { outcome: SaveOutcome; changes: Record<string, unknown> | null }>(
    {
      // prev reads the row as it was before this statement. (FOR UPDATE here would lock the
      // row that the upsert updates in the same statement: the locked read then skips it, and an
      // update would be reported as created, with the whole definition as its changes.)
      text: `WITH prev AS (SELECT definition FROM catalogs WHERE id = $1),
           up AS (
             INSERT INTO catalogs (id, definition, origin) VALUES ($1, $2::jsonb, $3)
             ON CONFLICT (id) DO UPDATE SET definition = EXCLUDED.definition, origin = EXCLUDED.origin,
               version = catalogs.version + 1, updated_at = now()
             WHERE catalogs.definition IS DISTINCT FROM EXCLUDED.definition
             RETURNING ${COLUMNS}
           )
           SELECT up.*, CASE WHEN prev.definition IS NULL THEN 'created' ELSE 'updated' END AS outcome,
                  -- The source redacted (a linked URL's credentials, literal header values): a
                  -- change of a secret alone still shows the source as changed.
                  jsonb_changes(coalesce(prev.definition, '{}'), up.definition) - 'source'
                  || CASE WHEN prev.definition -> 'source' IS DISTINCT FROM up.definition -> 'source'
                       THEN jsonb_build_object('source', jsonb_build_object(
                         'before', redact_catalog_source(coalesce(prev.definition -> 'source', 'null')),
                         'after', redact_catalog_source(coalesce(up.definition -> 'source', 'null'))))
                       ELSE '{}' END AS changes
           FROM up LEFT JOIN prev ON true`,
      values: [def.id, json, origin],
    },
  );
  const row = rows[0];
  if (!row) {
    const current = await getCatalog(db, def.id);
    if (!current) throw new Error(`catalog ${def.id} vanished while being saved`);
    return { outcome: 'unchanged', catalog: current };
  }
  await recordHistory(db, {
    type: row.outcome === 'created' ? 'catalog.created' : 'catalog.updated',
    catalogId: def.id,
    actor: origin,
    data: { version: Number(row.version), changes: row.changes ?? {} },
  });
  return { outcome: row.outcome, catalog: toCatalog(row) };
}

/** Locks a catalog's row for the caller's transaction (appliers of one catalog go one at a time); false when it is gone. */
export async function lockCatalog(tx: Queryable, id: string): Promise<boolean> {
  const rows = await tx.query({ text: 'SELECT id FROM catalogs WHERE id = $1 FOR UPDATE', values: [id] });
  return rows.length > 0;
}
