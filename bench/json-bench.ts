/**
 * JSON reader benchmark (`npm run bench:json -- --products N`): whether a well-kept streaming
 * JSON library reads a JSON feed as fast as feedwright's own reader (issue 15: "take the
 * library unless it is more than 20 % slower"). Parse only, no store, over the generated
 * catalog's JSON twin (`catalog-v1-<N>.json`, see catalog-data.ts):
 *
 * - (a) `parseJson`, feedwright's reader: a streaming split into items (which bounds each
 *   item, counts its depth and line, and recovers after a malformed one), each item's text
 *   parsed by `parseJsonValue`;
 * - (b) stream-json's tokenizer (`jsonParser`, packed values) over the whole document, its
 *   tokens built into the same records by `TokenRecords` below;
 * - (c) @streamparser/json's `Tokenizer` over the whole document (numbers kept as their
 *   text by overriding `parseNumber`), its tokens built into the same records;
 * - (d), (e) parseJson's own split (`readJsonItems`), each item's text parsed by stream-json
 *   or by @streamparser/json instead of parseJsonValue: the library designs that keep what
 *   (b) and (c) cannot (a malformed item is a row error and reading goes on; an over-long
 *   item is dropped as it streams by, never held);
 * - (b0), (c0) each tokenizer alone over the whole document, counting tokens: the floor of
 *   (b) and (c). Run once.
 *
 * Every library reader gives what (a) gives on valid items: the same KeyedRecords
 * (prototype-free objects, numbers and booleans as written, the line of each item),
 * itemsPath as given or found (the first array of objects), items nested deeper than
 * maxDepth or longer than maxRecordSize as row errors, lone surrogates as U+FFFD and U+0000
 * removed from keys, with a row warning. Before timing, records, row issues and warnings are compared with (a)'s on the
 * JSON fixtures, on the cases of parseJson's unit tests that no fixture holds, and on the
 * first items of the catalog. Then (a) to (e) run `--rounds` times each (2), alternating,
 * every run in its own process, with its wall time, its process's CPU time (less moved by
 * other processes on a shared machine) and its RSS sampled every 50 ms. A script, not a
 * test: it prints a table, writes its figures to bench/results/ and exits 1 when the records
 * differ on the catalog.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import Tokenizer from '@streamparser/json/tokenizer.js';
import TokenType from '@streamparser/json/utils/types/tokenType.js';
import { jsonParser, type Token } from 'stream-json/parser.js';
import { PACKAGE_ROOT } from '../src/config/config.js';
import { DEFAULT_MAX_RECORD_SIZE } from '../src/parse/csv.js';
import {
  type JsonItemParser,
  JsonSyntaxError,
  parseJson,
  type Repair,
  type RepairHandler,
  readJsonItems,
  repairWarnings,
  replaceLoneSurrogates,
} from '../src/parse/json.js';
import {
  createRawObject,
  DEFAULT_MAX_DEPTH,
  type KeyedRecord,
  type RawObject,
  type RawValue,
} from '../src/parse/records.js';
import type { ParseWarning, RowIssue } from '../src/parse/types.js';
import { ensureJsonFile } from './catalog-data.js';
import {
  fmtInt,
  fmtLoad,
  fmtMiB,
  fmtSec,
  gitState,
  machineInfo,
  Progress,
  packageVersion,
  RssSampler,
  renderTable,
  reportFailures,
  runBench,
  wholeNumberOptions,
  writeResults,
} from './harness.js';

const DEFAULTS = { products: 1_000_000, check: 20_000, rounds: 2 };
// The import's own read buffer (src/sources/source.ts).
const READ_CHUNK = 256 * 1024;
const FIXTURES = [
  path.join(PACKAGE_ROOT, 'test', 'fixtures', 'parse'),
  path.join(PACKAGE_ROOT, 'test', 'fixtures'),
];

const USAGE = `usage: npm run bench:json -- [--products N] [--check N]
  --products N  items of the generated JSON feed each variant reads (default ${DEFAULTS.products.toLocaleString('en-US')})
  --check N     first items of the feed whose records (a) to (e) must give identically (default ${DEFAULTS.check.toLocaleString('en-US')})
  --rounds N    runs of each of (a) to (e), alternating (default ${DEFAULTS.rounds})`;

type Variant = 'a' | 'b' | 'c' | 'd' | 'e' | 'b0' | 'c0';

const LABELS: Record<Variant, string> = {
  a: '(a) parseJson (split + parseJsonValue)',
  b: '(b) stream-json tokens → records',
  c: '(c) @streamparser/json tokens → records',
  d: '(d) split + stream-json per item',
  e: '(e) split + @streamparser/json per item',
  b0: '(b0) stream-json tokenizer only',
  c0: '(c0) @streamparser/json tokenizer only',
};

function parseArgs(argv: string[]): typeof DEFAULTS {
  return wholeNumberOptions(
    argv,
    DEFAULTS,
    { '--products': 'products', '--check': 'check', '--rounds': 'rounds' },
    USAGE,
  );
}

// ---------------------------------------------------------------------------------------
// Records from a token stream: what parseJson's reader does, for tokenizers that give the
// whole document's tokens.

/** In automatic mode, objects deeper than this are not searched for the items array. */
const AUTO_SEARCH_DEPTH = 8;

const NAV = 0; // around the items array
const CANDIDATE = 1; // just inside an array that may be the items (automatic mode)
const ITEMS = 2; // inside the items array, between items
const ITEM = 3; // inside one item, building it
const SKIP = 4; // inside a value that is not kept
const AFTER = 5; // after the document's value

interface Open {
  container: RawObject | RawValue[];
  key: string | null;
}

// String.prototype.isWellFormed: Node 20 has it, ES2023's lib does not type it.
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * Builds parseJson's records from a document's tokens. The tokenizer's driver calls `at()`
 * before each token with the token's line and offset (characters or bytes), then one of the
 * token methods. Problems with one item are row issues as in parseJson, with the same
 * messages; problems with the document throw.
 */
class TokenRecords {
  out: KeyedRecord[] = [];
  readonly issues: RowIssue[] = [];
  readonly warnings: ParseWarning[] = [];
  private readonly max: number;
  private readonly maxDepth: number;
  private readonly target: string[] | null;
  private readonly targetLabel: string;
  /** The line of a token at an offset (asked only where an item starts). */
  private readonly lineAt: (offset: number) => number;
  private offset = 0;
  private tokenEnd = 0;
  private started = false;
  private mode = NAV;
  /** Paths of the objects open around the items. */
  private readonly nav: string[][] = [];
  private key = '';
  private pending: string[] = [];
  private found = false;
  private foundPath = '';
  private itemsDepth = 0;
  private index = 0;
  private skipDepth = 0;
  private skipReturn = NAV;
  private readonly stack: Open[] = [];
  private itemLine = 0;
  private itemStart = 0;
  private replaced: Repair[] = [];

  constructor(
    itemsPath: string | undefined,
    lineAt: (offset: number) => number,
    maxRecordSize = DEFAULT_MAX_RECORD_SIZE,
    maxDepth = DEFAULT_MAX_DEPTH,
  ) {
    this.lineAt = lineAt;
    this.max = maxRecordSize;
    this.maxDepth = maxDepth;
    const p = itemsPath?.trim();
    if (p === undefined) this.target = null;
    else {
      const bare = p === '$' ? '' : p.replace(/^\$\./, '');
      this.target = bare === '' ? [] : bare.split('.');
    }
    this.targetLabel = this.target?.join('.') ?? '';
  }

  itemPath(): string {
    return this.found ? this.foundPath : this.targetLabel;
  }

  /**
   * Where the next token is: its offset, and an offset at or after its end (stream-json's
   * driver knows only the line piece the token is in).
   */
  at(offset: number, end = offset + 1): void {
    this.offset = offset;
    this.tokenEnd = end;
    if (this.mode === ITEM && offset - this.itemStart > this.max) {
      this.issue('record_too_long', `item ${this.index} is longer than ${this.max} bytes`);
      this.skip(this.stack.length, ITEMS);
      this.stack.length = 0;
    }
  }

  start(isArray: boolean): void {
    this.started = true;
    switch (this.mode) {
      case NAV: {
        const top = this.nav[this.nav.length - 1];
        if (top === undefined) {
          if (isArray) {
            if (this.target !== null && this.target.length > 0)
              throw this.fail(`the document is an array, not an object holding "${this.targetLabel}"`);
            this.startItems([]);
          } else {
            if (this.target !== null && this.target.length === 0)
              throw this.fail('the document is an object, not an array of items; set options.itemsPath');
            this.pushObject([]);
          }
          return;
        }
        const path = [...top, this.key];
        if (this.target !== null) {
          if (samePath(path, this.target)) {
            if (!isArray) throw this.fail(`"${this.targetLabel}" is not an array`);
            this.startItems(path);
          } else if (!isArray && isPrefix(path, this.target)) this.pushObject(path);
          else this.skip(1, NAV);
        } else if (!this.found && isArray) {
          this.pending = path;
          this.mode = CANDIDATE;
        } else if (!this.found && !isArray && this.nav.length < AUTO_SEARCH_DEPTH) this.pushObject(path);
        else this.skip(1, NAV);
        return;
      }
      case CANDIDATE:
        if (isArray) this.skip(2, NAV);
        else {
          this.startItems(this.pending);
          this.start(false);
        }
        return;
      case ITEMS:
        this.index++;
        this.itemLine = this.lineAt(this.offset);
        this.itemStart = this.offset;
        if (isArray) {
          this.issue('malformed_record', `item ${this.index} is not an object`);
          this.skip(1, ITEMS);
        } else {
          if (this.itemsDepth + 1 > this.maxDepth) {
            this.issue(
              'malformed_record',
              `item ${this.index} is nested deeper than ${this.maxDepth} levels`,
            );
            this.skip(1, ITEMS);
            return;
          }
          this.mode = ITEM;
          this.replaced = [];
          this.stack.push({ container: createRawObject(), key: null });
        }
        return;
      case ITEM:
        if (this.itemsDepth + this.stack.length + 1 > this.maxDepth) {
          this.issue('malformed_record', `item ${this.index} is nested deeper than ${this.maxDepth} levels`);
          this.skip(this.stack.length + 1, ITEMS);
          this.stack.length = 0;
          return;
        }
        this.stack.push({ container: isArray ? [] : createRawObject(), key: null });
        return;
      case SKIP:
        this.skipDepth++;
        if (this.skipReturn === NAV && this.nav.length + this.skipDepth > this.maxDepth)
          throw this.fail(`nested deeper than ${this.maxDepth} levels`);
        return;
      default:
        throw this.fail('unexpected content after the end of the JSON document');
    }
  }

  end(): void {
    switch (this.mode) {
      case NAV:
        this.nav.pop();
        if (this.nav.length === 0) this.mode = AFTER;
        return;
      case CANDIDATE:
        this.mode = NAV;
        return;
      case ITEMS:
        this.mode = this.nav.length === 0 ? AFTER : NAV;
        return;
      case ITEM: {
        const done = this.stack.pop() as Open;
        if (this.stack.length === 0) this.completeItem(done.container as RawObject);
        else this.put(done.container);
        return;
      }
      case SKIP:
        if (--this.skipDepth === 0) this.mode = this.skipReturn;
        return;
      default:
        throw this.fail('unexpected content after the end of the JSON document');
    }
  }

  name(key: string): void {
    if (this.mode === ITEM) {
      const top = this.stack[this.stack.length - 1] as Open;
      top.key = isWellFormed(key) ? key : this.repair(key, '', true);
      if (top.key.includes('\u0000')) {
        top.key = top.key.replaceAll('\u0000', '');
        this.replaced.push({ where: top.key, unit: 0, inKey: true });
      }
    } else if (this.mode === NAV) this.key = key;
  }

  /** A string (`isString`), a number or `true`/`false` as written, or null. */
  scalar(value: string | null, isString: boolean): void {
    this.started = true;
    switch (this.mode) {
      case ITEM:
        this.put(
          isString && !isWellFormed(value as string)
            ? this.repair(value as string, this.path(), false)
            : value,
        );
        return;
      case ITEMS:
        this.index++;
        this.itemLine = this.lineAt(this.offset);
        this.issue('malformed_record', `item ${this.index} is not an object`);
        return;
      case CANDIDATE:
        this.skip(1, NAV);
        return;
      case NAV:
        if (this.nav.length === 0) throw this.fail('not a JSON document: it starts with a scalar');
        return;
      case SKIP:
        return;
      default:
        throw this.fail('unexpected content after the end of the JSON document');
    }
  }

  /** The document is complete (the tokenizer accepted its end). */
  finish(): void {
    if (!this.started) throw new Error('JSON: the document is empty');
    if (this.mode !== AFTER) throw new Error('JSON: the document ends before its end: the feed is truncated');
    if (!this.found) {
      throw new Error(
        this.target === null
          ? 'JSON: no array of objects in the document; set options.itemsPath'
          : `JSON: no array at "${this.targetLabel}" in the document`,
      );
    }
  }

  private put(value: RawValue): void {
    const top = this.stack[this.stack.length - 1] as Open;
    if (top.key !== null) (top.container as RawObject)[top.key] = value;
    else (top.container as RawValue[]).push(value);
  }

  private completeItem(data: RawObject): void {
    this.mode = ITEMS;
    if (this.tokenEnd - this.itemStart > this.max) {
      this.issue('record_too_long', `item ${this.index} is longer than ${this.max} bytes`);
      return;
    }
    this.out.push({ line: this.itemLine, data });
    if (this.replaced.length > 0) this.warnings.push(...repairWarnings(this.itemLine, this.replaced));
  }

  private repair(s: string, where: string, inKey: boolean): string {
    const { text, units } = replaceLoneSurrogates(s);
    for (const unit of units) this.replaced.push({ where: inKey ? text : where, unit, inKey });
    return text;
  }

  private path(): string {
    let p = '';
    for (const open of this.stack) {
      if (open.key === null) p += `[${(open.container as RawValue[]).length}]`;
      else p += p === '' ? open.key : `.${open.key}`;
    }
    return p;
  }

  private pushObject(path: string[]): void {
    if (this.nav.length + 1 > this.maxDepth) throw this.fail(`nested deeper than ${this.maxDepth} levels`);
    this.nav.push(path);
  }

  private startItems(path: string[]): void {
    this.found = true;
    this.foundPath = path.join('.');
    this.itemsDepth = this.nav.length + 1;
    if (this.itemsDepth + 1 > this.maxDepth) throw this.fail(`nested deeper than ${this.maxDepth} levels`);
    this.mode = ITEMS;
  }

  private skip(depth: number, returnTo: number): void {
    this.mode = SKIP;
    this.skipDepth = depth;
    this.skipReturn = returnTo;
  }

  private issue(code: RowIssue['code'], message: string): void {
    this.issues.push({ line: this.itemLine, sku: null, code, message });
  }

  private fail(message: string): Error {
    return new Error(`JSON: ${message} (line ${this.lineAt(this.offset)})`);
  }
}

function samePath(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

function isPrefix(a: string[], b: string[]): boolean {
  return a.length < b.length && a.every((k, i) => k === b[i]);
}

/** Records read by a library reader, with what parseJson's feed also gives. */
interface LibraryFeed {
  itemPath: () => string;
  records: AsyncGenerator<KeyedRecord>;
  issues: RowIssue[];
  warnings: ParseWarning[];
}

/**
 * The same driving as parseJson's (readKeyedFeed): records handed on after each chunk, every
 * record's keys added to a set (the feed's keysSeen), the input destroyed at the end.
 */
function libraryFeed(
  input: Readable,
  builder: TokenRecords,
  write: (chunk: Buffer) => void,
  end: () => void,
): LibraryFeed {
  const keysSeen = new Set<string>();
  async function* records(): AsyncGenerator<KeyedRecord> {
    try {
      for await (const chunk of input) {
        write(chunk as Buffer);
        if (builder.out.length > 0) {
          const batch = builder.out;
          builder.out = [];
          for (const r of batch) {
            for (const k in r.data) keysSeen.add(k);
            yield r;
          }
        }
      }
      end();
      builder.finish();
      yield* builder.out.splice(0);
    } finally {
      input.destroy();
    }
  }
  return {
    itemPath: () => builder.itemPath(),
    records: records(),
    issues: builder.issues,
    warnings: builder.warnings,
  };
}

// (b) stream-json: its tokenizer takes text and gives tokens, without positions. It is fed
// one line at a time, so the tokens of a call belong to that line (an item's `{` is given
// at once); an item's size is counted from the start of the line it starts on to the end of
// the line it ends on: a few bytes more than (a) counts (far from the limit on the catalog).

function streamJsonTokens(): (text: string) => Token[] {
  const parse = jsonParser({ packValues: true, streamValues: false, maxDepth: Number.POSITIVE_INFINITY });
  return (text) => {
    // The tokenizer gives stream-chain's `many(tokens)`, or `none` when a call completes no token.
    const out = parse(text) as unknown as { values?: Token[] } | symbol;
    return typeof out === 'object' && out.values !== undefined ? out.values : [];
  };
}

function readWithStreamJson(input: Readable, itemsPath?: string): LibraryFeed {
  let line = 1;
  let offset = 0;
  const builder = new TokenRecords(itemsPath, () => line);
  const tokenize = streamJsonTokens();
  const decoder = new StringDecoder('utf8');
  // The line piece being read: from `offset` to `pieceEnd`.
  let pieceEnd = 0;
  const run = (tokens: Token[]) => {
    for (const t of tokens) {
      builder.at(offset, pieceEnd);
      switch (t.name) {
        case 'startObject':
          builder.start(false);
          break;
        case 'startArray':
          builder.start(true);
          break;
        case 'endObject':
        case 'endArray':
          builder.end();
          break;
        case 'keyValue':
          builder.name(t.value);
          break;
        case 'stringValue':
          builder.scalar(t.value, true);
          break;
        case 'numberValue':
          builder.scalar(t.value, false);
          break;
        case 'trueValue':
          builder.scalar('true', false);
          break;
        case 'falseValue':
          builder.scalar('false', false);
          break;
        case 'nullValue':
          builder.scalar(null, false);
          break;
        default:
          break;
      }
    }
  };
  let first = true;
  const feedText = (text: string) => {
    let from = 0;
    while (from < text.length) {
      const nl = text.indexOf('\n', from);
      const to = nl === -1 ? text.length : nl + 1;
      pieceEnd = offset + to - from;
      run(tokenize(text.slice(from, to)));
      offset += to - from;
      if (nl !== -1) line++;
      from = to;
    }
  };
  return libraryFeed(
    input,
    builder,
    (chunk) => {
      let text = decoder.write(chunk);
      if (first && text !== '') {
        first = false;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      feedText(text);
    },
    () => {
      feedText(decoder.end());
      run(endStreamJson(tokenize));
    },
  );
}

const NONE = Symbol.for('object-stream.none');

/**
 * Ends stream-json's tokenizer: stream-chain's `none` as the last input completes the
 * document (a number at its very end is given then) or throws if it is cut.
 */
function endStreamJson(tokenize: (text: string) => Token[]): Token[] {
  return tokenize(NONE as unknown as string);
}

// (c) @streamparser/json: its Tokenizer takes the bytes and gives each token's byte offset;
// the line of an item is counted from the offset of its `{`.

/** The Tokenizer with numbers kept as the text they were written with. */
class TextNumberTokenizer extends Tokenizer {
  protected override parseNumber(numberStr: string): number {
    // The number's text is handed on as written (a 20-digit GTIN is not rounded).
    return numberStr as unknown as number;
  }
}

function readWithStreamparser(input: Readable, itemsPath?: string): LibraryFeed {
  const tokenizer = new TextNumberTokenizer();
  // Lines are counted up to `counted` (a byte offset), over the chunk starting at `base`.
  let chunk: Buffer = Buffer.alloc(0);
  let base = 0;
  let counted = 0;
  let line = 1;
  const lineAt = (offset: number) => {
    let i = chunk.indexOf(10, counted - base);
    while (i !== -1 && base + i < offset) {
      line++;
      i = chunk.indexOf(10, i + 1);
    }
    counted = offset;
    return line;
  };
  const builder = new TokenRecords(itemsPath, lineAt);
  // Objects and arrays open in the document: true for an object. After `{` or `,` in an
  // object the next string is a key.
  const inObject: boolean[] = [];
  let expectKey = false;
  tokenizer.onToken = ({ token, value, offset }) => {
    switch (token) {
      case TokenType.LEFT_BRACE:
        builder.at(offset);
        builder.start(false);
        inObject.push(true);
        expectKey = true;
        return;
      case TokenType.LEFT_BRACKET:
        builder.at(offset);
        builder.start(true);
        inObject.push(false);
        expectKey = false;
        return;
      case TokenType.RIGHT_BRACE:
      case TokenType.RIGHT_BRACKET:
        builder.at(offset);
        builder.end();
        inObject.pop();
        expectKey = false;
        return;
      case TokenType.COMMA:
        expectKey = inObject[inObject.length - 1] === true;
        return;
      case TokenType.COLON:
        return;
      case TokenType.STRING:
        builder.at(offset);
        if (expectKey) {
          builder.name(value as string);
          expectKey = false;
        } else builder.scalar(value as string, true);
        return;
      case TokenType.NUMBER:
        builder.at(offset);
        builder.scalar(value as unknown as string, false);
        return;
      case TokenType.TRUE:
        builder.at(offset);
        builder.scalar('true', false);
        return;
      case TokenType.FALSE:
        builder.at(offset);
        builder.scalar('false', false);
        return;
      case TokenType.NULL:
        builder.at(offset);
        builder.scalar(null, false);
        return;
      default:
        return;
    }
  };
  return libraryFeed(
    input,
    builder,
    (next) => {
      // Count the rest of the chunk before moving to the next one.
      lineAt(base + chunk.length);
      base += chunk.length;
      counted = base;
      chunk = next;
      tokenizer.write(next);
    },
    () => tokenizer.end(),
  );
}

// (d), (e): parseJson's own split into items (readJsonItems), each item's text parsed by the
// library instead of parseJsonValue. The split already refuses items too deep or too long
// and gives each item's line, so the library only builds one complete value at a time.

/** One complete value from its tokens, as parseJsonValue builds it. */
class ValueBuilder {
  private readonly stack: Open[] = [];
  value: RawValue | undefined;
  constructor(private readonly onRepair: RepairHandler | undefined) {}

  start(isArray: boolean): void {
    this.stack.push({ container: isArray ? [] : createRawObject(), key: null });
  }

  end(): void {
    const done = this.stack.pop() as Open;
    this.put(done.container);
  }

  name(key: string): void {
    const top = this.stack[this.stack.length - 1] as Open;
    if (isWellFormed(key)) top.key = key;
    else {
      const { text, units } = replaceLoneSurrogates(key);
      for (const unit of units) this.onRepair?.(text, unit, true);
      top.key = text;
    }
    if (top.key.includes('\u0000')) {
      top.key = top.key.replaceAll('\u0000', '');
      this.onRepair?.(top.key, 0, true);
    }
  }

  scalar(value: string | null, isString: boolean): void {
    if (isString && !isWellFormed(value as string)) {
      const { text, units } = replaceLoneSurrogates(value as string);
      for (const unit of units) this.onRepair?.(this.path(), unit, false);
      this.put(text);
    } else this.put(value);
  }

  private put(value: RawValue): void {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) this.value = value;
    else if (top.key !== null) (top.container as RawObject)[top.key] = value;
    else (top.container as RawValue[]).push(value);
  }

  private path(): string {
    let p = '';
    for (const open of this.stack) {
      if (open.key === null) p += `[${(open.container as RawValue[]).length}]`;
      else p += p === '' ? open.key : `.${open.key}`;
    }
    return p;
  }
}

/** stream-json's tokenizer as the item parser: one tokenizer for a run of items (JSON Streaming). */
function streamJsonItems(): JsonItemParser {
  const create = () =>
    jsonParser({
      packValues: true,
      streamValues: false,
      jsonStreaming: true,
      maxDepth: Number.POSITIVE_INFINITY,
    });
  let parse = create();
  return (text, _maxDepth, _depthOffset, onRepair) => {
    let tokens: Token[];
    try {
      const out = parse(text) as unknown as { values?: Token[] } | symbol;
      tokens = typeof out === 'object' && out.values !== undefined ? out.values : [];
    } catch (err) {
      // A tokenizer that failed cannot go on: the next item gets a new one.
      parse = create();
      throw new JsonSyntaxError((err as Error).message, 0);
    }
    const b = new ValueBuilder(onRepair);
    for (const t of tokens) {
      switch (t.name) {
        case 'startObject':
          b.start(false);
          break;
        case 'startArray':
          b.start(true);
          break;
        case 'endObject':
        case 'endArray':
          b.end();
          break;
        case 'keyValue':
          b.name(t.value);
          break;
        case 'stringValue':
          b.scalar(t.value, true);
          break;
        case 'numberValue':
          b.scalar(t.value, false);
          break;
        case 'trueValue':
          b.scalar('true', false);
          break;
        case 'falseValue':
          b.scalar('false', false);
          break;
        case 'nullValue':
          b.scalar(null, false);
          break;
        default:
          break;
      }
    }
    if (b.value === undefined) {
      parse = create();
      throw new JsonSyntaxError('unexpected end', text.length);
    }
    return b.value;
  };
}

/** @streamparser/json's Tokenizer as the item parser: one tokenizer for a run of items (no separator). */
function streamparserItems(): JsonItemParser {
  let b = new ValueBuilder(undefined);
  const inObject: boolean[] = [];
  let expectKey = false;
  const create = () => {
    const t = new TextNumberTokenizer({ separator: '' });
    t.onToken = ({ token, value }) => {
      switch (token) {
        case TokenType.LEFT_BRACE:
          b.start(false);
          inObject.push(true);
          expectKey = true;
          return;
        case TokenType.LEFT_BRACKET:
          b.start(true);
          inObject.push(false);
          expectKey = false;
          return;
        case TokenType.RIGHT_BRACE:
        case TokenType.RIGHT_BRACKET:
          b.end();
          inObject.pop();
          expectKey = false;
          return;
        case TokenType.COMMA:
          expectKey = inObject[inObject.length - 1] === true;
          return;
        case TokenType.STRING:
          if (expectKey) {
            b.name(value as string);
            expectKey = false;
          } else b.scalar(value as string, true);
          return;
        case TokenType.NUMBER:
          b.scalar(value as unknown as string, false);
          return;
        case TokenType.TRUE:
          b.scalar('true', false);
          return;
        case TokenType.FALSE:
          b.scalar('false', false);
          return;
        case TokenType.NULL:
          b.scalar(null, false);
          return;
        default:
          return;
      }
    };
    return t;
  };
  let tokenizer = create();
  return (text, _maxDepth, _depthOffset, onRepair) => {
    b = new ValueBuilder(onRepair);
    inObject.length = 0;
    try {
      tokenizer.write(text);
    } catch (err) {
      tokenizer = create();
      throw new JsonSyntaxError((err as Error).message, 0);
    }
    if (b.value === undefined) {
      tokenizer = create();
      throw new JsonSyntaxError('unexpected end', text.length);
    }
    return b.value;
  };
}

// ---------------------------------------------------------------------------------------
// The same records: fixtures and the first items of the catalog

type Reader = 'a' | 'b' | 'c' | 'd' | 'e';

interface Read {
  itemPath: string;
  records: KeyedRecord[];
  issues: RowIssue[];
  warnings: ParseWarning[];
}

async function readAll(reader: Reader, file: string, limit = Number.POSITIVE_INFINITY): Promise<Read> {
  const input = fs.createReadStream(file, { highWaterMark: READ_CHUNK });
  const records: KeyedRecord[] = [];
  if (reader !== 'b' && reader !== 'c') {
    const feed = await openSplit(reader, input);
    for await (const r of feed.records) {
      records.push(r);
      if (records.length >= limit) break;
    }
    return { itemPath: feed.itemPath, records, issues: feed.issues, warnings: feed.warnings };
  }
  const feed = reader === 'b' ? readWithStreamJson(input) : readWithStreamparser(input);
  for await (const r of feed.records) {
    records.push(r);
    if (records.length >= limit) break;
  }
  await feed.records.return(undefined);
  return { itemPath: feed.itemPath(), records, issues: feed.issues, warnings: feed.warnings };
}

interface Comparison {
  input: string;
  reader: Reader;
  items: number;
  /** null: (a) refuses the feed, and so does the library reader. */
  identical: boolean | null;
  note?: string;
}

/** The first key path at which two values differ, for the report. */
function firstDifference(a: unknown, b: unknown, at = ''): string {
  if (isDeepStrictEqual(a, b)) return '';
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const d = firstDifference(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        `${at}/${k}`,
      );
      if (d !== '') return d;
    }
    return `${at} (key order)`;
  }
  return `${at}: ${JSON.stringify(a)?.slice(0, 60)} ≠ ${JSON.stringify(b)?.slice(0, 60)}`;
}

/** Key order and prototypes matter to the import (the first item's keys are the feed's columns). */
function sameRecords(a: KeyedRecord[], b: KeyedRecord[]): boolean {
  return isDeepStrictEqual(a, b) && a.every((r, i) => JSON.stringify(r.data) === JSON.stringify(b[i]?.data));
}

/** (a), (d) or (e): parseJson's split with its own item parser or a library's. */
function openSplit(reader: 'a' | 'd' | 'e', input: Readable) {
  if (reader === 'a') return parseJson(input);
  return readJsonItems(input, {}, reader === 'd' ? streamJsonItems() : streamparserItems());
}

async function compare(
  file: string,
  label: string,
  reader: Exclude<Reader, 'a'>,
  limit?: number,
): Promise<Comparison> {
  let a: Read | undefined;
  let aError = '';
  try {
    a = await readAll('a', file, limit);
  } catch (err) {
    aError = (err as Error).message;
  }
  let b: Read;
  try {
    b = await readAll(reader, file, limit);
  } catch (err) {
    const message = (err as Error).message.slice(0, 70);
    if (a === undefined)
      return { input: label, reader, items: 0, identical: null, note: `both refuse the feed` };
    return {
      input: label,
      reader,
      items: a.records.length,
      identical: false,
      note: `refuses the feed (a) reads: ${message}`,
    };
  }
  if (a === undefined)
    return {
      input: label,
      reader,
      items: b.records.length,
      identical: false,
      note: `(a) refuses it: ${aError}`,
    };
  const issues = (r: Read) => r.issues.map((i) => `${i.line} ${i.code} ${i.message}`);
  const warnings = (r: Read) => r.warnings.map((w) => `${w.line} ${w.message}`);
  if (
    sameRecords(a.records, b.records) &&
    a.itemPath === b.itemPath &&
    isDeepStrictEqual(issues(a), issues(b)) &&
    isDeepStrictEqual(warnings(a), warnings(b))
  )
    return { input: label, reader, items: a.records.length, identical: true };
  const n = Math.min(a.records.length, b.records.length);
  for (let i = 0; i < n; i++) {
    const d = firstDifference(a.records[i], b.records[i]);
    if (d !== '')
      return { input: label, reader, items: a.records.length, identical: false, note: `item ${i + 1}: ${d}` };
  }
  return {
    input: label,
    reader,
    items: a.records.length,
    identical: false,
    note: `(a) ${a.records.length} items, issues ${JSON.stringify(issues(a))}; ${reader} ${b.records.length}, issues ${JSON.stringify(issues(b))}`.slice(
      0,
      200,
    ),
  };
}

/** Documents of parseJson's unit tests (test/unit/parse/json.test.ts) that no fixture holds. */
const INLINE_CASES: Record<string, string> = {
  'items-not-objects': '[\n{"sku":"A"},\n"text",\n[1,2],\n{"sku":"E"}\n]',
  'item-not-valid-json': '[\n{"sku":"A"},\n{"sku": tru},\n{"sku":"E"}\n]',
  'escapes-at-ends': '[{"a":"q\\"uote\\\\","b":"\\\\\\""},{"c":"}]{["}]',
  'found-in-object': '{"meta":{"tags":["a"]},"data":{"products":[{"sku":"A"},{"sku":"B","n":-1.5E+3}]}}',
  'raw-tab-in-string': '[{"sku":"A","d":"a\tb"},{"sku":"B"}]',
  'item-too-long': `[{"sku":"A"},\n{"sku":"BIG","d":"${'x'.repeat(DEFAULT_MAX_RECORD_SIZE + 10)}"},\n{"sku":"C"}]`,
  'lone-surrogates':
    '[\n{"sku":"A","t":"x\\ud800y","v":[{"c":"\\udc00"}],"k\\udfffey":"1"},\n{"sku":"B","p":"\\ud83d\\ude00"}\n]',
};

// ---------------------------------------------------------------------------------------
// One timed run, in a process of its own

interface RunResult {
  variant: Variant;
  items: number;
  wallMs: number;
  /** CPU time of the run's process (user + system, all its threads): less moved by other processes than wall time. */
  cpuMs: number;
  peakRssBytes: number;
  startRssBytes: number;
  loadStart: number[];
  loadEnd: number[];
}

async function runChild(variant: Variant, file: string): Promise<RunResult> {
  globalThis.gc?.();
  const loadStart = os.loadavg();
  const startRssBytes = process.memoryUsage.rss();
  const sampler = new RssSampler();
  sampler.start();
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  let items = 0;
  const input = fs.createReadStream(file, { highWaterMark: READ_CHUNK });
  if (variant === 'a' || variant === 'd' || variant === 'e') {
    const feed = await openSplit(variant, input);
    for await (const _ of feed.records) items++;
  } else if (variant === 'b' || variant === 'c') {
    const feed = variant === 'b' ? readWithStreamJson(input) : readWithStreamparser(input);
    for await (const _ of feed.records) items++;
  } else if (variant === 'b0') {
    // Tokens counted, whole chunks fed: the tokenizer's own speed.
    const tokenize = streamJsonTokens();
    const decoder = new StringDecoder('utf8');
    let tokens = 0;
    for await (const chunk of input) tokens += tokenize(decoder.write(chunk as Buffer)).length;
    tokens += endStreamJson(tokenize).length;
    items = tokens;
  } else {
    const tokenizer = new TextNumberTokenizer();
    let tokens = 0;
    tokenizer.onToken = () => {
      tokens++;
    };
    for await (const chunk of input) tokenizer.write(chunk as Buffer);
    tokenizer.end();
    items = tokens;
  }
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  const peakRssBytes = sampler.stop();
  return {
    variant,
    items,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    peakRssBytes,
    startRssBytes,
    loadStart,
    loadEnd: os.loadavg(),
  };
}

function spawnRun(variant: Variant, file: string): RunResult {
  const out = path.join(os.tmpdir(), `json-bench-${process.pid}-${variant}-${Date.now()}.json`);
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--child', variant, '--file', file, '--out', out],
    { stdio: 'inherit' },
  );
  if (child.status !== 0) throw new Error(`the ${variant} run exited with ${child.status ?? child.signal}`);
  const result = JSON.parse(fs.readFileSync(out, 'utf8')) as RunResult;
  fs.rmSync(out, { force: true });
  return result;
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const arg = (name: string) => argv[argv.indexOf(name) + 1] as string;
    const result = await runChild(argv[1] as Variant, arg('--file'));
    fs.writeFileSync(arg('--out'), JSON.stringify(result));
    return;
  }
  const opts = parseArgs(argv);
  const startedAt = new Date();
  const progress = new Progress();
  const big = await ensureJsonFile(opts.products, progress);

  console.log('checking that (b), (c), (d) and (e) give the same records, issues and warnings as (a)…');
  const comparisons: Comparison[] = [];
  const fixtures = FIXTURES.flatMap((dir) =>
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => path.join(dir, f)),
  );
  // Cases of parseJson's unit tests that no fixture holds, written to a temporary folder.
  const cases = fs.mkdtempSync(path.join(os.tmpdir(), 'json-bench-'));
  for (const [name, text] of Object.entries(INLINE_CASES)) {
    const file = path.join(cases, `${name}.json`);
    fs.writeFileSync(file, text);
    fixtures.push(file);
  }
  for (const reader of ['b', 'c', 'd', 'e'] as const) {
    for (const file of fixtures) comparisons.push(await compare(file, path.basename(file), reader));
  }
  fs.rmSync(cases, { recursive: true, force: true });
  const catalogChecks: Comparison[] = [];
  for (const reader of ['b', 'c', 'd', 'e'] as const) {
    const c = await compare(
      big.path,
      `${path.basename(big.path)}, first ${fmtInt(opts.check)}`,
      reader,
      opts.check,
    );
    catalogChecks.push(c);
    comparisons.push(c);
  }
  console.log(
    renderTable(
      ['input', 'reader', 'items', 'same as (a)', 'note'],
      comparisons.map((c) => [
        c.input,
        `(${c.reader})`,
        fmtInt(c.items),
        c.identical === null ? '—' : c.identical ? 'yes' : 'NO',
        c.note ?? '',
      ]),
      [1, 4],
    ),
  );

  // Alternating, so that a change of load on the machine falls on all three.
  const plan: Variant[] = [
    ...Array.from({ length: opts.rounds }, () => ['a', 'b', 'c', 'd', 'e'] as const).flat(),
    'b0',
    'c0',
  ];
  const runs: RunResult[] = [];
  for (const variant of plan) {
    console.log(`\n${LABELS[variant]} over ${fmtInt(opts.products)} items (load ${fmtLoad(os.loadavg())})…`);
    const r = spawnRun(variant, big.path);
    const what = variant.endsWith('0') ? 'tokens' : 'items';
    console.log(
      `  ${fmtInt(r.items)} ${what} in ${fmtSec(r.wallMs)} (CPU ${fmtSec(r.cpuMs)}): ${fmtInt((opts.products / r.wallMs) * 1000)} items/s, peak RSS ${fmtMiB(r.peakRssBytes)}`,
    );
    runs.push(r);
  }

  // Floors count tokens; their rate is the feed's items over their time.
  const rate = (r: RunResult) => (opts.products / r.wallMs) * 1000;
  const cpuRate = (r: RunResult) => (opts.products / r.cpuMs) * 1000;
  const best = (variant: Variant, of = rate) =>
    Math.max(...runs.filter((r) => r.variant === variant).map(of));
  const rows = runs.map((r) => [
    LABELS[r.variant],
    fmtInt(opts.products),
    fmtSec(r.wallMs),
    fmtInt(rate(r)),
    `${(rate(r) / best('a')).toFixed(2)}×`,
    fmtSec(r.cpuMs),
    fmtInt(cpuRate(r)),
    `${(cpuRate(r) / best('a', cpuRate)).toFixed(2)}×`,
    fmtMiB(r.peakRssBytes),
    fmtLoad(r.loadStart),
  ]);
  console.log(
    `\nJSON readers, parse only (${os.cpus().length} cores, ${fmtMiB(big.bytes)} feed); ratios to the best (a) run, by wall and by CPU time\n`,
  );
  console.log(
    renderTable(
      [
        'variant',
        'items',
        'wall',
        'items/s',
        'vs (a)',
        'CPU',
        'items/CPU-s',
        'vs (a)',
        'peak RSS',
        'load 1/5/15 at start',
      ],
      rows,
    ),
  );
  const verdict = (v: Exclude<Reader, 'a'>) => {
    const wall = best(v) / best('a');
    const cpu = best(v, cpuRate) / best('a', cpuRate);
    const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
    return `${LABELS[v]}: ${pct(wall)} of (a)'s items/s, ${pct(cpu)} of its items per CPU-second`;
  };

  console.log(`\n${(['b', 'c', 'd', 'e'] as const).map((v) => `  ${verdict(v)}`).join('\n')}`);

  const failures: string[] = [];
  for (const r of runs) {
    if (!r.variant.endsWith('0') && r.items !== opts.products)
      failures.push(`${LABELS[r.variant]} read ${r.items} items`);
  }
  for (const c of catalogChecks) {
    if (c.identical !== true) failures.push(`(a) and (${c.reader}) differ on the catalog: ${c.note ?? ''}`);
  }
  const out = writeResults(`json-${opts.products}`, startedAt, {
    bench: 'json',
    startedAt: startedAt.toISOString(),
    options: opts,
    file: big,
    comparisons,
    runs: runs.map((r) => ({
      ...r,
      label: LABELS[r.variant],
      itemsPerSecond: rate(r),
      ratioToA: rate(r) / best('a'),
      itemsPerCpuSecond: cpuRate(r),
      cpuRatioToA: cpuRate(r) / best('a', cpuRate),
    })),
    summary: {
      aItemsPerSecond: best('a'),
      bItemsPerSecond: best('b'),
      cItemsPerSecond: best('c'),
      dItemsPerSecond: best('d'),
      eItemsPerSecond: best('e'),
      bOverA: best('b') / best('a'),
      cOverA: best('c') / best('a'),
      dOverA: best('d') / best('a'),
      eOverA: best('e') / best('a'),
      aItemsPerCpuSecond: best('a', cpuRate),
      cpuOverA: Object.fromEntries(
        (['b', 'c', 'd', 'e'] as const).map((v) => [v, best(v, cpuRate) / best('a', cpuRate)]),
      ),
    },
    machine: machineInfo(),
    versions: {
      streamJson: packageVersion('stream-json'),
      streamparserJson: packageVersion('@streamparser/json'),
      git: gitState(),
    },
  });
  console.log(`\nfigures written to ${path.relative(process.cwd(), out)}`);
  reportFailures('the runs did not all read what they should', failures);
}

runBench(main, USAGE);
