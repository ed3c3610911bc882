import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { validateCatalogDefinition } from '../../../src/catalog/definition.js';
import type { CatalogDefinition } from '../../../src/model/catalog.js';
import {
  localSourcePath,
  redactSource,
  resolveSourcePaths,
  restoreSource,
  sourceFor,
} from '../../../src/sources/source.js';

// The source kinds (sources/kinds/): one driver interface for every way bytes reach an
// import, and the kinds a definition can name, each giving its schema, path resolution and
// redaction. Nothing outside sources/ asks which kind a source is.

const linked: CatalogDefinition = {
  kind: 'catalog',
  id: 'shop',
  source: {
    url: 'https://user:pw@shop.example/export.csv?key=s3cret',
    headers: { 'X-Token': 'literal-secret', 'X-Env': { env: 'TOKEN' } },
  },
};

describe('sourceFor', () => {
  it('describes each kind as a run names it, and says which are fetched over the network', () => {
    const url = sourceFor(linked, { kind: 'default' });
    expect([url.kind, url.linked, url.describe()]).toEqual([
      'url',
      true,
      'url:https://shop.example/export.csv?key=***',
    ]);
    const file = sourceFor(
      { kind: 'catalog', id: 'f', source: { file: '/data/feed.csv' } },
      { kind: 'default' },
    );
    expect([file.kind, file.linked, file.describe()]).toEqual(['file', false, 'file:/data/feed.csv']);
    // What the caller gives wins over the catalog's own source.
    const given = sourceFor(linked, { kind: 'file', path: '/tmp/other.csv' });
    expect([given.kind, given.linked, given.describe()]).toEqual(['file', false, 'file:/tmp/other.csv']);
    const upload = sourceFor(linked, { kind: 'upload', stream: Readable.from([]), name: 'feed.csv' });
    expect([upload.kind, upload.linked, upload.describe()]).toEqual(['upload', false, 'upload:feed.csv']);
  });

  it('opens to a clear refusal when the catalog has no source and none was given', async () => {
    const none = sourceFor({ kind: 'catalog', id: 'bare' }, { kind: 'default' });
    expect(none.describe()).toBe('none');
    await expect(none.open({ allowPrivateSources: false })).rejects.toMatchObject({
      code: 'IMPORT_NO_SOURCE',
      message: 'catalog bare has no source; upload a feed or give a file',
    });
  });

  it('opens a file with its size, and names a missing one', async () => {
    const file = path.resolve('test/fixtures/samples');
    const missing = sourceFor(
      { kind: 'catalog', id: 'f', source: { file: `${file}/nope.csv` } },
      { kind: 'default' },
    );
    await expect(missing.open({ allowPrivateSources: false })).rejects.toMatchObject({
      code: 'IMPORT_SOURCE_UNREADABLE',
      message: `cannot read ${file}/nope.csv: no such file`,
    });
  });
});

describe('the source kinds', () => {
  it('resolve a file relative to its definition, and leave a URL alone', () => {
    expect(resolveSourcePaths({ file: 'feeds/a.csv' }, '/repo')).toEqual({ file: '/repo/feeds/a.csv' });
    expect(resolveSourcePaths({ url: 'https://x.example/a.csv' }, '/repo')).toEqual({
      url: 'https://x.example/a.csv',
    });
    expect(localSourcePath({ file: '/repo/a.csv' })).toBe('/repo/a.csv');
    expect(localSourcePath({ url: 'https://x.example/a.csv' })).toBeUndefined();
  });

  it('mask a linked URL’s secrets and restore them when the masked form comes back', () => {
    const source = linked.source ?? { file: '' };
    const shown = redactSource(source);
    expect(shown).toEqual({
      url: 'https://shop.example/export.csv?key=***',
      headers: { 'X-Token': '***', 'X-Env': { env: 'TOKEN' } },
    });
    expect(restoreSource(shown, source)).toEqual(source);
    // A new URL is taken as written; a file source shares nothing with a stored URL.
    expect(restoreSource({ url: 'https://new.example/f.csv' }, source)).toEqual({
      url: 'https://new.example/f.csv',
    });
    expect(restoreSource({ file: 'a.csv' }, source)).toEqual({ file: 'a.csv' });
    expect(redactSource({ file: 'a.csv' })).toEqual({ file: 'a.csv' });
  });

  it('check a source against the schema of the kind its key names', () => {
    const problems = (source: unknown) =>
      validateCatalogDefinition({ kind: 'catalog', id: 'c', source }).map((p) => `${p.path}: ${p.message}`);
    expect(problems({ url: 'https://x.example/a.csv' })).toEqual([]);
    expect(problems({ file: 'a.csv' })).toEqual([]);
    // The errors come from the one kind meant, not from every branch.
    expect(problems({ url: 'ftp://x.example/a.csv' })).toHaveLength(1);
    expect(problems({ url: 'ftp://x.example/a.csv' })[0]).toMatch(/^\$\.source\.url: /);
    expect(problems({ file: '' })[0]).toMatch(/^\$\.source\.file: /);
    expect(problems({ file: 'a.csv', url: 'https://x.example/a.csv' })[0]).toMatch(/^\$\.source/);
  });
});
