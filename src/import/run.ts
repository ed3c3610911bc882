import { AppError } from '../errors.js';
import { reportOperation } from '../metrics.js';
import type { CatalogDefinition } from '../model/catalog.js';
import type { ImportInput, NotModifiedSource, OpenedSource, SourceDriver } from '../sources/source.js';
import { sourceFor } from '../sources/source.js';
import { getCatalog } from '../store/catalogs.js';
import { recordHistory } from '../store/history.js';
import {
  createRun,
  finishRun,
  getRun,
  type ImportRunRecord,
  insertRowErrors,
  lastFetchState,
  listRunningRuns,
} from '../store/imports.js';
import { hasProducts } from '../store/products.js';
import { type StagedRun, StaleStagingError, stagedRun, stageRows } from '../store/stage.js';
import {
  diffStaging,
  dropStaging,
  mergePartialRows,
  orphanStagingTables,
  removeDuplicateSkus,
  settleKeptRows,
  stagedRows,
  stagingExists,
  stagingTableName,
} from '../store/staging.js';
import type { Session, Store } from '../store/types.js';
import {
  type Applying,
  afterApply,
  emptyCounts,
  finishApply,
  finishHeld,
  finishNotModified,
  finishUnread,
} from './finish.js';
import { gate } from './gate.js';
import { isImportLocked, withImportLock } from './import-lock.js';
import { type ProductReader, readProducts } from './read.js';

export { emptyCounts } from './finish.js';

/** Progress of a running import, for a terminal's progress bar. */
export interface ImportProgress {
  phase: 'reading' | 'diffing' | 'applying';
  rows: number;
  /** Bytes read from the source so far, when its stream counts them (a file, stdin). */
  bytes?: number;
}

/** What to import and how. */
export interface ImportRequest {
  catalogId: string;
  input: ImportInput;
  mode: 'full' | 'partial';
  force: boolean;
  /** Who asked: `cli`, `api:<key name>`, `schedule`. */
  actor: string;
  /** Lets a linked URL reach private and loopback addresses (FEEDWRIGHT_ALLOW_PRIVATE_SOURCES). */
  allowPrivateSources?: boolean;
  onProgress?: (p: ImportProgress) => void;
  /** Rows per COPY of an eager run (tests make it small to cross several); EAGER_CHUNK_ROWS by default. */
  eagerChunkRows?: number;
}

/**
 * Runs one import: open → read → stage → diff → gate → apply (or hold). The catalog
 * changes only in the final transaction, so readers see it before or after the run, never
 * half-way. Returns the finished run: applied, held (by the safety gate, or because the feed
 * could not be opened, fetched or read to its end), not_modified (a linked feed answered
 * 304) or failed (the store broke or the process died). Throws only when no run could start
 * (unknown catalog, another import running).
 */
export async function runImport(store: Store, req: ImportRequest): Promise<ImportRunRecord> {
  const catalog = await getCatalog(store, req.catalogId);
  if (!catalog) throw new AppError('CATALOG_NOT_FOUND', `no catalog "${req.catalogId}"`);
  const def = catalog.definition;
  const run = await store.session(
    (session) =>
      withImportLock(session, def.id, async () => {
        const driver = sourceFor(def, req.input);
        const label = driver.describe();
        const run = await createRun(store, {
          catalogId: def.id,
          mode: req.mode,
          forced: req.force,
          source: label,
          actor: req.actor,
        });
        await recordHistory(store, {
          type: 'import.started',
          catalogId: def.id,
          runId: run.id,
          actor: req.actor,
          data: { source: label, mode: req.mode, forced: req.force },
        });
        // 1. Open. A forced run fetches a linked feed whole; so does a partial one (its validators are not kept).
        let source: OpenedSource | NotModifiedSource;
        try {
          const conditional = driver.linked && !req.force && req.mode === 'full';
          source = await driver.open({
            allowPrivateSources: req.allowPrivateSources ?? false,
            previous: conditional ? await lastFetchState(store, def.id) : undefined,
          });
        } catch (err) {
          const stage = driver.linked ? 'not_fetched' : 'not_opened';
          return finishUnread(store, run, emptyCounts(), undefined, err, req.actor, stage);
        }
        if (source.notModified) return finishNotModified(store, run, source, req.actor);
        return importOpened(store, session, def, run, source, driver, req);
      }),
    { longRunning: true },
  );
  reportImport(store, run);
  return run;
}

/** The stages after the source is open: read → stage → diff → gate → apply or hold. */
async function importOpened(
  store: Store,
  session: Session,
  def: CatalogDefinition,
  run: ImportRunRecord,
  source: OpenedSource,
  driver: SourceDriver,
  req: ImportRequest,
): Promise<ImportRunRecord> {
  const table = stagingTableName(run.id);
  const counts = emptyCounts();
  let reader: ProductReader | undefined;
  let staged: StagedRun | undefined;
  let held = false;
  try {
    // 2. Read: records typed into products. The feed is opened (and its first records read)
    // before anything else is awaited: a body that fails early fails while being read.
    reader = await readProducts(def, source, {
      mode: req.mode,
      onProgress: (p) => req.onProgress?.({ phase: 'reading', ...p }),
    });
    // 3. Stage, as the feed is read (into an empty catalog, products are created as it goes).
    // A full import over products keeps those whose rows are invalid.
    const catalogHasProducts = req.mode === 'full' ? await hasProducts(session, def.id) : true;
    staged = await stageRows(store, session, reader.batches(req.mode === 'full' && catalogHasProducts), {
      table,
      catalogId: def.id,
      runId: run.id,
      actor: req.actor,
      intoEmptyCatalog: req.mode === 'full' && !catalogHasProducts,
      eagerChunkRows: req.eagerChunkRows,
    });
    Object.assign(counts, reader.counts);
    const { errors, warnings } = reader;
    req.onProgress?.({ phase: 'diffing', rows: counts.rows });

    // 4. Diff. Duplicates are only looked for when some row was not created early.
    const duplicates = staged.created === counts.valid ? [] : await removeDuplicateSkus(session, table);
    counts.valid -= duplicates.length;
    errors.addAll(duplicates);
    if (reader.keptStaged > 0) {
      const kept = await settleKeptRows(session, table, def.id);
      counts.kept = kept.length;
      errors.markKept(kept);
    }
    if (staged.created !== undefined && staged.created !== counts.valid) {
      throw new Error(`${staged.created} products were created from ${counts.valid} distinct skus staged`);
    }
    // A partial feed may list skus the catalog does not have (a warehouse's stock of every
    // shop): they are reported, but they do not count as invalid rows for the gate.
    let unknownSkus = 0;
    if (req.mode === 'partial') {
      const unknown = await mergePartialRows(session, table, def.id);
      counts.valid -= unknown.length;
      unknownSkus = unknown.length;
      errors.addAll(unknown);
    }
    // An eager run's catalog is still empty to this connection: every staged row is created.
    const diff = await diffStaging(session, table, def.id, req.mode, counts.valid + counts.kept, counts.kept);
    counts.created = diff.created;
    counts.updated = diff.updated;
    counts.unchanged = diff.unchanged;
    counts.removed = diff.removed;
    counts.errors = errors.count;
    counts.warnings = warnings.count;
    await insertRowErrors(store, run.id, warnings.stored, 'warning');

    // 5. Gate. A partial feed carries only the columns it updates (a stock feed: sku and quantity).
    const missing = reader.missingColumns().filter((c) => req.mode === 'full' || c === reader?.skuColumn);
    const heldReasons = gate(def, missing, counts, counts.errors - unknownSkus, diff, req.mode);
    await insertRowErrors(store, run.id, errors.stored);
    const numberFormat = reader.numberFormat;
    if (heldReasons.length > 0 && !req.force) {
      await staged.discard();
      held = true;
      return await finishHeld(store, run, req.actor, {
        counts,
        heldReasons,
        stagingTable: table,
        fetchedAt: source.fetchedAt,
        numberFormat,
      });
    }

    // 6. Apply.
    req.onProgress?.({ phase: 'applying', rows: counts.rows });
    return await apply(session, staged, run.id, def.id, table, {
      actor: req.actor,
      mode: req.mode,
      counts,
      heldReasons,
      forced: req.force,
      fetchedAt: source.fetchedAt,
      fetchState: source.fetchState,
      numberFormat,
    });
  } catch (err) {
    await staged?.discard();
    // A linked feed whose body failed before its first byte (a timeout, a reset) was never
    // fetched; once bytes came, it was cut.
    const stage = driver.linked && !source.stream.readableDidRead ? 'not_fetched' : 'cut';
    // Cut while reading: the counts so far.
    if (reader && !staged) Object.assign(counts, reader.counts);
    return await finishUnread(store, run, counts, reader?.errors, err, req.actor, stage);
  } finally {
    await staged?.discard();
    source.stream.destroy();
    await reader?.close().catch(() => {});
    if (!held) await dropStaging(session, table).catch(() => {});
  }
}

/** The one apply path: the staged rows written, the run finished, in one transaction. */
async function apply(
  session: Session,
  staged: StagedRun,
  runId: number,
  catalogId: string,
  table: string,
  a: Applying & { expectedBase?: number | null },
): Promise<ImportRunRecord> {
  try {
    const applied = await staged.apply(
      { catalogId, runId, actor: a.actor, mode: a.mode, diff: a.counts, expectedBase: a.expectedBase },
      (tx, c) => finishApply(tx, catalogId, runId, table, a, c.byClock),
    );
    return await afterApply(session, a.counts, applied);
  } catch (err) {
    if (err instanceof StaleStagingError) {
      throw new AppError('IMPORT_STALE', `${err.message}; run the import again`);
    }
    throw err;
  }
}

/** Tells /metrics how a run ended. */
function reportImport(store: Store, run: ImportRunRecord): void {
  reportOperation(store, {
    type: 'import',
    catalog: run.catalog,
    status: run.status,
    validRows: run.counts.valid,
  });
}

/**
 * Applies a held run as it was staged, after a person reviewed it. Refused when the run
 * is not held, its staged rows are gone, or another import was applied since.
 */
export async function applyHeldRun(store: Store, runId: number, actor: string): Promise<ImportRunRecord> {
  const run = await getRun(store, runId);
  if (!run) throw new AppError('IMPORT_NOT_FOUND', `no import run ${runId}`);
  if (run.status !== 'held') throw new AppError('IMPORT_NOT_HELD', `run ${runId} is ${run.status}, not held`);
  const applied = await store.session(
    (session) =>
      withImportLock(session, run.catalog, async () => {
        const table = run.stagingTable;
        const rows = run.counts.valid + run.counts.kept;
        // UNLOGGED staging tables survive a clean restart but come back empty after a crash:
        // applying an emptied table would remove the whole catalog, so the row count must match.
        if (!table || !(await stagingExists(session, table)) || (await stagedRows(session, table)) !== rows) {
          throw new AppError(
            'IMPORT_STALE',
            `the rows of run ${runId} are no longer kept; run the import again with --force`,
          );
        }
        const applied = await apply(session, stagedRun(session, table, rows), run.id, run.catalog, table, {
          actor,
          mode: run.mode,
          counts: run.counts,
          heldReasons: run.heldReasons,
          forced: true,
          fetchedAt: null,
          expectedBase: run.baseRunId,
        });
        await dropStaging(session, table);
        return applied;
      }),
    { longRunning: true },
  );
  reportImport(store, applied);
  return applied;
}

/**
 * Marks runs left `running` by a process that died as failed, and drops staging tables
 * nobody needs. Safe with several processes: a run whose catalog lock is held is alive.
 */
export async function recoverInterruptedRuns(store: Store): Promise<number> {
  return store.session(async (session) => {
    let recovered = 0;
    for (const run of await listRunningRuns(session)) {
      if (await isImportLocked(session, run.catalog)) continue;
      await finishRun(session, run.id, {
        status: 'failed',
        counts: run.counts,
        failure: 'interrupted: the process stopped during the run; the catalog was left as it was',
      });
      await recordHistory(session, {
        type: 'import.failed',
        catalogId: run.catalog,
        runId: run.id,
        actor: 'system',
        data: { reason: 'interrupted' },
      });
      recovered++;
    }
    for (const table of await orphanStagingTables(session)) await dropStaging(session, table);
    return recovered;
  });
}
