import { AppError } from '../errors.js';
import { reportOperation } from '../metrics.js';
import { DEFAULT_MAX_RECORD_SIZE, FeedParseError } from '../parse/csv.js';
import { readFeed } from '../parse/detect.js';
import { type KeyedRecord, scalarText, valueAt } from '../parse/records.js';
import { THREADED_MIN_BYTES } from '../parse/threaded-csv.js';
import type { ParseWarning, RawRecord, RowIssue } from '../parse/types.js';
import { GOOGLE_NAMESPACE } from '../parse/xml.js';
import { type FetchState, fetchStateAfter, validatorsFor } from '../sources/fetch-state.js';
import {
  describeSource,
  type ImportInput,
  type NotModifiedSource,
  type OpenedSource,
  openSource,
} from '../sources/source.js';
import { getCatalog, lockCatalog } from '../store/catalogs.js';
import { recordHistory } from '../store/history.js';
import {
  createRun,
  finishRun,
  getRun,
  type HeldReason,
  type ImportRunRecord,
  insertRowErrors,
  lastAppliedRunId,
  lastFetchState,
  listRunningRuns,
  type RowNote,
  type RunCounts,
  releaseStaleHeldRuns,
} from '../store/imports.js';
import { analyzeProducts, hasProducts } from '../store/products.js';
import { bumpCatalogRevision } from '../store/revisions.js';
import {
  applyStaging,
  copyIntoStaging,
  createStaging,
  type DiffCounts,
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
import { reconcileLedger } from '../store/stock.js';
import type { Queryable, Session, Store } from '../store/types.js';
import {
  type CatalogDefinition,
  DEFAULT_MAX_DROP_PERCENT,
  DEFAULT_MAX_ERROR_PERCENT,
  reconcileAfterMs,
} from './definition.js';
import { EAGER_CHUNK_ROWS, EagerApply, takeEagerSlot } from './eager-apply.js';
import { CANONICAL_FIELDS, type CanonicalField, FIELD_TYPES } from './fields.js';
import { isImportLocked, withImportLock } from './import-lock.js';
import {
  createKeyedNormalizer,
  createNormalizer,
  type NormalizedProduct,
  planHeader,
  planKeyedFeed,
} from './normalize.js';
import { type DecimalSeparator, type NumberFormatNote, settleDecimalSeparator } from './numbers.js';
import { createPresetNormalizer, detectPreset, type PresetResult, type RowWarning } from './presets.js';

/** Row errors kept per run; every error is counted, the first ones are stored. */
export const MAX_STORED_ROW_ERRORS = 10_000;

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
 * Runs one import: fetch → parse → validate → stage → diff → gate → apply or hold.
 * The catalog changes only in the final transaction, so readers see it before or after
 * the run, never half-way. Returns the finished run: applied, held (by the safety gate,
 * or because the feed could not be opened, fetched or read to its end), not_modified (a linked
 * feed answered 304) or failed (the store broke or the process died). Throws only when
 * no run could start (unknown catalog, another import running).
 */
export async function runImport(store: Store, req: ImportRequest): Promise<ImportRunRecord> {
  const catalog = await getCatalog(store, req.catalogId);
  if (!catalog) throw new AppError('CATALOG_NOT_FOUND', `no catalog "${req.catalogId}"`);
  const def = catalog.definition;
  const run = await store.session(
    (session) =>
      withImportLock(session, def.id, async () => {
        const label = describeSource(def, req.input);
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
        const url =
          def.source && 'url' in def.source && req.input.kind === 'default' ? def.source.url : undefined;
        let source: OpenedSource | NotModifiedSource;
        try {
          // A forced run fetches the feed whole; so does a partial one (its validators are not kept).
          const previous =
            url && !req.force && req.mode === 'full'
              ? validatorsFor(await lastFetchState(store, def.id), url)
              : undefined;
          source = await openSource(def, req.input, {
            allowPrivateSources: req.allowPrivateSources ?? false,
            previous,
          });
        } catch (err) {
          const stage = url !== undefined ? 'not_fetched' : 'not_opened';
          return finishUnread(store, run, emptyCounts(), new ErrorSink(), err, req.actor, stage);
        }
        if (source.notModified) return finishNotModified(store, run, source, req.actor);
        const fetchState = url && source.validators ? fetchStateAfter(url, source.validators) : undefined;
        return executeRun(store, session, def, run, source, req, { linked: url !== undefined, fetchState });
      }),
    { longRunning: true },
  );
  reportImport(store, run);
  return run;
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

/** A linked feed that answered 304: recorded, nothing parsed, the catalog unchanged. */
async function finishNotModified(
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

async function executeRun(
  store: Store,
  session: Session,
  def: CatalogDefinition,
  run: ImportRunRecord,
  source: OpenedSource,
  req: ImportRequest,
  fetched: { linked: boolean; fetchState: FetchState | undefined },
): Promise<ImportRunRecord> {
  const { fetchState } = fetched;
  const table = stagingTableName(run.id);
  const counts = emptyCounts();
  const errors = new ErrorSink();
  const warnings = new ErrorSink();
  let keepStaging = false;
  let feed: ImportFeed | undefined;
  let eager: EagerApply<Applied> | undefined;
  let eagerSlot: { release: () => void } | undefined;
  try {
    feed = await openFeed(def, source, req.mode);
    const opened = feed;
    // The decimal separator is the feed's, given or detected once from its first records.
    const settled = await settleDecimalSeparator(
      opened.records,
      opened.numericCells,
      def.options?.decimalSeparator,
    );
    const numberFormat = settled.note;
    const normalize = opened.normalizer(numberFormat.decimalSeparator);
    const catalogHasProducts = req.mode === 'full' ? await hasProducts(session, def.id) : true;
    // The first full import into an empty catalog, on PostgreSQL: its rows are created while
    // the feed is still read (see eager-apply.ts). PGlite runs in this thread: nothing to overlap.
    if (store.kind === 'postgres' && req.mode === 'full' && !catalogHasProducts) eagerSlot = takeEagerSlot();
    // A full import keeps the products whose rows are invalid (a bad price must not remove one):
    // such a row is staged as `kept`, by its sku, to be settled against the catalog (settleKeptRows).
    const keepInvalid = req.mode === 'full' && catalogHasProducts;
    let keptStaged = 0;
    await createStaging(session, table, { byOrd: eagerSlot !== undefined });
    if (eagerSlot)
      eager = new EagerApply(store, { table, catalogId: def.id, runId: run.id, actor: req.actor });

    // Parsing, validation and COPY run as one stream: the store works on a batch while
    // the next one is parsed. An eager run ends a COPY every `chunkRows` rows and hands them on.
    const records = settled.records[Symbol.asyncIterator]();
    let exhausted = false;
    let staged = 0;
    async function* copyChunks(upTo: number): AsyncGenerator<string> {
      let chunk = '';
      while (staged < upTo) {
        const next = await records.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        const record = next.value;
        counts.rows++;
        if (opened.issues.length > 0) errors.drain(opened.issues);
        if (opened.warnings.length > 0) warnings.addAll(opened.warnings.splice(0));
        const out = normalize(record);
        for (const w of out.warnings) warnings.add(w);
        const result = out.result;
        if (!result) {
          // Not a product (a Shopify image row): neither imported nor an error.
          counts.skipped++;
          continue;
        }
        if (result.ok) {
          counts.valid++;
          chunk += copyLine(++staged, result.product);
        } else {
          errors.add(result.issue);
          if (keepInvalid && result.issue.sku !== null) {
            keptStaged++;
            chunk += keptLine(++staged, result.issue.line, result.issue.sku);
          }
        }
        if (chunk.length >= 512 * 1024) {
          yield chunk;
          chunk = '';
        }
        if (counts.rows % 10_000 === 0)
          req.onProgress?.({ phase: 'reading', rows: counts.rows, bytes: bytesRead(source.stream) });
      }
      if (opened.issues.length > 0) errors.drain(opened.issues);
      if (opened.warnings.length > 0) warnings.addAll(opened.warnings.splice(0));
      if (chunk.length > 0) yield chunk;
    }
    const chunkRows = eager ? Math.max(1, req.eagerChunkRows ?? EAGER_CHUNK_ROWS) : Number.POSITIVE_INFINITY;
    while (!exhausted) {
      const after = staged;
      await session.copyIn(copyIntoStaging(table), copyChunks(staged + chunkRows));
      eager?.add(after, staged);
    }
    // Records csv-parse skipped count as rows too.
    counts.rows += errors.parserSkipped;
    req.onProgress?.({ phase: 'diffing', rows: counts.rows });

    // An eager run created the first row of each sku already; duplicates are only looked for
    // when some row was not created.
    const created = eager ? await eager.end() : undefined;
    const duplicates = created === counts.valid ? [] : await removeDuplicateSkus(session, table);
    counts.valid -= duplicates.length;
    errors.addAll(duplicates);
    if (keptStaged > 0) {
      const kept = await settleKeptRows(session, table, def.id);
      counts.kept = kept.length;
      errors.markKept(kept);
    }
    if (created !== undefined && created !== counts.valid) {
      throw new Error(`${created} products were created from ${counts.valid} distinct skus staged`);
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
    Object.assign(counts, pick(diff));
    counts.errors = errors.count;
    counts.warnings = warnings.count;
    await insertRowErrors(store, run.id, warnings.stored, 'warning');

    // A partial feed carries only the columns it updates (a stock feed: sku and quantity).
    const missing =
      req.mode === 'partial'
        ? opened.missingColumns().filter((c) => c === opened.skuColumn)
        : opened.missingColumns();
    const heldReasons = gate(def, missing, counts, counts.errors - unknownSkus, diff, req.mode);
    await insertRowErrors(store, run.id, errors.stored);
    if (heldReasons.length > 0 && !req.force) {
      await eager?.rollback();
      keepStaging = true;
      const held = await finishRun(store, run.id, {
        status: 'held',
        counts,
        heldReasons,
        stagingTable: table,
        fetchedAt: source.fetchedAt,
        numberFormat,
      });
      await recordHistory(store, {
        type: 'import.held',
        catalogId: def.id,
        runId: run.id,
        actor: req.actor,
        data: { reasons: heldReasons, counts },
      });
      return held;
    }
    req.onProgress?.({ phase: 'applying', rows: counts.rows });
    const applying = {
      actor: req.actor,
      mode: req.mode,
      counts,
      heldReasons,
      forced: req.force,
      fetchedAt: source.fetchedAt,
      fetchState,
      numberFormat,
    };
    if (eager) {
      const applied = await eager.commit(async (tx) => {
        // applyStaging bumps the catalog's revision for what it writes; the eager run wrote already.
        if (counts.created > 0) await bumpCatalogRevision(tx, def.id);
        return finishApply(tx, def.id, run.id, table, { ...applying, byClock: true });
      });
      if (!applied) throw new Error('the import was rolled back before it could be applied');
      return await afterApply(session, applying.counts, applied);
    }
    return await applyRun(session, def.id, run.id, table, applying);
  } catch (err) {
    await eager?.rollback();
    // A linked feed whose body failed before its first byte (a timeout, a reset) was never
    // fetched; once bytes came, it was cut.
    const stage = fetched.linked && !source.stream.readableDidRead ? 'not_fetched' : 'cut';
    return await finishUnread(store, run, counts, errors, err, req.actor, stage);
  } finally {
    eagerSlot?.release();
    source.stream.destroy();
    await feed?.close?.().catch(() => {});
    if (!keepStaging) await dropStaging(session, table).catch(() => {});
  }
}

/** How a run is applied: who, its counts and what the gate said. */
interface Applying {
  actor: string;
  mode: 'full' | 'partial';
  counts: RunCounts;
  heldReasons: HeldReason[];
  forced: boolean;
  fetchedAt: Date | null;
  fetchState?: FetchState;
  expectedBase?: number | null;
  /** The run and its closing events are dated by the clock (an eager run's transaction began with the run). */
  byClock?: boolean;
  numberFormat?: NumberFormatNote;
}

/** An applied run, and the staging tables of the held runs it made stale. */
interface Applied {
  run: ImportRunRecord;
  stale: string[];
}

/** Applies a run's staged rows in one transaction and marks the run applied. */
async function applyRun(
  session: Session,
  catalogId: string,
  runId: number,
  table: string,
  a: Applying,
): Promise<ImportRunRecord> {
  const result = await session.transaction(async (tx) => {
    // Serialises appliers of one catalog; a held run applied late checks it is not stale.
    await lockCatalog(tx, catalogId);
    if (a.expectedBase !== undefined && (await lastAppliedRunId(tx, catalogId)) !== a.expectedBase) {
      throw new AppError(
        'IMPORT_STALE',
        `run ${runId} was held before a later import was applied; run the import again`,
      );
    }
    await tx.exec('SET LOCAL statement_timeout = 0');
    // The counts are the diff of this run against the catalog it was staged over (a held run
    // applied later is checked above not to be stale).
    await applyStaging(tx, table, { catalogId, runId, actor: a.actor, mode: a.mode, diff: a.counts });
    return finishApply(tx, catalogId, runId, table, a);
  });
  return afterApply(session, a.counts, result);
}

/**
 * The end of an apply, in its transaction once the products are written: the run is marked
 * applied, the ledger reconciled, history told; held runs of the catalog staged before it
 * are released (their tables are dropped by afterApply).
 */
async function finishApply(
  tx: Queryable,
  catalogId: string,
  runId: number,
  table: string,
  a: Applying,
): Promise<Applied> {
  const run = await finishRun(tx, runId, {
    status: 'applied',
    counts: a.counts,
    heldReasons: a.heldReasons,
    forced: a.forced,
    fetchedAt: a.fetchedAt,
    fetchState: a.fetchState,
    byClock: a.byClock,
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
      byClock: a.byClock,
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
    byClock: a.byClock,
  });
  return { run, stale: await releaseStaleHeldRuns(tx, catalogId, runId) };
}

/** After an apply's commit: drops the released staging tables and refreshes the planner's statistics. */
async function afterApply(session: Session, c: RunCounts, applied: Applied): Promise<ImportRunRecord> {
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
        // UNLOGGED staging tables survive a clean restart but come back empty after a crash:
        // applying an emptied table would remove the whole catalog, so the row count must match.
        if (
          !table ||
          !(await stagingExists(session, table)) ||
          (await stagedRows(session, table)) !== run.counts.valid + run.counts.kept
        ) {
          throw new AppError(
            'IMPORT_STALE',
            `the rows of run ${runId} are no longer kept; run the import again with --force`,
          );
        }
        const applied = await applyRun(session, run.catalog, run.id, table, {
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

/**
 * The safety gate (SPEC §3): why a run must be held, if it must. `invalid` is the number of
 * rows that are not valid products (row errors, but for a partial feed's unknown skus).
 */
function gate(
  def: CatalogDefinition,
  missingColumns: string[],
  counts: RunCounts,
  invalid: number,
  diff: DiffCounts,
  mode: 'full' | 'partial',
): HeldReason[] {
  const reasons: HeldReason[] = [];
  if (missingColumns.length > 0) {
    reasons.push({
      code: 'missing_columns',
      message: `the feed lacks mapped column${missingColumns.length > 1 ? 's' : ''} ${missingColumns.map((c) => `"${c}"`).join(', ')}`,
    });
  }
  if (counts.valid === 0) {
    reasons.push({ code: 'no_valid_rows', message: `no valid row among ${counts.rows} rows` });
  }
  const maxErrors = def.safety?.maxErrorPercent ?? DEFAULT_MAX_ERROR_PERCENT;
  // Rows that are products or meant to be (a Shopify image row is neither).
  const considered = counts.rows - counts.skipped;
  if (counts.valid > 0 && considered > 0 && (invalid / considered) * 100 > maxErrors) {
    const pct = Math.round((invalid / considered) * 1000) / 10;
    reasons.push({
      code: 'too_many_errors',
      message: `${invalid} of ${considered} rows (${pct} %) are invalid, more than the ${maxErrors} % allowed`,
    });
  }
  const max = def.safety?.maxDropPercent ?? DEFAULT_MAX_DROP_PERCENT;
  if (mode === 'full' && diff.existing > 0 && (diff.removed / diff.existing) * 100 > max) {
    const pct = Math.round((diff.removed / diff.existing) * 1000) / 10;
    reasons.push({
      code: 'too_many_removed',
      message: `would remove ${diff.removed} of ${diff.existing} products (${pct} %), more than the ${max} % allowed`,
    });
  }
  return reasons;
}

const NO_WARNINGS: RowWarning[] = [];

/** A feed opened for the import: its records, how to normalize one, and what the mapping missed. */
interface ImportFeed {
  records: AsyncIterable<RawRecord | KeyedRecord>;
  /** The cells of a record's numeric fields (prices, stock, weight): where the decimal separator is told. */
  numericCells: (record: RawRecord | KeyedRecord) => string[];
  /** The normalizer for the feed's decimal separator, once it is settled. */
  normalizer: (decimal: DecimalSeparator) => (record: RawRecord | KeyedRecord) => PresetResult;
  /** Record-level parse problems, filled while iterating. */
  issues: RowIssue[];
  /** What the parser changed in records it handed on, filled while iterating. */
  warnings: ParseWarning[];
  /** Mapped columns the feed lacks (for keyed feeds, known once every record was read). */
  missingColumns: () => string[];
  /** The column the sku is read from: the one column a partial feed cannot do without. */
  skuColumn: string;
  /** Releases the parser (a CSV worker thread) when the records are not read to their end. */
  close?: () => Promise<void>;
}

/**
 * Opens any feed (readFeed: gzip, encoding and format detection, then the format's
 * streaming parser) and pairs it with its normalizer: by column index for CSV/TSV, by key
 * for XML, JSON and NDJSON. A definition with a preset whose feed turns out not to be CSV
 * or TSV throws a FeedParseError: the run is held, not imported without the preset.
 */
async function openFeed(
  def: CatalogDefinition,
  source: OpenedSource,
  mode: 'full' | 'partial',
): Promise<ImportFeed> {
  const o = def.options ?? {};
  const opened = await readFeed(source.stream, {
    format: def.format,
    delimiter: o.delimiter,
    encoding: o.encoding,
    name: source.name,
    contentType: source.contentType,
    maxRecordSize: o.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE,
    maxDepth: o.maxDepth,
    itemPath: o.itemPath,
    itemsPath: o.itemsPath,
    stripNamespaces: o.stripNamespaces,
    htmlEntities: o.htmlEntities,
    threaded: (source.size ?? 0) >= THREADED_MIN_BYTES,
  });
  if (opened.kind === 'rows') {
    const { header, close } = opened.feed;
    try {
      const preset = def.preset ?? detectPreset(header);
      // What the normalizer changes in a row it imports (NUL characters removed).
      const warnings: ParseWarning[] = [];
      if (preset) {
        const { plan, skuColumn, numericColumns } = createPresetNormalizer(preset, header, def.mapping, mode);
        return {
          records: opened.feed.records,
          numericCells: (r) => cellsAt(r as RawRecord, numericColumns),
          normalizer: (decimal) => {
            const { normalize } = createPresetNormalizer(
              preset,
              header,
              def.mapping,
              mode,
              decimal,
              warnings,
            );
            return (r) => normalize(r as RawRecord);
          },
          issues: opened.feed.issues,
          warnings,
          missingColumns: () => plan.missingColumns,
          skuColumn,
          close,
        };
      }
      const plan = planHeader(header, def.mapping);
      const numericColumns = plan.fields.filter((f) => isNumericField(f.field)).map((f) => f.index);
      return {
        records: opened.feed.records,
        numericCells: (r) => cellsAt(r as RawRecord, numericColumns),
        normalizer: (decimal) => {
          const normalize = createNormalizer(plan, mode, decimal, warnings);
          return (r) => ({ result: normalize(r as RawRecord), warnings: NO_WARNINGS });
        },
        issues: opened.feed.issues,
        warnings,
        missingColumns: () => plan.missingColumns,
        skuColumn: def.mapping?.sku ?? 'sku',
        close,
      };
    } catch (err) {
      await close?.();
      throw err;
    }
  }
  if (def.preset) {
    // A preset reshapes a shop's CSV export: on another format it would be silently ignored
    // and the feed imported with a mapping nobody wrote for it.
    throw new FeedParseError(
      `the ${def.preset} preset reads CSV or TSV exports; this feed is ${opened.format.toUpperCase()}`,
      undefined,
    );
  }
  const keyed = opened.feed;
  // A Google Shopping feed (Google's namespace bound to a prefix) is read by Google's names:
  // `g:id` is the sku, `g:link` the url…, with or without their prefix (see planKeyedFeed).
  const googlePrefixes = Object.keys(keyed.namespaces).filter(
    (prefix) => prefix !== '' && keyed.namespaces[prefix] === GOOGLE_NAMESPACE,
  );
  const plan = planKeyedFeed(def.mapping, { googlePrefixes, strippedName: keyed.strippedName });
  const mapped = Object.keys(def.mapping ?? {}) as CanonicalField[];
  const numericColumns = CANONICAL_FIELDS.filter(isNumericField).map((field) => plan.columns[field]);
  return {
    records: keyed.records,
    numericCells: (r) =>
      numericColumns.flatMap((columns) => {
        for (const column of columns) {
          const value = valueAt((r as KeyedRecord).data, column);
          if (value !== undefined) return [scalarText(value)];
        }
        return [];
      }),
    normalizer: (decimal) => {
      const normalize = createKeyedNormalizer(plan, mode, decimal, keyed.warnings);
      return (r) => ({ result: normalize(r as KeyedRecord), warnings: NO_WARNINGS });
    },
    issues: keyed.issues,
    warnings: keyed.warnings,
    // Optional elements are often left out of one item or another: a mapped key counts as
    // present when any item had it, as written or with its prefix stripped.
    missingColumns: () =>
      mapped
        .filter(
          (field) =>
            !plan.columns[field].some((column) => keyed.keysSeen.has(column.split('/')[0] ?? column)),
        )
        .map((field) => def.mapping?.[field] ?? field),
    skuColumn: def.mapping?.sku ?? 'sku',
  };
}

/** Whether a canonical field holds a number (a price, the stock, the weight). */
function isNumericField(field: CanonicalField): boolean {
  return FIELD_TYPES[field] === 'decimal' || FIELD_TYPES[field] === 'integer';
}

/** A record's cells at these indexes. */
function cellsAt(record: RawRecord, indexes: readonly number[]): string[] {
  return indexes.map((i) => record.values[i] ?? '');
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
type UnreadStage = 'not_opened' | 'not_fetched' | 'cut';

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
async function finishUnread(
  store: Store,
  run: ImportRunRecord,
  counts: RunCounts,
  errors: ErrorSink,
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
  counts.errors = errors.count;
  await insertRowErrors(store, run.id, errors.stored).catch(() => {});
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

/** What a file or socket stream has read so far (fs.ReadStream and net.Socket count it). */
function bytesRead(stream: OpenedSource['stream']): number | undefined {
  const n = (stream as { bytesRead?: unknown }).bytesRead;
  return typeof n === 'number' ? n : undefined;
}

function pick(d: DiffCounts) {
  return { created: d.created, updated: d.updated, unchanged: d.unchanged, removed: d.removed };
}

/** Collects row errors: counts all of them, keeps the first MAX_STORED_ROW_ERRORS. */
class ErrorSink {
  count = 0;
  parserSkipped = 0;
  readonly stored: RowNote[] = [];

  add(issue: RowNote): void {
    this.count++;
    if (this.stored.length < MAX_STORED_ROW_ERRORS) this.stored.push(issue);
  }

  addAll(issues: RowNote[]): void {
    for (const i of issues) this.add(i);
  }

  /** Says, in the stored errors of these rows, that their product keeps its last imported version. */
  markKept(rows: ReadonlyArray<{ line: number; sku: string }>): void {
    const kept = new Set(rows.map((r) => `${r.line}\u0000${r.sku}`));
    for (const note of this.stored) {
      if (note.sku !== null && kept.has(`${note.line}\u0000${note.sku}`)) {
        note.message += '; the product keeps its last imported version';
      }
    }
  }

  /** Takes the parser's issues (records it skipped) out of its buffer. */
  drain(issues: RowIssue[]): void {
    this.parserSkipped += issues.length;
    for (const i of issues.splice(0)) this.add(i);
  }
}

// COPY text format: backslash, tab and line breaks are escaped; JSON text has no raw
// control characters, so only its backslashes need doubling.
function copyLine(ord: number, p: NormalizedProduct): string {
  return `${ord}\t${p.line}\t${escapeCopy(p.sku)}\t${escapeJson(JSON.stringify(p.fields))}\t${escapeJson(JSON.stringify(p.attributes))}\tf\n`;
}

/** The staged row of an invalid row whose product is kept as it is (see settleKeptRows). */
function keptLine(ord: number, line: number, sku: string): string {
  return `${ord}\t${line}\t${escapeCopy(sku)}\t{}\t{}\tt\n`;
}

function escapeJson(s: string): string {
  return s.includes('\\') ? s.replaceAll('\\', '\\\\') : s;
}

function escapeCopy(s: string): string {
  return /[\\\t\n\r]/.test(s)
    ? s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'))
    : s;
}
