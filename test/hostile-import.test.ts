import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../src/import/run.js';
import type { CatalogDefinition } from '../src/model/catalog.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { readHistory } from '../src/store/history.js';
import type { ImportRunRecord } from '../src/store/imports.js';
import { listRowErrors } from '../src/store/imports.js';
import { getProduct, listProducts, type StoredProduct } from '../src/store/products.js';
import { openTestStore, type TestStore } from './helpers/store.js';

// Hostile input carried through the whole import, on the store: what the merchant sees in
// the run (held with where the fault is, or a row error with its line) and in the catalog.
// The parsers' own behaviour is tested in test/unit/parse/.

const FIXTURES = path.resolve(import.meta.dirname, 'fixtures');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name));

let t: TestStore;
beforeAll(async () => {
  t = await openTestStore();
});
afterAll(async () => {
  await t?.cleanup();
});

/** These feeds are three items with one bad: the gate on the share of bad rows is tested apart. */
const ANY_ERRORS = { safety: { maxErrorPercent: 100 } } as const;

async function defineCatalog(id: string, extra: Partial<CatalogDefinition> = {}): Promise<void> {
  await saveCatalog(t.store, { kind: 'catalog', id, ...extra }, 'test');
}

/** Uploads bytes as a feed, cut into chunks of `chunkSize` bytes. */
function upload(catalogId: string, bytes: Buffer, name?: string, chunkSize = bytes.length) {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  return runImport(t.store, {
    catalogId,
    input: { kind: 'upload', stream: Readable.from(chunks), name },
    mode: 'full',
    force: false,
    actor: 'test',
  });
}

async function products(catalogId: string): Promise<Map<string, StoredProduct>> {
  const { products: list } = await listProducts(t.store, catalogId, { limit: 5000 });
  return new Map(list.map((p) => [p.sku, p]));
}

const rowErrors = (run: ImportRunRecord) => listRowErrors(t.store, run.id, { limit: 100, offset: 0 });

/**
 * Imports a small valid catalog, in the catalog's declared encoding, so that a held run can
 * be seen to leave it alone.
 */
async function seed(
  catalogId: string,
  encoding: 'utf8' | 'utf16le' = 'utf8',
): Promise<Map<string, StoredProduct>> {
  const run = await upload(
    catalogId,
    Buffer.from('sku,title,quantity\nH-1,Plain mug,3\nOLD-1,Kept,9\n', encoding),
  );
  expect(run.status).toBe('applied');
  return products(catalogId);
}

describe('invalid bytes in the declared encoding', () => {
  it('holds a CSV declared UTF-8 with a stray 0xFF, naming its byte offset and line, and changes nothing', async () => {
    await defineCatalog('stray-ff', { options: { encoding: 'utf-8' } });
    const before = await seed('stray-ff');
    const bytes = fixture('utf8-stray-0xff.csv');

    const run = await upload('stray-ff', bytes, 'products.csv');
    expect(run).toMatchObject({ status: 'held', applicable: false });
    expect(run.heldReasons).toEqual([
      {
        code: 'parse_failed',
        message: `invalid UTF-8: byte 0xFF at byte offset ${bytes.indexOf(0xff)} is not UTF-8, the declared encoding (line 3)`,
      },
    ]);
    // Not the row before the bad byte (H-1 renamed), nor H-3 after it, nor a removal of OLD-1.
    expect(await products('stray-ff')).toEqual(before);
    const { events } = await readHistory(t.store, { catalog: 'stray-ff', type: 'import.held', limit: 10 });
    expect(events.map((e) => e.run)).toEqual([run.id]);
  });

  it('holds a large upload whose bad byte comes after thousands of good rows, changing nothing', async () => {
    await defineCatalog('stray-ff-late', { options: { encoding: 'utf-8' } });
    const before = await seed('stray-ff-late');
    const good = Array.from({ length: 5000 }, (_, i) => `G-${i},Row ${i},${i}\n`).join('');
    const bytes = Buffer.concat([
      Buffer.from(`sku,title,quantity\n${good}B-1,Caf`),
      Buffer.from([0xff]),
      Buffer.from(',1\nB-2,After,2\n'),
    ]);

    const run = await upload('stray-ff-late', bytes, 'products.csv', 4096);
    expect(run.status).toBe('held');
    expect(run.heldReasons).toEqual([
      {
        code: 'parse_failed',
        message: `invalid UTF-8: byte 0xFF at byte offset ${bytes.indexOf(0xff)} is not UTF-8, the declared encoding (line 5002)`,
      },
    ]);
    expect(await products('stray-ff-late')).toEqual(before);
  });

  it('holds a CSV declared UTF-16 with a lone surrogate, naming its byte offset and line', async () => {
    await defineCatalog('utf16-lone', { options: { encoding: 'utf-16' } });
    const before = await seed('utf16-lone', 'utf16le');
    const bytes = fixture('utf16-lone-surrogate.csv');
    // The unpaired low surrogate DC00, little-endian, in "Bro?ken".
    const at = bytes.indexOf(Buffer.from([0x00, 0xdc]));

    const run = await upload('utf16-lone', bytes, 'products.csv');
    expect(run.status).toBe('held');
    expect(run.heldReasons).toEqual([
      {
        code: 'parse_failed',
        message: `invalid utf-16le: a byte sequence near byte offset ${at} is not utf-16le, the declared encoding (line 3)`,
      },
    ]);
    expect(await products('utf16-lone')).toEqual(before);
  });

  it('holds a UTF-16 CSV cut in the middle of a character, naming the line', async () => {
    await defineCatalog('utf16-odd', { options: { encoding: 'utf-16' } });
    const before = await seed('utf16-odd', 'utf16le');

    const run = await upload('utf16-odd', fixture('utf16-bom-odd-byte.csv'), 'products.csv');
    expect(run.status).toBe('held');
    expect(run.heldReasons).toEqual([
      { code: 'parse_failed', message: 'utf-16le: the feed ends in the middle of a character (line 3)' },
    ]);
    expect(await products('utf16-odd')).toEqual(before);
  });
});

describe('nesting deeper than the limit', () => {
  it('makes an XML item nested deeper than maxDepth a row error at its line; the other items land', async () => {
    await defineCatalog('xml-deep', {
      format: 'xml',
      options: { itemPath: 'products/product' },
      ...ANY_ERRORS,
    });

    const run = await upload('xml-deep', fixture('xml-item-too-deep.xml'), 'products.xml');
    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ rows: 3, valid: 2, created: 2, errors: 1 });
    expect(await rowErrors(run)).toEqual([
      { line: 8, sku: null, code: 'malformed_record', message: 'item nested deeper than 32 levels' },
    ]);
    const all = await products('xml-deep');
    expect([...all.keys()]).toEqual(['X-1', 'X-3']);
    expect(all.get('X-3')?.fields).toMatchObject({ title: 'Shallow after', price: 7.5 });
  });

  it('makes it a row error too when the item element is detected, not given', async () => {
    await defineCatalog('xml-deep-detected', { format: 'xml', ...ANY_ERRORS });

    const run = await upload('xml-deep-detected', fixture('xml-item-too-deep.xml'), 'products.xml', 64);
    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ rows: 3, valid: 2, created: 2, errors: 1 });
    expect(await rowErrors(run)).toEqual([
      { line: 8, sku: null, code: 'malformed_record', message: 'item nested deeper than 32 levels' },
    ]);
    const all = await products('xml-deep-detected');
    expect([...all.keys()]).toEqual(['X-1', 'X-3']);
    expect(all.get('X-3')?.fields).toMatchObject({ title: 'Shallow after', price: 7.5 });
  });

  it('makes a JSON item nested deeper than maxDepth a row error at its line; the other items land', async () => {
    await defineCatalog('json-deep', { format: 'json', ...ANY_ERRORS });

    const run = await upload('json-deep', fixture('json-item-too-deep.json'), 'products.json');
    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ rows: 3, valid: 2, created: 2, errors: 1 });
    expect(await rowErrors(run)).toEqual([
      { line: 3, sku: null, code: 'malformed_record', message: 'item 2 is nested deeper than 32 levels' },
    ]);
    const all = await products('json-deep');
    expect([...all.keys()]).toEqual(['J-1', 'J-3']);
    expect(all.get('J-3')?.fields).toMatchObject({ title: 'Shallow after', price: 7.5 });
  });
});

describe('records over maxRecordSize', () => {
  it('makes an XML item longer than maxRecordSize a row error at its line; the other items land', async () => {
    await defineCatalog('xml-long', {
      ...ANY_ERRORS,
      format: 'xml',
      options: { itemPath: 'products/product', maxRecordSize: 1024 },
    });

    const run = await upload('xml-long', fixture('xml-item-too-long.xml'), 'products.xml');
    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ rows: 3, valid: 2, created: 2, errors: 1 });
    expect(await rowErrors(run)).toEqual([
      { line: 7, sku: null, code: 'record_too_long', message: 'item longer than 1024 bytes' },
    ]);
    expect([...(await products('xml-long')).keys()]).toEqual(['R-1', 'R-3']);
  });
});

/** An object's own entries by name: `__proto__` included, as a plain key. */
function ownEntries(o: object | undefined): Array<[string, unknown]> {
  return Object.entries(o ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
}

describe('prototype names as columns', () => {
  it('keeps CSV columns named __proto__ and constructor as ordinary attributes, Object.prototype untouched', async () => {
    const prototypeKeys = Reflect.ownKeys(Object.prototype);
    await defineCatalog('proto');

    const run = await upload('proto', fixture('prototype-columns.csv'), 'products.csv');
    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ rows: 2, valid: 2, created: 2, errors: 0 });
    const mug = await getProduct(t.store, 'proto', 'P-1');
    expect(mug?.fields).toMatchObject({ sku: 'P-1', title: 'Mug' });
    expect(ownEntries(mug?.attributes)).toEqual([
      ['__proto__', '{"polluted":true}'],
      ['constructor', 'Object'],
      ['prototype', 'x'],
    ]);
    const cup = await getProduct(t.store, 'proto', 'P-2');
    expect(ownEntries(cup?.attributes)).toEqual([
      ['__proto__', 'polluted'],
      ['constructor', 'function'],
    ]);

    // A changed value in such a column is an ordinary update, with its before and after.
    const next = await upload(
      'proto',
      Buffer.from(
        'sku,title,__proto__,constructor,prototype\nP-1,Mug,changed,Object,x\nP-2,Cup,polluted,function,\n',
      ),
    );
    expect(next.counts).toMatchObject({ updated: 1, unchanged: 1 });
    const { events } = await readHistory(t.store, { catalog: 'proto', type: 'product.updated', limit: 10 });
    expect(events.map((e) => e.sku)).toEqual(['P-1']);
    const changes = events[0]?.data.changes as Record<string, unknown>;
    expect(ownEntries(changes)).toEqual([
      ['attributes.__proto__', { before: '{"polluted":true}', after: 'changed' }],
    ]);

    expect(Reflect.ownKeys(Object.prototype)).toEqual(prototypeKeys);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
