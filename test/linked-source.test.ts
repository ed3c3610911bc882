import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../src/catalog/import-run.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { readHistory } from '../src/store/history.js';
import { countProducts, getProduct } from '../src/store/products.js';
import { type FixtureServer, startFixtureServer } from './helpers/fixture-server.js';
import { openTestStore, type TestStore } from './helpers/store.js';

const WOO = fs.readFileSync(
  path.resolve(import.meta.dirname, '../../shared/samples/woocommerce-sample-products.csv'),
);
const MAPPING = { sku: 'SKU', title: 'Name', price: 'Regular price', quantity: 'Stock' };

describe('a catalog linked to a URL', () => {
  let t: TestStore;
  let server: FixtureServer;

  beforeAll(async () => {
    t = await openTestStore();
    server = await startFixtureServer();
  });
  afterAll(async () => {
    await server.close();
    await t.cleanup();
  });

  const importLinked = (catalogId: string, allowPrivateSources = true, force = false) =>
    runImport(t.store, {
      catalogId,
      input: { kind: 'default' },
      mode: 'full',
      force,
      actor: 'test',
      allowPrivateSources,
    });

  it('fetches the feed, then asks "changed since?" and parses nothing on 304', async () => {
    server.route('/feed.csv', (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/csv', etag: '"v1"' }).end(WOO);
    });
    await saveCatalog(
      t.store,
      { kind: 'catalog', id: 'linked', source: { url: server.url('/feed.csv') }, mapping: MAPPING },
      'test',
    );

    const first = await importLinked('linked');
    expect(first).toMatchObject({ status: 'applied', counts: { created: 25 } });
    expect(first.source).toBe(`url:${server.url('/feed.csv')}`);

    const second = await importLinked('linked');
    expect(second).toMatchObject({ status: 'not_modified', counts: { rows: 0 } });
    expect(server.requests.at(-1)?.headers['if-none-match']).toBe('"v1"');
    const events = await readHistory(t.store, { catalog: 'linked', type: 'import', limit: 10 });
    expect(events.events[0]).toMatchObject({ type: 'import.not_modified', run: second.id });

    // --force fetches the whole feed again, unconditionally.
    const forced = await importLinked('linked', true, true);
    expect(forced).toMatchObject({ status: 'applied', counts: { unchanged: 25 } });
    expect(server.requests.at(-1)?.headers['if-none-match']).toBeUndefined();
  });

  it('holds the run and keeps the catalog when the download is cut mid-way', async () => {
    server.route('/cut.csv', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv', 'content-length': String(WOO.length) });
      res.write(WOO.subarray(0, Math.floor(WOO.length / 2)));
      setTimeout(() => res.destroy(), 20);
    });
    await saveCatalog(
      t.store,
      { kind: 'catalog', id: 'cut', source: { url: server.url('/cut.csv') }, mapping: MAPPING },
      'test',
    );
    await runImport(t.store, {
      catalogId: 'cut',
      input: { kind: 'upload', stream: toStream(WOO) },
      mode: 'full',
      force: false,
      actor: 'test',
    });
    const before = await getProduct(t.store, 'cut', 'woo-belt');

    const run = await importLinked('cut');
    expect(run.status).toBe('held');
    expect(run.applicable).toBe(false);
    expect(run.heldReasons[0]).toMatchObject({
      code: 'fetch_failed',
      message: expect.stringContaining('truncated'),
    });
    expect(await countProducts(t.store, 'cut')).toBe(25);
    expect(await getProduct(t.store, 'cut', 'woo-belt')).toEqual(before);
  });

  it("refuses a URL of the server's own network unless private sources are allowed", async () => {
    server.reset();
    server.route('/private.csv', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' }).end(WOO);
    });
    await saveCatalog(
      t.store,
      { kind: 'catalog', id: 'private', source: { url: server.url('/private.csv') }, mapping: MAPPING },
      'test',
    );
    const refused = await importLinked('private', false);
    expect(refused.status).toBe('held');
    expect(refused.heldReasons[0]?.message).toMatch(/loopback/i);
    expect(server.connections).toBe(0);
    expect(await countProducts(t.store, 'private')).toBe(0);

    const allowed = await importLinked('private', true);
    expect(allowed).toMatchObject({ status: 'applied', counts: { created: 25 } });
  });
});

function toStream(buf: Buffer): Readable {
  return Readable.from([buf]);
}
