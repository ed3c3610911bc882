import { describe, expect, it } from 'vitest';
import { formatProblem, validateCatalogDefinition } from '../../src/catalog/definition.js';

const lines = (value: unknown, file?: string) => validateCatalogDefinition(value, file).map(formatProblem);

describe('validateCatalogDefinition', () => {
  it('accepts the example of the SPEC', () => {
    const acme = {
      kind: 'catalog',
      id: 'acme',
      source: { url: 'https://shop.example/export/products.csv' },
      format: 'csv',
      options: { delimiter: ',', encoding: 'utf-8' },
      mapping: { sku: 'Variant SKU', title: 'Title', quantity: 'Variant Inventory Qty' },
      schedule: '*/15 * * * *',
      safety: { maxDropPercent: 50 },
    };
    expect(validateCatalogDefinition(acme)).toEqual([]);
    expect(validateCatalogDefinition({ kind: 'catalog', id: 'upload-only' })).toEqual([]);
    expect(
      validateCatalogDefinition({ kind: 'catalog', id: 'local', source: { file: 'feeds/x.csv' } }),
    ).toEqual([]);
  });

  it('points at an unknown property with its JSON path and file', () => {
    expect(
      lines({ kind: 'catalog', id: 'a', mapping: { sku: 'SKU', colour: 'Colour' } }, 'feeds/a.json'),
    ).toEqual(['feeds/a.json: $.mapping.colour: is not a known property']);
    expect(lines({ kind: 'catalog', id: 'a', sheduel: '* * * * *' })).toEqual([
      '$.sheduel: is not a known property',
    ]);
  });

  it('names missing and mistyped properties', () => {
    expect(lines({ kind: 'catalog' })).toEqual(['$.id: is required']);
    expect(lines({ kind: 'channel', id: 'a' })).toEqual(['$.kind: must be "catalog"']);
    expect(lines({ kind: 'catalog', id: 'a', mapping: { sku: 3 } })).toEqual([
      '$.mapping.sku: must be string',
    ]);
    expect(lines({ kind: 'catalog', id: 'a', safety: { maxDropPercent: 120 } })).toEqual([
      '$.safety.maxDropPercent: must be <= 100',
    ]);
  });

  it('explains an id that cannot be used in URLs', () => {
    expect(lines({ kind: 'catalog', id: 'My Shop' })).toEqual([
      '$.id: must be lowercase letters, digits, - or _, starting with a letter or digit, at most 64 characters',
    ]);
    expect(validateCatalogDefinition({ kind: 'catalog', id: 'a'.repeat(65) })).toHaveLength(1);
  });

  it('says what is wrong with a source, in the kind of source the author meant', () => {
    expect(lines({ kind: 'catalog', id: 'a', source: { path: 'x.csv' } })).toEqual([
      '$.source.file: is required',
      '$.source.path: is not a known property',
    ]);
    expect(lines({ kind: 'catalog', id: 'a', source: { url: 'ftp://shop.example/feed.csv' } })).toEqual([
      '$.source.url: must be an http:// or https:// URL',
    ]);
    expect(
      lines({
        kind: 'catalog',
        id: 'a',
        source: { url: 'https://shop.example/f.csv', auth: { username: 'a:b' }, headers: { 'X-Key': 3 } },
      }),
    ).toEqual([
      '$.source.auth.passwordEnv: is required',
      '$.source.auth.username: must not contain ":"',
      '$.source.headers.X-Key: must be a string or { "env": "VARIABLE" }',
    ]);
  });

  it('refuses unknown formats and encodings', () => {
    expect(lines({ kind: 'catalog', id: 'a', format: 'xlsx' })).toEqual([
      '$.format: must be one of "csv", "tsv", "xml", "json", "ndjson"',
    ]);
    expect(lines({ kind: 'catalog', id: 'a', options: { encoding: 'klingon-8' } })).toEqual([
      '$.options.encoding: "klingon-8" is not an encoding this server knows',
    ]);
    for (const encoding of ['cp1252', 'windows-1252', 'ISO-8859-15', 'utf-16be', 'latin1']) {
      expect(lines({ kind: 'catalog', id: 'a', options: { encoding } }), encoding).toEqual([]);
    }
  });

  it('takes htmlEntities "decode" or "refuse" for XML feeds, nothing else', () => {
    for (const htmlEntities of ['decode', 'refuse']) {
      expect(lines({ kind: 'catalog', id: 'a', format: 'xml', options: { htmlEntities } })).toEqual([]);
    }
    expect(lines({ kind: 'catalog', id: 'a', options: { htmlEntities: 'keep' } })).toEqual([
      '$.options.htmlEntities: must be one of "decode", "refuse"',
    ]);
  });

  it('keeps maxRecordSize within sane bounds', () => {
    expect(validateCatalogDefinition({ kind: 'catalog', id: 'a', options: { maxRecordSize: 2048 } })).toEqual(
      [],
    );
    expect(lines({ kind: 'catalog', id: 'a', options: { maxRecordSize: 10 } })).toEqual([
      '$.options.maxRecordSize: must be >= 1024',
    ]);
    expect(lines({ kind: 'catalog', id: 'a', options: { maxRecordSize: 1.5e9 } })).toHaveLength(1);
  });

  it('accepts the shopify and woocommerce presets, with or without a CSV or TSV format', () => {
    for (const preset of ['shopify', 'woocommerce']) {
      for (const format of [undefined, 'csv', 'tsv']) {
        expect(
          validateCatalogDefinition({ kind: 'catalog', id: 'shop', preset, ...(format ? { format } : {}) }),
          `${preset} ${format}`,
        ).toEqual([]);
      }
    }
  });

  it('refuses an unknown preset, naming the file, the JSON path and the presets there are', () => {
    for (const preset of ['magento', 'Shopify', 'woo', '']) {
      expect(lines({ kind: 'catalog', id: 'shop', preset }, 'feeds/shop.json'), preset).toEqual([
        'feeds/shop.json: $.preset: must be one of "shopify", "woocommerce"',
      ]);
    }
  });

  it('refuses a preset on a format that cannot be a shop export', () => {
    expect(
      lines({ kind: 'catalog', id: 'shop', preset: 'shopify', format: 'xml' }, 'feeds/shop.json'),
    ).toEqual(['feeds/shop.json: $.preset: a preset reads CSV exports, not xml']);
    expect(lines({ kind: 'catalog', id: 'shop', preset: 'woocommerce', format: 'ndjson' })).toEqual([
      '$.preset: a preset reads CSV exports, not ndjson',
    ]);
  });

  it('refuses a schedule that is not a cron expression', () => {
    expect(lines({ kind: 'catalog', id: 'a', schedule: 'every hour' })).toEqual([
      '$.schedule: "every hour" is not a valid cron expression',
    ]);
  });

  it('refuses a CSV delimiter that is a quote or a line break', () => {
    expect(lines({ kind: 'catalog', id: 'a', format: 'csv', options: { delimiter: '"' } })).toEqual([
      '$.options.delimiter: a delimiter cannot be a quote or a line break',
    ]);
  });

  it('reports every fault at once', () => {
    const problems = validateCatalogDefinition({
      kind: 'catalog',
      id: 'a',
      format: 'xls',
      mapping: { colour: 'Colour' },
      safety: { maxDrop: 5 },
    });
    expect(problems.map((p) => p.path).sort()).toEqual(['$.format', '$.mapping.colour', '$.safety.maxDrop']);
  });
});
