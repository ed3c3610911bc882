import type { RowIssue } from '../parse/types.js';
import type { RunCounts } from './imports.js';
import { countProducts } from './products.js';
import { bumpCatalogRevision } from './revisions.js';
import type { Queryable } from './types.js';

/**
 * The staging table of one run: an UNLOGGED table that receives the run's rows by COPY,
 * is diffed against `products` in SQL, and is dropped once the run is applied (or kept
 * while a held run waits for a person). The catalog is never touched before the apply
 * transaction, so a run that dies half-way leaves it as it was.
 */
export function stagingTableName(runId: number): string {
  if (!Number.isSafeInteger(runId) || runId <= 0) throw new Error(`bad run id ${runId}`);
  return `import_staging_${runId}`;
}

/**
 * Creates the staging table of a run. `ord` numbers the staged rows 1, 2, 3… in the feed's
 * order (a line number does not: a one-line JSON feed has every item on line 1). With
 * `byOrd`, an index on it lets an eager apply read each COPY's rows back by their range.
 */
export async function createStaging(
  db: Queryable,
  table: string,
  opts: { byOrd?: boolean } = {},
): Promise<void> {
  const ordIndex = opts.byOrd ? `; CREATE INDEX ${table}_ord ON ${table} (ord)` : '';
  await db.exec(`DROP TABLE IF EXISTS ${table}, ${deltaTable(table)};
    CREATE UNLOGGED TABLE ${table} (
      ord integer NOT NULL, line integer NOT NULL, sku text NOT NULL, fields jsonb NOT NULL, attributes jsonb NOT NULL,
      -- An invalid row of a full import: its product, if the catalog has it, keeps its last version.
      kept boolean NOT NULL DEFAULT false,
      -- Computed by the server while the COPY streams (the other core), as products.hash is.
      hash text GENERATED ALWAYS AS (md5(fields::text || '|' || attributes::text)) STORED
    )${ordIndex}`);
}

/** The COPY statement that fills a staging table. */
export function copyIntoStaging(table: string): string {
  return `COPY ${table} (ord, line, sku, fields, attributes, kept) FROM STDIN`;
}

/** Drops a staging table if it is there. */
export async function dropStaging(db: Queryable, table: string): Promise<void> {
  await db.exec(`DROP TABLE IF EXISTS ${table}, ${deltaTable(table)}`);
}

/**
 * The delta of a staging table: only the rows that are new or changed, with their kind,
 * written by the one join of the diff so that applying never joins the whole feed again.
 */
export function deltaTable(table: string): string {
  return `${table}_delta`;
}

/** Whether a staging table still exists (an UNLOGGED table is emptied by crash recovery). */
export async function stagingExists(db: Queryable, table: string): Promise<boolean> {
  const rows = await db.query<{ t: string | null }>({
    text: 'SELECT to_regclass($1)::text AS t',
    values: [table],
  });
  return rows[0]?.t != null;
}

/** How many rows a staging table holds. */
export async function stagedRows(db: Queryable, table: string): Promise<number> {
  const rows = await db.query<{ n: number }>({ text: `SELECT count(*)::int AS n FROM ${table}` });
  return rows[0]?.n ?? 0;
}

/** Staging tables whose run is no longer running or held: leftovers of a crash. */
export async function orphanStagingTables(db: Queryable): Promise<string[]> {
  const rows = await db.query<{ name: string }>({
    text: `SELECT c.relname AS name FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
           WHERE c.relkind = 'r' AND c.relname LIKE 'import\\_staging\\_%'
             AND NOT EXISTS (SELECT 1 FROM import_runs r WHERE r.status = 'held'
                             AND c.relname IN (r.staging_table, r.staging_table || '_delta'))
             AND NOT EXISTS (SELECT 1 FROM import_runs r WHERE r.status = 'running'
                             AND c.relname IN ('import_staging_' || r.id, 'import_staging_' || r.id || '_delta'))`,
  });
  return rows.map((r) => r.name);
}

/**
 * Keeps the first row of each sku (by `ord`: a one-line JSON or XML feed has every item on
 * the same line) and returns the later ones as duplicate_sku issues, in feed order.
 * Set-based: one aggregate finds the skus seen twice; only those rows are touched.
 */
export async function removeDuplicateSkus(db: Queryable, table: string): Promise<RowIssue[]> {
  await db.exec(`ANALYZE ${table}`);
  const rows = await db.query<{ ord: number; line: number; sku: string; first: number }>({
    text: `WITH dup AS (SELECT sku, min(ord) AS first_ord FROM ${table} WHERE NOT kept
                        GROUP BY sku HAVING count(*) > 1),
           first AS (SELECT dup.sku, dup.first_ord, s.line FROM dup JOIN ${table} s
                     ON s.sku = dup.sku AND s.ord = dup.first_ord)
           DELETE FROM ${table} s USING first
           WHERE s.sku = first.sku AND s.ord <> first.first_ord AND NOT s.kept
           RETURNING s.ord, s.line, s.sku, first.line AS first`,
  });
  return rows
    .sort((a, b) => a.ord - b.ord)
    .map((r) => ({
      line: r.line,
      sku: r.sku,
      code: 'duplicate_sku' as const,
      message: `duplicate sku "${r.sku}", first seen on line ${r.first}; this row is skipped`,
    }));
}

/**
 * Settles the invalid rows a full import staged as `kept` (see createStaging): a row whose
 * sku also has a valid row, or is not in the catalog, or was kept already, is dropped; the
 * others keep their product as it is (diffStaging counts them, applyStaging leaves them).
 * Returns the lines and skus of the products kept, in feed order.
 */
export async function settleKeptRows(
  db: Queryable,
  table: string,
  catalogId: string,
): Promise<Array<{ line: number; sku: string }>> {
  await db.query({
    text: `DELETE FROM ${table} s WHERE s.kept AND (
             EXISTS (SELECT 1 FROM ${table} v WHERE v.sku = s.sku AND (NOT v.kept OR v.ord < s.ord))
             OR NOT EXISTS (SELECT 1 FROM products p WHERE p.catalog_id = $1 AND p.sku = s.sku))`,
    values: [catalogId],
  });
  return db.query<{ line: number; sku: string }>({
    text: `SELECT line, sku FROM ${table} WHERE kept ORDER BY ord`,
  });
}

/**
 * Partial mode: rows whose sku is not in the catalog become unknown_sku issues, and
 * the others are merged over the stored product (a null clears a field), so that the
 * rest of the run diffs and applies whole products as a full run does.
 */
export async function mergePartialRows(db: Queryable, table: string, catalogId: string): Promise<RowIssue[]> {
  const unknown = await db.query<{ line: number; sku: string }>({
    text: `DELETE FROM ${table} s WHERE NOT EXISTS
             (SELECT 1 FROM products p WHERE p.catalog_id = $1 AND p.sku = s.sku)
           RETURNING s.line, s.sku`,
    values: [catalogId],
  });
  await db.query({
    text: `UPDATE ${table} s SET fields = jsonb_strip_nulls(p.fields || s.fields),
             attributes = jsonb_strip_nulls(p.attributes || s.attributes)
           FROM products p WHERE p.catalog_id = $1 AND p.sku = s.sku`,
    values: [catalogId],
  });
  return unknown
    .sort((a, b) => a.line - b.line)
    .map((r) => ({
      line: r.line,
      sku: r.sku,
      code: 'unknown_sku' as const,
      message: `sku "${r.sku}" is not in the catalog; a partial import only updates existing products`,
    }));
}

/** What applying the staged rows would do. */
export type DiffCounts = Pick<RunCounts, 'created' | 'updated' | 'unchanged' | 'removed'> & {
  existing: number;
};

/**
 * Diffs the staged rows against the catalog, changing nothing in it: one join by sku and
 * content hash writes the new and changed rows into the delta table, and the counts follow
 * from it. Over an empty catalog every row is new and no join is needed at all.
 * `staged` is the number of rows in the staging table, `kept` how many of them are kept rows
 * (settleKeptRows): each matches its product and is neither updated nor removed.
 */
export async function diffStaging(
  db: Queryable,
  table: string,
  catalogId: string,
  mode: 'full' | 'partial',
  staged: number,
  kept = 0,
): Promise<DiffCounts> {
  const existing = await countProducts(db, catalogId);
  if (existing === 0) return { created: staged - kept, updated: 0, unchanged: 0, removed: 0, existing };
  const delta = deltaTable(table);
  await db.exec(`DROP TABLE IF EXISTS ${delta};
    CREATE UNLOGGED TABLE ${delta} (sku text NOT NULL, fields jsonb NOT NULL, attributes jsonb NOT NULL,
      hash text NOT NULL, is_new boolean NOT NULL)`);
  await db.query({
    text: `INSERT INTO ${delta} (sku, fields, attributes, hash, is_new)
           SELECT s.sku, s.fields, s.attributes, s.hash, p.sku IS NULL
           FROM ${table} s LEFT JOIN products p ON p.catalog_id = $1 AND p.sku = s.sku
           WHERE NOT s.kept AND (p.sku IS NULL OR p.hash <> s.hash)`,
    values: [catalogId],
  });
  await db.exec(`ANALYZE ${delta}`);
  const [c] = await db.query<{ created: number; updated: number }>({
    text: `SELECT count(*) FILTER (WHERE is_new)::int AS created, count(*) FILTER (WHERE NOT is_new)::int AS updated
           FROM ${delta}`,
  });
  const created = c?.created ?? 0;
  const updated = c?.updated ?? 0;
  // A kept row matches its product (it is in the catalog) and changes nothing.
  const matched = staged - created;
  return {
    created,
    updated,
    unchanged: matched - updated - kept,
    removed: mode === 'full' ? existing - matched : 0,
    existing,
  };
}

/**
 * Applies the staged rows to the catalog, set-based, inside the caller's transaction:
 * one statement each for updates, removals and creations, each writing its history
 * events (field-level before/after for updates) in the same statement. Updates and
 * creations read the delta table (only what changed); a statement whose count is zero is
 * not run at all, so an unchanged feed costs the diff and nothing more. Over an empty
 * catalog (no delta table) every staged row is created.
 */
export async function applyStaging(
  tx: Queryable,
  table: string,
  a: {
    catalogId: string;
    runId: number;
    actor: string;
    mode: 'full' | 'partial';
    diff: Pick<DiffCounts, 'created' | 'updated' | 'removed'>;
  },
): Promise<void> {
  const values = [a.catalogId, a.runId, a.actor];
  const delta = deltaTable(table);
  const hasDelta = await stagingExists(tx, delta);
  if (a.diff.updated > 0) {
    await tx.query({
      text: `WITH changed AS (
               SELECT d.sku, d.fields, d.attributes, d.hash,
                      jsonb_changes(p.fields, d.fields) || jsonb_changes(p.attributes, d.attributes, 'attributes.') AS changes
               FROM ${delta} d JOIN products p ON p.catalog_id = $1 AND p.sku = d.sku
               WHERE NOT d.is_new
             ), upd AS (
               UPDATE products p SET fields = c.fields, attributes = c.attributes, hash = c.hash,
                 updated_at = now(), last_run_id = $2
               FROM changed c WHERE p.catalog_id = $1 AND p.sku = c.sku
             )
             INSERT INTO history (type, catalog_id, sku, run_id, actor, data)
             SELECT 'product.updated', $1, c.sku, $2, $3, jsonb_build_object('changes', c.changes) FROM changed c`,
      values,
    });
  }
  if (a.mode === 'full' && a.diff.removed > 0) {
    await tx.query({
      text: `WITH del AS (
               DELETE FROM products p WHERE p.catalog_id = $1
                 AND NOT EXISTS (SELECT 1 FROM ${table} s WHERE s.sku = p.sku)
               RETURNING p.sku, p.fields
             )
             INSERT INTO history (type, catalog_id, sku, run_id, actor, data)
             SELECT 'product.removed', $1, del.sku, $2, $3, jsonb_build_object('fields', del.fields) FROM del`,
      values,
    });
  }
  if (a.diff.created > 0) {
    await tx.query({
      text: createProducts(hasDelta ? `${delta} WHERE is_new` : `${table} WHERE NOT kept`),
      values,
    });
  }
  if (a.diff.created + a.diff.updated + (a.mode === 'full' ? a.diff.removed : 0) > 0) {
    await bumpCatalogRevision(tx, a.catalogId);
  }
}

/**
 * One statement that creates the products of `rows` (staged rows: a table and its filter),
 * each with its product.created event, and counts them; $1 is the catalog, $2 the run, $3
 * the actor. `opts.firstOfSku` skips a sku already in the catalog, so the first row of each
 * sku in the order given is the one created; `opts.at` dates the events (the transaction's
 * start by default).
 */
function createProducts(rows: string, opts: { firstOfSku?: boolean; at?: string } = {}): string {
  return `WITH ins AS (
            INSERT INTO products (catalog_id, sku, fields, attributes, hash, last_run_id)
            SELECT $1, sku, fields, attributes, hash, $2 FROM ${rows}
            ${opts.firstOfSku ? 'ON CONFLICT (catalog_id, sku) DO NOTHING' : ''}
            RETURNING sku, fields
          ), history_rows AS (
            INSERT INTO history (type, catalog_id, sku, run_id, actor, data, at)
            SELECT 'product.created', $1, ins.sku, $2, $3, jsonb_build_object('fields', ins.fields),
                   ${opts.at ?? 'now()'}
            FROM ins
          )
          SELECT count(*)::int AS n FROM ins`;
}

/**
 * Creates, inside the caller's transaction, the products of the staged rows whose `ord` is
 * in (after, upTo], each with its product.created event, in one statement, and returns how
 * many were created. The rows are taken in `ord` order (by the index on it: the caller turns
 * bitmap scans off, so no sort is needed) and a sku already created is skipped, so the first
 * row of each sku in the feed is the one created. The events are dated when the range is
 * created: the caller's transaction began with the run.
 */
export async function createStagedRange(
  tx: Queryable,
  table: string,
  a: { catalogId: string; runId: number; actor: string; after: number; upTo: number },
): Promise<number> {
  const rows = await tx.query<{ n: number }>({
    text: createProducts(`${table} WHERE ord > $4 AND ord <= $5 ORDER BY ord`, {
      firstOfSku: true,
      at: 'statement_timestamp()',
    }),
    values: [a.catalogId, a.runId, a.actor, a.after, a.upTo],
  });
  return rows[0]?.n ?? 0;
}
