import { Transform, type TransformCallback } from 'node:stream';
import type { RowIssue } from './types.js';

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
const UTF8_BOM = [0xef, 0xbb, 0xbf];
/** Bytes looked at one by one before a run is searched for with Buffer.indexOf. */
const PROBE = 5;

/** Settings of a RecordGuard. */
export interface RecordGuardOptions {
  /** Longest accepted record, in UTF-8 bytes, line break excluded. */
  maxRecordSize: number;
  /** Field delimiter, as written in the definition. */
  delimiter: string;
  /** Called for each record cut out because it is too long. */
  onTooLong: (issue: RowIssue) => void;
  /** Builds the error raised when the header itself is too long: the feed cannot be read. */
  headerTooLong: (line: number) => Error;
}

/**
 * Sits in front of csv-parse and cuts out records longer than `maxRecordSize`, so that
 * csv-parse never meets one. (csv-parse's own `max_record_size` with
 * `skip_records_with_error` returns from its parse loop and drops the rest of the buffer
 * it was working on: the records after an over-long one would be lost without a trace.)
 * A cut record is replaced by as many empty lines as it spanned, which csv-parse skips and
 * counts, so later line numbers stay right. The guard follows quotes as csv-parse does,
 * and holds back at most one incomplete record. Its input is UTF-8 (decodeFeed turns every
 * feed into UTF-8 first), so quotes, delimiters and line breaks are plain bytes.
 */
export class RecordGuard extends Transform {
  private readonly max: number;
  private readonly delimiter: Buffer;
  /** The delimiter is one byte (see scan). */
  private readonly singleByteDelimiter: boolean;
  private readonly onTooLong: (issue: RowIssue) => void;
  private readonly headerTooLong: (line: number) => Error;
  /** How many bytes of a UTF-8 byte order mark the feed has begun with so far. */
  private bomAt = 0;

  private inQuotes = false;
  /** A quote inside quotes ended the last chunk: the next byte says what it was. */
  private quoteAtChunkEnd = false;
  private fieldStart = true;
  private delimiterMatched = 0;
  private prevCR = false;
  /** Line of the byte being read (1-based), CRLF counting as one break. */
  private line = 1;
  private recordLine = 1;
  private recordBytes = 0;
  /** Complete records seen: while none, the record being read is the header. */
  private records = 0;
  /** Bytes of the current, incomplete record taken from earlier chunks. */
  private pending: Buffer[] = [];
  private skipping = false;
  /** The line up to which the breaks of the record being cut have been emitted. */
  private skipLine = 1;
  /** A cut record ended on CR at the end of a chunk: a LF next belongs to that break. */
  private dropLF = false;
  /** The record delimiter, found as csv-parse finds it: the first line break outside quotes. */
  private recordDelimiter: string | undefined;
  /** The first line break was a CR at the end of a chunk: the next byte tells CR from CRLF. */
  private delimiterAfterCR = false;

  constructor(options: RecordGuardOptions) {
    super();
    this.max = options.maxRecordSize;
    this.delimiter = Buffer.from(options.delimiter, 'utf8');
    this.singleByteDelimiter = this.delimiter.length === 1;
    this.onTooLong = options.onTooLong;
    this.headerTooLong = options.headerTooLong;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.scan(chunk);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (!this.skipping) for (const b of this.pending) this.push(b);
      this.pending = [];
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  private scan(buf: Buffer): void {
    const d = this.delimiter;
    const dFirst = d[0];
    const max = this.max;
    const n = buf.length;
    // The state most bytes touch, held in locals while the chunk is read.
    let inQuotes = this.inQuotes;
    let fieldStart = this.fieldStart;
    let delimiterMatched = this.delimiterMatched;
    let prevCR = this.prevCR;
    let line = this.line;
    let recordLine = this.recordLine;
    let recordBytes = this.recordBytes;
    let records = this.records;
    let skipping = this.skipping;
    // Bytes of this chunk before segStart are emitted or dropped; before lastBoundary, complete.
    let segStart = 0;
    let lastBoundary = 0;
    // Where the next quote, CR, LF and delimiter's first byte are, at or after the byte being
    // read (n: none left); searched again only once passed, so each search covers new ground.
    let nextQuote = -1;
    let nextCR = -1;
    let nextLF = -1;
    let nextDelimiter = -1;
    // Nothing carried over (BOM, a CR or a quote that ended the last chunk) awaits the byte
    // being read. Such state is only set on a chunk's last byte: once settled, the chunk is.
    let settled =
      this.bomAt >= UTF8_BOM.length && !this.dropLF && !this.delimiterAfterCR && !this.quoteAtChunkEnd;
    for (let i = 0; i < n; i++) {
      let content = false;
      if (settled) {
        // Jump over a run of bytes that the byte-by-byte machine below would only count,
        // leaving prevCR false and delimiterMatched 0:
        // - inside quotes, any byte but a quote or a line break;
        // - outside, with a one-byte delimiter, any byte but a quote or a line break (a quote
        //   matters only at a field's start, but the run stops at each one); fieldStart is
        //   then whether the run ended on the delimiter (never, if it is a quote or a break);
        // - outside, with another delimiter, in a field past its first byte with no delimiter
        //   begun, any byte but the delimiter's first or a line break; fieldStart stays false.
        // The byte that ends a run goes through the machine, so line breaks are counted as
        // before (CR, LF, CRLF, also across chunks). The length is checked at the end of the
        // run: a cut anywhere in it is the same cut, as nothing in between moves segStart,
        // lastBoundary, recordLine or records.
        // The first few bytes are looked at one by one: runs are often short (short fields,
        // escaped quotes, blank lines), and a search costs more than that.
        let stop = i;
        const probeEnd = Math.min(i + PROBE, n);
        if (inQuotes || this.singleByteDelimiter) {
          while (stop < probeEnd) {
            const c = buf[stop];
            if (c === QUOTE || c === CR || c === LF) break;
            stop++;
          }
          if (stop === probeEnd && stop < n) {
            if (nextQuote < i) nextQuote = find(buf, QUOTE, i);
            if (nextCR < i) nextCR = find(buf, CR, i);
            if (nextLF < i) nextLF = find(buf, LF, i);
            stop = Math.min(nextQuote, nextCR, nextLF);
          }
        } else if (dFirst !== undefined && !fieldStart && delimiterMatched === 0) {
          while (stop < probeEnd) {
            const c = buf[stop];
            if (c === dFirst || c === CR || c === LF) break;
            stop++;
          }
          if (stop === probeEnd && stop < n) {
            if (nextDelimiter < i) nextDelimiter = find(buf, dFirst, i);
            if (nextCR < i) nextCR = find(buf, CR, i);
            if (nextLF < i) nextLF = find(buf, LF, i);
            stop = Math.min(nextDelimiter, nextCR, nextLF);
          }
        }
        if (stop > i) {
          recordBytes += stop - i;
          prevCR = false;
          if (!inQuotes) fieldStart = buf[stop - 1] === dFirst;
          i = stop;
          if (!skipping && recordBytes > max) {
            this.cut(buf, segStart, lastBoundary, recordLine, records);
            skipping = true;
            segStart = lastBoundary = n;
          }
          if (i === n) break;
        }
      } else {
        const b = buf[i] as number;
        if (this.bomAt < UTF8_BOM.length) {
          // The UTF-8 byte order mark is not part of the header's first field.
          if (b === UTF8_BOM[this.bomAt]) {
            this.bomAt++;
            continue;
          }
          this.bomAt = UTF8_BOM.length;
        }
        if (this.dropLF) {
          this.dropLF = false;
          if (b === LF) {
            segStart = lastBoundary = i + 1;
            prevCR = false;
            continue;
          }
        }
        if (this.delimiterAfterCR) {
          this.delimiterAfterCR = false;
          this.recordDelimiter = b === LF ? '\r\n' : '\r';
        }
        if (this.quoteAtChunkEnd) {
          this.quoteAtChunkEnd = false;
          if (b === QUOTE) content = true;
          else inQuotes = false;
        }
        settled = true;
      }

      const b = buf[i] as number;
      const isBreak = b === CR || b === LF;
      if (isBreak) {
        if (b === CR || !prevCR) line++;
        prevCR = b === CR;
      } else prevCR = false;

      if (content) {
        // The second quote of an escaped pair.
        recordBytes++;
      } else if (inQuotes) {
        recordBytes++;
        if (b === QUOTE) {
          if (i + 1 === n) this.quoteAtChunkEnd = true;
          else {
            const next = buf[i + 1];
            if (next === QUOTE) {
              i++;
              recordBytes++;
            } else inQuotes = false;
            // Anything but a second quote closes the quotes: after the delimiter or a line break
            // the field ends; after another byte (`"27"" wide`, `"a"b`) csv-parse's relax_quotes
            // keeps the quotes as text and the field goes on unquoted, as this does.
          }
        }
      } else if (isBreak) {
        // The end of a record.
        if (this.recordDelimiter === undefined) {
          if (b === LF) this.recordDelimiter = '\n';
          else if (i + 1 < n) this.recordDelimiter = buf[i + 1] === LF ? '\r\n' : '\r';
          else this.delimiterAfterCR = true;
        }
        if (skipping) {
          skipping = false;
          this.emitBreaks(line - this.skipLine);
          if (b === CR) {
            if (i + 1 === n) this.dropLF = true;
            else if (buf[i + 1] === LF) {
              i++;
              prevCR = false;
            }
          }
          segStart = i + 1;
        } else if (recordBytes > 0) records++;
        lastBoundary = i + 1;
        recordBytes = 0;
        recordLine = line;
        fieldStart = true;
        delimiterMatched = 0;
        continue;
      } else {
        recordBytes++;
        if (b === QUOTE && fieldStart) inQuotes = true;
        fieldStart = false;
        if (b === d[delimiterMatched]) {
          delimiterMatched++;
          if (delimiterMatched === d.length) {
            fieldStart = true;
            delimiterMatched = 0;
          }
        } else delimiterMatched = b === dFirst ? 1 : 0;
      }
      if (!skipping && recordBytes > max) {
        this.cut(buf, segStart, lastBoundary, recordLine, records);
        skipping = true;
        segStart = lastBoundary = n;
      }
    }
    this.inQuotes = inQuotes;
    this.fieldStart = fieldStart;
    this.delimiterMatched = delimiterMatched;
    this.prevCR = prevCR;
    this.line = line;
    this.recordLine = recordLine;
    this.recordBytes = recordBytes;
    this.records = records;
    this.skipping = skipping;
    if (skipping) {
      // Keep csv-parse's line count in step while a cut record goes on past this chunk.
      this.emitBreaks(line - this.skipLine);
      return;
    }
    if (lastBoundary > segStart) {
      for (const p of this.pending) this.push(p);
      this.pending = [];
      this.push(buf.subarray(segStart, lastBoundary));
      segStart = lastBoundary;
    }
    if (segStart < n) this.pending.push(buf.subarray(segStart));
  }

  /** Drops the current record: emits the complete records before it and reports it. */
  private cut(
    buf: Buffer,
    segStart: number,
    lastBoundary: number,
    recordLine: number,
    records: number,
  ): void {
    if (records === 0) throw this.headerTooLong(recordLine);
    if (lastBoundary > segStart) {
      for (const p of this.pending) this.push(p);
      this.push(buf.subarray(segStart, lastBoundary));
    }
    this.pending = [];
    this.skipping = true;
    this.skipLine = recordLine;
    this.onTooLong({
      line: recordLine,
      sku: null,
      code: 'record_too_long',
      message: `record longer than ${this.max} bytes`,
    });
  }

  /** Stands in for line breaks of a cut record: empty lines, which csv-parse counts and skips. */
  private emitBreaks(n: number): void {
    if (n <= 0) return;
    this.skipLine += n;
    this.push(Buffer.from((this.recordDelimiter ?? '\n').repeat(n), 'latin1'));
  }
}

/** Index of the first `byte` in `buf` at or after `from`, or the length of `buf` if none. */
function find(buf: Buffer, byte: number, from: number): number {
  const at = buf.indexOf(byte, from);
  return at === -1 ? buf.length : at;
}
