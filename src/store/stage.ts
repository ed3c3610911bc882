import type { StagedRow } from '../model/product.js';
import { lockCatalog } from './catalogs.js';
import { EAGER_CHUNK_ROWS, EagerApply, takeEagerSlot } from './eager-apply.js';
import { lastAppliedRunId } from './imports.js';
import { bumpCatalogRevision } from './revisions.js';
import { applyStaging, copyIntoStaging, createStaging, type DiffCounts } from './staging.js';
import type { Queryable, Session, Store } from './types.js';

/** What the apply writes of one run: whose it is and the diff its staged rows make. */
export interface StagedApply {
  catalogId: string;
  runId: number;
  actor: string;
  mode: 'full' | 'partial';
  diff: Pick<DiffCounts, 'created' | 'updated' | 'removed'>;
  /** The run the rows were diffed against: the apply is refused when another was applied since. */
  expectedBase?: number | null;
}

/** How the run's own records are written in the apply's transaction. */
export interface ApplyContext {
  /** The transaction began long before (an eager run's began with the run): date by the clock. */
  byClock: boolean;
}

/**
 * A run's rows, staged. Applying writes them into the catalog in one transaction, then
 * runs `finish` (the run's record, history) in it; both commit together or not at all.
 */
export interface StagedRun {
  /** Rows staged: products, and the skus of kept products. */
  readonly rows: number;
  /** Products already created while the feed was read (an eager first import); see eager-apply.ts. */
  readonly created: number | undefined;
  apply<T>(a: StagedApply, finish: (tx: Queryable, c: ApplyContext) => Promise<T>): Promise<T>;
  /** Gives up on applying (the run was held or failed): undoes what was created early. Idempotent. */
  discard(): Promise<void>;
}

/** Raised when the IMPORT_STALE check of a late apply fails. */
export class StaleStagingError extends Error {}

/**
 * Stages a run's rows into its staging table: one COPY stream that the store works on while
 * the next batch is read. The first full import into an empty catalog on PostgreSQL
 * (`intoEmptyCatalog`) also creates each COPY's products as soon as it is staged, in a
 * transaction of its own that `apply` commits (eager-apply.ts); every other run is
 * diffed and applied after. The caller drops the table (dropStaging) unless the run is held.
 */
export async function stageRows(
  store: Store,
  session: Session,
  rows: AsyncIterable<readonly StagedRow[]>,
  o: {
    table: string;
    catalogId: string;
    runId: number;
    actor: string;
    intoEmptyCatalog: boolean;
    /** Rows per COPY of an eager run (tests make it small to cross several); EAGER_CHUNK_ROWS by default. */
    eagerChunkRows?: number;
  },
): Promise<StagedRun> {
  // PGlite runs in this thread: nothing to overlap.
  const slot = o.intoEmptyCatalog && store.kind === 'postgres' ? takeEagerSlot() : undefined;
  let eager: EagerApply | undefined;
  const discard = async () => {
    await eager?.rollback();
    slot?.release();
  };
  try {
    await createStaging(session, o.table, { byOrd: slot !== undefined });
    if (slot) eager = new EagerApply(store, o);
    const chunkRows = eager ? Math.max(1, o.eagerChunkRows ?? EAGER_CHUNK_ROWS) : Number.POSITIVE_INFINITY;
    const copy = new CopyChunks(rows[Symbol.asyncIterator](), chunkRows);
    while (!copy.exhausted) {
      const after = copy.staged;
      await session.copyIn(copyIntoStaging(o.table), copy.next());
      eager?.add(after, copy.staged);
    }
    // An eager run created the first row of each sku already.
    const created = eager ? await eager.end() : undefined;
    const early = eager;
    return {
      rows: copy.staged,
      created,
      apply: async (a, finish) => {
        try {
          if (!early)
            return await applyStagedRows(session, o.table, a, (tx) => finish(tx, { byClock: false }));
          const applied = await early.commit(async (tx) => {
            // applyStagedRows bumps the catalog's revision for what it writes; the eager run wrote already.
            if (a.diff.created > 0) await bumpCatalogRevision(tx, a.catalogId);
            return finish(tx, { byClock: true });
          });
          if (applied === undefined) throw new Error('the import was rolled back before it could be applied');
          return applied;
        } finally {
          slot?.release();
        }
      },
      discard,
    };
  } catch (err) {
    await discard();
    throw err;
  }
}

/** The staged rows of a held run, still in their table, to be applied after a person reviewed them. */
export function stagedRun(session: Session, table: string, rows: number): StagedRun {
  return {
    rows,
    created: undefined,
    apply: (a, finish) => applyStagedRows(session, table, a, (tx) => finish(tx, { byClock: false })),
    discard: async () => {},
  };
}

/** Writes a staging table's diff into the catalog in one transaction, then `finish` in it. */
async function applyStagedRows<T>(
  session: Session,
  table: string,
  a: StagedApply,
  finish: (tx: Queryable) => Promise<T>,
): Promise<T> {
  return session.transaction(async (tx) => {
    // Serialises appliers of one catalog; a held run applied late checks it is not stale.
    await lockCatalog(tx, a.catalogId);
    if (a.expectedBase !== undefined && (await lastAppliedRunId(tx, a.catalogId)) !== a.expectedBase) {
      throw new StaleStagingError(`run ${a.runId} was held before a later import was applied`);
    }
    await tx.exec('SET LOCAL statement_timeout = 0');
    // The counts are the diff of this run against the catalog it was staged over (a held run
    // applied later is checked above not to be stale).
    await applyStaging(tx, table, a);
    return finish(tx);
  });
}

/**
 * The rows of one COPY in the store's text format, up to `chunkRows` rows per COPY: each
 * `next()` is the body of one COPY, in pieces of about 512 KiB.
 */
class CopyChunks {
  staged = 0;
  exhausted = false;
  private batch: readonly StagedRow[] = [];
  private at = 0;

  constructor(
    private readonly rows: AsyncIterator<readonly StagedRow[]>,
    private readonly chunkRows: number,
  ) {}

  async *next(): AsyncGenerator<string> {
    const upTo = this.staged + this.chunkRows;
    let text = '';
    while (this.staged < upTo) {
      if (this.at >= this.batch.length) {
        const next = await this.rows.next();
        if (next.done) {
          this.exhausted = true;
          break;
        }
        this.batch = next.value;
        this.at = 0;
        continue;
      }
      const row = this.batch[this.at++] as StagedRow;
      text += copyLine(++this.staged, row);
      if (text.length >= 512 * 1024) {
        yield text;
        text = '';
      }
    }
    if (text.length > 0) yield text;
  }
}

// COPY text format: backslash, tab and line breaks are escaped; JSON text has no raw
// control characters, so only its backslashes need doubling. A kept row carries only its sku.
function copyLine(ord: number, row: StagedRow): string {
  if ('kept' in row) return `${ord}\t${row.line}\t${escapeCopy(row.sku)}\t{}\t{}\tt\n`;
  return `${ord}\t${row.line}\t${escapeCopy(row.sku)}\t${escapeJson(JSON.stringify(row.fields))}\t${escapeJson(JSON.stringify(row.attributes))}\tf\n`;
}

function escapeJson(s: string): string {
  return s.includes('\\') ? s.replaceAll('\\', '\\\\') : s;
}

function escapeCopy(s: string): string {
  return /[\\\t\n\r]/.test(s)
    ? s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'))
    : s;
}
