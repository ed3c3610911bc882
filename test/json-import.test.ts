import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../src/import/run.js';
import type { CatalogDefinition } from '../src/model/catalog.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { listRowErrors } from '../src/store/imports.js';
import { getProduct } from '../src/store/products.js';
import { openTestStore, type TestStore } from './helpers/store.js';

// JSON and NDJSON feeds carried through a real import, on the store: what the reader hands
// on must land as written (numbers not rounded, not turned into Infinity) and text that
// PostgreSQL refuses (a lone surrogate) must not fail the run. The reader's own behaviour is
// tested in test/unit/parse/json.test.ts and ndjson.test.ts.

const FIXTURES = path.resolve(import.meta.dirname, 'fixtures');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name));

let t: TestStore;
beforeAll(async () => {
  t = await openTestStore();
});
afterAll(async () => {
  await t?.cleanup();
});

async function importBytes(def: Omit<CatalogDefinition, 'kind'>, text: string | Buffer, name?: string) {
  await saveCatalog(t.store, { kind: 'catalog', ...def }, 'test');
  return runImport(t.store, {
    catalogId: def.id,
    input: { kind: 'upload', stream: Readable.from([Buffer.from(text)]), ...(name ? { name } : {}) },
    mode: 'full',
    force: false,
    actor: 'test',
  });
}

const importFixture = (def: Omit<CatalogDefinition, 'kind'>, name: string) =>
  importBytes(def, fixture(name), name);

const product = (catalog: string, sku: string) => getProduct(t.store, catalog, sku);
const warningsOf = (runId: number) =>
  listRowErrors(t.store, runId, { limit: 100, offset: 0, severity: 'warning' });
const errorsOf = (runId: number) => listRowErrors(t.store, runId, { limit: 100, offset: 0 });

describe('a lone surrogate in a JSON or NDJSON feed', () => {
  it('JSON: becomes U+FFFD with a row warning at its item, and the run applies', async () => {
    const run = await importFixture(
      { id: 'json-lone', format: 'json', options: { itemsPath: 'products' } },
      'json-lone-surrogate.json',
    );
    expect(run.failure).toBeNull();
    expect(run).toMatchObject({
      status: 'applied',
      counts: { rows: 3, valid: 3, created: 3, errors: 0, warnings: 1 },
    });
    expect(await warningsOf(run.id)).toEqual([
      {
        line: 4,
        sku: null,
        code: 'lone_surrogate',
        message:
          '3 lone surrogates (no Unicode character) replaced by U+FFFD: \\ud800 in "title", \\udc00 in "note", \\ud800 in the key "colour\ufffd"',
      },
    ]);
    const broken = await product('json-lone', 'LS-2');
    expect(broken?.fields).toMatchObject({ title: 'Broken \ufffd title', price: 12 });
    expect(broken?.attributes).toEqual({ note: 'low \ufffd alone', 'colour\ufffd': 'red' });
    // An escaped pair is one character, kept.
    expect((await product('json-lone', 'LS-3'))?.fields.title).toBe('Emoji pair 😀 kept');
    expect((await product('json-lone', 'LS-1'))?.fields.title).toBe('Plain mug');
  });

  it('NDJSON: becomes U+FFFD with a row warning at its line, and the run applies', async () => {
    const run = await importFixture({ id: 'ndjson-lone', format: 'ndjson' }, 'ndjson-lone-surrogate.ndjson');
    expect(run.failure).toBeNull();
    expect(run).toMatchObject({
      status: 'applied',
      counts: { rows: 3, valid: 3, created: 3, errors: 0, warnings: 1 },
    });
    expect(await warningsOf(run.id)).toEqual([
      {
        line: 2,
        sku: null,
        code: 'lone_surrogate',
        message: 'a lone surrogate (no Unicode character) replaced by U+FFFD: \\ud83d in "title"',
      },
    ]);
    // A high surrogate followed by an escaped letter: only the surrogate is replaced.
    expect((await product('ndjson-lone', 'NS-2'))?.fields).toMatchObject({
      title: 'Half \ufffdA pair',
      price: 5,
    });
    expect((await product('ndjson-lone', 'NS-3'))?.fields.title).toBe('Whole 😀 pair');
    expect((await product('ndjson-lone', 'NS-1'))?.fields).toMatchObject({
      title: 'Plain kettle',
      price: 29.9,
    });
  });
});

describe('a U+0000 in a JSON key', () => {
  it('is removed with a row warning at its item, and the run applies', async () => {
    const run = await importFixture({ id: 'json-nul', format: 'json' }, 'json-nul-in-key.json');
    expect(run.failure).toBeNull();
    expect(run).toMatchObject({
      status: 'applied',
      counts: { rows: 2, valid: 2, created: 2, errors: 0, warnings: 1 },
    });
    expect(await warningsOf(run.id)).toEqual([
      {
        line: 3,
        sku: null,
        code: 'control_characters',
        message: 'U+0000 removed from 2 keys: \\u0000 in the key "colour", \\u0000 in the key "width"',
      },
    ]);
    expect((await product('json-nul', 'NK-2'))?.attributes).toEqual({ colour: 'red', dims: { width: 3 } });
  });
});

describe('JSON numbers are stored as written', () => {
  it('keeps a 20-digit GTIN and a 20-digit attribute whole; a short one is a number', async () => {
    const run = await importFixture({ id: 'json-gtin', format: 'json' }, 'json-20-digit-gtin.json');
    expect(run).toMatchObject({ status: 'applied', counts: { created: 2, errors: 0, warnings: 0 } });
    const p = await product('json-gtin', 'G-20');
    // As a JavaScript number it would be 12345678901234567000.
    expect(p?.fields).toMatchObject({ gtin: '12345678901234567890', price: 19.9 });
    expect(p?.attributes).toEqual({
      ean: 4006381333931,
      supplier_ref: '98765432109876543210',
      in_stock: true,
    });
    expect((await product('json-gtin', 'G-13'))?.fields.gtin).toBe('4006381333931');
  });

  it('keeps 1e400, -1E+400 and 1e-400 as written text, never Infinity, null or 0', async () => {
    const run = await importFixture({ id: 'json-exp', format: 'json' }, 'json-huge-exponent.json');
    expect(run).toMatchObject({ status: 'applied', counts: { created: 2, errors: 0 } });
    expect(await errorsOf(run.id)).toEqual([]);
    const p = await product('json-exp', 'HX-1');
    expect(p?.fields.gtin).toBe('1e400');
    expect(p?.attributes).toEqual({
      weight_raw: '1e400',
      tiny: '1e-400',
      shipping_note: '1e999 EUR',
      dims: { depth: '-1E+400', ratio: '2.5e-3' },
    });
    expect((await product('json-exp', 'HX-2'))?.attributes).toEqual({ weight_raw: 1.5 });
  });

  it('refuses a price or weight of 1e400 as a row error naming the field, never a null', async () => {
    const run = await importBytes(
      { id: 'json-exp-price', format: 'json', safety: { maxErrorPercent: 100 } },
      '[{"sku":"P-1","price":1e400},{"sku":"P-2","price":"1e999 EUR"},{"sku":"P-3","weight":-1E+400},{"sku":"P-4","price":4.5}]',
    );
    expect(run).toMatchObject({ status: 'applied', counts: { created: 1, errors: 3 } });
    // One line holds every item: the errors come by line and code, so they are compared by sku.
    const errors = (await errorsOf(run.id)).map((e) => [e.sku, e.code, e.message]).sort();
    expect(errors).toEqual([
      ['P-1', 'invalid_price', 'price "1e400" in column "price" is too large to be a number'],
      ['P-2', 'invalid_price', 'price "1e999 EUR" in column "price" is too large to be a number'],
      ['P-3', 'invalid_number', 'weight "-1E+400" in column "weight" is too large to be a number'],
    ]);
    expect((await product('json-exp-price', 'P-4'))?.fields.price).toBe(4.5);
  });
});
