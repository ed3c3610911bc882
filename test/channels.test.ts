import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse/sync';
import { XMLParser } from 'fast-xml-parser';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { Publisher } from '../src/publish/build/publisher.js';
import { readHistory } from '../src/store/history.js';
import { listPublications } from '../src/store/publications.js';
import { bumpCatalogRevision } from '../src/store/revisions.js';
import { openTestStore, type TestStore } from './helpers/store.js';

const KEY = 'channels-test-key';
const auth = { authorization: `Bearer ${KEY}` };

const CATALOG_CSV = [
  'sku,title,description,brand,price,currency,quantity,url,image_url,status',
  'A-1,"Mug, blue",A blue mug,Acme,12.5,EUR,10,https://shop.example/a1,https://shop.example/a1.jpg,active',
  'A-2,"=HYPERLINK(""http://evil"")",Formula title,Acme,3,EUR,2,https://shop.example/a2,https://shop.example/a2.jpg,active',
  'A-3,Old lamp,Retired,Acme,40,EUR,5,https://shop.example/a3,https://shop.example/a3.jpg,inactive',
  'B-1,"Tea <&> ""cups""",Fine tea,Brewco,7.25,EUR,0,https://shop.example/b1,https://shop.example/b1.jpg,active',
  'B-2,Kettle,Steel kettle,Brewco,30,EUR,,https://shop.example/b2,https://shop.example/b2.jpg,active',
].join('\n');

const BUFFER_STOCK = {
  id: 'buffer-stock',
  rules: [
    {
      id: 'low-to-zero',
      when: { all: [{ fact: 'quantity', operator: 'lessThanInclusive', value: 3 }] },
      then: [{ set: 'quantity', value: 0 }],
    },
  ],
};

const HIDE_BREWCO = {
  id: 'hide-brewco',
  rules: [
    {
      id: 'no-brewco',
      when: { all: [{ fact: 'brand', operator: 'equal', value: 'Brewco' }] },
      then: [{ exclude: true, reason: 'brand paused' }],
    },
  ],
};

describe('channel feeds over HTTP', () => {
  let t: TestStore;
  let app: FastifyInstance;
  let dataDir: string;

  const api = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) =>
    app.inject({ method, url: `/api${url}`, headers: auth, ...(payload === undefined ? {} : { payload }) });

  const importCsv = async (csv: string, query = '') => {
    const res = await app.inject({
      method: 'POST',
      url: `/api/catalogs/shop/imports${query}`,
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(res.statusCode).toBe(201);
    return res.json();
  };

  const feedPathOf = (url: string) => new URL(url).pathname;

  beforeAll(async () => {
    t = await openTestStore();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-channels-'));
    app = await buildApp({ store: t.store, apiKey: KEY, maxUploadBytes: 1 << 24, dataDir });
    expect((await api('PUT', '/catalogs/shop', { kind: 'catalog', id: 'shop' })).statusCode).toBe(201);
    await importCsv(CATALOG_CSV);
    expect((await api('PUT', '/rules/buffer-stock', BUFFER_STOCK)).statusCode).toBe(201);
    expect((await api('PUT', '/rules/hide-brewco', HIDE_BREWCO)).statusCode).toBe(201);
  });
  afterAll(async () => {
    await app.close();
    await t.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a faulty channel with the JSON path of each fault, and keeps nothing', async () => {
    const res = await api('PUT', '/channels/broken', {
      kind: 'channel',
      id: 'broken',
      catalog: 'nowhere',
      format: 'xml',
      rules: ['buffer-stock', 'not-there'],
      fields: { 'bad name': 'title' },
    });
    expect(res.statusCode).toBe(422);
    const body = res.json();
    expect(body.error.code).toBe('CHANNEL_INVALID');
    expect(body.error.message).toContain('$.fields');
    const refs = await api('PUT', '/channels/broken', {
      kind: 'channel',
      id: 'broken',
      catalog: 'nowhere',
      rules: ['not-there'],
    });
    expect(refs.statusCode).toBe(422);
    expect(refs.json().error.message).toContain('$.catalog: no catalog "nowhere"');
    expect(refs.json().error.message).toContain('$.rules[0]: no rule set "not-there"');
    expect((await api('GET', '/channels/broken')).statusCode).toBe(404);
  });

  it('creates a CSV channel, answers its feed URL, publishes it and serves it with ETag and 304', async () => {
    const put = await api('PUT', '/channels/market', {
      kind: 'channel',
      id: 'market',
      catalog: 'shop',
      format: 'csv',
      rules: ['buffer-stock', 'hide-brewco'],
      fields: {
        id: 'sku',
        name: 'title',
        price: '{{price}} {{currency}}',
        stock: 'quantity',
        origin: { const: 'feedwright' },
      },
    });
    expect(put.statusCode).toBe(201);
    const { feedUrl } = put.json();
    expect(feedUrl).toMatch(/^http:\/\/[^/]+\/feeds\/market\/[A-Za-z0-9_-]{32}\.csv$/);

    // Not built yet: the URL answers 404 like any unknown feed.
    expect((await app.inject({ url: feedPathOf(feedUrl) })).statusCode).toBe(404);

    const pub = await api('POST', '/channels/market/publish');
    expect(pub.statusCode).toBe(201);
    const publication = pub.json();
    expect(publication).toMatchObject({
      version: 1,
      items: 2,
      excluded: 3,
      added: 2,
      removed: 0,
      changed: 0,
    });
    expect(publication.exclusions).toEqual(
      expect.arrayContaining([
        { ruleSet: 'hide-brewco', rule: 'no-brewco', reason: 'brand paused', count: 2 },
        expect.objectContaining({ ruleSet: null, rule: null, count: 1 }),
      ]),
    );

    const res = await app.inject({ url: feedPathOf(feedUrl) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/csv');
    expect(res.headers.etag).toBe(`"${publication.sha256}"`);
    expect(res.headers['last-modified']).toBe(new Date(publication.builtAt).toUTCString());
    expect(Number(res.headers['content-length'])).toBe(publication.bytes);
    const rows = parseCsv(res.body, { columns: true }) as Record<string, string>[];
    expect(rows).toEqual([
      { id: 'A-1', name: 'Mug, blue', price: '12.50 EUR', stock: '10', origin: 'feedwright' },
      // Buffer stock: 2 units become 0; the formula is neutralised for spreadsheets.
      { id: 'A-2', name: `'=HYPERLINK("http://evil")`, price: '3.00 EUR', stock: '0', origin: 'feedwright' },
    ]);
    expect(res.body).toContain('\r\n');

    const again = await app.inject({
      url: feedPathOf(feedUrl),
      headers: { 'if-none-match': res.headers.etag as string },
    });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    const since = await app.inject({
      url: feedPathOf(feedUrl),
      headers: { 'if-modified-since': res.headers['last-modified'] as string },
    });
    expect(since.statusCode).toBe(304);
    const older = await app.inject({
      url: feedPathOf(feedUrl),
      headers: { 'if-modified-since': new Date(Date.parse(publication.builtAt) - 3_600_000).toUTCString() },
    });
    expect(older.statusCode).toBe(200);

    const head = await app.inject({ method: 'HEAD', url: feedPathOf(feedUrl) });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers.etag).toBe(res.headers.etag);
    // HEAD gives the length GET sends (issue 16, point 9).
    expect(Number(head.headers['content-length'])).toBe(Buffer.byteLength(res.body));

    const gz = await app.inject({
      url: feedPathOf(feedUrl),
      headers: { 'accept-encoding': 'gzip, deflate' },
    });
    expect(gz.statusCode).toBe(200);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload).toString('utf8')).toBe(res.body);
    const gzHead = await app.inject({
      method: 'HEAD',
      url: feedPathOf(feedUrl),
      headers: { 'accept-encoding': 'gzip, deflate' },
    });
    expect(gzHead.headers['content-encoding']).toBe('gzip');
    expect(Number(gzHead.headers['content-length'])).toBe(gz.rawPayload.length);
    const refused = await app.inject({
      url: feedPathOf(feedUrl),
      headers: { 'accept-encoding': 'gzip;q=0' },
    });
    expect(refused.headers['content-encoding']).toBeUndefined();
  });

  it('logs every fetch with the version served, the user agent and the status', async () => {
    const { feedUrl } = (await api('GET', '/channels/market')).json();
    await app.inject({ url: feedPathOf(feedUrl), headers: { 'user-agent': 'MarketBot/2.1' } });
    // The log is written in batches: the fetch shows within moments (a busy machine: seconds).
    let latest: Record<string, unknown> | undefined;
    for (let i = 0; i < 200 && latest?.userAgent !== 'MarketBot/2.1'; i++) {
      const res = await api('GET', '/channels/market/fetches?limit=5');
      expect(res.statusCode).toBe(200);
      latest = res.json().fetches[0];
      if (latest?.userAgent !== 'MarketBot/2.1') await new Promise((r) => setTimeout(r, 50));
    }
    expect(latest).toMatchObject({ status: 200, version: 1, userAgent: 'MarketBot/2.1', channel: 'market' });
    expect(latest?.bytes).toBeGreaterThan(0);
    expect(latest?.address).toBeTruthy();

    // A misconfigured URL (a .gz the feed URL never had) answers 404 and shows in the log.
    const wrong = await app.inject({
      url: `${feedPathOf(feedUrl)}.gz`,
      headers: { 'user-agent': 'MarketBot/2.2' },
    });
    expect(wrong.statusCode).toBe(404);
    for (let i = 0; i < 200 && latest?.userAgent !== 'MarketBot/2.2'; i++) {
      latest = (await api('GET', '/channels/market/fetches?limit=5')).json().fetches[0];
      if (latest?.userAgent !== 'MarketBot/2.2') await new Promise((r) => setTimeout(r, 50));
    }
    expect(latest).toMatchObject({ status: 404, version: null, bytes: 0, userAgent: 'MarketBot/2.2' });
  });

  it('answers 404 to a wrong token, an unknown channel, path tricks, a wrong extension and a rotated token', async () => {
    const { feedUrl } = (await api('GET', '/channels/market')).json();
    const good = feedPathOf(feedUrl);
    const token = good.split('/')[3]?.split('.')[0] as string;
    const wrong = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const url of [
      `/feeds/market/${wrong}.csv`,
      `/feeds/ghost/${token}.csv`,
      `/feeds/market/${token}.xml`,
      '/feeds/..%2f..%2fapi-key/x.csv',
      `/feeds/market/..%2f..%2f${token}.csv`,
      `/feeds/..%2fmarket/${token}.csv`,
      '/feeds/market/%2e%2e%2f1.csv',
    ]) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code, url).toBe('NOT_FOUND');
    }
    const rotated = await api('POST', '/channels/market/token');
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json().feedUrl).not.toBe(feedUrl);
    expect((await app.inject({ url: good })).statusCode).toBe(404);
    expect((await app.inject({ url: feedPathOf(rotated.json().feedUrl) })).statusCode).toBe(200);
    const events = await readHistory(t.store, { channel: 'market', type: 'channel.token_rotated', limit: 5 });
    expect(events.events).toHaveLength(1);
    expect(JSON.stringify(events.events)).not.toContain(token);
  });

  it('diffs a publication against the previous one by sku after an import', async () => {
    const changed = CATALOG_CSV.replace('Acme,12.5,EUR', 'Acme,13.5,EUR');
    await importCsv(
      `${changed}\nC-9,Cup,A cup,Acme,5,EUR,8,https://shop.example/c9,https://shop.example/c9.jpg,active`,
    );
    const pub = (await api('POST', '/channels/market/publish')).json();
    expect(pub).toMatchObject({ version: 2, items: 3, added: 1, removed: 0, changed: 1 });
    expect(pub.diff).toEqual({ added: ['C-9'], removed: [], changed: ['A-1'] });
    expect(pub.reason).toBe('on demand');
    const list = (await api('GET', '/channels/market/publications')).json();
    expect(list.publications.map((p: { version: number }) => p.version)).toEqual([2, 1]);
    const history = await readHistory(t.store, { channel: 'market', type: 'publication', limit: 10 });
    expect(history.events.map((e) => e.data.version)).toEqual([2, 1]);
  });

  it('writes the google-shopping preset as RSS 2.0 with the g: namespace and its required elements', async () => {
    const put = await api('PUT', '/channels/google', {
      kind: 'channel',
      id: 'google',
      catalog: 'shop',
      preset: 'google-shopping',
      rules: ['buffer-stock'],
      options: { title: 'Shop feed', link: 'https://shop.example' },
    });
    expect(put.statusCode).toBe(201);
    expect(put.json().feedUrl).toMatch(/\.xml$/);
    const pub = (await api('POST', '/channels/google/publish')).json();
    expect(pub.items).toBe(5);
    const res = await app.inject({ url: feedPathOf(put.json().feedUrl) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/xml/);
    const doc = new XMLParser({
      ignoreAttributes: false,
      parseTagValue: false,
      isArray: (n) => n === 'item',
    }).parse(res.body);
    expect(doc.rss['@_version']).toBe('2.0');
    expect(doc.rss['@_xmlns:g']).toBe('http://base.google.com/ns/1.0');
    expect(doc.rss.channel.title).toBe('Shop feed');
    const items = doc.rss.channel.item as Array<Record<string, string>>;
    const bySku = new Map(items.map((i) => [i['g:id'], i]));
    for (const item of items) {
      for (const el of [
        'g:id',
        'g:title',
        'g:description',
        'g:link',
        'g:image_link',
        'g:availability',
        'g:price',
      ]) {
        expect(item[el], `${item['g:id']} ${el}`).toBeTruthy();
      }
    }
    expect(bySku.get('A-1')).toMatchObject({ 'g:price': '13.50 EUR', 'g:availability': 'in_stock' });
    // 2 units, set to 0 by the buffer-stock rule; 0 units; stock not managed.
    expect(bySku.get('A-2')?.['g:availability']).toBe('out_of_stock');
    expect(bySku.get('B-1')).toMatchObject({ 'g:availability': 'out_of_stock', 'g:title': 'Tea <&> "cups"' });
    expect(bySku.get('B-2')?.['g:availability']).toBe('in_stock');
    expect(bySku.has('A-3')).toBe(false);
  });

  it('keeps a disabled channel frozen: its URL answers 404 and it is not rebuilt', async () => {
    const channel = (await api('GET', '/channels/google')).json();
    const disabled = await api('PUT', '/channels/google', { ...channel.definition, enabled: false });
    expect(disabled.statusCode).toBe(200);
    expect((await app.inject({ url: feedPathOf(channel.feedUrl) })).statusCode).toBe(404);
    const publish = await api('POST', '/channels/google/publish');
    expect(publish.statusCode).toBe(409);
    expect(publish.json().error.code).toBe('CHANNEL_DISABLED');
    const enabled = await api('PUT', '/channels/google', { ...channel.definition, enabled: true });
    expect(enabled.statusCode).toBe(200);
    // The frozen feed is served again as it was.
    expect((await app.inject({ url: feedPathOf(channel.feedUrl) })).headers['x-feed-version']).toBe('1');
  });

  it('rebuilds stale channels only: after an import, a rule change or a definition change', async () => {
    const publisher = app.feeds.publisher;
    await publisher.check();
    const versions = async () =>
      Object.fromEntries(
        await Promise.all(
          ['market', 'google'].map(async (id) => [
            id,
            (await api('GET', `/channels/${id}`)).json().lastPublication.version,
          ]),
        ),
      );
    const start = await versions();
    await publisher.check();
    expect(await versions()).toEqual(start);

    await importCsv('sku,quantity\nA-1,1\n', '?mode=partial');
    await publisher.check();
    const afterImport = await versions();
    expect(afterImport).toEqual({ market: start.market + 1, google: start.google + 1 });
    const market = (await api('GET', '/channels/market')).json().lastPublication;
    expect(market.reason).toBe('catalog changed');
    expect(market.diff.changed).toEqual(['A-1']);

    await api('PUT', '/rules/hide-brewco', {
      ...HIDE_BREWCO,
      rules: [{ ...HIDE_BREWCO.rules[0], then: [{ exclude: true, reason: 'paused again' }] }],
    });
    await publisher.check();
    expect(await versions()).toEqual({ market: afterImport.market + 1, google: afterImport.google });

    // The channel's history holds the rule edit that rebuilt it, newest first among its own
    // events; the channel that does not use that rule set does not show it.
    const latest = (await api('GET', '/history?channel=market&limit=3')).json().events;
    expect(latest.map((e: { type: string }) => e.type)).toEqual([
      'publication.published',
      'rules.updated',
      'publication.published',
    ]);
    expect(latest[1].data).toMatchObject({ ruleSet: 'hide-brewco' });
    const rulesOf = async (query: string) =>
      (await api('GET', `/history?${query}&type=rules&limit=50`))
        .json()
        .events.map((e: { type: string; data: { ruleSet: string } }) => `${e.type} ${e.data.ruleSet}`);
    expect(await rulesOf('channel=market')).toEqual([
      'rules.updated hide-brewco',
      'rules.created hide-brewco',
      'rules.created buffer-stock',
    ]);
    expect(await rulesOf('channel=google')).toEqual(['rules.created buffer-stock']);
    expect(await rulesOf('catalog=shop')).toEqual(await rulesOf('channel=market'));
    expect(await rulesOf('catalog=shop&sku=A-1')).toEqual([]);
  });

  it('brings back an older version of a channel as a new version, keeping its URL', async () => {
    const before = (await api('GET', '/channels/market')).json();
    const versions = (await api('GET', '/channels/market/versions')).json().versions;
    expect(versions.map((v: { version: number }) => v.version)).toEqual([1]);
    const changed = await api('PUT', '/channels/market', {
      ...before.definition,
      fields: { ...before.definition.fields, origin: { const: 'changed' } },
    });
    expect(changed.json().channel.version).toBe(2);
    const restored = await api('POST', '/channels/market/restore', { version: 1 });
    expect(restored.statusCode).toBe(200);
    expect(restored.json().channel).toMatchObject({
      version: 3,
      definition: before.definition,
      feedUrl: before.feedUrl,
    });
    const events = await readHistory(t.store, { channel: 'market', type: 'channel.updated', limit: 1 });
    expect(events.events[0]?.data).toMatchObject({ version: 3, restoredFrom: 1 });
    const missing = await api('POST', '/channels/market/restore', { version: 9 });
    expect(missing.statusCode).toBe(404);
    // The restored definition equals the one version 2 replaced: the next check rebuilds it.
    await app.feeds.publisher.check();
  });

  it('records a failed build in history and keeps serving the previous feed', async () => {
    const channel = (await api('GET', '/channels/market')).json();
    const before = await app.inject({ url: feedPathOf(channel.feedUrl) });
    const version = channel.lastPublication.version;
    // A directory where the next version's gzip file must go: the switch-in fails.
    const blocker = path.join(dataDir, 'feeds', 'market', `${version + 1}.csv.gz`);
    fs.mkdirSync(blocker);
    try {
      const res = await api('POST', '/channels/market/publish');
      expect(res.statusCode).toBe(500);
      const after = await app.inject({ url: feedPathOf(channel.feedUrl) });
      expect(after.statusCode).toBe(200);
      expect(after.body).toBe(before.body);
      expect(after.headers['x-feed-version']).toBe(String(version));
      const failed = await readHistory(t.store, { channel: 'market', type: 'publication.failed', limit: 5 });
      expect(failed.events[0]?.data.error).toBeTruthy();
      // No temporary file is left behind.
      expect(fs.readdirSync(path.dirname(blocker)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    } finally {
      fs.rmdirSync(blocker);
    }
  });

  it('gives every reader a complete feed while it is rebuilt', async () => {
    // A bigger catalog makes the build take long enough for reads to overlap it.
    const lines = [CATALOG_CSV];
    for (let i = 0; i < 20_000; i++)
      lines.push(`D-${String(i).padStart(5, '0')},Item ${i},,Acme,${i % 90}.5,EUR,${i % 40},,,active`);
    await importCsv(lines.join('\n'));
    const channel = (await api('GET', '/channels/market')).json();
    const url = feedPathOf(channel.feedUrl);
    const build = api('POST', '/channels/market/publish');
    const reads: Promise<{ statusCode: number; body: string; headers: Record<string, unknown> }>[] = [];
    let done = false;
    void build.then(() => {
      done = true;
    });
    while (!done) {
      reads.push(app.inject({ url }));
      await new Promise((r) => setTimeout(r, 5));
    }
    reads.push(app.inject({ url }));
    expect((await build).statusCode).toBe(201);
    const results = await Promise.all(reads);
    expect(results.length).toBeGreaterThan(3);
    const versionsSeen = new Set<string>();
    for (const r of results) {
      expect(r.statusCode).toBe(200);
      versionsSeen.add(String(r.headers['x-feed-version']));
      // Whole: the header row first, every record parses, and it ends with a record break.
      const rows = parseCsv(r.body, { columns: true }) as Record<string, string>[];
      expect(Object.keys(rows[0] ?? {})).toEqual(['id', 'name', 'price', 'stock', 'origin']);
      expect(r.body.endsWith('\r\n')).toBe(true);
      expect(Number(r.headers['content-length'])).toBe(Buffer.byteLength(r.body));
    }
    expect(results.at(-1)?.headers['x-feed-version']).toBe(String(channel.lastPublication.version + 1));
  });
});

describe('the publisher', () => {
  let t: TestStore;
  let dataDir: string;

  beforeAll(async () => {
    t = await openTestStore();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-publisher-'));
  });
  afterAll(async () => {
    await t.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('rebuilds a feed when a rule window opens, at that time by its clock', async () => {
    let clock = new Date('2026-11-30T12:00:00Z');
    const app = await buildApp({ store: t.store, apiKey: KEY, maxUploadBytes: 1 << 20, dataDir });
    const publisher = new Publisher({ store: t.store, dataDir, now: () => clock });
    try {
      const api = (method: 'PUT' | 'POST', url: string, payload?: unknown) =>
        app.inject({ method, url: `/api${url}`, headers: auth, payload: payload as object });
      await api('PUT', '/catalogs/shop', { kind: 'catalog', id: 'shop' });
      await app.inject({
        method: 'POST',
        url: '/api/catalogs/shop/imports',
        headers: { ...auth, 'content-type': 'text/csv' },
        payload: CATALOG_CSV,
      });
      await api('PUT', '/rules/december', {
        id: 'december',
        rules: [
          {
            id: 'hide-brewco-in-december',
            when: { all: [{ fact: 'brand', operator: 'equal', value: 'Brewco' }] },
            then: [{ exclude: true }],
            window: { start: '2026-12-01T00:00:00', timezone: 'Europe/Paris' },
          },
        ],
      });
      await api('PUT', '/channels/json', {
        kind: 'channel',
        id: 'json',
        catalog: 'shop',
        preset: 'json',
        rules: ['december'],
      });
      await publisher.check();
      const first = await latest(t, 'json');
      expect(first).toMatchObject({ version: 1, items: 4, nextBoundary: '2026-11-30T23:00:00.000Z' });

      clock = new Date('2026-11-30T22:59:59Z');
      await publisher.check();
      expect((await latest(t, 'json')).version).toBe(1);

      clock = new Date('2026-11-30T23:00:00Z');
      await publisher.check();
      const second = await latest(t, 'json');
      expect(second).toMatchObject({
        version: 2,
        items: 2,
        reason: 'rule window boundary',
        nextBoundary: null,
      });
      expect(second.diff.removed).toEqual(['B-1', 'B-2']);
    } finally {
      await publisher.stop();
      await app.close();
    }
  });

  it('runs one build per channel at a time and queues exactly one rebuild for requests during it', async () => {
    const publisher = new Publisher({ store: t.store, dataDir });
    const before = (await latest(t, 'json')).version;
    // Four requests at once: one build starts, the other three join the one rebuild after it.
    const results = await Promise.all([1, 2, 3, 4].map(() => publisher.publish('json', 'test')));
    const versions = results.map((p) => p.version).sort();
    expect(new Set(versions)).toEqual(new Set([before + 1, before + 2]));
    expect(versions.filter((v) => v === before + 2)).toHaveLength(3);
    expect((await latest(t, 'json')).version).toBe(before + 2);
  });

  it('tells of each new version once, not again for a queued rebuild that found the feed up to date', async () => {
    const told: Array<[string, number]> = [];
    const publisher = new Publisher({
      store: t.store,
      dataDir,
      onPublished: (p) => told.push([p.channel, p.version]),
    });
    // The shop's channels go stale; two checks at once: the second one finds them still
    // stale while their builds run, and queues rebuilds that find them up to date.
    await bumpCatalogRevision(t.store, 'shop');
    await Promise.all([publisher.check(), publisher.check()]);
    await publisher.idle();
    const channels = new Set(told.map(([c]) => c));
    expect(channels.size).toBeGreaterThan(0);
    expect(told).toHaveLength(channels.size);
    for (const [channel, version] of told) expect((await latest(t, channel)).version).toBe(version);
  });
});

async function latest(t: TestStore, channel: string) {
  const [p] = (await listPublications(t.store, channel, { limit: 1 })).publications;
  if (!p) throw new Error(`no publication of ${channel}`);
  return p;
}
