import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../src/import/run.js';
import { THREADED_MIN_BYTES } from '../src/parse/threaded-csv.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { listRowErrors } from '../src/store/imports.js';
import { openTestStore, type TestStore } from './helpers/store.js';

// A CSV feed of known size at or above THREADED_MIN_BYTES (a file, an upload with its
// Content-Length) is parsed on a worker thread. The run must come out exactly as the same
// bytes parsed on the import's own thread: counts, row errors with their lines, products.

const ROWS = 80_000;
// Four bad rows in every 5,000: no sku, a bad price, too many fields, a duplicate sku.
const BAD = (ROWS / 5000) * 4;
const MAPPING = { sku: 'SKU', title: 'Name', price: 'Price', quantity: 'Stock' } as const;

function feed(): string {
  const lines = ['SKU,Name,Price,Stock,Colour'];
  for (let i = 1; i <= ROWS; i++) {
    const name =
      i % 13 === 0
        ? `"Thing ""${i}"", with a comma\nand a line break"`
        : `Thing number ${i} of the long catalog`;
    let line = `T-${String(i).padStart(6, '0')},${name},${(i % 97) + 0.25},${i % 11 === 0 ? '' : i % 40},colour-${i % 7}`;
    if (i % 5000 === 1) line = `,No sku ${i},1,1,red`; // no sku
    if (i % 5000 === 2) line = `T-X${i},Bad price,twelve,1,red`; // price not a number
    if (i % 5000 === 3) line = `T-Y${i},Too,many,fields,here,and,more`; // column count
    if (i % 5000 === 4) line = 'T-000010,Duplicate,1,1,red'; // duplicate sku
    lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

describe('threaded CSV import', () => {
  let t: TestStore;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    t = await openTestStore();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-threaded-'));
    file = path.join(dir, 'catalog.csv');
    fs.writeFileSync(file, feed());
    for (const id of ['threaded', 'inline'])
      await saveCatalog(t.store, { kind: 'catalog', id, mapping: MAPPING }, 'test');
  });
  afterAll(async () => {
    await t?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const productsOf = (catalog: string) =>
    t.store.query<{ sku: string; fields: unknown; attributes: unknown }>({
      text: 'SELECT sku, fields, attributes FROM products WHERE catalog_id = $1 ORDER BY sku',
      values: [catalog],
    });

  it('gives the run, row errors and products that parsing on the import thread gives', async () => {
    expect(fs.statSync(file).size).toBeGreaterThanOrEqual(THREADED_MIN_BYTES);
    const threaded = await runImport(t.store, {
      catalogId: 'threaded',
      input: { kind: 'file', path: file },
      mode: 'full',
      force: false,
      actor: 'test',
    });
    // An upload of unknown length is parsed on the import's own thread.
    const inline = await runImport(t.store, {
      catalogId: 'inline',
      input: { kind: 'upload', stream: Readable.from([fs.readFileSync(file)], { objectMode: false }) },
      mode: 'full',
      force: false,
      actor: 'test',
    });
    expect(threaded.status).toBe('applied');
    expect(threaded.counts).toEqual(inline.counts);
    expect(threaded.counts).toMatchObject({ rows: ROWS, errors: BAD, created: ROWS - BAD });
    const errorsOf = (runId: number) => listRowErrors(t.store, runId, { limit: 100, offset: 0 });
    const errors = await errorsOf(threaded.id);
    expect(errors).toEqual(await errorsOf(inline.id));
    // Lines count the quoted line breaks before them: row 5001 is on line 5001 + 384 + 1.
    const first = errors.find((e) => e.code === 'missing_sku' && e.line > 5000);
    expect(first?.line).toBe(5001 + Math.floor(5000 / 13) + 1);
    expect(await productsOf('threaded')).toEqual(await productsOf('inline'));
  });
});
