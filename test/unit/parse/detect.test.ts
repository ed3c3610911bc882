import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FeedParseError } from '../../../src/parse/csv.js';
import {
  detectDelimiter,
  detectFormat,
  formatOfContentType,
  formatOfName,
  type ReadFeedOptions,
  readFeed,
  sniffFeed,
} from '../../../src/parse/detect.js';
import type { RawRecord } from '../../../src/parse/types.js';
import { bytesOf, chunked, fixture, plain, recordsOf } from './helpers.js';

async function sniffError(data: Buffer | string, options: ReadFeedOptions = {}): Promise<FeedParseError> {
  try {
    await sniffFeed(chunked(data), options);
  } catch (err) {
    expect(err).toBeInstanceOf(FeedParseError);
    return err as FeedParseError;
  }
  throw new Error('expected a FeedParseError');
}

async function rows(feed: AsyncIterable<RawRecord>): Promise<string[][]> {
  const out: string[][] = [];
  for await (const r of feed) out.push(r.values);
  return out;
}

describe('detectFormat', () => {
  it('decides from content first', () => {
    expect(detectFormat('<?xml version="1.0"?><rss/>')).toEqual({ format: 'xml', formatSource: 'content' });
    expect(detectFormat('\n  [{"a":1}]', { name: 'feed.csv' })).toEqual({
      format: 'json',
      formatSource: 'content',
    });
    expect(detectFormat('{"a":1}\n{"a":2}\n')).toEqual({ format: 'ndjson', formatSource: 'content' });
    expect(detectFormat('{"a":1,\n"b":[{"c":2}]}')).toEqual({ format: 'json', formatSource: 'content' });
    expect(detectFormat('{"products":[{"a":1}]}')).toEqual({ format: 'json', formatSource: 'content' });
    expect(detectFormat('{"data":[{"a":1},\n{"a":2}]}')).toEqual({ format: 'json', formatSource: 'content' });
    expect(detectFormat('sku,title\nA,B\n', { name: 'x.tsv' })).toEqual({
      format: 'csv',
      formatSource: 'content',
      delimiter: ',',
    });
    expect(detectFormat('sku\ttitle\nA\tB\n')).toEqual({
      format: 'tsv',
      formatSource: 'content',
      delimiter: '\t',
    });
  });

  it('falls back on the extension, then the Content-Type, when content cannot tell', () => {
    expect(detectFormat('{"sku":"A"}\n', { name: 'stock.jsonl' })).toEqual({
      format: 'ndjson',
      formatSource: 'extension',
    });
    expect(detectFormat('{"sku":"A"}', { contentType: 'application/x-ndjson' })).toEqual({
      format: 'ndjson',
      formatSource: 'content-type',
    });
    expect(detectFormat('sku\nA\n', { name: 'skus.tsv' })).toEqual({
      format: 'tsv',
      formatSource: 'extension',
      delimiter: '\t',
    });
    expect(
      detectFormat('sku\nA\n', { contentType: 'text/tab-separated-values; charset=utf-8' }),
    ).toMatchObject({
      format: 'tsv',
      formatSource: 'content-type',
    });
    expect(detectFormat('', { name: 'https://x.example/feed.xml.gz?token=1' })).toEqual({
      format: 'xml',
      formatSource: 'extension',
    });
    expect(detectFormat('', { contentType: 'application/json' })).toEqual({
      format: 'json',
      formatSource: 'content-type',
    });
    expect(detectFormat('')).toEqual({ format: 'csv', formatSource: 'default', delimiter: ',' });
  });

  it('keeps a declared format that fits the content, with the delimiter detected', () => {
    expect(detectFormat('a;b\n1;2\n', { format: 'csv' })).toEqual({
      format: 'csv',
      formatSource: 'option',
      delimiter: ';',
    });
    expect(detectFormat('a;b\n1;2\n', { format: 'csv', delimiter: '|' })).toMatchObject({ delimiter: '|' });
    expect(detectFormat('a,b\n', { format: 'tsv' })).toMatchObject({ format: 'tsv', delimiter: '\t' });
    expect(detectFormat('{"a":1}\n{"a":2}\n', { format: 'json' })).toEqual({
      format: 'json',
      formatSource: 'option',
    });
  });

  it('refuses content that cannot be the declared format', () => {
    expect(() => detectFormat('<products/>', { format: 'csv' })).toThrow(
      /declared csv but its content looks like XML/,
    );
    expect(() => detectFormat('sku,title\n', { format: 'xml' })).toThrow(
      /declared xml but its content looks like text/,
    );
    expect(() => detectFormat('<a/>', { format: 'json' })).toThrow(
      /declared json but its content looks like XML/,
    );
    expect(() => detectFormat('[1]', { format: 'xml' })).toThrow(
      /declared xml but its content looks like JSON/,
    );
  });

  it('refuses an HTML page, whatever the declared format, naming its title', () => {
    const page = fixture('html-error-page.csv').toString();
    for (const format of [undefined, 'csv', 'xml', 'json'] as const) {
      expect(() => detectFormat(page, { format })).toThrow(
        `the feed is an HTML page, not a ${format ?? 'feed'} (its title: "503 Service Unavailable"): ` +
          'an error or login page served in place of the feed?',
      );
    }
    expect(() => detectFormat('<?xml version="1.0"?>\n<!-- x -->\n<html><body/></html>')).toThrow(
      /HTML page/,
    );
    expect(() => detectFormat('<h1>404 Not Found</h1>')).toThrow(/HTML page/);
  });

  it('refuses binary data and ZIP archives', () => {
    expect(() => detectFormat('PK\u0003\u0004\u0014\u0000')).toThrow(/ZIP archive/);
    expect(() => detectFormat('sku\u0000\u0001\u0002')).toThrow(/binary data/);
  });
});

describe('detectDelimiter', () => {
  it('finds , ; | and tab outside quotes', () => {
    expect(detectDelimiter('a,b,c\n1,2,3\n')).toBe(',');
    expect(detectDelimiter('a;b;c\n"1,5";"2,5";3\n')).toBe(';');
    expect(detectDelimiter('a|b\n1|"x|y"\n')).toBe('|');
    expect(detectDelimiter('a\tb\tc\n1\t2\t3\n')).toBe('\t');
    expect(detectDelimiter('"a,b";c\n"1,2";3\n')).toBe(';');
  });

  it('prefers the delimiter the second record agrees with', () => {
    // Two commas in the header's text, but semicolons separate the columns.
    expect(detectDelimiter('Name, first;Name, last;Age\nAda;Lovelace;36\n')).toBe(';');
  });

  it('reads a quoted line break in the header as text', () => {
    expect(detectDelimiter('"multi\nline";b\n1;2\n')).toBe(';');
  });

  it('has no delimiter for a single column', () => {
    expect(detectDelimiter('sku\nA\nB\n')).toBeUndefined();
  });
});

describe('formatOfName and formatOfContentType', () => {
  it('read extensions and media types', () => {
    expect(formatOfName('feed.XML')).toEqual({ format: 'xml' });
    expect(formatOfName('/exports/products.ndjson.gz')).toEqual({ format: 'ndjson' });
    expect(formatOfName('products')).toBeUndefined();
    expect(formatOfName('archive.zip')).toBeUndefined();
    expect(formatOfContentType('application/rss+xml')).toBe('xml');
    expect(formatOfContentType('text/csv; charset=iso-8859-1')).toBe('csv');
    expect(formatOfContentType('application/octet-stream')).toBeUndefined();
  });
});

describe('sniffFeed', () => {
  it('gives back the whole feed, decoded, after looking at its start', async () => {
    const csv = `sku;title\n${Array.from({ length: 30_000 }, (_, i) => `S-${i};Crème ${i}`).join('\n')}\n`;
    const sniffed = await sniffFeed(chunked(gzipSync(Buffer.from(csv, 'latin1')), 5000));
    expect(sniffed).toMatchObject({ format: 'csv', delimiter: ';', encoding: 'windows-1252', gzip: true });
    expect((await bytesOf(sniffed.stream)).toString('utf8')).toBe(csv);
  });

  it('refuses an HTML error page served as CSV', async () => {
    const err = await sniffError(fixture('html-error-page.csv'), { format: 'csv', name: 'products.csv' });
    expect(err.message).toMatch(
      /^the feed is an HTML page, not a csv \(its title: "503 Service Unavailable"\)/,
    );
    expect(err.line).toBe(1);
  });
});

describe('readFeed', () => {
  it('reads each fixture with its format, delimiter and encoding found', async () => {
    const latin = await readFeed(chunked(fixture('latin1-semicolon.csv')));
    expect(latin).toMatchObject({ kind: 'rows', format: 'csv', delimiter: ';', encoding: 'windows-1252' });
    if (latin.kind !== 'rows') throw new Error('rows expected');
    expect(latin.feed.header).toEqual(['Référence', 'Désignation', 'Prix', 'Stock']);
    expect(await rows(latin.feed.records)).toEqual([
      ['L-1', 'Crème brûlée', '4,50', '12'],
      ['L-2', 'Pâté "maison"', '7,90', '0'],
      ['L-3', 'Gruyère', '12,00', '5'],
    ]);

    const tsv = await readFeed(chunked(fixture('utf16-bom.tsv')), { name: 'export.txt' });
    expect(tsv).toMatchObject({ kind: 'rows', format: 'tsv', delimiter: '\t', encoding: 'utf-16le' });
    if (tsv.kind !== 'rows') throw new Error('rows expected');
    expect(tsv.feed.header).toEqual(['sku', 'title', 'price']);
    expect(await rows(tsv.feed.records)).toEqual([
      ['U-1', 'Zürich 😀', '5'],
      ['U-2', '日本', '7'],
    ]);

    const win = await readFeed(chunked(fixture('windows1252.csv')), { encoding: 'windows-1252' });
    if (win.kind !== 'rows') throw new Error('rows expected');
    expect((await rows(win.feed.records))[0]).toEqual(['W-1', 'L’œuf “bio” … 6 pièces', '3 €']);

    const pipes = await readFeed(chunked(fixture('pipe-delimited.csv')));
    expect(pipes).toMatchObject({ format: 'csv', delimiter: '|' });
    if (pipes.kind !== 'rows') throw new Error('rows expected');
    expect(await rows(pipes.feed.records)).toEqual([
      ['P-1', 'Lamp, desk', '39.00'],
      ['P-2', 'Lamp | floor', '89.00'],
    ]);

    const google = await readFeed(chunked(gzipSync(fixture('google-shopping.xml'))), {
      stripNamespaces: ['g'],
    });
    expect(google).toMatchObject({ kind: 'keyed', format: 'xml', gzip: true });
    if (google.kind !== 'keyed') throw new Error('keyed expected');
    expect((await recordsOf(google.feed)).map((r) => r.data.price)).toEqual(['24.90 EUR', '9.50 EUR']);

    const json = await readFeed(chunked(fixture('nested-items.json')), { itemsPath: 'data.products' });
    expect(json).toMatchObject({ kind: 'keyed', format: 'json' });
    if (json.kind !== 'keyed') throw new Error('keyed expected');
    expect((await recordsOf(json.feed)).map((r) => r.data.sku)).toEqual(['J-1', 'J-2', 'J-3']);

    const nd = await readFeed(chunked(fixture('products.ndjson')));
    expect(nd).toMatchObject({ kind: 'keyed', format: 'ndjson' });
    if (nd.kind !== 'keyed') throw new Error('keyed expected');
    expect((await recordsOf(nd.feed)).map((r) => plain(r.data.sku))).toEqual(['N-1', 'N-2', 'N-4']);
    expect(nd.feed.issues).toHaveLength(2);
  });

  it('stops at invalid UTF-8 in a declared UTF-8 CSV, with the line', async () => {
    await expect(readFeed(chunked(fixture('invalid-utf8.csv')), { encoding: 'utf-8' })).rejects.toThrow(
      'invalid UTF-8: byte 0xE9 at byte offset 24 is not UTF-8, the declared encoding',
    );
  });

  it('stops at invalid UTF-8 met while reading rows, after the first ones', async () => {
    const csv = Buffer.concat([
      Buffer.from(`sku,title\n${'A,plain\n'.repeat(20_000)}`),
      Buffer.from([0x42, 0x2c, 0xff, 0x0a]),
    ]);
    const opened = await readFeed(chunked(csv, 4096));
    if (opened.kind !== 'rows') throw new Error('rows expected');
    let n = 0;
    await expect(
      (async () => {
        for await (const _ of opened.feed.records) n++;
      })(),
    ).rejects.toThrow(/invalid UTF-8: byte 0xFF at byte offset 160012;/);
    expect(n).toBeGreaterThan(10_000);
  });
});
