import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import {
  channelFeedsDir,
  type FeedIndex,
  MAX_DELTA_PACKS,
  openPublication,
  publicationFiles,
} from '../src/publish/pack/index.js';
import { latestPublication, type Publication } from '../src/store/publications.js';
import { openTestStore, type TestStore } from './helpers/store.js';

// Delta packs (issue 6 "Propagation"): a stock-only rebuild writes only the segments it
// rendered again, and its publication reads every other piece from the packs that already
// hold them. The feed served is the whole feed all the same; packs are merged, rewritten
// whole and pruned so that a publication never reads from many places or keeps much disk.

const KEY = 'delta-packs-test-key';
const auth = { authorization: `Bearer ${KEY}` };
// Forty segments of 500 products: nine moved segments stay under a quarter of the feed.
const PRODUCTS = 20_000;
const sku = (i: number) => `D-${String(i).padStart(5, '0')}`;
// A product in segment s (0-based).
const inSegment = (s: number) => s * 500 + 10;

describe('delta packs', () => {
  let t: TestStore;
  let app: FastifyInstance;
  let dataDir: string;
  let url: string;
  const quantity = new Map<number, number>();

  const api = (method: 'GET' | 'PUT' | 'PATCH', route: string, payload?: unknown) =>
    app.inject({
      method,
      url: `/api${route}`,
      headers: auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const latest = async () => (await latestPublication(t.store, 'c-csv')) as Publication;
  const filesOf = (p: Publication, whole = true) =>
    publicationFiles(dataDir, p.channel, p.version, p.format, whole);
  const indexOf = (p: Publication) => JSON.parse(fs.readFileSync(filesOf(p).index, 'utf8')) as FeedIndex;
  const expectedFeed = () => {
    let text = 'id,title,stock\r\n';
    for (let i = 1; i <= PRODUCTS; i++) text += `${sku(i)},Product ${i},${quantity.get(i)}\r\n`;
    return text;
  };
  /** Moves one product's stock and lets the publisher rebuild; the new publication. */
  const move = async (i: number) => {
    const q = ((quantity.get(i) as number) + 5) % 40;
    quantity.set(i, q);
    const res = await api('PATCH', '/catalogs/shop/stock', [{ sku: sku(i), quantity: q }]);
    expect(res.statusCode).toBe(200);
    await app.feeds.publisher.check();
    const p = await latest();
    expect(p.reason).toBe('stock moved (1 sku)');
    expect(p.diff.changed).toEqual([sku(i)]);
    return p;
  };
  /** What the feed URL serves, plain and gzipped, checked against the catalog's state. */
  const expectServed = async (p: Publication) => {
    const plain = await app.inject({ url });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers.etag).toBe(`"${p.sha256}"`);
    expect(Number(plain.headers['content-length'])).toBe(p.bytes);
    expect(plain.body === expectedFeed(), `v${p.version} feed`).toBe(true);
    const gz = await app.inject({ url, headers: { 'accept-encoding': 'gzip' } });
    expect(Number(gz.headers['content-length'])).toBe(p.gzipBytes);
    expect(gz.rawPayload.length).toBe(p.gzipBytes);
    expect(gunzipSync(gz.rawPayload).toString('utf8') === plain.body, `v${p.version} gzip`).toBe(true);
  };

  beforeAll(async () => {
    t = await openTestStore();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-delta-packs-'));
    app = await buildApp({ store: t.store, apiKey: KEY, maxUploadBytes: 1 << 24, dataDir });
    expect((await api('PUT', '/catalogs/shop', { kind: 'catalog', id: 'shop' })).statusCode).toBe(201);
    const lines = ['sku,title,price,quantity'];
    for (let i = 1; i <= PRODUCTS; i++) {
      quantity.set(i, i % 37);
      lines.push(`${sku(i)},Product ${i},${(i % 50) + 0.5},${i % 37}`);
    }
    const res = await app.inject({
      method: 'POST',
      url: '/api/catalogs/shop/imports',
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: lines.join('\n'),
    });
    expect(res.statusCode).toBe(201);
    const put = await api('PUT', '/channels/c-csv', {
      kind: 'channel',
      id: 'c-csv',
      catalog: 'shop',
      format: 'csv',
      fields: { id: 'sku', title: 'title', stock: 'quantity' },
    });
    expect(put.statusCode, put.body).toBe(201);
    url = new URL(put.json().feedUrl).pathname;
    await app.feeds.publisher.check();
  });
  afterAll(async () => {
    await app?.close();
    await t?.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes only the moved segment, and serves the whole feed from the packs', async () => {
    const base = await latest();
    expect(fs.existsSync(filesOf(base).feed)).toBe(true);
    await expectServed(base);

    const p = await move(inSegment(3));
    // No whole file: a delta pack of one segment, about a fortieth of the feed.
    expect(fs.existsSync(filesOf(p).feed)).toBe(false);
    const delta = fs.statSync(filesOf(p, false).feed).size;
    expect(delta).toBeGreaterThan(0);
    expect(delta).toBeLessThan(p.bytes / 20);
    expect(fs.statSync(filesOf(p, false).gzip).size).toBeLessThan(p.gzipBytes / 20);
    expect(indexOf(p).packs).toEqual([
      { version: p.version, whole: false },
      { version: base.version, whole: true },
    ]);
    await expectServed(p);
  });

  it('sends a feed whole when its packs are pruned while it is being sent', async () => {
    const p = await latest();
    expect(fs.existsSync(filesOf(p, false).feed)).toBe(true);
    const expected = expectedFeed();
    const opened = await openPublication(dataDir, p, 'feed');
    // Four more publications, each writing p's segment again: p's pack is read by none of
    // the three kept, and is pruned.
    for (let k = 1; k <= 4; k++) await move(inSegment(3) + k);
    expect(fs.existsSync(filesOf(p, false).feed)).toBe(false);
    const chunks: Buffer[] = [];
    for await (const c of opened.stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString('utf8') === expected).toBe(true);
    expect(opened.length).toBe(p.bytes);
  });

  it(`merges older delta packs past ${MAX_DELTA_PACKS}, and rewrites a whole pack past a quarter of the feed`, async () => {
    const seen: number[] = [];
    let merged: Publication | undefined;
    for (let s = 4; s < 12; s++) {
      const p = await move(inSegment(s));
      const index = indexOf(p);
      expect(index.packs.length, `v${p.version}`).toBeLessThanOrEqual(MAX_DELTA_PACKS + 1);
      seen.push(index.packs.length);
      if (index.packs.length === 2 && s > 4) merged ??= p;
      await expectServed(p);
    }
    // Segments 3 to 10 live in eight delta packs; segment 11's rebuild would be the ninth.
    expect(seen).toContain(MAX_DELTA_PACKS + 1);
    expect(merged, `packs per publication: ${seen.join(', ')}`).toBeDefined();
    // The merge copied every live delta segment into its own pack: still no whole file.
    expect(fs.existsSync(filesOf(merged as Publication).feed)).toBe(false);

    // More moved segments than a quarter of the feed: the next rebuild writes it whole.
    let whole: Publication | undefined;
    for (let s = 12; s < 20 && !whole; s++) {
      const p = await move(inSegment(s));
      if (fs.existsSync(filesOf(p).feed)) whole = p;
      await expectServed(p);
    }
    expect(whole).toBeDefined();
    expect(indexOf(whole as Publication).packs).toEqual([
      { version: (whole as Publication).version, whole: true },
    ]);
    expect(fs.statSync(filesOf(whole as Publication).feed).size).toBe((whole as Publication).bytes);
  });

  it('prunes packs no kept publication reads from, and keeps those one does', async () => {
    for (let k = 0; k < 4; k++) await move(inSegment(20) + k);
    const newest = await latest();
    const kept = [newest.version, newest.version - 1, newest.version - 2];
    const needed = new Set<number>();
    for (const v of kept) {
      const index = JSON.parse(
        fs.readFileSync(publicationFiles(dataDir, 'c-csv', v, 'csv').index, 'utf8'),
      ) as FeedIndex;
      for (const pack of index.packs) needed.add(pack.version);
    }
    const versions = new Set(
      fs
        .readdirSync(channelFeedsDir(dataDir, 'c-csv'))
        .filter((n) => !n.startsWith('.tmp-'))
        .map((n) => Number(n.split('.')[0])),
    );
    expect([...versions].sort((a, b) => a - b)).toEqual(
      [...new Set([...kept, ...needed])].sort((a, b) => a - b),
    );
    // The base of the kept deltas is older than the three kept publications, and still there.
    expect(Math.min(...needed)).toBeLessThan(Math.min(...kept));
  });

  it('builds whole when a pack the publication reads from is short or gone', async () => {
    const p = await latest();
    const index = indexOf(p);
    const older = index.packs.find((pack) => pack.version !== p.version) as FeedIndex['packs'][number];
    expect(older).toBeDefined();
    const file = publicationFiles(dataDir, 'c-csv', older.version, 'csv', older.whole).feed;
    fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    const res = await api('PATCH', '/catalogs/shop/stock', [{ sku: sku(inSegment(30)), quantity: 33 }]);
    expect(res.statusCode).toBe(200);
    quantity.set(inSegment(30), 33);
    await app.feeds.publisher.check();
    const next = await latest();
    expect(next.reason).toBe('stock moved');
    expect(fs.statSync(filesOf(next).feed).size).toBe(next.bytes);
    expect(next.diff.changed).toEqual([sku(inSegment(30))]);
    await expectServed(next);
  });
});
