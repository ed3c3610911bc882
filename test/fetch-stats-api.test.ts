import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { type FeedFetch, insertFetches } from '../src/store/fetches.js';
import { openTestStore, type TestStore } from './helpers/store.js';

const KEY = 'fetch-stats-test-key';
const auth = { authorization: `Bearer ${KEY}` };
const GOOGLE = 'Mozilla/5.0 (compatible; Google-Shopping/1.0)';
const CURL = 'curl/8.5.0';

const CSV = ['sku,title,price,quantity', 'A-1,Mug,12.5,10', 'A-2,Lamp,40,5'].join('\n');

describe('fetch statistics over HTTP', () => {
  let t: TestStore;
  let app: FastifyInstance;
  let dataDir: string;
  let feedPath: string;

  const api = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) =>
    app.inject({ method, url: `/api${url}`, headers: auth, ...(payload === undefined ? {} : { payload }) });
  const fetchFeed = (
    userAgent: string,
    headers: Record<string, string> = {},
    method: 'GET' | 'HEAD' = 'GET',
  ) => app.inject({ method, url: feedPath, headers: { 'user-agent': userAgent, ...headers } });
  // A fetch written straight to the log at a chosen time (the buckets need fetches in the past).
  const logged = (at: string, status: number, over: Partial<FeedFetch> = {}): FeedFetch => ({
    channel: 'archive',
    at: new Date(at),
    method: 'GET',
    status,
    bytes: status === 200 ? 1000 : 0,
    version: status === 404 ? null : 3,
    encoding: null,
    userAgent: GOOGLE,
    address: '203.0.113.7',
    ...over,
  });

  beforeAll(async () => {
    t = await openTestStore();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-fetch-stats-'));
    app = await buildApp({ store: t.store, apiKey: KEY, maxUploadBytes: 1 << 20, dataDir });
    expect((await api('PUT', '/catalogs/shop', { kind: 'catalog', id: 'shop' })).statusCode).toBe(201);
    const imported = await app.inject({
      method: 'POST',
      url: '/api/catalogs/shop/imports',
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: CSV,
    });
    expect(imported.statusCode).toBe(201);
    for (const id of ['market', 'archive', 'quiet']) {
      const put = await api('PUT', `/channels/${id}`, {
        kind: 'channel',
        id,
        catalog: 'shop',
        format: 'csv',
      });
      expect(put.statusCode).toBe(201);
    }
    feedPath = new URL((await api('GET', '/channels/market')).json().feedUrl).pathname;
  });
  afterAll(async () => {
    await app.close();
    await t.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('says which version each channel last delivered, apart from 404s and HEAD checks', async () => {
    expect((await api('POST', '/channels/market/publish')).statusCode).toBe(201);
    const first = await fetchFeed(GOOGLE, { 'accept-encoding': 'gzip' });
    expect(first.statusCode).toBe(200);
    expect((await api('POST', '/channels/market/publish')).statusCode).toBe(201);
    // After version 2 is out: a HEAD check and a wrong token, neither of which delivers it.
    expect((await fetchFeed(CURL, {}, 'HEAD')).statusCode).toBe(200);
    expect(
      (await app.inject({ method: 'GET', url: feedPath.replace(/\/[^/]+\./, '/wrongtoken0123456789.') }))
        .statusCode,
    ).toBe(404);

    const res = await api('GET', '/fetches/latest');
    expect(res.statusCode).toBe(200);
    const byChannel = Object.fromEntries(
      (res.json().channels as Array<{ channel: string }>).map((c) => [c.channel, c]),
    );
    expect(Object.keys(byChannel)).toEqual(['archive', 'market', 'quiet']);
    expect(byChannel.quiet).toEqual({ channel: 'quiet', lastFetch: null, lastDelivery: null });
    const market = byChannel.market as unknown as {
      lastFetch: { status: number; version: number | null };
      lastDelivery: {
        status: number;
        version: number;
        encoding: string | null;
        userAgent: string;
        bytes: number;
      };
    };
    expect(market.lastFetch).toMatchObject({ status: 404, version: null });
    // The marketplace holds version 1, gzipped: version 2 is newer than what it got.
    expect(market.lastDelivery).toMatchObject({
      status: 200,
      version: 1,
      encoding: 'gzip',
      userAgent: GOOGLE,
    });
    expect(market.lastDelivery.bytes).toBeGreaterThan(0);
  });

  it('counts a 304 as confirming the version the client holds', async () => {
    const full = await fetchFeed(GOOGLE);
    const again = await fetchFeed(GOOGLE, { 'if-none-match': String(full.headers.etag) });
    expect(again.statusCode).toBe(304);
    const stats = (await api('GET', '/channels/market/fetch-stats')).json();
    expect(stats.lastDelivery).toMatchObject({ status: 304, version: 2, userAgent: GOOGLE });
    const google = stats.fetchers.find((f: { userAgent: string }) => f.userAgent === GOOGLE);
    expect(google).toMatchObject({ fetches: 3, notFound: 0, deliveredVersion: 2 });
    // curl only checked with HEAD: it holds no version.
    const curl = stats.fetchers.find((f: { userAgent: string }) => f.userAgent === CURL);
    expect(curl).toMatchObject({ fetches: 1, deliveredVersion: null, deliveredAt: null });
    const kinds: Record<string, number> = {};
    for (const b of stats.buckets as Array<{ kind: string; fetches: number }>) {
      kinds[b.kind] = (kinds[b.kind] ?? 0) + b.fetches;
    }
    expect(kinds).toEqual({ '200': 2, '304': 1, '404': 1, head: 1 });
  });

  it('counts a fetch made in the same millisecond as the statistics asked for up to now', async () => {
    const before = (await api('GET', '/channels/market/fetch-stats')).json();
    const count = (stats: { fetchers: Array<{ userAgent: string; fetches: number }> }) =>
      stats.fetchers.find((f) => f.userAgent === GOOGLE)?.fetches ?? 0;
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 5 });
    try {
      await fetchFeed(GOOGLE, { 'if-none-match': '"some-old-version"' });
      const after = (await api('GET', '/channels/market/fetch-stats')).json();
      expect(count(after)).toBe(count(before) + 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts fetches per hour and per day by status, in the asked time zone', async () => {
    await insertFetches(t.store, [
      logged('2026-03-09T22:10:00Z', 200),
      logged('2026-03-09T22:50:00Z', 304, { userAgent: 'Bingbot' }),
      logged('2026-03-09T23:05:00Z', 200),
      logged('2026-03-09T23:20:00Z', 404),
      logged('2026-03-10T09:00:00Z', 200, { method: 'HEAD', bytes: 0 }),
      logged('2026-03-12T12:00:00Z', 200),
    ]);
    const hours = await api(
      'GET',
      '/channels/archive/fetch-stats?bucket=hour&since=2026-03-09T00:00:00Z&until=2026-03-11T00:00:00Z',
    );
    expect(hours.statusCode).toBe(200);
    expect(hours.json()).toMatchObject({ channel: 'archive', bucket: 'hour', tz: 'UTC' });
    expect(hours.json().buckets).toEqual([
      { start: '2026-03-09T22:00:00.000Z', kind: '200', fetches: 1, bytes: 1000 },
      { start: '2026-03-09T22:00:00.000Z', kind: '304', fetches: 1, bytes: 0 },
      { start: '2026-03-09T23:00:00.000Z', kind: '200', fetches: 1, bytes: 1000 },
      { start: '2026-03-09T23:00:00.000Z', kind: '404', fetches: 1, bytes: 0 },
      { start: '2026-03-10T09:00:00.000Z', kind: 'head', fetches: 1, bytes: 0 },
    ]);

    // In Paris (UTC+1 in March) the 23:05 and 23:20 UTC fetches fall on March 10.
    const days = await api(
      'GET',
      '/channels/archive/fetch-stats?bucket=day&tz=Europe/Paris&since=2026-03-01T00:00:00Z&until=2026-03-31T00:00:00Z',
    );
    expect(days.statusCode).toBe(200);
    const byDay = (days.json().buckets as Array<{ start: string; kind: string; fetches: number }>).map(
      (b) => `${b.start} ${b.kind} ${b.fetches}`,
    );
    expect(byDay).toEqual([
      '2026-03-08T23:00:00.000Z 200 1',
      '2026-03-08T23:00:00.000Z 304 1',
      '2026-03-09T23:00:00.000Z 200 1',
      '2026-03-09T23:00:00.000Z 404 1',
      '2026-03-09T23:00:00.000Z head 1',
      '2026-03-11T23:00:00.000Z 200 1',
    ]);
    // Clients of the period, most recent first.
    expect(
      days.json().fetchers.map((f: { userAgent: string; fetches: number }) => [f.userAgent, f.fetches]),
    ).toEqual([
      [GOOGLE, 5],
      ['Bingbot', 1],
    ]);
  });

  it('refuses periods too long, inverted periods and unknown time zones; 404 for an unknown channel', async () => {
    const tooLong = await api(
      'GET',
      '/channels/archive/fetch-stats?bucket=hour&since=2026-01-01T00:00:00Z&until=2026-03-01T00:00:00Z',
    );
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().error).toMatchObject({ code: 'BAD_REQUEST' });
    expect(tooLong.json().error.message).toContain('31 days');
    const inverted = await api(
      'GET',
      '/channels/archive/fetch-stats?since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z',
    );
    expect(inverted.statusCode).toBe(400);
    const zone = await api('GET', '/channels/archive/fetch-stats?tz=Mars/Olympus');
    expect(zone.statusCode).toBe(400);
    expect(zone.json().error.message).toContain('unknown time zone "Mars/Olympus"');
    const bucket = await api('GET', '/channels/archive/fetch-stats?bucket=week');
    expect(bucket.statusCode).toBe(400);
    const missing = await api('GET', '/channels/nowhere/fetch-stats');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('CHANNEL_NOT_FOUND');
    const anonymous = await app.inject({ method: 'GET', url: '/api/channels/archive/fetch-stats' });
    expect(anonymous.statusCode).toBe(401);
  });
});
