import { parse as parseCsv } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { buildFeed, channel, product } from './helpers.js';

const risky = product(
  'R1',
  { title: '=HYPERLINK("http://evil.example","click")', price: -3.5, description: '-2+3+cmd|/C calc!A0' },
  { phone: '+33 1 23 45 67 89', handle: '@admin', delta: '-3', wide: '＝1+1', tabbed: '\tx', note: 'a = b' },
);
const fields = {
  sku: 'sku',
  title: 'title',
  price: 'price',
  description: 'description',
  phone: 'phone',
  handle: 'handle',
  delta: 'delta',
  wide: 'wide',
  tabbed: 'tabbed',
  note: 'note',
};

describe('csv feed', () => {
  it('neutralises cells a spreadsheet would run, but not numbers or number-like text', () => {
    const { text } = buildFeed(channel({ format: 'csv', fields }), [risky]);
    const [, row] = parseCsv(text) as string[][];
    expect(row).toEqual([
      'R1',
      `'=HYPERLINK("http://evil.example","click")`,
      '-3.5',
      "'-2+3+cmd|/C calc!A0",
      "'+33 1 23 45 67 89",
      "'@admin",
      '-3',
      "'＝1+1",
      "'\tx",
      'a = b',
    ]);
  });

  it('writes cells as they are when the channel turns neutralisation off', () => {
    const { text } = buildFeed(channel({ format: 'csv', fields, options: { neutralizeFormulas: false } }), [
      risky,
    ]);
    const [, row] = parseCsv(text) as string[][];
    expect(row?.[1]).toBe('=HYPERLINK("http://evil.example","click")');
    expect(row?.[5]).toBe('@admin');
  });

  it('is RFC 4180: header row, CRLF after every record, quotes only where needed, no BOM', () => {
    const p = product('A', { title: 'say "hi", twice', description: 'line 1\nline 2', brand: 'plain' });
    const { text, contentType } = buildFeed(
      channel({
        format: 'csv',
        fields: { sku: 'sku', title: 'title', description: 'description', brand: 'brand' },
      }),
      [p],
    );
    expect(text).toBe('sku,title,description,brand\r\nA,"say ""hi"", twice","line 1\nline 2",plain\r\n');
    expect(contentType).toBe('text/csv; charset=utf-8');
  });

  it('writes booleans as true/false, lists comma-joined, objects as JSON and empty values as empty cells', () => {
    const p = product(
      'A',
      { manage_stock: false, quantity: null },
      { tags: ['red', 'blue'], dims: { w: 2, h: 3 }, on: true },
    );
    const { text } = buildFeed(
      channel({
        format: 'csv',
        fields: {
          managed: 'manage_stock',
          qty: 'quantity',
          tags: 'tags',
          dims: 'dims',
          on: 'on',
          none: 'missing',
        },
      }),
      [p],
    );
    expect(text.split('\r\n')[1]).toBe('false,,"red,blue","{""w"":2,""h"":3}",true,');
  });

  it('uses the channel delimiter, and a tab for TSV', () => {
    const p = product('A', { title: 'a;b', description: 'tab\there' });
    const f = { sku: 'sku', title: 'title', description: 'description' };
    expect(buildFeed(channel({ format: 'csv', fields: f, options: { delimiter: ';' } }), [p]).text).toBe(
      'sku;title;description\r\nA;"a;b";tab\there\r\n',
    );
    const tsv = buildFeed(channel({ format: 'tsv', fields: f }), [p]);
    expect(tsv.text).toBe('sku\ttitle\tdescription\r\nA\ta;b\t"tab\there"\r\n');
    expect(tsv.contentType).toBe('text/tab-separated-values; charset=utf-8');
  });

  it('keeps an empty record of a one-column feed from reading as a blank line', () => {
    const { text } = buildFeed(channel({ format: 'csv', fields: { title: 'title' } }), [product('A', {})]);
    expect(text).toBe('title\r\n""\r\n');
  });

  it('refuses a delimiter that cannot round-trip', () => {
    expect(() => buildFeed(channel({ format: 'csv', options: { delimiter: '"' } }), [])).toThrow(/delimiter/);
  });
});
