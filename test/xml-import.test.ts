import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../src/import/run.js';
import type { CatalogDefinition } from '../src/model/catalog.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { type ImportRunRecord, listRowErrors } from '../src/store/imports.js';
import { getProduct, listProducts } from '../src/store/products.js';
import { openTestStore, type TestStore } from './helpers/store.js';

// Issue 15, point 6: what XML feeds that were imported wrong do now, carried through the whole
// import, on the store. Each fixture is named after its scenario; a feed that is not
// well-formed holds the run with where it goes wrong, and leaves the catalog as it was.

const FIXTURES = path.resolve(import.meta.dirname, 'fixtures');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name));

let t: TestStore;
beforeAll(async () => {
  t = await openTestStore();
});
afterAll(async () => {
  await t?.cleanup();
});

async function defineCatalog(id: string, options: CatalogDefinition['options'] = {}): Promise<void> {
  await saveCatalog(t.store, { kind: 'catalog', id, format: 'xml', options }, 'test');
}

/** Uploads a feed, cut into chunks of `chunkSize` bytes. */
function upload(catalogId: string, bytes: Buffer, chunkSize = bytes.length): Promise<ImportRunRecord> {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  return runImport(t.store, {
    catalogId,
    input: { kind: 'upload', stream: Readable.from(chunks), name: 'feed.xml' },
    mode: 'full',
    force: false,
    actor: 'test',
  });
}

async function skus(catalogId: string): Promise<string[]> {
  const { products } = await listProducts(t.store, catalogId, { limit: 100 });
  return products.map((p) => p.sku).sort();
}

const warnings = (run: ImportRunRecord) =>
  listRowErrors(t.store, run.id, { limit: 100, offset: 0, severity: 'warning' });

const SEED = Buffer.from(
  `<?xml version="1.0"?>\n<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>\n` +
    '<item><g:id>SEED-1</g:id><title>Kept</title><g:price>1.00 EUR</g:price></item>\n</channel></rss>\n',
);

describe('an XML feed that is not well-formed holds the run, with line, column and what is wrong', () => {
  const cases: Array<[string, string]> = [
    [
      'xml-bare-ampersand.xml',
      "XML: '&' not followed by an entity or character reference and ';': a bare & is written &amp; (line 12, column 14)",
    ],
    [
      'xml-less-than-in-text.xml',
      "XML: '<' not followed by a tag name: a '<' in text is written &lt; (line 13, column 29)",
    ],
    ['xml-cdata-end-in-text.xml', "XML: ']]>' in text: write it ]]&gt; (line 7, column 15)"],
    ['xml-less-than-in-attribute.xml', "XML: '<' in an attribute value: write it &lt; (line 9, column 16)"],
    ['xml-duplicate-attribute.xml', 'XML: the attribute lang appears twice in <title> (line 7, column 29)'],
    [
      'xml-unquoted-attribute.xml',
      'XML: an attribute value without quotes in <g:price> (write name="value") (line 8, column 21)',
    ],
    [
      'xml-nul-character-reference.xml',
      'XML: &#0; refers to a character XML does not allow (line 7, column 14)',
    ],
    [
      'xml-fffe-character-reference.xml',
      'XML: &#xFFFE; refers to a character XML does not allow (line 7, column 26)',
    ],
  ];

  it.each(cases)('%s', async (name, message) => {
    const id = name.replace(/\.xml$/, '');
    await defineCatalog(id);
    expect((await upload(id, SEED)).status).toBe('applied');

    for (const chunkSize of [7, 64 * 1024]) {
      const run = await upload(id, fixture(name), chunkSize);
      expect(run.status).toBe('held');
      expect(run.heldReasons).toEqual([{ code: 'parse_failed', message }]);
      expect(await skus(id)).toEqual(['SEED-1']);
    }
  });
});

describe('HTML named entities', () => {
  it('are decoded, with one warning naming each entity and its count', async () => {
    await defineCatalog('html-decode');
    const run = await upload('html-decode', fixture('xml-html-entities.xml'));
    expect(run).toMatchObject({ status: 'applied', counts: { created: 2, errors: 0, warnings: 1 } });
    expect((await getProduct(t.store, 'html-decode', 'E-1'))?.fields.title).toBe(
      'Café crème\u00a0500\u00a0g',
    );
    const e2 = await getProduct(t.store, 'html-decode', 'E-2');
    expect(e2?.fields).toMatchObject({
      title: 'Gift\u00a0card € & more',
      description: 'Size\u00a0M – cotton',
    });
    expect(await warnings(run)).toEqual([
      {
        line: 7,
        sku: null,
        code: 'html_entities',
        message:
          'decoded HTML entities, which XML does not define: &nbsp; (4), &eacute; (1), &egrave; (1), &euro; (1), ' +
          '&ndash; (1) (options.htmlEntities "refuse" holds such a feed instead)',
      },
    ]);
  });

  it('hold the run with htmlEntities: "refuse", at the first one', async () => {
    await defineCatalog('html-refuse', { htmlEntities: 'refuse' });
    const run = await upload('html-refuse', fixture('xml-html-entities.xml'));
    expect(run.status).toBe('held');
    expect(run.heldReasons).toEqual([
      {
        code: 'parse_failed',
        message:
          'XML: &eacute; is an HTML entity, which XML does not define (options.htmlEntities is "refuse") ' +
          '(line 7, column 13)',
      },
    ]);
    expect(await skus('html-refuse')).toEqual([]);
  });
});

describe('control characters', () => {
  it('are removed from the stored values, with one warning naming them', async () => {
    await defineCatalog('controls');
    const run = await upload('controls', fixture('xml-control-characters.xml'), 5);
    expect(run).toMatchObject({ status: 'applied', counts: { created: 2, errors: 0, warnings: 1 } });
    expect((await getProduct(t.store, 'controls', 'K-1'))?.fields.title).toBe(
      'Tab\there, bell and escape[0m',
    );
    expect((await getProduct(t.store, 'controls', 'K-2'))?.fields).toMatchObject({
      title: 'Verticaltab',
      description: 'Formfeed',
    });
    expect(await warnings(run)).toEqual([
      {
        line: 7,
        sku: null,
        code: 'control_characters',
        message: 'removed characters XML does not allow: U+0007 (1), U+001B (1), U+000B (1), U+000C (1)',
      },
    ]);
  });
});

describe('valid XML that was read wrong', () => {
  it('a prefix re-bound inside an item is not Google’s there', async () => {
    await defineCatalog('rebound');
    const run = await upload('rebound', fixture('xml-prefix-rebound-in-item.xml'));
    expect(run).toMatchObject({ status: 'applied', counts: { created: 2, errors: 0 } });
    const google = await getProduct(t.store, 'rebound', 'R-1');
    expect(google?.fields).toMatchObject({ title: 'Google colour', price: 10, currency: 'EUR' });
    expect(google?.attributes).toEqual({ color: 'red' });
    // In R-2, g: is http://example.com/other and gs: is Google's: gs:id is the sku, gs:price the
    // price, and g:color stays g:color (it was stored as Google's `color`).
    const other = await getProduct(t.store, 'rebound', 'R-2');
    expect(other?.fields).toMatchObject({ title: 'Other colour', price: 12, currency: 'EUR' });
    expect(other?.attributes).toEqual({ 'g:color': 'blue' });
  });

  it('a character reference with leading zeros is its character', async () => {
    await defineCatalog('zeros');
    expect((await upload('zeros', fixture('xml-leading-zero-reference.xml'))).status).toBe('applied');
    expect((await getProduct(t.store, 'zeros', 'Z-1'))?.fields.title).toBe('<b> été');
  });

  it('inline markup in a title keeps its words', async () => {
    await defineCatalog('mixed');
    expect((await upload('mixed', fixture('xml-mixed-content-title.xml'))).status).toBe('applied');
    expect((await getProduct(t.store, 'mixed', 'M-1'))?.fields.title).toBe('Mixed bold title');
    expect((await getProduct(t.store, 'mixed', 'M-2'))?.fields.title).toBe('Only inline and nested words');
  });

  it('a DOCTYPE whose internal subset holds a comment with ] and > is read past', async () => {
    await defineCatalog('doctype');
    const run = await upload('doctype', fixture('xml-doctype-comment-bracket.xml'), 16);
    expect(run).toMatchObject({ status: 'applied', counts: { created: 1, errors: 0 } });
    expect((await getProduct(t.store, 'doctype', 'DT-1'))?.fields.title).toBe('After the DOCTYPE');
  });
});
