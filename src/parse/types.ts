/**
 * The intermediate representation after parsing: a feed is a header (the column names,
 * in order) followed by records of raw string cells, each with the line it starts on.
 */
export interface RawRecord {
  /** 1-based line of the source where the record starts. */
  line: number;
  values: string[];
}

/** A problem with one record, collected rather than thrown: the run goes on. */
export interface RowIssue {
  line: number;
  sku: string | null;
  code: RowIssueCode;
  message: string;
}

export type RowIssueCode =
  | 'record_too_long'
  | 'column_count'
  | 'malformed_record'
  | 'missing_sku'
  | 'sku_too_long'
  | 'invalid_quantity'
  | 'invalid_price'
  | 'invalid_number'
  | 'invalid_boolean'
  | 'invalid_status'
  | 'duplicate_sku'
  | 'unknown_sku';

/**
 * Something the parser changed or noticed in a record that it still hands on: the record is
 * imported and the run lists the warning (HTML entities decoded, control characters removed,
 * a lone surrogate replaced). A warning about the whole feed names the first line it concerns.
 */
export interface ParseWarning {
  line: number;
  sku: string | null;
  code: ParseWarningCode;
  message: string;
}

export type ParseWarningCode = 'html_entities' | 'control_characters' | 'lone_surrogate' | 'nul_removed';

/** A parsed feed: its header, its records as a stream, and the issues found while parsing. */
export interface ParsedFeed {
  header: string[];
  records: AsyncIterable<RawRecord>;
  /** Record-level parse problems (too long, wrong column count); filled while iterating. */
  issues: RowIssue[];
  /**
   * Stops the parser and releases what it holds (a worker thread) when its records will
   * not be read to their end; reading them to their end, or stopping early, does it too.
   */
  close?: () => Promise<void>;
}
