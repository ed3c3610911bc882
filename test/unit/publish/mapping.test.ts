import { describe, expect, it } from 'vitest';
import { checkChannelFields, compileMapping } from '../../../src/channels/mapping.js';
import { formatMoney } from '../../../src/channels/money.js';
import { channelFormat } from '../../../src/channels/output.js';
import { channel, product } from './helpers.js';

describe('channel format', () => {
  it('is the channel own format, else its preset format, else csv', () => {
    expect(channelFormat(channel({ preset: 'google-shopping' }))).toBe('xml');
    expect(channelFormat(channel({ preset: 'generic-xml' }))).toBe('xml');
    expect(channelFormat(channel({ preset: 'json' }))).toBe('json');
    expect(channelFormat(channel({ preset: 'generic-csv' }))).toBe('csv');
    expect(channelFormat(channel({ preset: 'google-shopping', format: 'tsv' }))).toBe('tsv');
    expect(channelFormat(channel({}))).toBe('csv');
  });
});

describe('field mapping', () => {
  it('writes the canonical fields but manage_stock and status when nothing is configured', () => {
    expect(compileMapping(channel({ format: 'json' })).columns).toEqual([
      'sku',
      'parent_sku',
      'title',
      'description',
      'brand',
      'gtin',
      'mpn',
      'price',
      'sale_price',
      'currency',
      'quantity',
      'availability',
      'url',
      'image_url',
      'category',
      'condition',
      'weight',
    ]);
  });

  it('overrides a preset field in place, removes one with null and appends new ones', () => {
    const m = compileMapping(
      channel({
        preset: 'generic-csv',
        fields: { title: 'Name', gtin: null, 'Variant SKU': 'sku', sku: 'mpn' },
      }),
    );
    expect(m.columns.slice(0, 6)).toEqual(['sku', 'parent_sku', 'title', 'description', 'brand', 'mpn']);
    expect(m.columns.at(-1)).toBe('Variant SKU');
    const row = m.map(product('A', { mpn: 'M-1', title: 'canonical' }, { Name: 'from attribute' }));
    expect(row[0]).toBe('M-1');
    expect(row[2]).toBe('from attribute');
    expect(row.at(-1)).toBe('A');
  });

  it('reads the canonical field over an attribute of the same name, and attributes named like Object members', () => {
    const m = compileMapping(
      channel({ fields: { title: 'title', ctor: 'constructor', proto: '__proto__', missing: 'nope' } }),
    );
    const plainRecords = { sku: 'A', fields: { title: null }, attributes: { title: 'shadowed' } };
    expect(m.map(plainRecords)).toEqual([null, null, null, null]);
    const p = product('A', {}, { constructor: 'c', ['__proto__']: 'p' });
    expect(m.map(p).slice(1, 3)).toEqual(['c', 'p']);
  });

  it('renders {{price}} and {{sale_price}} with two decimals and other numbers as JavaScript writes them', () => {
    const m = compileMapping(
      channel({
        fields: {
          price: '{{price}} {{currency}}',
          sale: '{{ sale_price }} {{currency}}',
          weight: '{{weight}} kg',
          qty: 'qty {{quantity}}',
          price_raw: 'price',
        },
      }),
    );
    const row = m.map(
      product('A', { price: 12.5, sale_price: 2.675, currency: 'EUR', weight: 0.5, quantity: 3 }),
    );
    expect(row).toEqual(['12.50 EUR', '2.68 EUR', '0.5 kg', 'qty 3', 12.5]);
  });

  it('gives null for a template whose placeholders are all empty, so no bare " EUR" is written', () => {
    const m = compileMapping(channel({ fields: { price: '{{price}} EUR', label: '{{brand}} {{title}}' } }));
    expect(m.map(product('A', { price: null, title: 'Shirt' }))).toEqual([null, ' Shirt']);
  });

  it('writes a constant for every item', () => {
    const m = compileMapping(channel({ fields: { condition: { const: 'new' }, n: { const: 3 } } }));
    expect(m.map(product('A', { condition: 'used' }))).toEqual(['new', 3]);
  });
});

describe('money formatting', () => {
  it('rounds half away from zero on the decimal as written', () => {
    expect([12.5, 19.99, 1.005, 2.675, 0.125, -3.455, 0, -0.001, 1e6].map(formatMoney)).toEqual([
      '12.50',
      '19.99',
      '1.01',
      '2.68',
      '0.13',
      '-3.46',
      '0.00',
      '0.00',
      '1000000.00',
    ]);
  });
});

describe('checkChannelFields', () => {
  it('refuses XML names that are not element names, pointing at the field', () => {
    const problems = checkChannelFields(
      channel({
        preset: 'google-shopping',
        fields: {
          'Variant SKU': 'sku',
          '1st': 'title',
          'x:price': 'price',
          'g:ok': 'title',
          'g:': 'title',
          Title: 'title',
        },
      }),
    );
    expect(problems).toEqual([
      {
        path: '$.fields["Variant SKU"]',
        message: expect.stringMatching(
          /"Variant SKU" is not a valid XML element name.*"Variant_SKU" would do/,
        ),
      },
      { path: '$.fields["1st"]', message: expect.stringContaining('"_1st" would do') },
      {
        path: '$.fields["x:price"]',
        message:
          '"x:price" has the prefix "x:", which no namespace declares; only "g:" (Google\'s namespace) is allowed',
      },
      { path: '$.fields["g:"]', message: expect.stringContaining('the name is empty') },
    ]);
  });

  it('accepts any column name in CSV and JSON, names differing only in case included', () => {
    expect(
      checkChannelFields(
        channel({ format: 'csv', fields: { 'Variant SKU': 'sku', sku: 'sku', SKU: 'sku' } }),
      ),
    ).toEqual([]);
  });

  it('reports empty placeholders, empty names and values that are no field spec', () => {
    const problems = checkChannelFields(
      channel({
        format: 'json',
        fields: {
          a: 'x {{}} y',
          b: '  ',
          c: { value: 1 } as never,
          d: { const: [1] } as never,
          e: null,
        },
        options: { delimiter: ';;' },
      }),
    );
    expect(problems.map((p) => p.path)).toEqual([
      '$.fields["a"]',
      '$.fields["b"]',
      '$.fields["c"]',
      '$.fields["d"].const',
      '$.options.delimiter',
    ]);
    expect(problems[0]?.message).toMatch(/empty \{\{\}\} placeholder/);
  });
});
