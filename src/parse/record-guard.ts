import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { RowIssue } from './types.js';

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** Settings of a RecordGuard. */
export interface RecordGuardOptions {
  /** Longest accepted record, in UTF-8 bytes, line break excluded. */
  maxRecordSize: number;
  /** Field delimiter, as written in the definition. */
  delimiter: string;
  /** Encoding of the input bytes; the output is always UTF-8. */
  encoding: BufferEncoding;
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
 * holds back at most one incomplete record, and decodes the input to UTF-8 so that quotes,
 * delimiters and line breaks are plain bytes.
 */
export class RecordGuard extends Transform {
  private readonly max: number;
  private readonly delimiter: Buffer;
  private readonly onTooLong: (issue: RowIssue) => void;
  private readonly headerTooLong: (line: number) => Error;
  private decoder: StringDecoder | undefined;
  private highSurrogate = '';
  private started = false;
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
    this.onTooLong = options.onTooLong;
    this.headerTooLong = options.headerTooLong;
    if (options.encoding !== 'utf8' && options.encoding !== 'utf-8') {
      this.decoder = new StringDecoder(options.encoding);
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (!this.started && chunk.length > 0) {
      this.started = true;
      // A feed declared UTF-8 that starts with a UTF-16 byte order mark is UTF-16, as csv-parse reads it.
      if (!this.decoder && chunk.length >= 2 && chunk[0] === 0xff && chunk[1] === 0xfe) {
        this.decoder = new StringDecoder('utf16le');
      }
    }
    try {
      this.scan(this.decoder ? this.decode(this.decoder.write(chunk)) : chunk);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (this.decoder) this.scan(this.decode(this.decoder.end(), true));
      if (!this.skipping) for (const b of this.pending) this.push(b);
      this.pending = [];
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  /** UTF-8 bytes of decoded text; a high surrogate waits for its pair from the next chunk. */
  private decode(text: string, end = false): Buffer {
    let s = this.highSurrogate + text;
    this.highSurrogate = '';
    const last = s.charCodeAt(s.length - 1);
    if (!end && last >= 0xd800 && last <= 0xdbff) {
      this.highSurrogate = s.slice(-1);
      s = s.slice(0, -1);
    }
    return Buffer.from(s, 'utf8');
  }

  private scan(buf: Buffer): void {
    const d = this.delimiter;
    const dFirst = d[0];
    // Bytes of this chunk before segStart are emitted or dropped; before lastBoundary, complete.
    let segStart = 0;
    let lastBoundary = 0;
    for (let i = 0; i < buf.length; i++) {
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
          this.prevCR = false;
          continue;
        }
      }
      const isBreak = b === CR || b === LF;
      if (this.delimiterAfterCR) {
        this.delimiterAfterCR = false;
        this.recordDelimiter = b === LF ? '\r\n' : '\r';
      }
      if (isBreak) {
        if (b === CR || !this.prevCR) this.line++;
        this.prevCR = b === CR;
      } else this.prevCR = false;

      let content = false;
      if (this.quoteAtChunkEnd) {
        this.quoteAtChunkEnd = false;
        if (b === QUOTE) content = true;
        else if (b === dFirst || isBreak) this.inQuotes = false;
      }
      if (content) {
        // The second quote of an escaped pair.
        this.recordBytes++;
      } else if (this.inQuotes) {
        this.recordBytes++;
        if (b === QUOTE) {
          if (i + 1 === buf.length) this.quoteAtChunkEnd = true;
          else {
            const next = buf[i + 1];
            if (next === QUOTE) {
              i++;
              this.recordBytes++;
            } else if (next === dFirst || next === CR || next === LF) this.inQuotes = false;
            // Anything else after a quote: csv-parse reports it and stays inside the quotes.
          }
        }
      } else if (isBreak) {
        // The end of a record.
        if (this.recordDelimiter === undefined) {
          if (b === LF) this.recordDelimiter = '\n';
          else if (i + 1 < buf.length) this.recordDelimiter = buf[i + 1] === LF ? '\r\n' : '\r';
          else this.delimiterAfterCR = true;
        }
        if (this.skipping) {
          this.skipping = false;
          this.emitBreaks(this.line - this.skipLine);
          if (b === CR) {
            if (i + 1 === buf.length) this.dropLF = true;
            else if (buf[i + 1] === LF) {
              i++;
              this.prevCR = false;
            }
          }
          segStart = i + 1;
        } else if (this.recordBytes > 0) this.records++;
        lastBoundary = i + 1;
        this.recordBytes = 0;
        this.recordLine = this.line;
        this.fieldStart = true;
        this.delimiterMatched = 0;
        continue;
      } else {
        this.recordBytes++;
        if (b === QUOTE && this.fieldStart) this.inQuotes = true;
        this.fieldStart = false;
        if (b === d[this.delimiterMatched]) {
          this.delimiterMatched++;
          if (this.delimiterMatched === d.length) {
            this.fieldStart = true;
            this.delimiterMatched = 0;
          }
        } else this.delimiterMatched = b === dFirst ? 1 : 0;
      }
      if (!this.skipping && this.recordBytes > this.max) {
        this.cut(buf, segStart, lastBoundary);
        segStart = lastBoundary = buf.length;
      }
    }
    if (this.skipping) {
      // Keep csv-parse's line count in step while a cut record goes on past this chunk.
      this.emitBreaks(this.line - this.skipLine);
      return;
    }
    if (lastBoundary > segStart) {
      for (const p of this.pending) this.push(p);
      this.pending = [];
      this.push(buf.subarray(segStart, lastBoundary));
      segStart = lastBoundary;
    }
    if (segStart < buf.length) this.pending.push(buf.subarray(segStart));
  }

  /** Drops the current record: emits the complete records before it and reports it. */
  private cut(buf: Buffer, segStart: number, lastBoundary: number): void {
    if (this.records === 0) throw this.headerTooLong(this.recordLine);
    if (lastBoundary > segStart) {
      for (const p of this.pending) this.push(p);
      this.push(buf.subarray(segStart, lastBoundary));
    }
    this.pending = [];
    this.skipping = true;
    this.skipLine = this.recordLine;
    this.onTooLong({
      line: this.recordLine,
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
