import {
  createDialectNormalizer,
  type DialectResult,
  detectDialect,
  dialectNamed,
  type RowWarning,
} from '../catalog/dialects/index.js';
import { createKeyedNormalizer, createNormalizer, planHeader, planKeyedFeed } from '../catalog/normalize.js';
import { settleDecimalSeparator } from '../catalog/numbers.js';
import type { CatalogDefinition, DecimalSeparator, NumberFormatNote } from '../model/catalog.js';
import { CANONICAL_FIELDS, type CanonicalField, FIELD_TYPES } from '../model/fields.js';
import type { StagedRow } from '../model/product.js';
import { DEFAULT_MAX_RECORD_SIZE, FeedParseError } from '../parse/csv.js';
import { readFeed } from '../parse/detect.js';
import { type KeyedRecord, scalarText, valueAt } from '../parse/records.js';
import { THREADED_MIN_BYTES } from '../parse/threaded-csv.js';
import type { ParseWarning, RawRecord, RowIssue } from '../parse/types.js';
import { GOOGLE_NAMESPACE } from '../parse/xml.js';
import type { OpenedSource } from '../sources/source.js';
import type { RowNote } from '../store/imports.js';

/** Row errors kept per run; every error is counted, the first ones are stored. */
export const MAX_STORED_ROW_ERRORS = 10_000;

/**
 * Rows handed to the staging stream at a time. Small: a product held in a batch outlives
 * young-generation collections and is promoted; with 1,024 rows a batch, an import of
 * 1,000,000 products peaked 45 to 80 MiB higher and its first import ran 5 to 7 % slower
 * (bench:import, 400,000 and 1,000,000 products), with 64 as before batching.
 */
const BATCH_ROWS = 64;

/** Collects row errors (or warnings): counts all of them, keeps the first MAX_STORED_ROW_ERRORS. */
export class NoteSink {
  count = 0;
  readonly stored: RowNote[] = [];

  add(note: RowNote): void {
    this.count++;
    if (this.stored.length < MAX_STORED_ROW_ERRORS) this.stored.push(note);
  }

  addAll(notes: readonly RowNote[]): void {
    for (const n of notes) this.add(n);
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
}

/**
 * The read stage of an import: a feed's records typed into products, in batches for the
 * staging stream, with what was found on the way. Its counts are final once `batches()`
 * has been read to its end.
 */
export interface ProductReader {
  /**
   * Batches of rows to stage, in the feed's order: valid products, and with `keepInvalid`
   * (a full import over products: a bad price must not remove one) the skus of invalid rows,
   * staged as `kept`.
   */
  batches(keepInvalid: boolean): AsyncGenerator<StagedRow[]>;
  /** Records read (with those the parser skipped), valid products, rows that are not products. */
  readonly counts: { rows: number; valid: number; skipped: number };
  /** Invalid rows staged by their sku, for their product to be kept (see settleKeptRows). */
  readonly keptStaged: number;
  readonly errors: NoteSink;
  readonly warnings: NoteSink;
  /** The decimal separator the numbers were read with, and why. */
  readonly numberFormat: NumberFormatNote;
  /** Mapped columns the feed lacks (for keyed feeds, known once every record was read). */
  missingColumns(): string[];
  /** The column the sku is read from: the one column a partial feed cannot do without. */
  readonly skuColumn: string;
  /** Releases the parser (a CSV worker thread) when the records are not read to their end. */
  close(): Promise<void>;
}

/** How the read stage reads one feed. */
export interface ReadOptions {
  mode: 'full' | 'partial';
  onProgress?: (p: { rows: number; bytes?: number }) => void;
}

/**
 * Opens any feed (readFeed: gzip, encoding and format detection, then the format's
 * streaming parser), settles its decimal separator from its first records, and pairs it
 * with its normalizer: by column index for CSV/TSV (with the shop's export dialect, given
 * or detected), by key for XML, JSON and NDJSON. A definition with a dialect whose feed
 * turns out not to be CSV or TSV throws a FeedParseError: the run is held, not imported
 * without it.
 */
export async function readProducts(
  def: CatalogDefinition,
  source: OpenedSource,
  o: ReadOptions,
): Promise<ProductReader> {
  const feed = await openFeed(def, source, o.mode);
  try {
    return await feed.read(def, source, o);
  } catch (err) {
    await feed.close();
    throw err;
  }
}

/** A feed opened with its record shape `R`: everything the reader needs to type its records. */
interface OpenedFeed<R> {
  records: AsyncIterable<R>;
  /** The cells of a record's numeric fields (prices, stock, weight): where the decimal separator is told. */
  numericCells: (record: R) => string[];
  /** The normalizer for the feed's decimal separator, once it is settled. */
  normalizer: (decimal: DecimalSeparator) => (record: R) => DialectResult;
  issues: RowIssue[];
  warnings: ParseWarning[];
  missingColumns: () => string[];
  skuColumn: string;
  close: () => Promise<void>;
}

/** A feed of either record shape, hiding which: `read` settles and starts the reader. */
interface AnyFeed {
  read(def: CatalogDefinition, source: OpenedSource, o: ReadOptions): Promise<ProductReader>;
  close(): Promise<void>;
}

function anyFeed<R>(feed: OpenedFeed<R>): AnyFeed {
  return {
    read: async (def, source, o) => {
      const settled = await settleDecimalSeparator(
        feed.records,
        feed.numericCells,
        def.options?.decimalSeparator,
      );
      return new Reader(feed, settled.records, settled.note, source, o);
    },
    close: feed.close,
  };
}

class Reader<R> implements ProductReader {
  readonly counts = { rows: 0, valid: 0, skipped: 0 };
  keptStaged = 0;
  private parserSkipped = 0;
  readonly errors = new NoteSink();
  readonly warnings = new NoteSink();
  readonly skuColumn: string;
  private readonly normalize: (record: R) => DialectResult;

  constructor(
    private readonly feed: OpenedFeed<R>,
    private readonly records: AsyncIterable<R>,
    readonly numberFormat: NumberFormatNote,
    private readonly source: OpenedSource,
    private readonly o: ReadOptions,
  ) {
    this.normalize = feed.normalizer(numberFormat.decimalSeparator);
    this.skuColumn = feed.skuColumn;
  }

  missingColumns(): string[] {
    return this.feed.missingColumns();
  }

  close(): Promise<void> {
    return this.feed.close();
  }

  async *batches(keepInvalid: boolean): AsyncGenerator<StagedRow[]> {
    const { counts, o } = this;
    let batch: StagedRow[] = [];
    for await (const record of this.records) {
      counts.rows++;
      this.takeParserNotes();
      const out = this.normalize(record);
      for (const w of out.warnings) this.warnings.add(w);
      const result = out.result;
      if (!result) {
        // Not a product (a Shopify image row): neither imported nor an error.
        counts.skipped++;
      } else if (result.ok) {
        counts.valid++;
        batch.push(result.product);
      } else {
        this.errors.add(result.issue);
        if (keepInvalid && result.issue.sku !== null) {
          this.keptStaged++;
          batch.push({ kept: true, line: result.issue.line, sku: result.issue.sku });
        }
      }
      if (batch.length >= BATCH_ROWS) {
        yield batch;
        batch = [];
      }
      if (counts.rows % 10_000 === 0) o.onProgress?.({ rows: counts.rows, bytes: bytesRead(this.source) });
    }
    this.takeParserNotes();
    // Records the parser skipped count as rows too.
    counts.rows += this.parserSkipped;
    if (batch.length > 0) yield batch;
  }

  /** Takes the parser's notes out of its buffers: records it skipped (each a row) and what it changed. */
  private takeParserNotes(): void {
    const { issues, warnings } = this.feed;
    if (issues.length > 0) {
      this.parserSkipped += issues.length;
      this.errors.addAll(issues.splice(0));
    }
    if (warnings.length > 0) this.warnings.addAll(warnings.splice(0));
  }
}

/** What a file or socket stream has read so far (fs.ReadStream and net.Socket count it). */
function bytesRead(source: OpenedSource): number | undefined {
  const n = (source.stream as { bytesRead?: unknown }).bytesRead;
  return typeof n === 'number' ? n : undefined;
}

const NO_WARNINGS: RowWarning[] = [];
const NOTHING_TO_CLOSE = async () => {};

async function openFeed(
  def: CatalogDefinition,
  source: OpenedSource,
  mode: 'full' | 'partial',
): Promise<AnyFeed> {
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
    const { header, records, issues } = opened.feed;
    const close = opened.feed.close ?? NOTHING_TO_CLOSE;
    try {
      const dialect = def.preset !== undefined ? dialectNamed(def.preset) : detectDialect(header);
      // What the normalizer changes in a row it imports (NUL characters removed).
      const warnings: ParseWarning[] = [];
      if (dialect) {
        const { plan, skuColumn, numericColumns } = createDialectNormalizer(
          dialect,
          header,
          def.mapping,
          mode,
        );
        return anyFeed<RawRecord>({
          records,
          numericCells: (r) => cellsAt(r, numericColumns),
          normalizer: (decimal) => {
            const { normalize } = createDialectNormalizer(
              dialect,
              header,
              def.mapping,
              mode,
              decimal,
              warnings,
            );
            return normalize;
          },
          issues,
          warnings,
          missingColumns: () => plan.missingColumns,
          skuColumn,
          close,
        });
      }
      const plan = planHeader(header, def.mapping);
      const numericColumns = plan.fields.filter((f) => isNumericField(f.field)).map((f) => f.index);
      return anyFeed<RawRecord>({
        records,
        numericCells: (r) => cellsAt(r, numericColumns),
        normalizer: (decimal) => {
          const normalize = createNormalizer(plan, mode, decimal, warnings);
          return (r) => ({ result: normalize(r), warnings: NO_WARNINGS });
        },
        issues,
        warnings,
        missingColumns: () => plan.missingColumns,
        skuColumn: def.mapping?.sku ?? 'sku',
        close,
      });
    } catch (err) {
      await close();
      throw err;
    }
  }
  if (def.preset) {
    // A dialect reshapes a shop's CSV export: on another format it would be silently ignored
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
  return anyFeed<KeyedRecord>({
    records: keyed.records,
    numericCells: (r) =>
      numericColumns.flatMap((columns) => {
        for (const column of columns) {
          const value = valueAt(r.data, column);
          if (value !== undefined) return [scalarText(value)];
        }
        return [];
      }),
    normalizer: (decimal) => {
      const normalize = createKeyedNormalizer(plan, mode, decimal, keyed.warnings);
      return (r) => ({ result: normalize(r), warnings: NO_WARNINGS });
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
    close: NOTHING_TO_CLOSE,
  });
}

/** Whether a canonical field holds a number (a price, the stock, the weight). */
function isNumericField(field: CanonicalField): boolean {
  return FIELD_TYPES[field] === 'decimal' || FIELD_TYPES[field] === 'integer';
}

/** A record's cells at these indexes. */
function cellsAt(record: RawRecord, indexes: readonly number[]): string[] {
  return indexes.map((i) => record.values[i] ?? '');
}
