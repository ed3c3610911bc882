import { reconcileAfterMs } from '../catalog/definition.js';
import { AppError } from '../errors.js';
import type { FetchState, NumberFormatNote } from '../model/catalog.js';
import { FeedParseError } from '../parse/csv.js';
import type { NotModifiedSource } from '../sources/source.js';
import { getCatalog } from '../store/catalogs.js';
import { recordHistory } from '../store/history.js';
import {
  finishRun,
  type HeldReason,
  type ImportRunRecord,
  insertRowErrors,
  type RunCounts,
  releaseStaleHeldRuns,
} from '../store/imports.js';
import { analyzeProducts } from '../store/products.js';
import { bumpCatalogRevision } from '../store/revisions.js';
import { dropStaging } from '../store/staging.js';
import { reconcileLedger } from '../store/stock.js';
import type { Queryable, Session, Store } from '../store/types.js';
import type { NoteSink } from './read.js';

/** The counts of a run that read nothing. */
export function emptyCounts(): RunCounts {
  return {
    rows: 0,
    valid: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    removed: 0,
    errors: 0,
    skipped: 0,
    warnings: 0,
    kept: 0,
  };
}

/** A linked feed that answered 304: recorded, nothing parsed, the catalog unchanged. */
export async function finishNotModified(
  store: Store,
  run: ImportRunRecord,
  source: NotModifiedSource,
  actor: string,
): Promise<ImportRunRecord> {
  const done = await finishRun(store, run.id, { status: 'not_modified', counts: emptyCounts() });
  await recordHistory(store, {
    type: 'import.not_modified',
    catalogId: run.catalog,
    runId: run.id,
    actor,
    data: { etag: source.validators.etag ?? null, lastModified: source.validators.lastModified ?? null },
  });
  return done;
}

/** A run the gate held: its staged rows are kept for a person to apply. */
export async function finishHeld(
  store: Store,
  run: ImportRunRecord,
  actor: string,
  held: {
    counts: RunCounts;
    heldReasons: HeldReason[];
    stagingTable: string;
    fetchedAt: Date;
    numberFormat: NumberFormatNote;
  },
): Promise<ImportRunRecord> {
  const done = await finishRun(store, run.id, { status: 'held', ...held });
  await recordHistory(store, {
    type: 'import.held',
    catalogId: run.catalog,
    runId: run.id,
    actor,
    data: { reasons: held.heldReasons, counts: held.counts },
  });
  return done;
}

/** How a run is applied: who, its counts and what the gate said. */
export interface Applying {
  actor: string;
  mode: 'full' | 'partial';
  counts: RunCounts;
  heldReasons: HeldReason[];
  forced: boolean;
  fetchedAt: Date | null;
  fetchState?: FetchState;
  numberFormat?: NumberFormatNote;
}

/** An applied run, and the staging tables of the held runs it made stale. */
export interface Applied {
  run: ImportRunRecord;
  stale: string[];
}

/**
 * The end of an apply, in its transaction once the products are written: the run is marked
 * applied, the ledger reconciled, history told; held runs of the catalog staged before it
 * are released (their tables are dropped by afterApply). `byClock`: the run and its
 * closing events are dated by the clock (an eager run's transaction began with the run).
 */
export async function finishApply(
  tx: Queryable,
  catalogId: string,
  runId: number,
  table: string,
  a: Applying,
  byClock: boolean,
): Promise<Applied> {
  const run = await finishRun(tx, runId, {
    status: 'applied',
    counts: a.counts,
    heldReasons: a.heldReasons,
    forced: a.forced,
    fetchedAt: a.fetchedAt,
    fetchState: a.fetchState,
    byClock,
    numberFormat: a.numberFormat,
  });
  // Ledger entries this feed can know of are now reflected by it: it is the truth again.
  const catalog = await getCatalog(tx, catalogId);
  const reflected = await reconcileLedger(tx, {
    catalogId,
    runId,
    reconcileAfterMs: reconcileAfterMs(catalog?.definition ?? {}),
    ...(a.mode === 'partial' ? { stagingTable: table } : {}),
  });
  if (reflected > 0) {
    // Effective stock moved for the reflected skus: a full rebuild, as for any import.
    await bumpCatalogRevision(tx, catalogId);
    await recordHistory(tx, {
      type: 'stock.reconciled',
      catalogId,
      runId,
      actor: a.actor,
      data: { entries: reflected },
      byClock,
    });
  }
  await recordHistory(tx, {
    type: 'import.applied',
    catalogId,
    runId,
    actor: a.actor,
    data: {
      counts: a.counts,
      forced: a.forced,
      ...(a.heldReasons.length ? { overrode: a.heldReasons } : {}),
    },
    byClock,
  });
  return { run, stale: await releaseStaleHeldRuns(tx, catalogId, runId) };
}

/** After an apply's commit: drops the released staging tables and refreshes the planner's statistics. */
export async function afterApply(session: Session, c: RunCounts, applied: Applied): Promise<ImportRunRecord> {
  // The run is applied: what follows is housekeeping, and its failure must not mark the run
  // failed (a table left behind is dropped at the next start, statistics by autovacuum).
  try {
    for (const table of applied.stale) await dropStaging(session, table);
    // After a large change the planner's idea of the catalog is stale (autovacuum comes later):
    // the next import's diff join would be planned as if the catalog were small.
    if (c.created + c.removed + c.updated > Math.max(1000, c.unchanged / 10)) await analyzeProducts(session);
  } catch {}
  return applied.run;
}

/** Error codes that mean the feed could not be fetched or read: the run is held, not failed. */
const UNREADABLE_CODES: ReadonlySet<string> = new Set([
  'IMPORT_SOURCE_UNREADABLE',
  'IMPORT_NO_SOURCE',
  'UNSUPPORTED_FORMAT',
  'PAYLOAD_TOO_LARGE',
  'SOURCE_FORBIDDEN_ADDRESS',
  'SOURCE_UNREACHABLE',
  'SOURCE_TIMEOUT',
  'SOURCE_HTTP_ERROR',
  'SOURCE_TOO_LARGE',
  'SOURCE_TRUNCATED',
]);

/** Stream errors of a byte source cut off mid-way (a dropped upload or connection). */
const CUT_STREAM_CODES: ReadonlySet<string> = new Set([
  'ERR_STREAM_PREMATURE_CLOSE',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
]);

/**
 * How far the feed's bytes got when a run stopped: a file or upload that could not be
 * opened, a linked feed of which no byte of the body came (refused, an error status, a
 * timeout, a secret not set), or a body cut after it started.
 */
export type UnreadStage = 'not_opened' | 'not_fetched' | 'cut';

const UNREAD_WORDING: Record<UnreadStage, string> = {
  not_opened: 'the feed could not be opened',
  not_fetched: 'the feed could not be fetched',
  cut: 'the feed could not be read to its end',
};

/**
 * Ends a run that stopped before it could be applied. A feed that could not be opened,
 * fetched or read to its end holds the run (SPEC §3: the catalog stays as it was and a
 * person sees why, worded after `stage`); anything else (the store, a bug) fails it.
 */
export async function finishUnread(
  store: Store,
  run: ImportRunRecord,
  counts: RunCounts,
  errors: NoteSink | undefined,
  err: unknown,
  actor: string,
  stage: UnreadStage,
): Promise<ImportRunRecord> {
  const message =
    err instanceof FeedParseError
      ? `${err.message}${err.line !== undefined ? ` (line ${err.line}${err.column !== undefined ? `, column ${err.column}` : ''})` : ''}`
      : err instanceof Error
        ? err.message
        : String(err);
  counts.errors = errors?.count ?? 0;
  if (errors) await insertRowErrors(store, run.id, errors.stored).catch(() => {});
  const code = (err as { code?: unknown } | null)?.code;
  const unreadable =
    err instanceof FeedParseError ||
    (err instanceof AppError && UNREADABLE_CODES.has(err.code)) ||
    (typeof code === 'string' && CUT_STREAM_CODES.has(code));
  if (unreadable) {
    const reason: HeldReason = {
      code: err instanceof FeedParseError ? 'parse_failed' : 'fetch_failed',
      message: err instanceof FeedParseError ? message : `${UNREAD_WORDING[stage]}: ${message}`,
    };
    const held = await finishRun(store, run.id, { status: 'held', counts, heldReasons: [reason] });
    await recordHistory(store, {
      type: 'import.held',
      catalogId: run.catalog,
      runId: run.id,
      actor,
      data: { reasons: [reason], counts, ...(err instanceof AppError ? { code: err.code } : {}) },
    });
    return held;
  }
  const failure = connectionLost(err)
    ? `the connection to the store was lost during the import (${message}); the catalog was left as it was`
    : message;
  const failed = await finishRun(store, run.id, { status: 'failed', counts, failure });
  await recordHistory(store, {
    type: 'import.failed',
    catalogId: run.catalog,
    runId: run.id,
    actor,
    data: { reason: failure, counts },
  });
  return failed;
}

// PostgreSQL's classes of a connection that is gone: 57P0x (terminated by an administrator,
// a crash or a restart) and 08xxx (connection exceptions).
const CONNECTION_LOST = /^(57P0[1-3]|08\d{3})$/;

/** Whether an error says the store's connection was lost (terminated, reset, not queryable). */
function connectionLost(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CONNECTION_LOST.test(code)) return true;
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|not queryable|ECONNRESET/.test(message);
}
