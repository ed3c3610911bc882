import { parse as parseCsv } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChannelDefinition, FeedValue } from '../../../src/model/channel.js';
import type { Product } from '../../../src/rules/types.js';
import { buildFeed, channel, product, readXml, xmlItems } from './helpers.js';

// Any text, with what breaks naive writers over-represented: delimiters, quotes, line
// breaks, markup, formula starts, controls, non-characters and lone surrogates.
const tricky = fc.constantFrom(
  '"',
  "'",
  ',',
  ';',
  '\t',
  '\n',
  '\r',
  '\r\n',
  ']]>',
  '&',
  '&amp;',
  '&#13;',
  '<',
  '>',
  '</a>',
  '=',
  '=HYPERLINK("x")',
  '-',
  '-3',
  '+',
  '@',
  '＝',
  ' ',
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  '\ud800',
  '\udc00',
  '\ufffe',
  '\uffff',
  '😀',
  'é',
  '日本',
  '__proto__',
  '',
);
const text = fc
  .array(fc.oneof(tricky, fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 6 })
  .map((parts) => parts.join(''));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null, freq: 3 });
const amount = fc.oneof(
  fc.integer({ min: -1000, max: 100_000 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
);

const productArb: fc.Arbitrary<Product> = fc
  .record({
    sku: text.filter((s) => s !== ''),
    title: maybe(text),
    description: maybe(text),
    brand: maybe(text),
    url: maybe(text),
    price: maybe(amount),
    sale_price: maybe(amount),
    currency: maybe(fc.constantFrom('EUR', 'USD', '', ' GBP ')),
    quantity: maybe(fc.integer({ min: 0, max: 1000 })),
    manage_stock: fc.boolean(),
    availability: maybe(
      fc.oneof(text, fc.constantFrom('In stock', 'preorder', 'onbackorder', 'Out of Stock')),
    ),
    tags: maybe(fc.array(maybe(text), { maxLength: 4 })),
    size: maybe(fc.oneof(text, amount, fc.boolean())),
  })
  .map(({ sku, tags, size, ...fields }) => product(sku, fields, { tags, 'Variant Size': size }));

const products = fc.array(productArb, { minLength: 0, maxLength: 8 });
const RUNS = { numRuns: 200 };

// Column names a spreadsheet or a naive writer would stumble on; CSV and JSON take any name.
const TEXT_FIELDS: ChannelDefinition['fields'] = {
  sku: 'sku',
  'Title, "quoted"': 'title',
  '=danger': 'description',
  brand: 'brand',
  'line\nbreak': 'url',
  price: 'price',
  money: '{{price}} {{currency}}',
  qty: 'quantity',
  managed: 'manage_stock',
  tags: 'tags',
  size: 'Variant Size',
  ['__proto__']: 'availability',
  fixed: { const: 'always' },
};

// The same, with names XML accepts.
const XML_FIELDS: ChannelDefinition['fields'] = {
  sku: 'sku',
  title: 'title',
  description: 'description',
  'g:brand': 'brand',
  link: 'url',
  price: 'price',
  money: '{{price}} {{currency}}',
  qty: 'quantity',
  managed: 'manage_stock',
  tags: 'tags',
  size: 'Variant Size',
  availability: 'availability',
  fixed: { const: 'always' },
};

// --- What each format promises to give back, from the mapped values -------------------

const FORMULA_START = new Set(['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠']);
const NUMBER_TEXT = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

function csvText(v: FeedValue): string {
  if (v === null) return '';
  if (Array.isArray(v)) return v.map(csvText).join(',');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// What a reader of the feed file sees: the text as UTF-8, where a lone surrogate (which
// UTF-8 cannot carry) becomes U+FFFD.
function utf8(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

function csvCell(v: FeedValue, neutralize: boolean): string {
  const s = utf8(csvText(v));
  if (!neutralize || typeof v === 'number' || typeof v === 'boolean') return s;
  return FORMULA_START.has(s.charAt(0)) && !NUMBER_TEXT.test(s) ? `'${s}` : s;
}

// XML 1.0 leaves out C0 controls but tab/LF/CR, U+FFFE, U+FFFF and lone surrogates.
function xmlClean(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    const allowed =
      (c >= 0x20 || c === 0x9 || c === 0xa || c === 0xd) &&
      !(c >= 0xd800 && c <= 0xdfff) &&
      c !== 0xfffe &&
      c !== 0xffff;
    if (allowed) out += ch;
  }
  return out;
}

/** What an element holds for a value: undefined when left out, a list for repeated elements. */
function xmlExpected(v: FeedValue): unknown {
  if (v === null) return undefined;
  if (Array.isArray(v)) {
    const items = v.map(xmlExpected).filter((x) => x !== undefined);
    return items.length === 0 ? undefined : items;
  }
  const s = xmlClean(String(v));
  return s === '' ? undefined : s;
}

function jsonExpected(v: FeedValue): FeedValue {
  // JSON has no negative zero.
  return Object.is(v, -0) ? 0 : Array.isArray(v) ? v.map(jsonExpected) : v;
}

// --- Properties ---------------------------------------------------------------------------

describe.each([
  ['csv', ',', true],
  ['csv', ',', false],
  ['csv', ';', true],
  ['tsv', '\t', true],
] as const)(
  '%s feed (delimiter %j, neutralise %s) read back by csv-parse',
  (format, delimiter, neutralize) => {
    it('gives the header and every mapped value, neutralised where promised', () => {
      const def = channel({
        format,
        fields: TEXT_FIELDS,
        options: { neutralizeFormulas: neutralize, ...(format === 'csv' ? { delimiter } : {}) },
      });
      fc.assert(
        fc.property(products, (ps) => {
          const { text, rows, columns } = buildFeed(def, ps);
          // Any unquoted line break ends a record here, so a cell's LF or CR must be quoted.
          const records = parseCsv(Buffer.from(text, 'utf8'), {
            delimiter,
            record_delimiter: ['\r\n', '\n', '\r'],
          }) as string[][];
          expect(records[0]).toEqual(columns);
          expect(records.slice(1)).toEqual(rows.map((row) => row.map((v) => csvCell(v, neutralize))));
          expect(text.endsWith('\r\n')).toBe(true);
        }),
        RUNS,
      );
    });
  },
);

describe.each([
  ['generic-xml', { format: 'xml', fields: XML_FIELDS }],
  [
    'google-shopping',
    { preset: 'google-shopping', fields: { 'g:additional_image_link': 'tags', 'g:size': 'Variant Size' } },
  ],
] as const)('%s feed read back by fast-xml-parser', (_name, extra) => {
  it('is well-formed and gives every mapped value, forbidden characters removed and empty elements left out', () => {
    const def = channel(extra as Partial<ChannelDefinition>);
    fc.assert(
      fc.property(products, (ps) => {
        const { text, rows, columns } = buildFeed(def, ps);
        const items = xmlItems(readXml(text));
        expect(items).toHaveLength(rows.length);
        rows.forEach((row, i) => {
          const expected: Record<string, unknown> = {};
          columns.forEach((c, j) => {
            const v = xmlExpected(row[j] as FeedValue);
            if (v === undefined) return;
            // A single element reads as a value, repeated ones as a list.
            expected[c] = Array.isArray(v) && v.length === 1 ? v[0] : v;
          });
          expect(items[i]).toEqual(expected);
        });
      }),
      RUNS,
    );
  });
});

describe('json feed read back by JSON.parse', () => {
  it('gives an array of objects keyed by column with every mapped value', () => {
    const def = channel({ format: 'json', fields: TEXT_FIELDS });
    fc.assert(
      fc.property(products, (ps) => {
        const { text, rows, columns } = buildFeed(def, ps);
        const items = JSON.parse(utf8(text)) as Array<Record<string, unknown>>;
        expect(items).toHaveLength(rows.length);
        rows.forEach((row, i) => {
          const item = items[i] as Record<string, unknown>;
          expect(Object.keys(item)).toEqual(columns);
          columns.forEach((c, j) => {
            expect(item[c]).toEqual(jsonExpected(row[j] as FeedValue));
          });
        });
        // One item per line.
        expect(text.split('\n')).toHaveLength(rows.length + 3);
      }),
      RUNS,
    );
  });
});
