import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ParseWarning, RowIssue } from './types.js';

/**
 * A value of a keyed record: text as written in the feed, a list (a repeated XML element,
 * a JSON array), or a nested object (an XML element with children or attributes, a JSON
 * object). JSON `null` stays `null`; JSON numbers and booleans are kept as the text they
 * were written with (`"19.90"`, `"true"`), so nothing is lost to floating point.
 */
export type RawValue = string | null | RawValue[] | RawObject;

/**
 * An object of a keyed record. It has no prototype: `__proto__`, `constructor` or
 * `prototype` are plain keys, and reading a key the feed does not have gives `undefined`.
 */
export interface RawObject {
  [key: string]: RawValue;
}

/**
 * The intermediate representation of one item of a feed without a fixed header (XML, JSON,
 * NDJSON): its data by key, and the line it starts on.
 *
 * XML: each child element is a key named as written (`g:price`), or without its namespace
 * prefix when that namespace is stripped (Google's is by default: `price`); a repeated
 * element becomes a list; attributes are keys prefixed with `@`
 * (`@id`); the text of an element that also has attributes or children is under `#text`.
 */
export interface KeyedRecord {
  /** 1-based line where the item starts (XML: its start tag; NDJSON: its line). */
  line: number;
  data: RawObject;
}

/** Formats whose items are keyed records. */
export type KeyedFormat = 'xml' | 'json' | 'ndjson';

/** A parsed keyed feed: its records as a stream, with what is known of their keys. */
export interface KeyedFeed {
  format: KeyedFormat;
  /**
   * Where the items were found: `rss/channel/item` (XML, as given or detected),
   * `data.products` (JSON; `''` for a top-level array), `''` for NDJSON.
   */
  itemPath: string;
  /** The keys of the first item, in order: the feed's header, for mapping checks. */
  columns: string[];
  /** Every top-level key seen so far; complete once `records` has been read to its end. */
  keysSeen: ReadonlySet<string>;
  /** XML namespace declarations seen outside items and on item elements (prefix → URI). */
  namespaces: Readonly<Record<string, string>>;
  /**
   * XML: the name a key written `name` (`g:price`) has in the records once its namespace
   * prefix is stripped (`price`), or null when it is kept as written (always, for JSON and
   * NDJSON). An item that also has the stripped name of its own keeps the prefixed one.
   */
  strippedName(name: string): string | null;
  records: AsyncIterable<KeyedRecord>;
  /** Item-level parse problems (too long, too deep, malformed); filled while iterating. */
  issues: RowIssue[];
  /** What the parser changed in items it still hands on; filled while iterating (see ParseWarning). */
  warnings: ParseWarning[];
}

/** Default cap on nesting, counted from the document's root (the root is level 1). */
export const DEFAULT_MAX_DEPTH = 32;

/** A new empty object without a prototype. */
export function createRawObject(): RawObject {
  return Object.create(null) as RawObject;
}

/**
 * The value at a path of a record. A key as written is tried first (so a JSON key holding
 * `/` or `.` still works); otherwise the path is split on `/` (`g:shipping/g:price`). A list
 * on the way is entered at its first element.
 */
export function valueAt(data: RawObject, path: string): RawValue | undefined {
  if (Object.hasOwn(data, path)) return data[path];
  if (!path.includes('/')) return undefined;
  let value: RawValue | undefined = data;
  for (const key of path.split('/')) {
    while (Array.isArray(value)) value = value[0];
    if (value === null || value === undefined || typeof value === 'string') return undefined;
    value = Object.hasOwn(value, key) ? value[key] : undefined;
  }
  return value;
}

/**
 * The text a mapping would take from a value: a string as is, the first element of a list,
 * the `#text` of an element with attributes, `''` for null or an object without text.
 */
export function scalarText(value: RawValue | undefined): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.length > 0 ? scalarText(value[0]) : '';
  const text = value['#text'];
  return typeof text === 'string' ? text : '';
}

/** Reads text chunks and collects the items it completes; the driver takes them out. */
export interface ItemReader {
  write(text: string): void;
  /** The input is complete: finish, or throw a FeedParseError if the document is cut. */
  end(): void;
  /** Completed records not yet handed on. */
  out: KeyedRecord[];
  /** The item path in use (known once the first item is found). */
  itemPath(): string;
  namespaces(): Record<string, string>;
  /** See KeyedFeed.strippedName; left out, names are kept as written. */
  strippedName?(name: string): string | null;
}

/**
 * Runs an ItemReader over a stream of UTF-8 bytes and returns the feed once its first item
 * is read (so that `columns` is known), as parseCsv does with its header.
 */
export async function readKeyedFeed(
  input: Readable,
  format: KeyedFormat,
  reader: ItemReader,
  issues: RowIssue[],
  warnings: ParseWarning[] = [],
): Promise<KeyedFeed> {
  const keysSeen = new Set<string>();

  async function* produce(): AsyncGenerator<KeyedRecord> {
    const decoder = new StringDecoder('utf8');
    let first = true;
    try {
      for await (const chunk of input) {
        let text = typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
        if (first && text !== '') {
          first = false;
          // A byte order mark is not content (decodeFeed drops it; a direct caller may not).
          if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        }
        reader.write(text);
        if (reader.out.length > 0) {
          const batch = reader.out;
          reader.out = [];
          yield* batch;
        }
      }
      const rest = decoder.end();
      if (rest) reader.write(rest);
      reader.end();
      const batch = reader.out;
      reader.out = [];
      yield* batch;
    } finally {
      input.destroy();
    }
  }

  const iterator = produce();
  const first = await iterator.next();
  const columns = first.done ? [] : Object.keys(first.value.data);

  async function* records(): AsyncGenerator<KeyedRecord> {
    try {
      if (first.done) return;
      for (const k of columns) keysSeen.add(k);
      yield first.value;
      for (;;) {
        const item = await iterator.next();
        if (item.done) return;
        for (const k in item.value.data) keysSeen.add(k);
        yield item.value;
      }
    } finally {
      await iterator.return(undefined);
    }
  }

  return {
    format,
    itemPath: reader.itemPath(),
    columns,
    keysSeen,
    namespaces: reader.namespaces(),
    strippedName: (name) => reader.strippedName?.(name) ?? null,
    records: records(),
    issues,
    warnings,
  };
}

/**
 * Keeps a running line number over a text buffer: the line of a position is counted from
 * the last position asked, forwards or backwards, so the whole feed is counted about once.
 */
export class LineCounter {
  private line = 1;
  private at = 0;

  /** The 1-based line of position `p` of `buf`. */
  lineAt(buf: string, p: number): number {
    if (p >= this.at) {
      let i = buf.indexOf('\n', this.at);
      while (i !== -1 && i < p) {
        this.line++;
        i = buf.indexOf('\n', i + 1);
      }
    } else {
      let i = buf.lastIndexOf('\n', this.at - 1);
      while (i !== -1 && i >= p) {
        this.line--;
        i = i === 0 ? -1 : buf.lastIndexOf('\n', i - 1);
      }
    }
    this.at = p;
    return this.line;
  }

  /** The buffer drops its first `n` characters: counts at `n` and moves the origin there. */
  shift(buf: string, n: number): void {
    this.lineAt(buf, n);
    this.at = 0;
  }
}

/** UTF-8 size of a string, counted exactly only when it could exceed `max`. */
export function exceedsBytes(text: string, max: number): boolean {
  if (text.length > max) return true;
  if (text.length * 3 <= max) return false;
  return Buffer.byteLength(text, 'utf8') > max;
}
