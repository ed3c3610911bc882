import fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildChannelFeed } from '../src/publish/build/build.js';
import { publicationFiles, readPublication } from '../src/publish/pack/index.js';
import { latestPublication, type Publication } from '../src/store/publications.js';
import { openShop, type Shop } from './helpers/shop.js';
import type { TestStore } from './helpers/store.js';

// Stock-only rebuilds (issue 6 "Propagation"): after a stock movement, only the segments of
// the feed that hold the moved skus are written again, and the feed is byte for byte what a
// whole build of the same state writes.

const KEY = 'stock-rebuild-test-key';
const auth = { authorization: `Bearer ${KEY}` };
// Thirteen segments of 500 products (SEGMENT_PRODUCTS).
const PRODUCTS = 6500;
const sku = (i: number) => `P-${String(i).padStart(5, '0')}`;

function catalogCsv(): string {
  const lines = ['sku,title,description,brand,price,currency,quantity,url,image_url,status'];
  for (let i = 1; i <= PRODUCTS; i++) {
    const title = i % 97 === 0 ? `"=Formula ""${i}"" <&>"` : `Product ${i}`;
    // Stock not managed past the first segment only (the first segment can empty whole).
    const quantity = i % 11 === 0 && i > 2000 ? '' : String((i * 7) % 13);
    lines.push(
      `${sku(i)},${title},Thing number ${i},${i % 5 === 0 ? 'Brewco' : 'Acme'},${(i % 50) + 0.5},EUR,${quantity},` +
        `https://shop.example/${i},https://shop.example/${i}.jpg,active`,
    );
  }
  return lines.join('\n');
}

// Two or fewer units: out of the feed (the item leaves, and comes back with stock).
const LOW_STOCK_OUT = {
  id: 'low-stock-out',
  rules: [
    {
      id: 'hide-low',
      when: { all: [{ fact: 'quantity', operator: 'lessThanInclusive', value: 2 }] },
      then: [{ exclude: true, reason: 'low stock' }],
    },
  ],
};

const CHANNELS = [
  { id: 'c-csv', format: 'csv', fields: { id: 'sku', title: 'title', stock: 'quantity' } },
  { id: 'c-tsv', format: 'tsv', fields: { id: 'sku', title: 'title', stock: 'quantity' } },
  { id: 'c-google', preset: 'google-shopping', options: { title: 'Shop', link: 'https://shop.example' } },
  { id: 'c-json', preset: 'json', fields: { id: 'sku' } },
];
const IDS = CHANNELS.map((c) => c.id);

// Stock pushes within a stretch of 2,500 skus (at most six of the thirteen segments): past
// half of them, a whole build is cheaper and is what runs.
const pushes = fc
  .record({
    start: fc.nat({ max: PRODUCTS - 2500 }),
    lines: fc.array(fc.record({ n: fc.nat({ max: 2499 }), quantity: fc.integer({ min: 0, max: 5 }) }), {
      minLength: 1,
      maxLength: 12,
    }),
  })
  .map(({ start, lines }) => {
    // A push names each sku once.
    const bySku = new Map<string, number>();
    for (const l of lines) bySku.set(sku(start + l.n + 1), l.quantity);
    return [...bySku].map(([s, quantity]) => ({ sku: s, quantity }));
  });

describe('stock-only rebuilds', () => {
  let t: TestStore;
  let app: FastifyInstance;
  let dataDir: string;

  const api = (method: 'GET' | 'PUT' | 'POST' | 'PATCH', url: string, payload?: unknown) =>
    app.inject({
      method,
      url: `/api${url}`,
      headers: auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const push = async (lines: Array<{ sku: string; quantity: number }>) => {
    const res = await api('PATCH', '/catalogs/shop/stock', lines);
    expect(res.statusCode).toBe(200);
  };
  const latest = async (channel: string) => (await latestPublication(t.store, channel)) as Publication;
  const filesOf = (p: Publication) => publicationFiles(dataDir, p.channel, p.version, p.format);
  const readFeed = async (p: Publication) => ({
    feed: await readPublication(dataDir, p, 'feed'),
    gzip: await readPublication(dataDir, p, 'gzip'),
  });

  /** Checks every channel's newest publication against a whole build of the same state. */
  const expectSameAsFullBuild = async (channel: string) => {
    const incremental = await latest(channel);
    const a = await readFeed(incremental);
    const full = await buildChannelFeed(
      { store: t.store, dataDir },
      { channelId: channel, reason: 'compare', actor: 't' },
    );
    const b = await readFeed(full);
    expect(a.feed.equals(b.feed), `${channel} v${incremental.version} feed`).toBe(true);
    expect(gunzipSync(a.gzip).equals(a.feed), `${channel} gzip decodes to the feed`).toBe(true);
    expect(a.gzip.equals(b.gzip), `${channel} gzip`).toBe(true);
    expect(full).toMatchObject({
      sha256: incremental.sha256,
      bytes: incremental.bytes,
      gzipBytes: incremental.gzipBytes,
      items: incremental.items,
      excluded: incremental.excluded,
      exclusions: incremental.exclusions,
      added: 0,
      removed: 0,
      changed: 0,
    });
    return incremental;
  };

  let shop: Shop | undefined;
  beforeAll(async () => {
    shop = await openShop({ apiKey: KEY, csv: catalogCsv(), ruleSet: LOW_STOCK_OUT, channels: CHANNELS });
    ({ t, app, dataDir } = shop);
  });
  afterAll(async () => {
    await shop?.close();
  });

  it('writes again only what an order moved, byte for byte as a whole build, in every format', async () => {
    const before = await latest('c-csv');
    // P-00004 has 2 units (hidden), P-00005 has 9: an order takes 1 from P-00005.
    const res = await api('POST', '/channels/c-csv/orders', {
      orderId: 'O-1',
      status: 'paid',
      lines: [{ sku: sku(5), quantity: 1 }],
    });
    expect(res.statusCode).toBe(201);
    await app.feeds.publisher.check();
    for (const id of IDS) {
      const p = await expectSameAsFullBuild(id);
      expect(p.reason).toBe('stock moved (1 sku)');
      // Google's feed shows availability, not quantity: still in stock, the same item.
      const changed = id === 'c-google' ? [] : [sku(5)];
      expect(p).toMatchObject({ added: 0, removed: 0, changed: changed.length, diff: { changed } });
    }
    const after = await latest('c-csv');
    expect(after.sha256).not.toBe(before.sha256);
  });

  it('takes an item out when a rule excludes it at low stock, and puts it back', async () => {
    // P-00006 has 3 units: two orders leave 1, under the rule's 2.
    await api('POST', '/channels/c-json/orders', {
      orderId: 'O-2',
      status: 'paid',
      lines: [{ sku: sku(6), quantity: 2 }],
    });
    await app.feeds.publisher.check();
    for (const id of IDS) {
      const p = await expectSameAsFullBuild(id);
      expect(p.reason).toBe('stock moved (1 sku)');
      expect(p).toMatchObject({ removed: 1, diff: { removed: [sku(6)] } });
      expect(p.exclusions).toEqual([
        expect.objectContaining({ ruleSet: 'low-stock-out', rule: 'hide-low', reason: 'low stock' }),
      ]);
    }
    const json = await latest('c-json');
    const items = JSON.parse((await readFeed(json)).feed.toString('utf8')) as Array<{ id: string }>;
    expect(items.some((i) => i.id === sku(6))).toBe(false);

    await api('POST', '/channels/c-json/orders', {
      orderId: 'O-2',
      status: 'cancelled',
      lines: [{ sku: sku(6), quantity: 2 }],
    });
    await app.feeds.publisher.check();
    for (const id of IDS) {
      const p = await expectSameAsFullBuild(id);
      expect(p).toMatchObject({ reason: 'stock moved (1 sku)', added: 1, diff: { added: [sku(6)] } });
    }
  });

  it("rewrites JSON's first item when the first segment empties and fills again", async () => {
    const first = Array.from({ length: 2000 }, (_, i) => ({ sku: sku(i + 1), quantity: 0 }));
    await push(first);
    await app.feeds.publisher.check();
    for (const id of IDS) {
      const p = await expectSameAsFullBuild(id);
      expect(p.reason).toMatch(/^stock moved \(\d+ skus\)$/);
    }
    const json = JSON.parse((await readFeed(await latest('c-json'))).feed.toString('utf8')) as Array<{
      id: string;
    }>;
    expect(json[0]?.id).toBe(sku(2001));

    await push(first.map((l, i) => ({ ...l, quantity: (i % 4) + 1 })));
    await app.feeds.publisher.check();
    for (const id of IDS) expect((await expectSameAsFullBuild(id)).reason).toMatch(/^stock moved \(/);
  });

  it('serves the new feed with a new ETag, 304 for the current one, and gzip that decodes to it', async () => {
    const channel = (await api('GET', '/channels/c-csv')).json();
    const url = new URL(channel.feedUrl).pathname;
    const old = await app.inject({ url });
    await push([{ sku: sku(2040), quantity: 12 }]);
    await app.feeds.publisher.check();
    const p = await latest('c-csv');
    expect(p.reason).toBe('stock moved (1 sku)');
    const fresh = await app.inject({ url, headers: { 'if-none-match': old.headers.etag as string } });
    expect(fresh.statusCode).toBe(200);
    expect(fresh.headers.etag).toBe(`"${p.sha256}"`);
    expect(fresh.headers.etag).not.toBe(old.headers.etag);
    expect(Number(fresh.headers['content-length'])).toBe(p.bytes);
    expect(fresh.body).toContain(`${sku(2040)},Product 2040,12\r\n`);
    expect(old.body).not.toContain(`${sku(2040)},Product 2040,12\r\n`);
    const again = await app.inject({ url, headers: { 'if-none-match': fresh.headers.etag as string } });
    expect(again.statusCode).toBe(304);
    const gz = await app.inject({ url, headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(Number(gz.headers['content-length'])).toBe(p.gzipBytes);
    expect(gunzipSync(gz.rawPayload).toString('utf8')).toBe(fresh.body);
    await expectSameAsFullBuild('c-csv');
  });

  it('builds whole when more than the stock changed', async () => {
    await push([{ sku: sku(41), quantity: 7 }]);
    expect(
      (await api('PUT', '/rules/low-stock-out', { ...LOW_STOCK_OUT, description: 'edited' })).statusCode,
    ).toBe(200);
    await app.feeds.publisher.check();
    for (const id of IDS) expect((await latest(id)).reason).toBe('rule sets changed');
  });

  it('builds whole when the index is missing or does not match its files', async () => {
    // Whole packs first (a build on demand is whole), then each spoilt another way.
    for (const id of IDS) expect((await api('POST', `/channels/${id}/publish`)).statusCode).toBe(201);
    for (const id of IDS) expect(fs.existsSync(filesOf(await latest(id)).feed), id).toBe(true);
    const csv = await latest('c-csv');
    fs.rmSync(filesOf(csv).index);
    const tsv = await latest('c-tsv');
    const index = JSON.parse(fs.readFileSync(filesOf(tsv).index, 'utf8'));
    index.pieces[1].length += 1;
    fs.writeFileSync(filesOf(tsv).index, JSON.stringify(index));
    const google = await latest('c-google');
    fs.writeFileSync(filesOf(google).index, '{not json');
    const json = await latest('c-json');
    fs.appendFileSync(filesOf(json).feed, ' ');
    await push([{ sku: sku(2042), quantity: 9 }]);
    await app.feeds.publisher.check();
    for (const id of IDS) {
      const p = await latest(id);
      expect(p.reason, id).toBe('stock moved');
      expect(p.diff.changed, id).toEqual(id === 'c-google' ? [] : [sku(2042)]);
      expect(fs.existsSync(filesOf(p).index), id).toBe(true);
    }
    // The whole builds wrote good indexes: the next movement is incremental again.
    await push([{ sku: sku(2043), quantity: 8 }]);
    await app.feeds.publisher.check();
    for (const id of IDS) expect((await expectSameAsFullBuild(id)).reason).toBe('stock moved (1 sku)');
  });

  it('publishes a movement made during a check by the check asked for after it, and skips what is up to date', async () => {
    const publisher = app.feeds.publisher;
    const running = publisher.check();
    await push([{ sku: sku(2050), quantity: 11 }]);
    // Asked for while the first check may still run: it runs again once that one is done.
    await publisher.check();
    await running;
    const revision = (await latest('c-csv')).stockRevision;
    const rows = await t.store.query<{ r: number | string }>({
      text: `SELECT revision AS r FROM catalog_stock WHERE catalog_id = 'shop'`,
    });
    expect(revision).toBe(Number(rows[0]?.r));
    expect((await readFeed(await latest('c-csv'))).feed.toString('utf8')).toContain(
      `${sku(2050)},Product 2050,11\r\n`,
    );
    const versions = await Promise.all(IDS.map(async (id) => (await latest(id)).version));
    await publisher.check();
    expect(await Promise.all(IDS.map(async (id) => (await latest(id)).version))).toEqual(versions);
  });

  it('comes out as a whole build would write it, whatever the stock movements (property)', async () => {
    let incremental = 0;
    await fc.assert(
      fc.asyncProperty(pushes, async (lines) => {
        await push(lines);
        await app.feeds.publisher.check();
        for (const id of IDS) {
          const p = await latest(id);
          // A push that moved nothing (the same quantities) leaves the feed as it was.
          if (p.reason === 'compare') continue;
          expect(p.reason).toMatch(/^stock moved \(\d+ skus?\)$/);
          incremental++;
          await expectSameAsFullBuild(id);
        }
      }),
      { numRuns: 10 },
    );
    expect(incremental).toBeGreaterThan(0);
  });
});
