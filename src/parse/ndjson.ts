import type { Readable } from 'node:stream';
import { DEFAULT_MAX_RECORD_SIZE } from './csv.js';
import { JsonSyntaxError, parseJsonValue, type Repair, repairWarnings } from './json.js';
import {
  DEFAULT_MAX_DEPTH,
  exceedsBytes,
  type ItemReader,
  type KeyedFeed,
  type KeyedRecord,
  type RawObject,
  readKeyedFeed,
} from './records.js';
import type { ParseWarning, RowIssue } from './types.js';

/** Options a catalog definition may give for NDJSON feeds. */
export interface NdjsonOptions {
  /** Longest accepted line, in bytes of UTF-8, line break excluded. */
  maxRecordSize?: number;
  /** Deepest accepted nesting; the line's object is level 1. */
  maxDepth?: number;
}

/**
 * Parses an NDJSON (JSON Lines) feed, a stream of UTF-8 bytes: one JSON object per line.
 * Blank lines are skipped. A line that is not a JSON object, is not valid JSON, is too
 * deep or longer than `maxRecordSize` is a row issue and the next lines are read; an
 * over-long line is dropped as it streams by, without being held. A lone surrogate escaped
 * in a line's string becomes U+FFFD, a U+0000 in a key is removed, and the line gets a row
 * warning (see parseJsonValue).
 */
export async function parseNdjson(input: Readable, options: NdjsonOptions = {}): Promise<KeyedFeed> {
  const issues: RowIssue[] = [];
  const warnings: ParseWarning[] = [];
  return readKeyedFeed(input, 'ndjson', new NdjsonReader(options, issues, warnings), issues, warnings);
}

class NdjsonReader implements ItemReader {
  out: KeyedRecord[] = [];
  private readonly issues: RowIssue[];
  private readonly warnings: ParseWarning[];
  private readonly max: number;
  private readonly maxDepth: number;
  private buf = '';
  /** Line number of the text at the start of `buf`. */
  private line = 1;
  /** The current line is too long and is being dropped up to its end. */
  private dropping = false;

  constructor(options: NdjsonOptions, issues: RowIssue[], warnings: ParseWarning[]) {
    this.issues = issues;
    this.warnings = warnings;
    this.max = options.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  itemPath(): string {
    return '';
  }

  namespaces(): Record<string, string> {
    return {};
  }

  write(text: string): void {
    const buf = this.buf + text;
    let start = 0;
    let nl = buf.indexOf('\n');
    while (nl !== -1) {
      if (this.dropping) this.dropping = false;
      else this.readLine(buf.slice(start, buf.charCodeAt(nl - 1) === 0x0d && nl > start ? nl - 1 : nl));
      this.line++;
      start = nl + 1;
      nl = buf.indexOf('\n', start);
    }
    const rest = buf.length - start;
    if (this.dropping) this.buf = '';
    else if (rest > this.max) {
      this.tooLong();
      this.dropping = true;
      this.buf = '';
    } else this.buf = start === 0 ? buf : buf.slice(start);
  }

  end(): void {
    if (!this.dropping && this.buf !== '') this.readLine(this.buf);
    this.buf = '';
  }

  private tooLong(): void {
    this.issue('record_too_long', `line longer than ${this.max} bytes`);
  }

  private readLine(text: string): void {
    if (isBlank(text)) return;
    if (exceedsBytes(text, this.max)) {
      this.tooLong();
      return;
    }
    let value: ReturnType<typeof parseJsonValue>;
    const replaced: Repair[] = [];
    try {
      value = parseJsonValue(text, this.maxDepth, 0, (where, unit, inKey) =>
        replaced.push({ where, unit, inKey }),
      );
    } catch (err) {
      if (!(err instanceof JsonSyntaxError)) throw err;
      this.issue('malformed_record', `not valid JSON: ${err.message}`);
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.issue('malformed_record', 'the line is not a JSON object');
      return;
    }
    this.out.push({ line: this.line, data: value as RawObject });
    if (replaced.length > 0) this.warnings.push(...repairWarnings(this.line, replaced));
  }

  private issue(code: RowIssue['code'], message: string): void {
    this.issues.push({ line: this.line, sku: null, code, message });
  }
}

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0xfeff) return false;
  }
  return true;
}
