import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createNormalizer,
  type NormalizeResult,
  parseBoolean,
  planHeader,
  typeAttribute,
} from '../../src/catalog/normalize.js';
import type { DecimalSeparator } from '../../src/model/catalog.js';

/** Normalizes one record of a feed with this header and mapping. */
function normalizeRow(
  header: string[],
  values: string[],
  mapping: Record<string, string> = {},
  mode: 'full' | 'partial' = 'full',
  decimal: DecimalSeparator = '.',
): NormalizeResult {
  return createNormalizer(planHeader(header, mapping), mode, decimal)({ line: 7, values });
}

function product(header: string[], values: string[], mapping: Record<string, string> = {}) {
  const result = normalizeRow(header, values, mapping);
  if (!result.ok) throw new Error(`row refused: ${result.issue.message}`);
  return result.product;
}

function issue(header: string[], values: string[], mapping: Record<string, string> = {}) {
  const result = normalizeRow(header, values, mapping);
  if (result.ok) throw new Error(`row accepted: ${JSON.stringify(result.product)}`);
  return result.issue;
}

describe('planHeader', () => {
  it('maps fields by the mapping first, then by columns named like a field', () => {
    const plan = planHeader(['Variant SKU', 'title', 'sku', 'Colour'], { sku: 'Variant SKU' });
    expect(plan.fields).toEqual([
      { field: 'sku', index: 0, column: 'Variant SKU' },
      { field: 'title', index: 1, column: 'title' },
    ]);
    // A column named like a mapped field is kept as an attribute, not used twice.
    expect(plan.attributes).toEqual([
      { name: 'sku', index: 2 },
      { name: 'Colour', index: 3 },
    ]);
    expect(plan.missingColumns).toEqual([]);
  });

  it('lists the mapped columns the header lacks', () => {
    const plan = planHeader(['SKU', 'Name'], {
      sku: 'SKU',
      title: 'Name',
      price: 'Price',
      quantity: 'Stock',
    });
    expect(plan.missingColumns).toEqual(['Price', 'Stock']);
  });

  it('renames repeated columns and drops unnamed ones', () => {
    const plan = planHeader(['sku', 'Size', 'Size', '', 'Size']);
    expect(plan.duplicateColumns).toEqual(['Size', 'Size']);
    expect(plan.attributes.map((a) => a.name)).toEqual(['Size', 'Size (2)', 'Size (3)']);
  });
});

describe('createNormalizer', () => {
  const header = ['SKU', 'Name', 'Price', 'Stock', 'Colour'];
  const mapping = { sku: 'SKU', title: 'Name', price: 'Price', quantity: 'Stock' };

  it('types the canonical fields and keeps the other columns as attributes', () => {
    expect(product(header, [' A-1 ', ' Tee ', '12.50', '3', 'red'], mapping)).toEqual({
      line: 7,
      sku: 'A-1',
      fields: { sku: 'A-1', title: 'Tee', price: 12.5, quantity: 3, manage_stock: true },
      attributes: { Colour: 'red' },
    });
  });

  it('refuses a row without a sku, naming the sku column', () => {
    expect(issue(header, ['  ', 'Tee', '1', '1', ''], mapping)).toEqual({
      line: 7,
      sku: null,
      code: 'missing_sku',
      message: 'no sku in column "SKU"',
    });
    expect(issue(['Name'], ['Tee']).message).toBe('no sku column');
  });

  it('accepts whole quantities ≥ 0, with a zero fraction as Magento writes them, and refuses the rest', () => {
    expect(product(header, ['A', '', '', '0', ''], mapping).fields.quantity).toBe(0);
    expect(product(header, ['A', '', '', '+4', ''], mapping).fields.quantity).toBe(4);
    expect(product(header, ['A', '', '', '100.0000', ''], mapping).fields.quantity).toBe(100);
    expect(product(header, ['A', '', '', '1,200', ''], mapping).fields.quantity).toBe(1200);
    for (const bad of ['-1', '2.5', '2.50', 'abc', '1e3', '9007199254740993', '1e400']) {
      expect(issue(header, ['A', '', '', bad, ''], mapping), bad).toMatchObject({
        sku: 'A',
        code: 'invalid_quantity',
        message: `quantity "${bad}" in column "Stock" is not a whole number ≥ 0`,
      });
    }
  });

  it('reads decimals written with a point, including ".5", and refuses a decimal comma in a point feed', () => {
    expect(product(header, ['A', '', '.5', '', ''], mapping).fields.price).toBe(0.5);
    expect(product(header, ['A', '', '-3.', '', ''], mapping).fields.price).toBe(-3);
    expect(product(header, ['A', '', '1,299.00', '', ''], mapping).fields.price).toBe(1299);
    expect(issue(header, ['A', '', '12,50', '', ''], mapping)).toMatchObject({
      code: 'invalid_price',
      message: 'price "12,50" in column "Price" is not a number (the feed\'s decimal separator is ".")',
    });
    expect(issue(['sku', 'weight'], ['A', '1 kg'])).toMatchObject({ code: 'invalid_number' });
  });

  it('reads a feed written with a decimal comma, its thousands grouped any way merchants group them', () => {
    const read = (cells: string[]) => {
      const r = normalizeRow(
        ['sku', 'price', 'quantity', 'weight', 'currency'],
        ['A', ...cells],
        {},
        'full',
        ',',
      );
      if (!r.ok) throw new Error(r.issue.message);
      return r.product.fields;
    };
    expect(read(['4,50', '5,00', '0,25', ''])).toMatchObject({ price: 4.5, quantity: 5, weight: 0.25 });
    for (const price of ['1.299,00', '1 299,00', '1\u00a0299,00', '1\u202f299,00', "1'299,00", '1299']) {
      expect(read([price, '', '', '']).price, price).toBe(1299);
    }
    expect(read(['34,00 EUR', '', '', ''])).toMatchObject({ price: 34, currency: 'EUR' });
    expect(read(['€ 4,50', '', '', ''])).toMatchObject({ price: 4.5, currency: 'EUR' });
    expect(read(['4,50 €', '', '', ''])).toMatchObject({ price: 4.5, currency: 'EUR' });
    // The currency column wins over the symbol beside the price.
    expect(read(['4,50 €', '', '', 'CHF'])).toMatchObject({ price: 4.5, currency: 'CHF' });
    const bad = normalizeRow(['sku', 'price'], ['A', '4.50'], {}, 'full', ',');
    expect(bad).toMatchObject({ ok: false, issue: { code: 'invalid_price', sku: 'A' } });
  });

  it('reads the currencies written beside a price in a point feed, and refuses a number too large to hold', () => {
    const read = (price: string) => product(['sku', 'price'], ['A', price]).fields;
    expect(read('EUR 4.50')).toMatchObject({ price: 4.5, currency: 'EUR' });
    expect(read('$4.50')).toMatchObject({ price: 4.5, currency: 'USD' });
    expect(read('£1,299.99')).toMatchObject({ price: 1299.99, currency: 'GBP' });
    expect(read('CHF 12.–')).toMatchObject({ price: 12, currency: 'CHF' });
    expect(read('12.50 USD')).toMatchObject({ price: 12.5, currency: 'USD' });
    expect(issue(['sku', 'price'], ['A', '12.50 XYZ'])).toMatchObject({ code: 'invalid_price' });
    expect(issue(['sku', 'price'], ['A', '1e400'])).toMatchObject({
      code: 'invalid_price',
      message: 'price "1e400" in column "price" is too large to be a number',
    });
    expect(issue(['sku', 'weight'], ['A', '1e999'])).toMatchObject({ code: 'invalid_number' });
  });

  it('reads the status words of the common shop exports', () => {
    const status = (cell: string) => product(['sku', 'status'], ['A', cell]).fields.status;
    for (const word of ['active', 'publish', 'Enabled', '1', 'Y', 'true', 'online'])
      expect(status(word), word).toBe('active');
    for (const word of [
      'draft',
      'archived',
      'pending',
      'private',
      'Disabled',
      '2',
      '0',
      '-1',
      'N',
      'offline',
    ]) {
      expect(status(word), word).toBe('inactive');
    }
  });

  it('reads the booleans shops write for manage_stock', () => {
    const cases: Array<[string, boolean]> = [
      ['1', true],
      ['0', false],
      ['TRUE', true],
      ['FALSE', false],
      ['yes', true],
      ['No', false],
    ];
    for (const [cell, value] of cases) {
      expect(product(['sku', 'manage_stock'], ['A', cell]).fields.manage_stock, cell).toBe(value);
    }
    expect(issue(['sku', 'manage_stock'], ['A', 'maybe'])).toMatchObject({ code: 'invalid_boolean' });
  });

  it('derives manage_stock from the quantity only when no manage_stock cell says otherwise', () => {
    const cols = ['sku', 'quantity', 'manage_stock'];
    expect(product(cols, ['A', '5', '']).fields.manage_stock).toBe(true);
    expect(product(cols, ['A', '', '']).fields.manage_stock).toBe(false);
    expect(product(cols, ['A', '5', 'no']).fields.manage_stock).toBe(false);
    expect(product(cols, ['A', '', 'yes']).fields.manage_stock).toBe(true);
    // Without a quantity column nothing is said about stock.
    expect(product(['sku', 'title'], ['A', 'Tee']).fields).not.toHaveProperty('manage_stock');
  });

  it('reads the words shops use for a status', () => {
    const status = (cell: string) => product(['sku', 'status'], ['A', cell]).fields.status;
    expect(['active', 'Published', '1', 'publish'].map(status)).toEqual([
      'active',
      'active',
      'active',
      'active',
    ]);
    expect(['draft', 'archived', '0', '-1', 'private'].map(status)).toEqual([
      'inactive',
      'inactive',
      'inactive',
      'inactive',
      'inactive',
    ]);
    expect(issue(['sku', 'status'], ['A', 'pending review'])).toMatchObject({ code: 'invalid_status' });
  });

  it('keeps empty cells out of a full row and as explicit nulls in a partial one', () => {
    const cols = ['sku', 'title', 'quantity', 'Colour'];
    const full = normalizeRow(cols, ['A', '', '3', ''], {}, 'full');
    const partial = normalizeRow(cols, ['A', '', '3', ''], {}, 'partial');
    expect(full.ok && full.product.fields).toEqual({ sku: 'A', quantity: 3, manage_stock: true });
    expect(full.ok && full.product.attributes).toEqual({});
    expect(partial.ok && partial.product.fields).toEqual({
      sku: 'A',
      title: null,
      quantity: 3,
      manage_stock: true,
    });
    expect(partial.ok && partial.product.attributes).toEqual({ Colour: null });
  });

  it('treats a column named __proto__ as a plain attribute', () => {
    const p = product(['sku', '__proto__', 'constructor'], ['A', 'x', 'y']);
    expect(Object.entries(p.attributes)).toEqual([
      ['__proto__', 'x'],
      ['constructor', 'y'],
    ]);
  });

  it('drops NUL characters that PostgreSQL text cannot hold', () => {
    expect(product(['sku', 'title'], ['A\u0000', 'T\u0000ee']).fields).toEqual({ sku: 'A', title: 'Tee' });
  });

  it('keeps every text cell as written, trimmed', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (sku, title) => {
        fc.pre(!sku.includes('\u0000') && !title.includes('\u0000') && sku.trim() !== '');
        const p = product(['sku', 'title', 'gtin'], [sku, title, title]);
        expect(p.sku).toBe(sku.trim());
        expect(p.fields.title).toBe(title.trim() === '' ? undefined : title.trim());
        expect(p.fields.gtin).toBe(p.fields.title);
      }),
    );
  });
});

describe('typeAttribute', () => {
  it('turns plain numbers into numbers and keeps codes as written', () => {
    expect(typeAttribute('12')).toBe(12);
    expect(typeAttribute('.5')).toBe(0.5);
    expect(typeAttribute('-3.25')).toBe(-3.25);
    expect(typeAttribute('0')).toBe(0);
    expect(typeAttribute('00123')).toBe('00123');
    expect(typeAttribute('3.65275E+11')).toBe('3.65275E+11');
    expect(typeAttribute('1234567890123456')).toBe('1234567890123456');
    expect(typeAttribute('12 cm')).toBe('12 cm');
    expect(typeAttribute('TRUE')).toBe(true);
    expect(typeAttribute('false')).toBe(false);
    expect(typeAttribute('yes')).toBe('yes');
  });

  it('gives back whole numbers up to 15 digits, and codes with a leading zero as text', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(10 ** 15) + 1, max: 10 ** 15 - 1 }), (n) => {
        expect(typeAttribute(String(n))).toBe(n);
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^0\d{1,20}$/), (code) => {
        expect(typeAttribute(code)).toBe(code);
      }),
    );
  });
});

describe('parseBoolean', () => {
  it('knows yes/no, true/false, 1/0, on/off and nothing else', () => {
    expect(['Yes', ' y ', 'TRUE', '1', 'on'].map(parseBoolean)).toEqual([true, true, true, true, true]);
    expect(['no', 'N', 'False', '0', 'OFF'].map(parseBoolean)).toEqual([false, false, false, false, false]);
    expect(['', '2', 'oui', 'nope'].map(parseBoolean)).toEqual([undefined, undefined, undefined, undefined]);
  });
});
