import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../../src/parse/csv.js';
import { parseJson } from '../../../src/parse/json.js';
import { parseNdjson } from '../../../src/parse/ndjson.js';
import type { RawValue } from '../../../src/parse/records.js';
import { parseXml } from '../../../src/parse/xml.js';
import { chunked, plain, prototypeUntouched, recordsOf } from './helpers.js';

// Values a writer may put in a feed: any text, with the characters that break naive
// readers and writers over-represented.
const tricky = fc.constantFrom(
  '"',
  "'",
  '""',
  '\n',
  '\r\n',
  '\r',
  ']]>',
  ']]',
  '&',
  '&amp;',
  '&#38;',
  '&lt;',
  '<',
  '>',
  '</a>',
  '<![CDATA[',
  '😀',
  'é',
  '日本',
  ',',
  ';',
  '\t',
  ' ',
  '\\',
  '\\"',
  '__proto__',
  '',
);
const text = fc
  .array(fc.oneof(tricky, fc.string({ unit: 'binary', maxLength: 8 })), { maxLength: 8 })
  .map((parts) => parts.join(''));

// XML 1.0 cannot carry C0 controls other than tab and line breaks, U+FFFE/U+FFFF or
// lone surrogates, even as references: a writer has to leave them out. UTF-8 cannot carry
// lone surrogates either.
function keepChars(s: string, allowed: (code: number) => boolean): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0) as number;
    if (allowed(code)) out += ch;
  }
  return out;
}
const notSurrogate = (c: number) => c < 0xd800 || c > 0xdfff;
const xmlChar = (c: number) =>
  (c >= 0x20 || c === 0x9 || c === 0xa || c === 0xd) && notSurrogate(c) && c !== 0xfffe && c !== 0xffff;
const xmlText = text.map((s) => keepChars(s, xmlChar));
const wellFormed = text.map((s) => keepChars(s, notSurrogate));

const chunk = fc.integer({ min: 1, max: 64 });
const RUNS = { numRuns: 150 };

function escapeXml(s: string, attribute = false): string {
  let out = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
  if (attribute) out = out.replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
  return out;
}

function cdata(s: string): string {
  // `]]>` cannot be inside one section: split it across two, and CR must be a reference.
  return s
    .split('\r')
    .map((part) => `<![CDATA[${part.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`)
    .join('&#13;');
}

interface Product {
  sku: string;
  title: string;
  note: string;
  tags: string[];
  attr: string;
  asCdata: boolean;
}

const product = fc.record({
  sku: xmlText,
  title: xmlText,
  note: xmlText,
  tags: fc.array(xmlText, { maxLength: 4 }),
  attr: xmlText,
  asCdata: fc.boolean(),
});

function writeXml(products: Product[]): string {
  const items = products.map((p) => {
    const body = (s: string) => (p.asCdata ? cdata(s) : escapeXml(s));
    const tags = p.tags.map((t) => `<g:tag>${body(t)}</g:tag>`).join('\n    ');
    return `  <item code="${escapeXml(p.attr, true)}">\n    <g:id>${body(p.sku)}</g:id>\n    <title>${body(p.title)}</title>\n    <__proto__>${body(p.note)}</__proto__>\n    ${tags}\n  </item>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<rss xmlns:g="http://base.google.com/ns/1.0"><channel>\n${items.join('\n')}\n</channel></rss>\n`;
}

function expectedXml(p: Product): Record<string, unknown> {
  const out: Record<string, unknown> = { '@code': p.attr, 'g:id': p.sku, title: p.title };
  Object.defineProperty(out, '__proto__', {
    value: p.note,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  if (p.tags.length === 1) out['g:tag'] = p.tags[0];
  else if (p.tags.length > 1) out['g:tag'] = p.tags;
  return plain(out) as Record<string, unknown>;
}

/**
 * What a JSON writer's value reads back as: numbers and booleans as their JSON text, keys
 * without U+0000 (the store cannot hold it in a key: the reader removes it with a warning).
 */
function asRaw(v: unknown): RawValue {
  if (v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return v.map(asRaw);
  const out: Record<string, RawValue> = Object.create(null);
  for (const [k, x] of Object.entries(v as object)) out[k.replaceAll('\u0000', '')] = asRaw(x);
  return out;
}

const jsonObject = fc.dictionary(
  fc.oneof(wellFormed, fc.constantFrom('__proto__', 'constructor', 'prototype')),
  fc.jsonValue({ maxDepth: 3 }),
  {
    maxKeys: 6,
  },
);

describe('round trips: what a writer puts in, the reader gives back', () => {
  it('XML (text, CDATA, attributes, repeated elements, any chunking)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(product, { minLength: 1, maxLength: 6 }), chunk, async (products, size) => {
        const feed = await parseXml(chunked(writeXml(products), size), { stripNamespaces: [] });
        const records = await recordsOf(feed);
        expect(feed.issues).toEqual([]);
        expect(records.map((r) => plain(r.data))).toEqual(products.map(expectedXml));
      }),
      RUNS,
    );
    expect(prototypeUntouched()).toBe(true);
  });

  it('JSON (any keys and values, any indentation and chunking)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(jsonObject, { maxLength: 6 }),
        fc.constantFrom(undefined, 0, 2, '\t'),
        chunk,
        async (items, indent, size) => {
          const doc = JSON.stringify({ meta: { n: items.length }, data: { items } }, null, indent);
          const feed = await parseJson(chunked(doc, size), { itemsPath: 'data.items' });
          const records = await recordsOf(feed);
          expect(feed.issues).toEqual([]);
          expect(records.map((r) => plain(r.data))).toEqual(items.map((i) => plain(asRaw(i))));
        },
      ),
      RUNS,
    );
    expect(prototypeUntouched()).toBe(true);
  });

  it('NDJSON (any keys and values, any chunking)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(jsonObject, { maxLength: 6 }),
        fc.boolean(),
        chunk,
        async (items, crlf, size) => {
          const doc = items.map((i) => JSON.stringify(i)).join(crlf ? '\r\n' : '\n');
          const feed = await parseNdjson(chunked(doc, size));
          const records = await recordsOf(feed);
          expect(feed.issues).toEqual([]);
          expect(records.map((r) => plain(r.data))).toEqual(items.map((i) => plain(asRaw(i))));
          expect(records.map((r) => r.line)).toEqual(items.map((_, n) => n + 1));
        },
      ),
      RUNS,
    );
  });

  it('CSV (any cells, quoted when needed, any delimiter and chunking)', async () => {
    const cell = wellFormed.map((s) => keepChars(s, (c) => c !== 0));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(cell, cell, cell), { minLength: 1, maxLength: 8 }),
        fc.constantFrom(',', ';', '\t', '|'),
        fc.constantFrom('\n', '\r\n'),
        chunk,
        async (rows, delimiter, eol, size) => {
          const quote = (s: string) =>
            s.includes(delimiter) || /["\r\n]/.test(s) || s.startsWith('\ufeff')
              ? `"${s.replace(/"/g, '""')}"`
              : s;
          const csv =
            [['sku', 'title', 'note'], ...rows].map((r) => r.map(quote).join(delimiter)).join(eol) + eol;
          const feed = await parseCsv(chunked(csv, size), { delimiter });
          const values: string[][] = [];
          for await (const r of feed.records) values.push(r.values);
          expect(feed.header).toEqual(['sku', 'title', 'note']);
          expect(feed.issues).toEqual([]);
          expect(values).toEqual(rows);
        },
      ),
      RUNS,
    );
  });
});
