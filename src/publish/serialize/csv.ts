import { type Options, stringify } from 'csv-stringify/sync';
import type { FeedValue } from '../../model/channel.js';
import type { FeedSerializer } from './serializer.js';

/** How a CSV or TSV feed is written. */
export interface CsvLayout {
  /** `,` (or the channel's delimiter) for CSV, a tab for TSV. */
  delimiter: string;
  /** Whether formula-like text cells are neutralised (see `createCsvSerializer`). */
  neutralizeFormulas: boolean;
  contentType: string;
}

/**
 * CSV and TSV feeds (SPEC §3 "Publication"), written by csv-stringify, one call per batch.
 *
 * - RFC 4180, UTF-8 without BOM, a header row of the column names, CRLF after every record.
 *   A cell is quoted only when it holds the delimiter, a double quote, CR or LF; quotes
 *   inside are doubled. TSV is the same with a tab as delimiter (so a tab inside a cell is
 *   quoted, not dropped).
 * - Values: text as is; numbers as JavaScript writes them (`12.5`, `-3`); booleans `true`
 *   and `false`; null and missing as an empty cell; a list as its items' texts joined by
 *   `,` (a nested object item as JSON); an object as JSON text. In a one-column feed an
 *   empty cell is written `""`, so the record is not a blank line that readers skip.
 *   A lone surrogate (not Unicode text; UTF-8 cannot carry it) becomes U+FFFD when the
 *   feed is written as UTF-8, as with any UTF-8 encoder.
 * - Formula neutralisation (on unless the channel sets `options.neutralizeFormulas: false`):
 *   a text cell whose first character is `=`, `+`, `-`, `@`, tab or CR, or their full-width
 *   forms `＝ ＋ － ＠` (which some spreadsheets read as the ASCII ones), gets a leading `'`,
 *   so a spreadsheet shows it as text instead of running it (OWASP "CSV injection").
 *   Numbers are never touched, so a negative price stays `-3`; nor is text that is a plain
 *   number, such as `-3` or `+1.5e3`: a spreadsheet reads it as that number, there is
 *   nothing to run, and a marketplace parsing the column would choke on `'-3`. Lists and
 *   objects are neutralised on their joined text. The header row is written as is.
 */
export function createCsvSerializer(columns: readonly string[], layout: CsvLayout): FeedSerializer {
  const neutralize = layout.neutralizeFormulas;
  const text = (s: string): string => (neutralize ? neutralizeFormula(s) : s);
  const layoutOptions: Options = {
    delimiter: layout.delimiter,
    record_delimiter: '\r\n',
    // Given a record delimiter, csv-stringify would quote only that; a lone LF or CR in a
    // cell must be quoted too, or readers split the record there.
    quote_record_delimiter: true,
    quoted_empty: columns.length === 1,
  };
  const options: Options = {
    ...layoutOptions,
    cast: {
      string: text,
      boolean: (v: boolean) => (v ? 'true' : 'false'),
      object: (v) => text(objectText(v as FeedValue)),
    },
  };
  const header = stringify([columns], layoutOptions);
  return {
    contentType: layout.contentType,
    head: () => header,
    items: (rows) => (rows.length === 0 ? '' : stringify(rows as FeedValue[][], options)),
    rows: (rows) => (rows.length === 0 ? '' : stringify(rows as FeedValue[][], options)),
    tail: () => '',
  };
}

// Plain decimal numbers, signed or not, with an optional exponent: what a spreadsheet reads
// as a number and never as a formula.
const PLAIN_NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** A text cell with a leading `'` when a spreadsheet would run it as a formula (see above). */
export function neutralizeFormula(s: string): string {
  switch (s.charCodeAt(0)) {
    case 0x2b: // +
    case 0x2d: // -
      return PLAIN_NUMBER.test(s) ? s : `'${s}`;
    case 0x3d: // =
    case 0x40: // @
    case 0x09: // tab
    case 0x0d: // CR
    case 0xff1d: // ＝
    case 0xff0b: // ＋
    case 0xff0d: // －
    case 0xff20: // ＠
      return `'${s}`;
    default:
      return s;
  }
}

function objectText(v: FeedValue): string {
  if (Array.isArray(v)) {
    let out = '';
    for (let i = 0; i < v.length; i++) out += (i === 0 ? '' : ',') + itemText(v[i] as FeedValue);
    return out;
  }
  return JSON.stringify(v);
}

function itemText(v: FeedValue): string {
  if (v === null) return '';
  if (typeof v === 'object') return objectText(v);
  return String(v);
}
