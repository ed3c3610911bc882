import path from 'node:path';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../src/import/run.js';
import type { CatalogDefinition } from '../src/model/catalog.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { type ImportRunRecord, listRowErrors } from '../src/store/imports.js';
import { listProducts } from '../src/store/products.js';
import { openTestStore, type TestStore } from './helpers/store.js';

// Exports as merchants really have them (issue 15): decimal commas, thousands separators,
// currencies beside prices, Magento's `100.0000`, quotes inside unquoted cells.

const FIXTURES = path.resolve(import.meta.dirname, 'fixtures');

let t: TestStore;
beforeAll(async () => {
  t = await openTestStore();
});
afterAll(async () => {
  await t?.cleanup();
});

async function importInto(
  def: Omit<CatalogDefinition, 'kind'>,
  input: { file: string } | { text: string },
): Promise<ImportRunRecord> {
  await saveCatalog(t.store, { kind: 'catalog', ...def }, 'test');
  return runImport(t.store, {
    catalogId: def.id,
    input:
      'file' in input
        ? { kind: 'file', path: path.join(FIXTURES, input.file) }
        : { kind: 'upload', stream: Readable.from([Buffer.from(input.text)]) },
    mode: 'full',
    force: false,
    actor: 'test',
  });
}

/** The stored fields of every product of a catalog, by sku. */
async function fieldsOf(id: string): Promise<Record<string, Record<string, unknown>>> {
  const { products } = await listProducts(t.store, id, { limit: 1000 });
  return Object.fromEntries(products.map((p) => [p.sku, { ...p.fields }]));
}

describe('numbers as merchants write them', () => {
  it('reads a German export: semicolons, decimal commas, grouped thousands, a currency code', async () => {
    const run = await importInto({ id: 'de' }, { file: 'decimal-comma-semicolon.csv' });
    expect(run).toMatchObject({ status: 'applied', counts: { valid: 4, errors: 0 } });
    expect(run.numberFormat).toMatchObject({ decimalSeparator: ',', source: 'detected' });
    expect(run.numberFormat?.evidence?.comma).toBeGreaterThan(0);
    expect(run.numberFormat?.evidence?.point).toBe(0);
    const f = await fieldsOf('de');
    expect(f['DE-1']).toMatchObject({ price: 4.5, quantity: 12, weight: 0.35 });
    expect(f['DE-2']).toMatchObject({ price: 1299, sale_price: 1099, quantity: 3, weight: 7.2 });
    expect(f['DE-3']).toMatchObject({ price: 34, currency: 'EUR', quantity: 5, weight: 1.1 });
    expect(f['DE-4']).toMatchObject({ price: 0.99, quantity: 100, weight: 0.02 });
  });

  it('reads a French export: thousands grouped by (narrow) no-break spaces, the euro sign on either side', async () => {
    const run = await importInto({ id: 'fr' }, { file: 'decimal-comma-grouped-spaces.csv' });
    expect(run).toMatchObject({ status: 'applied', counts: { valid: 4, errors: 0 } });
    expect(run.numberFormat).toMatchObject({ decimalSeparator: ',', source: 'detected' });
    const f = await fieldsOf('fr');
    expect(f['FR-1']).toMatchObject({ price: 4.5, currency: 'EUR', quantity: 10 });
    expect(f['FR-2']).toMatchObject({ price: 1299, currency: 'EUR', quantity: 2 });
    expect(f['FR-3']).toMatchObject({ price: 34.9, currency: 'EUR', quantity: 7 });
    expect(f['FR-4']).toMatchObject({ price: 1050, quantity: 1200 });
    expect(f['FR-4']?.currency).toBeUndefined();
  });

  it('reads points with thousands commas or apostrophes and the currency symbols of the US and Switzerland', async () => {
    const run = await importInto({ id: 'us-ch' }, { file: 'thousands-and-currency-symbols.csv' });
    expect(run).toMatchObject({ status: 'applied', counts: { valid: 5, errors: 0 } });
    expect(run.numberFormat).toMatchObject({ decimalSeparator: '.', source: 'detected' });
    const f = await fieldsOf('us-ch');
    expect(f['US-1']).toMatchObject({ price: 4.5, currency: 'USD', quantity: 12 });
    expect(f['US-2']).toMatchObject({ price: 1299, quantity: 3 });
    expect(f['CH-1']).toMatchObject({ price: 12, currency: 'CHF', quantity: 5 });
    expect(f['CH-2']).toMatchObject({ price: 1299, quantity: 4 });
    expect(f['EU-1']).toMatchObject({ price: 0.99, currency: 'EUR', quantity: 1000 });
  });

  it('takes the decimal separator the catalog gives, and says a point by default when nothing tells', async () => {
    // "1.299" reads as 1.299 or as 1299: only the catalog can say.
    const text = 'sku,price\nA,1.299\nB,2.500\n';
    const detected = await importInto({ id: 'ambiguous' }, { text });
    expect(detected.numberFormat).toEqual({
      decimalSeparator: '.',
      source: 'default',
      evidence: { point: 0, comma: 0 },
    });
    expect(await fieldsOf('ambiguous')).toMatchObject({ A: { price: 1.299 }, B: { price: 2.5 } });
    const given = await importInto({ id: 'given', options: { decimalSeparator: ',' } }, { text });
    expect(given.numberFormat).toEqual({ decimalSeparator: ',', source: 'option' });
    expect(await fieldsOf('given')).toMatchObject({ A: { price: 1299 }, B: { price: 2500 } });
  });

  it('decides once for the feed by the majority of its values, and refuses the cells written otherwise', async () => {
    const text = 'sku,price\nA,"4,50"\nB,"5,95"\nC,6.95\nD,"7,00"\n';
    const run = await importInto({ id: 'majority', safety: { maxErrorPercent: 50 } }, { text });
    expect(run.numberFormat).toMatchObject({ decimalSeparator: ',', evidence: { comma: 3, point: 1 } });
    expect(await fieldsOf('majority')).toEqual({
      A: expect.objectContaining({ price: 4.5 }),
      B: expect.objectContaining({ price: 5.95 }),
      D: expect.objectContaining({ price: 7 }),
    });
    const errors = await listRowErrors(t.store, run.id, { limit: 10, offset: 0 });
    expect(errors).toEqual([
      {
        line: 4,
        sku: 'C',
        code: 'invalid_price',
        message: `price "6.95" in column "price" is not a number (the feed's decimal separator is ",")`,
      },
    ]);
  });

  it('reads a Magento export: 100.0000 quantities, product_online 2 as disabled, special prices', async () => {
    const run = await importInto(
      {
        id: 'magento',
        mapping: {
          title: 'name',
          quantity: 'qty',
          status: 'product_online',
          sale_price: 'special_price',
          category: 'categories',
        },
      },
      { file: 'magento-export.csv' },
    );
    expect(run).toMatchObject({ status: 'applied', counts: { valid: 3, errors: 0 } });
    const f = await fieldsOf('magento');
    expect(f.MB01).toMatchObject({
      quantity: 100,
      price: 34,
      weight: 1,
      status: 'active',
      manage_stock: true,
    });
    expect(f.MB02).toMatchObject({ quantity: 25, price: 32, sale_price: 29.99, status: 'active' });
    expect(f.MB03).toMatchObject({ quantity: 0, weight: 2.5, status: 'inactive' });
  });

  // Any number csv-parse reads back as a decimal, written in any notation this reads, imports
  // as the same value: the notation's decimal separator, grouping and currency are those of
  // one feed (a feed is written by one program), and the catalog names the separator or the
  // feed's own values tell it.
  const notation = fc.record({
    decimal: fc.constantFrom<'.' | ','>('.', ','),
    group: fc.constantFrom('', 'other', ' ', '\u00a0', '\u202f', "'"),
    currency: fc.constantFrom('', 'EUR ', ' EUR', '€', ' €', '$', 'CHF '),
    given: fc.boolean(),
  });
  const cents = fc.array(fc.integer({ min: 0, max: 99_999_999_99 }), { minLength: 1, maxLength: 8 });
  let n = 0;

  it('imports any decimal written in a supported notation as its value', async () => {
    await fc.assert(
      fc.asyncProperty(notation, cents, async (nt, values) => {
        const group = nt.group === 'other' ? (nt.decimal === '.' ? ',' : '.') : nt.group;
        const write = (c: number) => {
          const [int, frac] = (c / 100).toFixed(2).split('.') as [string, string];
          const grouped = group === '' ? int : int.replace(/\B(?=(\d{3})+$)/g, group);
          const number = `${grouped}${nt.decimal}${frac}`;
          return nt.currency.startsWith(' ') ? `${number}${nt.currency}` : `${nt.currency}${number}`;
        };
        const rows = values.map((c, i) => [`S${i}`, write(c)]);
        // Two decimals always tell the separator: detection needs no help.
        const csv = stringify([['sku', 'price'], ...rows]);
        const id = `notation-${n++}`;
        const run = await importInto(
          { id, ...(nt.given ? { options: { decimalSeparator: nt.decimal } } : {}) },
          { text: csv },
        );
        expect(run.status).toBe('applied');
        expect(run.counts.errors).toBe(0);
        expect(run.numberFormat?.decimalSeparator).toBe(nt.decimal);
        const stored = await fieldsOf(id);
        values.forEach((c, i) => {
          expect(stored[`S${i}`]?.price, rows[i]?.[1]).toBe(c / 100);
        });
      }),
      { numRuns: 25 },
    );
  });
});

describe("Google's repeatable attributes", () => {
  it('are lists whether an item gives them once or several times', async () => {
    const run = await importInto({ id: 'certs' }, { file: 'google-certification-single-and-repeated.xml' });
    expect(run).toMatchObject({ status: 'applied', counts: { valid: 2, errors: 0 } });
    const { products } = await listProducts(t.store, 'certs', { limit: 10 });
    const [one, two] = products.map((p) => JSON.parse(JSON.stringify(p.attributes)));
    expect(one.certification).toEqual([
      { certification_authority: 'EC', certification_name: 'EPREL', certification_code: 123456 },
    ]);
    expect(two.certification).toHaveLength(2);
    expect(two.certification[1]).toMatchObject({ certification_authority: 'ADEME', certification_code: 8.1 });
    expect(one.product_highlight).toEqual(['Quiet: 35 dB']);
    expect(two.product_highlight).toEqual(['Quiet: 33 dB', 'No frost']);
    expect(one.included_destination).toEqual(['Shopping_ads']);
    expect(two.consumer_notice).toEqual([{ notice_type: 'prop_65', notice_message: 'Warning' }]);
  });
});

describe('CSV as spreadsheets write it', () => {
  it('imports a quote inside an unquoted cell as text: one row a line, no error', async () => {
    const run = await importInto({ id: 'quotes' }, { file: 'parse/quote-inside-unquoted-cell.csv' });
    expect(run).toMatchObject({ status: 'applied', counts: { rows: 5, valid: 5, errors: 0 } });
    const f = await fieldsOf('quotes');
    expect(f['MON-27']?.title).toBe('Monitor 27" 4K');
    expect(f['LINK-1']?.title).toBe('=HYPERLINK("https://shop.example/x")');
    expect(f['TAIL-1']?.title).toBe('12" wide" tail');
  });
});
