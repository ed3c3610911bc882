import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordGuard, type RecordGuardOptions } from '../../src/parse/record-guard.js';

/** The reference also decoded other encodings; the guard now takes UTF-8 only (decodeFeed decodes). */
type ReferenceOptions = RecordGuardOptions & { encoding: BufferEncoding };

import type { RowIssue } from '../../src/parse/types.js';

// ---------------------------------------------------------------------------------------
// Reference: RecordGuard as it was before it learned to skip runs of bytes with
// Buffer.indexOf (a plain byte-by-byte state machine, tested by test/import.test.ts). The
// differential test below checks that the current RecordGuard gives the same output bytes,
// at the same moments, and the same issues and errors, for any input.
// ---------------------------------------------------------------------------------------

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
const UTF8_BOM = [0xef, 0xbb, 0xbf];

/**
 * (Reference copy.) Sits in front of csv-parse and cuts out records longer than `maxRecordSize`, so that
 * csv-parse never meets one. (csv-parse's own `max_record_size` with
 * `skip_records_with_error` returns from its parse loop and drops the rest of the buffer
 * it was working on: the records after an over-long one would be lost without a trace.)
 * A cut record is replaced by as many empty lines as it spanned, which csv-parse skips and
 * counts, so later line numbers stay right. The guard follows quotes as csv-parse does,
 * holds back at most one incomplete record, and decodes the input to UTF-8 so that quotes,
 * delimiters and line breaks are plain bytes.
 */
class ReferenceRecordGuard extends Transform {
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

  constructor(options: ReferenceOptions) {
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
        else this.inQuotes = false;
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
            } else this.inQuotes = false;
            // Anything but a second quote closes the quotes (csv-parse with relax_quotes).
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

// ---------------------------------------------------------------------------------------
// Differential test
// ---------------------------------------------------------------------------------------

type GuardClass = new (options: ReferenceOptions) => Transform;

interface Outcome {
  /** What the guard pushed while taking each input chunk, then at its end (latin1 text). */
  pushed: string[];
  issues: RowIssue[];
  error: string | null;
}

/** Runs the guard synchronously over the chunks, recording what it pushes at each step. */
function drive(
  Guard: GuardClass,
  chunks: Buffer[],
  options: Pick<ReferenceOptions, 'maxRecordSize' | 'delimiter' | 'encoding'>,
): Outcome {
  const issues: RowIssue[] = [];
  const guard = new Guard({
    ...options,
    onTooLong: (issue) => issues.push(issue),
    headerTooLong: (line) => new Error(`header too long, line ${line}`),
  });
  let out: Buffer[] = [];
  guard.push = (chunk: Buffer | null) => {
    if (chunk !== null) out.push(chunk);
    return true;
  };
  const pushed: string[] = [];
  let error: string | null = null;
  const step = (run: (done: TransformCallback) => void) => {
    run((err) => {
      if (err) error = err.message;
    });
    pushed.push(Buffer.concat(out).toString('latin1'));
    out = [];
  };
  for (const chunk of chunks) {
    step((done) => guard._transform(chunk, 'buffer' as BufferEncoding, done));
    if (error !== null) return { pushed, issues, error };
  }
  step((done) => guard._flush(done));
  return { pushed, issues, error };
}

/** The bytes cut at the given positions (taken modulo the length, any order, repeats allowed). */
function split(bytes: Buffer, cuts: number[], everyByte: boolean): Buffer[] {
  if (everyByte) return [...bytes].map((b) => Buffer.from([b]));
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const c of at) {
    chunks.push(bytes.subarray(from, c));
    from = c;
  }
  chunks.push(bytes.subarray(from));
  // Empty chunks (repeated cuts) are kept: the guard must take them like any other.
  return chunks;
}

const DELIMITERS = [',', ';', '\t', '||', '|;|', 'aab'];
/** Delimiters no feed should use, which the guard must still treat as the reference does. */
const ODD_DELIMITERS = ['', '"', '\n', '\r\n', '\r', 'a"', '\ufeff', 'é'];

/** How the generated text becomes bytes, and the encoding the guard is told. */
const ENCODINGS: { name: string; encoding: BufferEncoding; encode: (s: string) => Buffer }[] = [
  { name: 'utf8', encoding: 'utf8', encode: (s) => Buffer.from(s, 'utf8') },
  { name: 'utf8 with BOM', encoding: 'utf8', encode: (s) => Buffer.from(`\ufeff${s}`, 'utf8') },
  // Arbitrary bytes, read as UTF-8: broken sequences, stray BOM bytes.
  { name: 'raw bytes', encoding: 'utf8', encode: (s) => Buffer.from(s, 'latin1') },
];

function pieces(delimiter: string, maxRecordSize: number): fc.Arbitrary<string> {
  const long = fc.integer({ min: 1, max: maxRecordSize * 3 + 2 });
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('a', 'xyz', ' ', 'é', '€', '😀', 'ÿ', 'ï»¿', '\u00ef') },
    { weight: 5, arbitrary: fc.constantFrom('"', '""', '"""', '"x', '" ') },
    {
      weight: 5,
      arbitrary: fc.constantFrom(
        delimiter,
        delimiter,
        delimiter.slice(0, 1),
        delimiter.slice(1),
        ',',
        ';',
        '\t',
        '|',
      ),
    },
    { weight: 5, arbitrary: fc.constantFrom('\r', '\n', '\r\n', '\n\r', '\r\r\n') },
    { weight: 2, arbitrary: long.map((n) => 'L'.repeat(n)) },
    { weight: 2, arbitrary: long.map((n) => `"${'q'.repeat(n)}"`) },
    { weight: 1, arbitrary: long.map((n) => `"${'m\n'.repeat(n)}"`) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  );
}

function caseOf(delimiters: string[]) {
  return fc
    .record({
      delimiter: fc.constantFrom(...delimiters),
      maxRecordSize: fc.integer({ min: 1, max: 40 }),
      encoding: fc.constantFrom(...ENCODINGS),
      cuts: fc.array(fc.nat(), { maxLength: 24 }),
      everyByte: fc.constantFrom(false, false, true),
    })
    .chain((c) =>
      fc.record({
        delimiter: fc.constant(c.delimiter),
        maxRecordSize: fc.constant(c.maxRecordSize),
        encoding: fc.constant(c.encoding),
        cuts: fc.constant(c.cuts),
        everyByte: fc.constant(c.everyByte),
        // Mostly a header that fits, so that records after it get cut rather than the run failing.
        header: fc.constantFrom(
          '',
          'h',
          `h${c.delimiter}k\n`,
          `h${c.delimiter}k\r\n`,
          `"h"${c.delimiter}k\r`,
        ),
        body: fc.array(pieces(c.delimiter, c.maxRecordSize), { maxLength: 60 }).map((p) => p.join('')),
      }),
    );
}

function check(
  c: fc.Arbitrary<{
    delimiter: string;
    maxRecordSize: number;
    encoding: (typeof ENCODINGS)[number];
    cuts: number[];
    everyByte: boolean;
    header: string;
    body: string;
  }>,
  numRuns: number,
) {
  fc.assert(
    fc.property(c, ({ delimiter, maxRecordSize, encoding, cuts, everyByte, header, body }) => {
      const bytes = encoding.encode(header + body);
      const chunks = split(bytes, cuts, everyByte && bytes.length < 400);
      const options = { maxRecordSize, delimiter, encoding: encoding.encoding };
      const expected = drive(ReferenceRecordGuard, chunks, options);
      const actual = drive(RecordGuard, chunks, options);
      expect(actual).toEqual(expected);
    }),
    { numRuns },
  );
}

describe('RecordGuard', () => {
  it('gives the same bytes, at the same moments, and the same issues as the byte-by-byte reference', () => {
    check(caseOf(DELIMITERS), 20000);
  });

  it('matches the reference with delimiters that hold quotes, line breaks or a BOM', () => {
    check(caseOf(ODD_DELIMITERS), 5000);
  });

  it('matches the reference on a long generated catalog cut in uneven chunks', () => {
    const rows = ['sku,title,description,price'];
    for (let i = 0; i < 2000; i++) {
      const desc =
        i % 97 === 0 ? 'x'.repeat(5000) : `Line one of ${i}, "quoted"\r\nline two`.repeat(1 + (i % 5));
      rows.push(`S${i},Item ${i},"${desc.replace(/"/g, '""')}",${i}.99`);
    }
    const text = rows.map((row, i) => row + ['\n', '\r\n', '\r\n', '\n\n'][i % 4]).join('');
    const bytes = Buffer.from(`\ufeff${text}`, 'utf8');
    for (const sizes of [[1, 7, 100, 2049], [65536], [3, 4096, 5]]) {
      const chunks: Buffer[] = [];
      for (let at = 0, k = 0; at < bytes.length; k++) {
        const size = sizes[k % sizes.length] as number;
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      for (const delimiter of [',', ',"']) {
        const options = { maxRecordSize: 2048, delimiter, encoding: 'utf8' as const };
        const expected = drive(ReferenceRecordGuard, chunks, options);
        expect(expected.issues.length).toBeGreaterThan(0);
        expect(drive(RecordGuard, chunks, options)).toEqual(expected);
      }
    }
  });
});
