import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { FeedFormat } from '../model/catalog.js';
import { FeedParseError, parseCsv } from './csv.js';
import { type DecodeOptions, decodeFeed, type EncodingSource, peekBytes, SNIFF_BYTES } from './decode.js';
import { parseJson } from './json.js';
import { parseNdjson } from './ndjson.js';
import type { KeyedFeed } from './records.js';
import { parseCsvThreaded } from './threaded-csv.js';
import type { ParsedFeed } from './types.js';
import { parseXml, type XmlOptions } from './xml.js';

/** Where the format in use comes from. */
export type FormatSource = 'option' | 'content' | 'extension' | 'content-type' | 'default';

/** What is known of a feed besides its bytes. */
export interface SniffOptions extends DecodeOptions {
  /** The declared format: used as is, after a check that the content can be that format. */
  format?: FeedFormat;
  /** The declared CSV delimiter; detected when left out. */
  delimiter?: string;
  /** File name or URL path (`products.xml.gz`), for the extension. */
  name?: string;
  /** The HTTP Content-Type of a linked feed. */
  contentType?: string;
}

/** A feed with its format, delimiter, encoding and compression found. */
export interface SniffedFeed {
  format: FeedFormat;
  formatSource: FormatSource;
  /** The CSV/TSV field delimiter (`,` `;` `|` or tab); undefined for other formats. */
  delimiter?: string;
  encoding: string;
  encodingSource: EncodingSource;
  gzip: boolean;
  /** The whole feed, decompressed and decoded: UTF-8 bytes without byte order mark. */
  stream: Readable;
}

/**
 * Finds how to read a feed from its first 64 KiB: gzip and encoding (see decodeFeed), then
 * the format from the content, then the file extension, then the Content-Type. A declared
 * format is checked against the content. Throws a FeedParseError for what is not a feed:
 * an HTML page (a login or error page served in place of the feed), binary data, or
 * content that cannot be the declared format.
 */
export async function sniffFeed(input: Readable, options: SniffOptions = {}): Promise<SniffedFeed> {
  const decoded = await decodeFeed(input, options);
  const { head, stream } = await peekBytes(decoded.stream, SNIFF_BYTES);
  const text = new StringDecoder('utf8').write(head);
  let found: DetectedFormat;
  try {
    found = detectFormat(text, options);
  } catch (err) {
    stream.destroy();
    throw err;
  }
  return {
    ...found,
    encoding: decoded.encoding,
    encodingSource: decoded.encodingSource,
    gzip: decoded.gzip,
    stream,
  };
}

/**
 * Whether text is binary data: three or more, and more than 1 %, of its characters are NUL or other control
 * characters no text feed holds (an image, a PDF). A stray NUL in a text feed is not: the
 * import removes it from its row, with a warning.
 */
function looksBinary(text: string): boolean {
  let controls = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) controls++;
  }
  return controls >= 3 && controls * 100 > text.length;
}

/** A format found by detectFormat. */
export interface DetectedFormat {
  format: FeedFormat;
  formatSource: FormatSource;
  delimiter?: string;
}

/**
 * Detects the format of a feed from the start of its text (decoded), the declared format,
 * the file name and the Content-Type. Content decides: `<` is XML, `[` JSON, `{` NDJSON
 * when its first line is a whole object and the next line starts another one (JSON
 * otherwise), anything else CSV, or TSV when the header's delimiter is a tab.
 */
export function detectFormat(
  head: string,
  hints: Pick<SniffOptions, 'format' | 'delimiter' | 'name' | 'contentType'> = {},
): DetectedFormat {
  const t = head.replace(/^[\s\ufeff]+/, '');
  if (t.startsWith('PK\u0003\u0004')) {
    throw new FeedParseError('the feed is a ZIP archive (an .xlsx workbook?), not a text feed', 1);
  }
  if (looksBinary(t.slice(0, 4096))) {
    throw new FeedParseError('the feed is binary data, not a text feed', 1);
  }
  const html = htmlPage(t);
  if (html !== undefined) {
    throw new FeedParseError(
      `the feed is an HTML page, not a ${hints.format ?? 'feed'}${html ? ` (its title: "${html}")` : ''}: ` +
        'an error or login page served in place of the feed?',
      1,
    );
  }
  const kind = contentKind(t);
  const byName = formatOfName(hints.name);
  const byType = formatOfContentType(hints.contentType);

  const declared = hints.format;
  if (declared !== undefined) {
    const fits =
      kind === 'empty' ||
      (declared === 'xml' && kind === 'xml') ||
      ((declared === 'json' || declared === 'ndjson') &&
        (kind === 'json' || kind === 'ndjson' || kind === 'object')) ||
      ((declared === 'csv' || declared === 'tsv') && kind !== 'xml');
    if (!fits) {
      throw new FeedParseError(
        `the feed is declared ${declared} but its content looks like ${describeKind(kind)}: it starts with ${JSON.stringify(t.slice(0, 40))}`,
        1,
      );
    }
    if (declared === 'csv' || declared === 'tsv') {
      const delimiter = hints.delimiter ?? (declared === 'tsv' ? '\t' : (detectDelimiter(t) ?? ','));
      return { format: declared, formatSource: 'option', delimiter };
    }
    return { format: declared, formatSource: 'option' };
  }
  switch (kind) {
    case 'xml':
    case 'json':
    case 'ndjson':
      return { format: kind, formatSource: 'content' };
    case 'object':
      // One object on one line: a JSON document, unless the name or type says NDJSON.
      if (byName?.format === 'ndjson') return { format: 'ndjson', formatSource: 'extension' };
      if (byType === 'ndjson') return { format: 'ndjson', formatSource: 'content-type' };
      return { format: 'json', formatSource: 'content' };
    case 'text': {
      const delimiter = hints.delimiter ?? detectDelimiter(t);
      if (delimiter !== undefined) {
        return { format: delimiter === '\t' ? 'tsv' : 'csv', formatSource: 'content', delimiter };
      }
      // A single column: the name or type may still say TSV.
      const tsv = byName?.format === 'tsv' || (byName === undefined && byType === 'tsv');
      return {
        format: tsv ? 'tsv' : 'csv',
        formatSource: byName ? 'extension' : byType ? 'content-type' : 'default',
        delimiter: tsv ? '\t' : ',',
      };
    }
    default: {
      const format = byName?.format ?? byType ?? 'csv';
      const formatSource: FormatSource = byName ? 'extension' : byType ? 'content-type' : 'default';
      return format === 'csv' || format === 'tsv'
        ? { format, formatSource, delimiter: hints.delimiter ?? (format === 'tsv' ? '\t' : ',') }
        : { format, formatSource };
    }
  }
}

type ContentKind = 'xml' | 'json' | 'ndjson' | 'object' | 'text' | 'empty';

function contentKind(t: string): ContentKind {
  if (t === '') return 'empty';
  const c = t[0];
  if (c === '<') return 'xml';
  if (c === '[') return 'json';
  if (c !== '{') return 'text';
  const nl = t.indexOf('\n');
  if (nl === -1) return t.trimEnd().endsWith('}') && parsesAsObject(t) ? 'object' : 'json';
  const first = t.slice(0, nl);
  if (!parsesAsObject(first)) return 'json';
  const next = t.slice(nl + 1).replace(/^\s+/, '');
  if (next === '') return 'object';
  return next[0] === '{' ? 'ndjson' : 'json';
}

function parsesAsObject(line: string): boolean {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

function describeKind(kind: ContentKind): string {
  switch (kind) {
    case 'xml':
      return 'XML';
    case 'json':
    case 'object':
      return 'JSON';
    case 'ndjson':
      return 'NDJSON';
    default:
      return 'text (CSV?)';
  }
}

const HTML_START = /^<(?:!doctype\s+html|html|head|body|h[1-6]|div|script|meta|title)[\s>/]/i;

/**
 * If the text is an HTML page, its title ('' when it has none); undefined otherwise.
 * An XML declaration and comments before the first element are looked through.
 */
export function htmlPage(text: string): string | undefined {
  let t = text.replace(/^[\s\ufeff]+/, '');
  for (;;) {
    const prolog = /^(?:<\?[\s\S]*?\?>|<!--[\s\S]*?-->)\s*/.exec(t);
    if (!prolog) break;
    t = t.slice(prolog[0].length);
  }
  if (!HTML_START.test(t)) return undefined;
  const title = /<title[^>]*>([^<]{0,200})<\/title>/i.exec(text);
  return title ? (title[1] as string).trim().replace(/\s+/g, ' ') : '';
}

const DELIMITERS = [',', ';', '\t', '|'] as const;

/**
 * The delimiter of a CSV header among `,` `;` tab and `|`, counted outside quotes: the one
 * that appears as many times in the second record as in the header, and most often; the
 * most frequent in the header when no line agrees; undefined when the header has none.
 */
export function detectDelimiter(text: string): string | undefined {
  const [header, second] = firstRecords(text);
  if (header === undefined) return undefined;
  const counts = DELIMITERS.map((d) => countOutsideQuotes(header, d));
  const seconds = second === undefined ? undefined : DELIMITERS.map((d) => countOutsideQuotes(second, d));
  let best = -1;
  let bestAgreeing = -1;
  DELIMITERS.forEach((_, i) => {
    const n = counts[i] as number;
    if (n === 0) return;
    if (best === -1 || n > (counts[best] as number)) best = i;
    if (
      (seconds === undefined || seconds[i] === n) &&
      (bestAgreeing === -1 || n > (counts[bestAgreeing] as number))
    ) {
      bestAgreeing = i;
    }
  });
  const pick = bestAgreeing !== -1 ? bestAgreeing : best;
  return pick === -1 ? undefined : DELIMITERS[pick];
}

/** The first two records of CSV text (a line break inside quotes does not end a record). */
function firstRecords(text: string): string[] {
  const out: string[] = [];
  let inQuotes = false;
  let start = 0;
  for (let i = 0; i < text.length && out.length < 2; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) inQuotes = !inQuotes;
    else if (!inQuotes && (c === 0x0a || c === 0x0d)) {
      if (i > start) out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  // A last record is whole only if the text is: the 64 KiB head may cut it.
  if (out.length === 0 && text.length > start) out.push(text.slice(start));
  return out;
}

function countOutsideQuotes(line: string, d: string): number {
  let n = 0;
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') inQuotes = !inQuotes;
    else if (!inQuotes && c === d) n++;
  }
  return n;
}

/** The format a file name's extension names (`.gz` looked through), if any. */
export function formatOfName(name: string | undefined): { format: FeedFormat } | undefined {
  if (!name) return undefined;
  let base = name.split(/[?#]/)[0]?.toLowerCase() ?? '';
  if (base.endsWith('.gz')) base = base.slice(0, -3);
  const ext = base.slice(base.lastIndexOf('.') + 1);
  const format = (
    {
      csv: 'csv',
      txt: 'csv',
      tsv: 'tsv',
      tab: 'tsv',
      xml: 'xml',
      rss: 'xml',
      atom: 'xml',
      json: 'json',
      ndjson: 'ndjson',
      jsonl: 'ndjson',
    } as Record<string, FeedFormat>
  )[ext];
  return base.includes('.') && format ? { format } : undefined;
}

/** The format an HTTP Content-Type names, if any. */
export function formatOfContentType(type: string | undefined): FeedFormat | undefined {
  const t = type?.split(';')[0]?.trim().toLowerCase();
  if (!t) return undefined;
  if (t === 'text/csv' || t === 'application/csv') return 'csv';
  if (t === 'text/tab-separated-values') return 'tsv';
  if (t === 'application/x-ndjson' || t === 'application/jsonl' || t === 'application/x-jsonlines') {
    return 'ndjson';
  }
  if (t === 'application/json' || t.endsWith('+json')) return 'json';
  if (t === 'application/xml' || t === 'text/xml' || t.endsWith('+xml')) return 'xml';
  return undefined;
}

/** Options of readFeed: those of sniffFeed and of each format's parser. */
export interface ReadFeedOptions extends SniffOptions {
  maxRecordSize?: number;
  maxDepth?: number;
  /** XML: see XmlOptions.itemPath. */
  itemPath?: string;
  /** XML: see XmlOptions.stripNamespaces. */
  stripNamespaces?: XmlOptions['stripNamespaces'];
  /** XML: see XmlOptions.htmlEntities. */
  htmlEntities?: XmlOptions['htmlEntities'];
  /** JSON: see JsonOptions.itemsPath. */
  itemsPath?: string;
  /** CSV/TSV: parse on a worker thread (threaded-csv.ts), for large feeds. */
  threaded?: boolean;
}

/** A feed opened by readFeed: CSV/TSV gives header and rows, the others keyed records. */
export type OpenedFeed = Omit<SniffedFeed, 'stream'> &
  ({ kind: 'rows'; feed: ParsedFeed } | { kind: 'keyed'; feed: KeyedFeed });

/**
 * Sniffs a feed (sniffFeed) and starts the parser of its format on the decoded bytes:
 * the one entry point the import needs, whatever the feed.
 */
export async function readFeed(input: Readable, options: ReadFeedOptions = {}): Promise<OpenedFeed> {
  const { stream, ...sniffed } = await sniffFeed(input, options);
  const limits = { maxRecordSize: options.maxRecordSize, maxDepth: options.maxDepth };
  switch (sniffed.format) {
    case 'csv':
    case 'tsv':
      return {
        ...sniffed,
        kind: 'rows',
        feed: await (options.threaded ? parseCsvThreaded : parseCsv)(stream, {
          delimiter: sniffed.delimiter,
          maxRecordSize: options.maxRecordSize,
        }),
      };
    case 'xml':
      return {
        ...sniffed,
        kind: 'keyed',
        feed: await parseXml(stream, {
          ...limits,
          itemPath: options.itemPath,
          stripNamespaces: options.stripNamespaces,
          htmlEntities: options.htmlEntities,
        }),
      };
    case 'json':
      return {
        ...sniffed,
        kind: 'keyed',
        feed: await parseJson(stream, { ...limits, itemsPath: options.itemsPath }),
      };
    case 'ndjson':
      return { ...sniffed, kind: 'keyed', feed: await parseNdjson(stream, limits) };
  }
}
