import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type NdjsonOptions, parseNdjson } from '../../../src/parse/ndjson.js';
import { chunked, fixture, plain, prototypeUntouched, recordsOf } from './helpers.js';

async function readNdjson(data: Buffer | string, options: NdjsonOptions = {}, chunk = 64 * 1024) {
  const feed = await parseNdjson(chunked(data, chunk), options);
  const records = await recordsOf(feed);
  return { feed, records, data: records.map((r) => plain(r.data)) as Array<Record<string, unknown>> };
}

describe('parseNdjson', () => {
  it('reads one object per line, reports bad lines with their numbers and reads on', async () => {
    for (const size of [1, 7, 64 * 1024]) {
      const { feed, records, data } = await readNdjson(fixture('products.ndjson'), {}, size);
      expect(feed.columns).toEqual(['sku', 'title', 'price', 'quantity']);
      expect(records.map((r) => r.line)).toEqual([1, 2, 6]);
      expect(data).toEqual([
        { sku: 'N-1', title: 'Kettle', price: '29.90', quantity: '3' },
        { sku: 'N-2', title: 'Toaster', price: '39.90', quantity: null },
        // JSON.parse, as an object literal would set the prototype instead of a key.
        JSON.parse('{"sku":"N-4","title":"Grill é","tags":["bbq","summer"],"__proto__":{"polluted":"yes"}}'),
      ]);
      expect(feed.issues.map((i) => [i.line, i.code, i.message])).toEqual([
        [4, 'malformed_record', 'not valid JSON: unexpected end, expected a value'],
        [5, 'malformed_record', 'the line is not a JSON object'],
      ]);
    }
    expect(prototypeUntouched()).toBe(true);
  });

  it('reads CRLF lines and a last line without a break', async () => {
    const { data, records } = await readNdjson(`${fixture('crlf.ndjson').toString()}{"sku":"C-3"}`);
    expect(data).toEqual([{ sku: 'C-1' }, { sku: 'C-2' }, { sku: 'C-3' }]);
    expect(records.map((r) => r.line)).toEqual([1, 2, 3]);
  });

  it('drops a line over maxRecordSize as it streams by, and reads on', async () => {
    const long = `{"sku":"L","d":"${'x'.repeat(10_000)}"}`;
    for (const size of [100, 64 * 1024]) {
      const { data, feed } = await readNdjson(
        `{"sku":"A"}\n${long}\n{"sku":"C"}\n`,
        { maxRecordSize: 1024 },
        size,
      );
      expect(data).toEqual([{ sku: 'A' }, { sku: 'C' }]);
      expect(feed.issues).toEqual([
        { line: 2, sku: null, code: 'record_too_long', message: 'line longer than 1024 bytes' },
      ]);
    }
  });

  it('reports a line nested deeper than maxDepth', async () => {
    const deep = `{"a":${'['.repeat(40)}${']'.repeat(40)}}`;
    const { data, feed } = await readNdjson(`${deep}\n{"sku":"B"}\n`);
    expect(data).toEqual([{ sku: 'B' }]);
    expect(feed.issues[0]).toMatchObject({ line: 1, code: 'malformed_record' });
    expect(feed.issues[0]?.message).toMatch(/nested deeper than 32 levels/);
  });

  it('gives an empty feed for empty input', async () => {
    const { records, feed } = await readNdjson('\n\n');
    expect(records).toEqual([]);
    expect(feed.columns).toEqual([]);
  });
});

describe('parseNdjson: lone surrogates', () => {
  it('replaces each by U+FFFD, keeps escaped pairs, and warns at the line', async () => {
    const text = fs.readFileSync(
      path.resolve(import.meta.dirname, '../../fixtures/ndjson-lone-surrogate.ndjson'),
    );
    for (const size of [1, 5, 64 * 1024]) {
      const { data, records, feed } = await readNdjson(
        Buffer.concat([text, Buffer.from('{"sku":"NS-4","t":"\\ud800",\n{"k\\udc00":"\\udc00"}\n')]),
        {},
        size,
      );
      expect(records.map((r) => r.line)).toEqual([1, 2, 3, 5]);
      expect(data).toEqual([
        { sku: 'NS-1', title: 'Plain kettle', price: '29.90' },
        { sku: 'NS-2', title: 'Half \ufffdA pair', price: '5' },
        { sku: 'NS-3', title: 'Whole 😀 pair', price: '7' },
        { 'k\ufffd': '\ufffd' },
      ]);
      // Line 4 is not JSON: a row error, and no warning for it.
      expect(feed.issues.map((i) => [i.line, i.code])).toEqual([[4, 'malformed_record']]);
      expect(feed.warnings).toEqual([
        {
          line: 2,
          sku: null,
          code: 'lone_surrogate',
          message: 'a lone surrogate (no Unicode character) replaced by U+FFFD: \\ud83d in "title"',
        },
        {
          line: 5,
          sku: null,
          code: 'lone_surrogate',
          message:
            '2 lone surrogates (no Unicode character) replaced by U+FFFD: \\udc00 in the key "k\ufffd", \\udc00 in "k\ufffd"',
        },
      ]);
    }
  });
});

describe('parseNdjson: U+0000 in a key', () => {
  it('removes it with a row warning at the line', async () => {
    const { data, feed } = await readNdjson('{"sku":"A"}\n{"sku":"B","a\\u0000":"1"}\n');
    expect(data).toEqual([{ sku: 'A' }, { sku: 'B', a: '1' }]);
    expect(feed.warnings).toEqual([
      {
        line: 2,
        sku: null,
        code: 'control_characters',
        message: 'U+0000 removed from a key: \\u0000 in the key "a"',
      },
    ]);
  });
});

describe('parsers called on a stream with a byte order mark', () => {
  it('skip it', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const { data } = await readNdjson(Buffer.concat([bom, Buffer.from('{"sku":"A"}\n')]), {}, 1);
    expect(data).toEqual([{ sku: 'A' }]);
  });
});
