import type { Readable } from 'node:stream';
import { DEFAULT_MAX_RECORD_SIZE, FeedParseError } from './csv.js';
import {
  createRawObject,
  DEFAULT_MAX_DEPTH,
  exceedsBytes,
  type ItemReader,
  type KeyedFeed,
  type KeyedRecord,
  LineCounter,
  type RawObject,
  type RawValue,
  readKeyedFeed,
} from './records.js';
import type { ParseWarning, RowIssue } from './types.js';

/** Options a catalog definition may give for JSON feeds. */
export interface JsonOptions {
  /**
   * Where the array of items is: keys separated by dots (`data.products`, `$.data.products`).
   * `''` or `'$'`: the document itself is the array. Left out: a top-level array, or else
   * the first array of objects met in the document (its path is reported as `itemPath`).
   */
  itemsPath?: string;
  /** Longest accepted item, in bytes of UTF-8. */
  maxRecordSize?: number;
  /** Deepest accepted nesting, counted from the document's root (level 1). */
  maxDepth?: number;
}

/**
 * Parses a JSON feed, a stream of UTF-8 bytes, as keyed records: each element of the items
 * array is one record. The document is read in one pass with bounded memory: only the item
 * being read is held. An item that is too long, too deep, not an object or not valid JSON is
 * a row issue and reading goes on; a document that is not JSON, has no items array where
 * told, or ends too early throws a FeedParseError. A lone surrogate escaped in an item's
 * string becomes U+FFFD, a U+0000 in a key is removed, and the item gets a row warning (see
 * parseJsonValue).
 */
export async function parseJson(input: Readable, options: JsonOptions = {}): Promise<KeyedFeed> {
  return readJsonItems(input, options, parseJsonValue);
}

/**
 * Parses one item's complete text (what parseJsonValue does, with the same arguments): the
 * seam through which `npm run bench:json` gives the split items to other parsers.
 */
export type JsonItemParser = typeof parseJsonValue;

/** parseJson with another parser of each item's text; it throws a JsonSyntaxError on bad JSON. */
export async function readJsonItems(
  input: Readable,
  options: JsonOptions,
  parseItem: JsonItemParser,
): Promise<KeyedFeed> {
  const issues: RowIssue[] = [];
  const warnings: ParseWarning[] = [];
  return readKeyedFeed(
    input,
    'json',
    new JsonItemReader(options, issues, warnings, parseItem),
    issues,
    warnings,
  );
}

// Reading modes.
const NAV = 0; // the structure around the items array: objects and their keys
const ITEMS = 1; // inside the items array, between items
const ITEM = 2; // inside one item, keeping its text
const SKIP = 3; // inside a value that is not kept (off the path, or a rejected item)
const AFTER = 4; // after the document's value: only white space may follow

// What NAV expects next.
const E_VALUE = 0;
const E_KEY_OR_END = 1;
const E_KEY = 2;
const E_COLON = 3;
const E_COMMA_OR_END = 4;

/** In automatic mode, objects deeper than this are not searched for the items array. */
const AUTO_SEARCH_DEPTH = 8;
/** Longest key accepted outside items (keys inside items are bounded by the item size). */
const MAX_KEY_LENGTH = 64 * 1024;

class JsonItemReader implements ItemReader {
  out: KeyedRecord[] = [];
  private readonly issues: RowIssue[];
  private readonly warnings: ParseWarning[];
  private readonly max: number;
  private readonly maxDepth: number;
  /** Keys of the items array; null: find it. */
  private readonly target: string[] | null;
  private readonly targetLabel: string;

  private buf = '';
  private pos = 0;
  private readonly lines = new LineCounter();
  private started = false;
  private mode = NAV;
  private expect = E_VALUE;
  /** Path of each open object around the items. */
  private readonly nav: string[][] = [];
  private key = '';
  private found = false;
  private foundPath = '';
  /** Level of the items array (the document's value is level 1). */
  private itemsDepth = 0;
  private afterItem = false;
  private index = 0;

  // The item being read.
  private itemStart = 0;
  private itemLine = 0;
  private scan = 0;
  private depth = 0;
  private inString = false;

  // The value being skipped.
  private skipReturn = NAV;
  private skipDepth = 0;
  private skipInString = false;
  private skipEscape = false;
  private skipScalar = false;

  constructor(
    options: JsonOptions,
    issues: RowIssue[],
    warnings: ParseWarning[],
    private readonly parseItem: JsonItemParser,
  ) {
    this.issues = issues;
    this.warnings = warnings;
    this.max = options.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    const path = options.itemsPath?.trim();
    if (path === undefined) this.target = null;
    else {
      const bare = path === '$' ? '' : path.replace(/^\$\./, '');
      this.target = bare === '' ? [] : bare.split('.');
    }
    this.targetLabel = this.target?.join('.') ?? '';
  }

  itemPath(): string {
    return this.found ? this.foundPath : this.targetLabel;
  }

  namespaces(): Record<string, string> {
    return {};
  }

  write(text: string): void {
    const keep = this.mode === ITEM ? this.itemStart : this.pos;
    if (keep > 0) {
      this.lines.shift(this.buf, keep);
      this.buf = this.buf.slice(keep) + text;
      this.pos -= keep;
      this.itemStart -= keep;
      this.scan -= keep;
    } else this.buf += text;
    this.run();
  }

  end(): void {
    this.run();
    if (!this.started) throw new FeedParseError('JSON: the document is empty', 1);
    if (this.mode !== AFTER) {
      const where =
        this.mode === ITEM || (this.mode === SKIP && this.skipReturn === ITEMS)
          ? `inside item ${this.index}, which starts on line ${this.itemLine}`
          : this.mode === ITEMS
            ? 'inside the items array'
            : 'before the end of the document';
      throw new FeedParseError(
        `JSON: the document ends ${where}: the feed is truncated`,
        this.lines.lineAt(this.buf, this.buf.length),
      );
    }
    if (!this.found) {
      throw new FeedParseError(
        this.target === null
          ? 'JSON: no array of objects in the document; set options.itemsPath'
          : `JSON: no array at "${this.targetLabel}" in the document`,
        undefined,
      );
    }
  }

  private run(): void {
    for (;;) {
      let progressed: boolean;
      switch (this.mode) {
        case NAV:
          progressed = this.stepNav();
          break;
        case ITEMS:
          progressed = this.stepItems();
          break;
        case ITEM:
          progressed = this.stepItem();
          break;
        case SKIP:
          progressed = this.stepSkip();
          break;
        default:
          progressed = this.stepAfter();
      }
      if (!progressed) return;
    }
  }

  private fail(message: string, at = this.pos): FeedParseError {
    return new FeedParseError(`JSON: ${message}`, this.lines.lineAt(this.buf, at));
  }

  private stepNav(): boolean {
    const buf = this.buf;
    const pos = skipWs(buf, this.pos);
    this.pos = pos;
    if (pos >= buf.length) return false;
    this.started = true;
    const c = buf.charCodeAt(pos);
    switch (this.expect) {
      case E_VALUE: {
        const top = this.nav[this.nav.length - 1];
        if (top === undefined) {
          if (c === 0x5b) {
            if (this.target !== null && this.target.length > 0) {
              throw this.fail(`the document is an array, not an object holding "${this.targetLabel}"`);
            }
            this.startItems([]);
          } else if (c === 0x7b) {
            if (this.target !== null && this.target.length === 0) {
              throw this.fail('the document is an object, not an array of items; set options.itemsPath');
            }
            this.pushObject([]);
          } else throw this.fail(`not a JSON document: it starts with ${quote(buf, pos)}`);
          return true;
        }
        const path = [...top, this.key];
        if (this.target !== null) {
          if (samePath(path, this.target)) {
            if (c !== 0x5b) throw this.fail(`"${this.targetLabel}" is not an array`);
            this.startItems(path);
          } else if (c === 0x7b && isPrefix(path, this.target)) this.pushObject(path);
          else this.startSkip(NAV);
        } else if (!this.found && c === 0x5b) {
          const next = skipWs(buf, pos + 1);
          if (next >= buf.length) return false;
          if (buf.charCodeAt(next) === 0x7b) this.startItems(path);
          else this.startSkip(NAV);
        } else if (!this.found && c === 0x7b && this.nav.length < AUTO_SEARCH_DEPTH) this.pushObject(path);
        else this.startSkip(NAV);
        return true;
      }
      case E_KEY_OR_END:
      case E_KEY: {
        if (c === 0x7d && this.expect === E_KEY_OR_END) {
          this.popObject();
          return true;
        }
        if (c !== 0x22) throw this.fail(`expected a key, found ${quote(buf, pos)}`);
        const end = stringEnd(buf, pos);
        if (end === -1) {
          if (buf.length - pos > MAX_KEY_LENGTH)
            throw this.fail(`a key longer than ${MAX_KEY_LENGTH} characters`);
          return false;
        }
        try {
          this.key = JSON.parse(buf.slice(pos, end + 1)) as string;
        } catch {
          throw this.fail('a malformed key');
        }
        this.pos = end + 1;
        this.expect = E_COLON;
        return true;
      }
      case E_COLON:
        if (c !== 0x3a) throw this.fail(`expected ':', found ${quote(buf, pos)}`);
        this.pos++;
        this.expect = E_VALUE;
        return true;
      default:
        if (c === 0x2c) {
          this.pos++;
          this.expect = E_KEY;
        } else if (c === 0x7d) this.popObject();
        else throw this.fail(`expected ',' or '}', found ${quote(buf, pos)}`);
        return true;
    }
  }

  private pushObject(path: string[]): void {
    if (this.nav.length + 1 > this.maxDepth) throw this.fail(`nested deeper than ${this.maxDepth} levels`);
    this.nav.push(path);
    this.pos++;
    this.expect = E_KEY_OR_END;
  }

  private popObject(): void {
    this.nav.pop();
    this.pos++;
    if (this.nav.length === 0) this.mode = AFTER;
    else this.expect = E_COMMA_OR_END;
  }

  private startItems(path: string[]): void {
    this.found = true;
    this.foundPath = path.join('.');
    this.itemsDepth = this.nav.length + 1;
    if (this.itemsDepth + 1 > this.maxDepth) throw this.fail(`nested deeper than ${this.maxDepth} levels`);
    this.pos++;
    this.mode = ITEMS;
    this.afterItem = false;
  }

  private stepItems(): boolean {
    const buf = this.buf;
    const pos = skipWs(buf, this.pos);
    this.pos = pos;
    if (pos >= buf.length) return false;
    const c = buf.charCodeAt(pos);
    if (c === 0x5d) {
      this.pos++;
      if (this.nav.length === 0) this.mode = AFTER;
      else {
        this.mode = NAV;
        this.expect = E_COMMA_OR_END;
      }
      return true;
    }
    if (this.afterItem) {
      if (c !== 0x2c)
        throw this.fail(`expected ',' or ']' after item ${this.index}, found ${quote(buf, pos)}`);
      this.pos++;
      this.afterItem = false;
      return true;
    }
    this.index++;
    this.itemStart = pos;
    this.itemLine = this.lines.lineAt(buf, pos);
    this.afterItem = true;
    if (c === 0x7b) {
      this.mode = ITEM;
      this.scan = pos;
      this.depth = 0;
      this.inString = false;
    } else {
      this.issue('malformed_record', `item ${this.index} is not an object`);
      this.startSkip(ITEMS);
    }
    return true;
  }

  private stepItem(): boolean {
    const buf = this.buf;
    const len = buf.length;
    const limit = this.maxDepth - this.itemsDepth;
    let i = this.scan;
    let depth = this.depth;
    let inString = this.inString;
    while (i < len) {
      if (inString) {
        const q = buf.indexOf('"', i);
        if (q === -1) {
          i = len;
          break;
        }
        let k = q - 1;
        while (buf.charCodeAt(k) === 0x5c) k--;
        i = q + 1;
        if ((q - 1 - k) % 2 === 0) inString = false;
        continue;
      }
      const c = buf.charCodeAt(i++);
      if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) {
        if (++depth > limit) {
          this.issue('malformed_record', `item ${this.index} is nested deeper than ${this.maxDepth} levels`);
          this.pos = i;
          this.skipInto(ITEMS, depth, false, false);
          return true;
        }
      } else if (c === 0x7d || c === 0x5d) {
        if (--depth === 0) {
          this.completeItem(i);
          return true;
        }
      }
    }
    this.scan = i;
    this.depth = depth;
    this.inString = inString;
    if (i - this.itemStart > this.max) {
      this.issue('record_too_long', `item ${this.index} is longer than ${this.max} bytes`);
      let escaped = false;
      if (inString) {
        let k = i - 1;
        while (buf.charCodeAt(k) === 0x5c) k--;
        escaped = (i - 1 - k) % 2 === 1;
      }
      this.pos = i;
      this.skipInto(ITEMS, depth, inString, escaped);
      return true;
    }
    return false;
  }

  private completeItem(end: number): void {
    const text = this.buf.slice(this.itemStart, end);
    this.pos = end;
    this.mode = ITEMS;
    if (exceedsBytes(text, this.max)) {
      this.issue('record_too_long', `item ${this.index} is longer than ${this.max} bytes`);
      return;
    }
    const replaced: Repair[] = [];
    try {
      const data = this.parseItem(text, this.maxDepth, this.itemsDepth, (where, unit, inKey) =>
        replaced.push({ where, unit, inKey }),
      ) as RawObject;
      this.out.push({ line: this.itemLine, data });
      if (replaced.length > 0) this.warnings.push(...repairWarnings(this.itemLine, replaced));
    } catch (err) {
      if (!(err instanceof JsonSyntaxError)) throw err;
      this.issue(
        'malformed_record',
        `item ${this.index} is not valid JSON: ${err.message}`,
        lineIn(text, err.offset, this.itemLine),
      );
    }
  }

  private issue(code: RowIssue['code'], message: string, line = this.itemLine): void {
    this.issues.push({ line, sku: null, code, message });
  }

  private startSkip(returnTo: number): void {
    const c = this.buf.charCodeAt(this.pos);
    if (c === 0x22) {
      this.pos++;
      this.skipInto(returnTo, 0, true, false);
    } else if (c === 0x7b || c === 0x5b) {
      this.pos++;
      this.skipInto(returnTo, 1, false, false);
    } else {
      this.skipInto(returnTo, 0, false, false);
      this.skipScalar = true;
    }
  }

  private skipInto(returnTo: number, depth: number, inString: boolean, escaped: boolean): void {
    this.mode = SKIP;
    this.skipReturn = returnTo;
    this.skipDepth = depth;
    this.skipInString = inString;
    this.skipEscape = escaped;
    this.skipScalar = false;
  }

  private stepSkip(): boolean {
    const buf = this.buf;
    const len = buf.length;
    let i = this.pos;
    if (this.skipScalar) {
      while (i < len) {
        const c = buf.charCodeAt(i);
        if (c === 0x2c || c === 0x7d || c === 0x5d || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          this.pos = i;
          this.skipDone();
          return true;
        }
        i++;
      }
      this.pos = len;
      return false;
    }
    // A skipped value off the items' path is document structure and obeys the depth limit;
    // inside a rejected item, depth is only counted.
    const structural = this.skipReturn === NAV;
    let depth = this.skipDepth;
    let inString = this.skipInString;
    let escaped = this.skipEscape;
    while (i < len) {
      const c = buf.charCodeAt(i++);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true;
        else if (c === 0x22) {
          inString = false;
          if (depth === 0) {
            this.pos = i;
            this.skipDone();
            return true;
          }
        }
      } else if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) {
        depth++;
        if (structural && this.nav.length + depth > this.maxDepth)
          throw this.fail(`nested deeper than ${this.maxDepth} levels`, i - 1);
      } else if (c === 0x7d || c === 0x5d) {
        if (--depth === 0) {
          this.pos = i;
          this.skipDone();
          return true;
        }
      }
    }
    this.pos = len;
    this.skipDepth = depth;
    this.skipInString = inString;
    this.skipEscape = escaped;
    return false;
  }

  private skipDone(): void {
    if (this.skipReturn === NAV) {
      this.mode = NAV;
      this.expect = E_COMMA_OR_END;
    } else this.mode = ITEMS;
  }

  private stepAfter(): boolean {
    const pos = skipWs(this.buf, this.pos);
    this.pos = pos;
    if (pos >= this.buf.length) return false;
    const c = this.buf.charCodeAt(pos);
    const hint = c === 0x7b || c === 0x5b ? ' (one JSON value per line is NDJSON: set format "ndjson")' : '';
    throw this.fail(`unexpected ${quote(this.buf, pos)} after the end of the JSON document${hint}`);
  }
}

function skipWs(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

/** Index of the quote closing the string that opens at `start`, or -1 if not in `buf`. */
function stringEnd(buf: string, start: number): number {
  let j = start + 1;
  for (;;) {
    const q = buf.indexOf('"', j);
    if (q === -1) return -1;
    let k = q - 1;
    while (buf.charCodeAt(k) === 0x5c) k--;
    if ((q - 1 - k) % 2 === 0) return q;
    j = q + 1;
  }
}

function samePath(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

function isPrefix(a: string[], b: string[]): boolean {
  return a.length < b.length && a.every((k, i) => k === b[i]);
}

function quote(buf: string, pos: number): string {
  return JSON.stringify(buf.slice(pos, pos + 12));
}

/** The line of `offset` in `text`, which starts on line `first`. */
function lineIn(text: string, offset: number, first: number): number {
  let line = first;
  let i = text.indexOf('\n');
  while (i !== -1 && i < offset) {
    line++;
    i = text.indexOf('\n', i + 1);
  }
  return line;
}

// One complete JSON text to a RawValue: the items of a JSON feed, the lines of NDJSON.

/** A syntax error in one JSON text, with the offset it was found at. */
export class JsonSyntaxError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = 'JsonSyntaxError';
    this.offset = offset;
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
/**
 * The text with each surrogate that is not half of a pair replaced by U+FFFD (what
 * `String.prototype.toWellFormed` does), and the code units replaced.
 */
export function replaceLoneSurrogates(s: string): { text: string; units: number[] } {
  const units: number[] = [];
  let text = '';
  let from = 0;
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const d = s.charCodeAt(k + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        k++;
        continue;
      }
    }
    text += `${s.slice(from, k)}\ufffd`;
    from = k + 1;
    units.push(c);
  }
  return { text: from === 0 ? s : text + s.slice(from), units };
}

interface Open {
  container: RawObject | RawValue[];
  key: string | null;
}

/**
 * Told of each character parseJsonValue changed so that the store can keep the text:
 *
 * - a lone surrogate that a `\uXXXX` escape wrote into a string (`\ud800` with no
 *   `\udc00`–`\udfff` after it, or a low one alone), which the string then holds as U+FFFD
 *   (valid JSON, but no Unicode character: PostgreSQL's jsonb and UTF-8 refuse it);
 * - a U+0000 in a key, removed (jsonb refuses it; the normalizer removes it from values).
 *
 * `unit` is the code unit (0 for U+0000); `where` is the value's place in the text (`title`,
 * `variants[0].color`; `''` for the text's own value) or, when `inKey`, the key as repaired.
 */
export type RepairHandler = (where: string, unit: number, inKey: boolean) => void;

/** One character changed in a record: its code unit and where (see RepairHandler). */
export interface Repair {
  where: string;
  unit: number;
  inKey: boolean;
}

const LISTED_REPAIRS = 3;

/**
 * The row warnings of a record (an item, a line) whose text was changed: one for its lone
 * surrogates, one for U+0000 removed from its keys; where each was, the first few listed,
 * with the code unit as the feed wrote it (`\ud800`).
 */
export function repairWarnings(line: number, repairs: readonly Repair[]): ParseWarning[] {
  const warnings: ParseWarning[] = [];
  const list = (some: readonly Repair[]) => {
    const listed = some.slice(0, LISTED_REPAIRS).map(({ where, unit, inKey }) => {
      const written = `\\u${unit.toString(16).padStart(4, '0')}`;
      if (inKey) return `${written} in the key ${JSON.stringify(where)}`;
      return where === '' ? written : `${written} in ${JSON.stringify(where)}`;
    });
    if (some.length > LISTED_REPAIRS) listed.push('…');
    return listed.join(', ');
  };
  const surrogates = repairs.filter((r) => r.unit !== 0);
  if (surrogates.length > 0) {
    const what = surrogates.length === 1 ? 'a lone surrogate' : `${surrogates.length} lone surrogates`;
    warnings.push({
      line,
      sku: null,
      code: 'lone_surrogate',
      message: `${what} (no Unicode character) replaced by U+FFFD: ${list(surrogates)}`,
    });
  }
  const nuls = repairs.filter((r) => r.unit === 0);
  if (nuls.length > 0) {
    warnings.push({
      line,
      sku: null,
      code: 'control_characters',
      message: `U+0000 removed from ${nuls.length === 1 ? 'a key' : `${nuls.length} keys`}: ${list(nuls)}`,
    });
  }
  return warnings;
}

/**
 * Parses one complete JSON text into a RawValue: objects without a prototype, numbers and
 * booleans as the text they were written with, null as null. It does not recurse, so depth
 * is bounded by `maxDepth` (levels of objects and arrays, `depthOffset` levels already
 * above this text), not by the call stack. Throws a JsonSyntaxError.
 *
 * A lone surrogate written as an escape (valid JSON, but no Unicode character: PostgreSQL's
 * jsonb and UTF-8 refuse it) becomes U+FFFD, as a UTF-8 decoder does with a bad byte; a
 * U+0000 in a key is removed; `onRepair` is told of each.
 */
export function parseJsonValue(
  text: string,
  maxDepth: number,
  depthOffset = 0,
  onRepair?: RepairHandler,
): RawValue {
  const len = text.length;
  const stack: Open[] = [];
  let i = skipWs(text, 0);
  let value: RawValue;
  // Position of the next backslash at or after i, to tell plain strings fast.
  let nextEscape = text.indexOf('\\');
  if (nextEscape === -1) nextEscape = len;
  // The string just read holds a surrogate that an escape wrote: check that it is paired.
  let escapedSurrogate = false;

  /** Where the value being read goes: keys and indexes of the open containers. */
  const valuePath = (): string => {
    let path = '';
    for (const open of stack) {
      if (open.key === null) path += `[${(open.container as RawValue[]).length}]`;
      else path += path === '' ? open.key : `.${open.key}`;
    }
    return path;
  };

  const readString = (): string => {
    // text[i] is the opening quote.
    const end = text.indexOf('"', i + 1);
    if (end === -1) throw new JsonSyntaxError('unterminated string', i);
    if (nextEscape < i) {
      nextEscape = text.indexOf('\\', i);
      if (nextEscape === -1) nextEscape = len;
    }
    if (nextEscape > end) {
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    let out = '';
    let j = i + 1;
    for (;;) {
      const q = text.indexOf('"', j);
      let b = text.indexOf('\\', j);
      if (q === -1) throw new JsonSyntaxError('unterminated string', i);
      if (b === -1 || b > q) {
        out += text.slice(j, q);
        i = q + 1;
        nextEscape = b === -1 ? len : b;
        return out;
      }
      out += text.slice(j, b);
      b++;
      const c = text.charCodeAt(b);
      switch (c) {
        case 0x22:
          out += '"';
          break;
        case 0x5c:
          out += '\\';
          break;
        case 0x2f:
          out += '/';
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75: {
          const hex = text.slice(b + 1, b + 5);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new JsonSyntaxError('bad \\u escape', b - 1);
          const unit = Number.parseInt(hex, 16);
          if (unit >= 0xd800 && unit <= 0xdfff) escapedSurrogate = true;
          out += String.fromCharCode(unit);
          b += 4;
          break;
        }
        default:
          throw new JsonSyntaxError(`bad escape \\${text[b] ?? ''}`, b - 1);
      }
      j = b + 1;
    }
  };

  const readKey = (): string => {
    i = skipWs(text, i);
    if (text.charCodeAt(i) !== 0x22) throw unexpected(text, i, 'a key');
    let key = readString();
    if (escapedSurrogate) {
      escapedSurrogate = false;
      const { text: repaired, units } = replaceLoneSurrogates(key);
      key = repaired;
      for (const unit of units) onRepair?.(key, unit, true);
    }
    if (key.includes('\u0000')) {
      key = key.replaceAll('\u0000', '');
      onRepair?.(key, 0, true);
    }
    i = skipWs(text, i);
    if (text.charCodeAt(i) !== 0x3a) throw unexpected(text, i, "':'");
    i = skipWs(text, i + 1);
    return key;
  };

  for (;;) {
    // A value starts at i.
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) {
      if (stack.length + 1 + depthOffset > maxDepth) {
        throw new JsonSyntaxError(`nested deeper than ${maxDepth} levels`, i);
      }
      i = skipWs(text, i + 1);
      if (c === 0x7b) {
        const obj = createRawObject();
        if (text.charCodeAt(i) === 0x7d) {
          i++;
          value = obj;
        } else {
          stack.push({ container: obj, key: readKey() });
          continue;
        }
      } else {
        const arr: RawValue[] = [];
        if (text.charCodeAt(i) === 0x5d) {
          i++;
          value = arr;
        } else {
          stack.push({ container: arr, key: null });
          continue;
        }
      }
    } else if (c === 0x22) {
      value = readString();
      if (escapedSurrogate) {
        escapedSurrogate = false;
        const { text: repaired, units } = replaceLoneSurrogates(value);
        value = repaired;
        for (const unit of units) onRepair?.(valuePath(), unit, false);
      }
    } else if (c === 0x74 && text.startsWith('true', i)) {
      value = 'true';
      i += 4;
    } else if (c === 0x66 && text.startsWith('false', i)) {
      value = 'false';
      i += 5;
    } else if (c === 0x6e && text.startsWith('null', i)) {
      value = null;
      i += 4;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) throw unexpected(text, i, 'a number');
      value = m[0];
      i += value.length;
    } else {
      throw unexpected(text, i, 'a value');
    }

    // A value is complete: give it to the container it belongs to, closing containers.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        i = skipWs(text, i);
        if (i < len) throw unexpected(text, i, 'the end');
        return value;
      }
      i = skipWs(text, i);
      const d = text.charCodeAt(i);
      if (top.key !== null) {
        (top.container as RawObject)[top.key] = value;
        if (d === 0x2c) {
          i++;
          top.key = readKey();
          break;
        }
        if (d !== 0x7d) throw unexpected(text, i, "',' or '}'");
      } else {
        (top.container as RawValue[]).push(value);
        if (d === 0x2c) {
          i = skipWs(text, i + 1);
          break;
        }
        if (d !== 0x5d) throw unexpected(text, i, "',' or ']'");
      }
      i++;
      value = top.container;
      stack.pop();
    }
  }
}

function unexpected(text: string, i: number, expected: string): JsonSyntaxError {
  if (i >= text.length) return new JsonSyntaxError(`unexpected end, expected ${expected}`, i);
  return new JsonSyntaxError(`unexpected ${JSON.stringify(text.slice(i, i + 10))}, expected ${expected}`, i);
}
