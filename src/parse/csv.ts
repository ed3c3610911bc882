import type { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { RecordGuard } from './record-guard.js';
import type { ParsedFeed, RawRecord, RowIssue, RowIssueCode } from './types.js';

/** Options a catalog definition may give for CSV-like feeds. */
export interface CsvOptions {
  delimiter?: string;
  /** Longest accepted record, in bytes of UTF-8, line break excluded. */
  maxRecordSize?: number;
}

/** Default cap on one record: far above any real product row, far below memory trouble. */
export const DEFAULT_MAX_RECORD_SIZE = 1024 * 1024;

/** A run-level failure of the parser, with the line (and, when known, the column) it stopped at. */
export class FeedParseError extends Error {
  readonly line: number | undefined;
  /** 1-based column of the fault on its line, in characters (the XML reader gives it). */
  readonly column: number | undefined;
  constructor(message: string, line: number | undefined, cause?: unknown, column?: number) {
    super(message, { cause });
    this.name = 'FeedParseError';
    this.line = line;
    this.column = column;
  }
}

const SKIPPABLE: Record<string, RowIssueCode> = {
  CSV_MAX_RECORD_SIZE: 'record_too_long',
  CSV_INVALID_CLOSING_QUOTE: 'malformed_record',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'malformed_record',
  CSV_QUOTE_NOT_CLOSED: 'malformed_record',
};

/**
 * Parses a CSV byte stream with csv-parse. The first record is the header; every later
 * record comes out as a RawRecord. Records longer than maxRecordSize are cut out before
 * csv-parse (see RecordGuard); a record csv-parse rejects (a quote never closed) becomes a
 * row issue too, and parsing goes on. A record with the wrong number of cells is handed on
 * as it is: its consumer knows where the sku is.
 */
export async function parseCsv(input: Readable, options: CsvOptions = {}): Promise<ParsedFeed> {
  const issues: RowIssue[] = [];
  const maxRecordSize = options.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
  const delimiter = options.delimiter ?? ',';
  const guard = new RecordGuard({
    maxRecordSize,
    delimiter,
    onTooLong: (issue) => issues.push(issue),
    headerTooLong: (line) =>
      new FeedParseError(`CSV: the header is longer than ${maxRecordSize} bytes`, line),
  });
  const parser = parse({
    delimiter,
    // The bytes are UTF-8: decodeFeed turned the feed's encoding into it.
    encoding: 'utf8',
    bom: true,
    info: true,
    skip_empty_lines: true,
    // Spreadsheets write a quote inside an unquoted cell as it is (`Monitor 27" 4K`,
    // `=HYPERLINK("x")`): a quote opens a quoted cell only at the start of the cell.
    relax_quotes: true,
    // A record with more or fewer cells than the header is handed on: the import reads its
    // sku and reports the row (columnCountIssue), so that its product is kept, not removed.
    relax_column_count: true,
    // Only a backstop: the guard has cut longer records. Should csv-parse still meet one, it
    // would drop the rest of its buffer, so the run must fail rather than lose rows unseen.
    max_record_size: maxRecordSize,
    skip_records_with_error: true,
    on_skip: (err: CsvError | undefined) => {
      if (!err) return;
      const line = typeof err.lines === 'number' ? err.lines : 0;
      if (err.code === 'CSV_MAX_RECORD_SIZE') {
        throw new FeedParseError(`CSV: ${describeCsvError(err, maxRecordSize)}`, line, err);
      }
      issues.push({
        line,
        sku: null,
        code: SKIPPABLE[err.code] ?? 'malformed_record',
        message: describeCsvError(err, maxRecordSize),
      });
    },
  });
  input.on('error', (err) => guard.destroy(err));
  guard.on('error', (err) => parser.destroy(err));
  input.pipe(guard).pipe(parser);

  const iterator = parser[Symbol.asyncIterator]() as AsyncIterator<{
    record: string[];
    info: { lines: number };
  }>;
  const first = await next(iterator);
  if (first.done) return { header: [], records: emptyRecords(), issues };
  const header = first.value.record.map((h) => h.trim());

  async function* records(): AsyncGenerator<RawRecord> {
    try {
      for (;;) {
        const item = await next(iterator);
        if (item.done) return;
        const { record, info } = item.value;
        yield { line: info.lines - embeddedNewlines(record), values: record };
      }
    } finally {
      parser.destroy();
      guard.destroy();
      input.destroy();
    }
  }
  return { header, records: records(), issues };
}

async function next<T>(iterator: AsyncIterator<T>): Promise<IteratorResult<T>> {
  try {
    return await iterator.next();
  } catch (err) {
    if (err instanceof CsvError) {
      throw new FeedParseError(
        `CSV: ${err.message}`,
        typeof err.lines === 'number' ? err.lines : undefined,
        err,
      );
    }
    throw err;
  }
}

async function* emptyRecords(): AsyncGenerator<RawRecord> {}

/** csv-parse reports the line a record ends on; a quoted multi-line cell moves the start up. */
function embeddedNewlines(values: string[]): number {
  let n = 0;
  for (const v of values) {
    let i = v.indexOf('\n');
    while (i !== -1) {
      n++;
      i = v.indexOf('\n', i + 1);
    }
  }
  return n;
}

function describeCsvError(err: CsvError, maxRecordSize: number): string {
  switch (err.code) {
    case 'CSV_MAX_RECORD_SIZE':
      return `record longer than ${maxRecordSize} bytes`;
    default:
      return err.message.replace(/^[A-Za-z ]+:\s*/, '');
  }
}
