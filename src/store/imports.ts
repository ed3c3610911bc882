import type { FetchState, NumberFormatNote } from '../model/catalog.js';
import type { Queryable } from './types.js';

/** Status of an import run. */
export type RunStatus = 'running' | 'applied' | 'held' | 'failed' | 'not_modified';

/** Why a run was held. */
export interface HeldReason {
  code:
    | 'no_valid_rows'
    | 'missing_columns'
    | 'too_many_removed'
    | 'too_many_errors'
    | 'fetch_failed'
    | 'parse_failed';
  message: string;
}

/** Counts of a run, as the user reads them. */
export interface RunCounts {
  rows: number;
  valid: number;
  created: number;
  updated: number;
  unchanged: number;
  removed: number;
  errors: number;
  /** Rows that are not products (a Shopify image row): neither imported nor errors. */
  skipped: number;
  /** Rows imported with a warning (a barcode in scientific notation…). */
  warnings: number;
  /**
   * Products whose row was invalid (a bad price, a stray comma): they keep their last imported
   * version, neither updated nor removed. Each such row is among the errors too.
   */
  kept: number;
}

/** An import run as stored and shown. */
export interface ImportRun {
  id: number;
  catalog: string;
  status: RunStatus;
  mode: 'full' | 'partial';
  forced: boolean;
  source: string;
  actor: string;
  startedAt: string;
  fetchedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  counts: RunCounts;
  heldReasons: HeldReason[];
  failure: string | null;
  /** Whether a held run still has its staged rows and can be applied. */
  applicable: boolean;
  /** How the feed's numbers were read (null before a run read any). */
  numberFormat: NumberFormatNote | null;
}

interface RunRow {
  id: number | string;
  catalog_id: string;
  status: RunStatus;
  mode: 'full' | 'partial';
  forced: boolean;
  source: string;
  actor: string;
  started_at: Date;
  fetched_at: Date | null;
  finished_at: Date | null;
  duration_ms: number | null;
  rows_total: number;
  rows_valid: number;
  created: number;
  updated: number;
  unchanged: number;
  removed: number;
  errors: number;
  skipped: number;
  warnings: number;
  kept: number;
  number_format: NumberFormatNote | null;
  held_reasons: HeldReason[];
  failure: string | null;
  staging_table: string | null;
  base_run_id: number | string | null;
}

/** The raw row, for code that needs the staging table and base run. */
export type ImportRunRecord = ImportRun & { stagingTable: string | null; baseRunId: number | null };

const iso = (d: Date | null) => (d === null ? null : new Date(d).toISOString());

function toRun(r: RunRow): ImportRunRecord {
  return {
    id: Number(r.id),
    catalog: r.catalog_id,
    status: r.status,
    mode: r.mode,
    forced: r.forced,
    source: r.source,
    actor: r.actor,
    startedAt: new Date(r.started_at).toISOString(),
    fetchedAt: iso(r.fetched_at),
    finishedAt: iso(r.finished_at),
    durationMs: r.duration_ms,
    counts: {
      rows: r.rows_total,
      valid: r.rows_valid,
      created: r.created,
      updated: r.updated,
      unchanged: r.unchanged,
      removed: r.removed,
      errors: r.errors,
      skipped: r.skipped,
      warnings: r.warnings,
      kept: r.kept,
    },
    heldReasons: r.held_reasons,
    failure: r.failure,
    applicable: r.status === 'held' && r.staging_table !== null,
    numberFormat: r.number_format,
    stagingTable: r.staging_table,
    baseRunId: r.base_run_id === null ? null : Number(r.base_run_id),
  };
}

/** Strips the internal columns for the API and CLI. */
export function publicRun(r: ImportRunRecord): ImportRun {
  const { stagingTable: _s, baseRunId: _b, ...run } = r;
  return run;
}

/** Creates a run in status `running`; its base is the last applied run of the catalog. */
export async function createRun(
  db: Queryable,
  r: { catalogId: string; mode: 'full' | 'partial'; forced: boolean; source: string; actor: string },
): Promise<ImportRunRecord> {
  const rows = await db.query<RunRow>({
    text: `INSERT INTO import_runs (catalog_id, status, mode, forced, source, actor, base_run_id)
           VALUES ($1, 'running', $2, $3, $4, $5,
             (SELECT max(id) FROM import_runs WHERE catalog_id = $1 AND status = 'applied'))
           RETURNING *`,
    values: [r.catalogId, r.mode, r.forced, r.source, r.actor],
  });
  return toRun(rows[0] as RunRow);
}

/** One run, or undefined. */
export async function getRun(db: Queryable, id: number): Promise<ImportRunRecord | undefined> {
  const rows = await db.query<RunRow>({ text: 'SELECT * FROM import_runs WHERE id = $1', values: [id] });
  return rows[0] ? toRun(rows[0]) : undefined;
}

/** The runs of a catalog, newest first, before the cursor. */
export async function listRuns(
  db: Queryable,
  catalogId: string,
  opts: { before?: number; limit: number },
): Promise<{ runs: ImportRunRecord[]; next: number | null }> {
  const rows = await db.query<RunRow>({
    text: `SELECT * FROM import_runs WHERE catalog_id = $1 AND ($2::bigint IS NULL OR id < $2)
           ORDER BY id DESC LIMIT $3`,
    values: [catalogId, opts.before ?? null, opts.limit + 1],
  });
  const runs = rows.slice(0, opts.limit).map(toRun);
  const last = runs.at(-1);
  return { runs, next: rows.length > opts.limit && last ? last.id : null };
}

/** Runs left `running` (their process may have died). */
export async function listRunningRuns(db: Queryable): Promise<ImportRunRecord[]> {
  const rows = await db.query<RunRow>({
    text: "SELECT * FROM import_runs WHERE status = 'running' ORDER BY id",
  });
  return rows.map(toRun);
}

/** Writes a run's outcome. */
export async function finishRun(
  db: Queryable,
  id: number,
  r: {
    status: RunStatus;
    counts: RunCounts;
    heldReasons?: HeldReason[];
    failure?: string | null;
    stagingTable?: string | null;
    forced?: boolean;
    fetchedAt?: Date | null;
    /** Validators of a linked feed, kept on an applied run for the next conditional GET. */
    fetchState?: FetchState;
    /** Stamped by the clock, not the transaction's start (see insertHistory's `byClock`). */
    byClock?: boolean;
    /** How the feed's numbers were read; left as it was when not given. */
    numberFormat?: NumberFormatNote;
  },
): Promise<ImportRunRecord> {
  const c = r.counts;
  const rows = await db.query<RunRow>({
    text: `UPDATE import_runs SET status = $2, rows_total = $3, rows_valid = $4, created = $5, updated = $6,
             unchanged = $7, removed = $8, errors = $9, held_reasons = $10::jsonb, failure = $11,
             staging_table = $12, forced = forced OR $13, fetched_at = coalesce($14, fetched_at),
             skipped = $18, warnings = $19, kept = $21, number_format = coalesce($22::jsonb, number_format),
             source_key = $15, source_etag = $16, source_last_modified = $17,
             -- now() is the transaction's start, which an import's history events share; a
             -- run finished in a transaction that stayed open while its feed was read goes by the
             -- clock. The duration always does: it includes the apply transaction's own work.
             finished_at = CASE WHEN $20 THEN clock_timestamp() ELSE now() END,
             duration_ms = (extract(epoch FROM (clock_timestamp() - started_at)) * 1000)::int
           WHERE id = $1 RETURNING *`,
    values: [
      id,
      r.status,
      c.rows,
      c.valid,
      c.created,
      c.updated,
      c.unchanged,
      c.removed,
      c.errors,
      JSON.stringify(r.heldReasons ?? []),
      r.failure ?? null,
      r.stagingTable ?? null,
      r.forced ?? false,
      r.fetchedAt ?? null,
      r.fetchState?.sourceKey ?? null,
      r.fetchState?.etag ?? null,
      r.fetchState?.lastModified ?? null,
      c.skipped,
      c.warnings,
      r.byClock === true,
      c.kept,
      r.numberFormat === undefined ? null : JSON.stringify(r.numberFormat),
    ],
  });
  return toRun(rows[0] as RunRow);
}

/** A row error or warning as stored: the line, the sku, a code and a sentence. */
export interface RowNote {
  line: number;
  sku: string | null;
  code: string;
  message: string;
}

/** Saves row errors (or warnings) in one statement. */
export async function insertRowErrors(
  db: Queryable,
  runId: number,
  issues: readonly RowNote[],
  severity: 'error' | 'warning' = 'error',
): Promise<void> {
  if (issues.length === 0) return;
  await db.query({
    text: `INSERT INTO import_row_errors (run_id, line, sku, code, message, severity)
           SELECT $1, u.line, u.sku, u.code, u.message, $6
           FROM unnest($2::int[], $3::text[], $4::text[], $5::text[]) AS u (line, sku, code, message)`,
    values: [
      runId,
      issues.map((i) => i.line),
      issues.map((i) => i.sku),
      issues.map((i) => i.code),
      issues.map((i) => i.message),
      severity,
    ],
  });
}

/** The row errors (or warnings) of a run, by line. */
export async function listRowErrors(
  db: Queryable,
  runId: number,
  opts: { limit: number; offset: number; severity?: 'error' | 'warning' },
): Promise<RowNote[]> {
  return db.query<RowNote>({
    text: `SELECT line, sku, code, message FROM import_row_errors WHERE run_id = $1 AND severity = $4
           ORDER BY line, code LIMIT $2 OFFSET $3`,
    values: [runId, opts.limit, opts.offset, opts.severity ?? 'error'],
  });
}

/** The latest applied run id of a catalog (null before the first). */
export async function lastAppliedRunId(db: Queryable, catalogId: string): Promise<number | null> {
  const rows = await db.query<{ id: number | string | null }>({
    text: "SELECT max(id) AS id FROM import_runs WHERE catalog_id = $1 AND status = 'applied'",
    values: [catalogId],
  });
  const id = rows[0]?.id;
  return id === null || id === undefined ? null : Number(id);
}

/**
 * Once a run of a catalog is applied, every other held run of that catalog is stale: it
 * was diffed against a catalog that no longer is. Their staged rows are released (the
 * runs stay in the record, no longer applicable); returns the staging tables to drop.
 */
export async function releaseStaleHeldRuns(
  db: Queryable,
  catalogId: string,
  appliedRunId: number,
): Promise<string[]> {
  const rows = await db.query<{ staging_table: string }>({
    text: `WITH stale AS (
             SELECT id, staging_table FROM import_runs
             WHERE catalog_id = $1 AND status = 'held' AND id <> $2 AND staging_table IS NOT NULL
             FOR UPDATE
           )
           UPDATE import_runs r SET staging_table = NULL FROM stale WHERE r.id = stale.id
           RETURNING stale.staging_table`,
    values: [catalogId, appliedRunId],
  });
  return rows.map((r) => r.staging_table);
}

/** The validators of the catalog's last applied full run, if it fetched a linked URL. */
export async function lastFetchState(db: Queryable, catalogId: string): Promise<FetchState | undefined> {
  const rows = await db.query<{
    source_key: string | null;
    source_etag: string | null;
    source_last_modified: string | null;
  }>({
    text: `SELECT source_key, source_etag, source_last_modified FROM import_runs
           WHERE catalog_id = $1 AND status = 'applied' AND mode = 'full' ORDER BY id DESC LIMIT 1`,
    values: [catalogId],
  });
  const r = rows[0];
  if (!r?.source_key) return undefined;
  return {
    sourceKey: r.source_key,
    etag: r.source_etag ?? undefined,
    lastModified: r.source_last_modified ?? undefined,
  };
}

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

/** The latest run of every catalog, by catalog id, in one statement. */
export async function lastRunPerCatalog(db: Queryable): Promise<Map<string, ImportRunRecord>> {
  const rows = await db.query<RunRow>({
    text: 'SELECT DISTINCT ON (catalog_id) * FROM import_runs ORDER BY catalog_id, id DESC',
  });
  return new Map(rows.map((r) => [r.catalog_id, toRun(r)]));
}
