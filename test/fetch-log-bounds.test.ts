import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { MAX_USER_AGENT_LENGTH, REFUSALS_KEPT_PER_MINUTE } from '../src/publish/serve/fetch-log.js';
import { fetchLogRetentionTask } from '../src/schedule/fetch-log-retention.js';
import { type FeedFetch, insertFetches, pruneFetches } from '../src/store/fetches.js';
import { openTestStore, type TestStore } from './helpers/store.js';

// Nobody can grow the fetch log (issue 16, point 3): refused requests past a few per channel
// and minute are counted, not stored; user agents are cut; old fetches become hourly counts.

const KEY = 'fetch-log-bounds-key';
const auth = { authorization: `Bearer ${KEY}` };

describe('the fetch log stays bounded', () => {
  let t: TestStore;
  let app: FastifyInstance;
  let dataDir: string;
  let feedPath: string;

  const api = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) =>
    app.inject({ method, url: `/api${url}`, headers: auth, ...(payload === undefined ? {} : { payload }) });
  const rowsOf = async (channel: string) =>
    t.store.query<{ status: number; user_agent: string | null }>({
      text: 'SELECT status, user_agent FROM channel_fetches WHERE channel_id = $1',
      values: [channel],
    });
  const countsOf = async (channel: string, since: string) => {
    const res = await api('GET', `/channels/${channel}/fetch-stats?since=${since}&bucket=day`);
    expect(res.statusCode).toBe(200);
    const totals: Record<string, number> = {};
    for (const b of res.json().buckets as Array<{ kind: string; fetches: number }>) {
      totals[b.kind] = (totals[b.kind] ?? 0) + b.fetches;
    }
    return totals;
  };

  beforeAll(async () => {
    t = await openTestStore();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-fetch-bounds-'));
    app = await buildApp({ store: t.store, apiKey: KEY, maxUploadBytes: 1 << 20, dataDir });
    expect((await api('PUT', '/catalogs/shop', { kind: 'catalog', id: 'shop' })).statusCode).toBe(201);
    const imported = await app.inject({
      method: 'POST',
      url: '/api/catalogs/shop/imports',
      headers: { ...auth, 'content-type': 'text/csv' },
      payload: 'sku,title,price\nA-1,Mug,12.5\n',
    });
    expect(imported.statusCode).toBe(201);
    for (const id of ['market', 'old']) {
      expect(
        (await api('PUT', `/channels/${id}`, { kind: 'channel', id, catalog: 'shop', format: 'csv' }))
          .statusCode,
      ).toBe(201);
    }
    expect((await api('POST', '/channels/market/publish')).statusCode).toBe(201);
    feedPath = new URL((await api('GET', '/channels/market')).json().feedUrl).pathname;
  });
  afterAll(async () => {
    await app.close();
    await t.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores a few refused requests per channel and minute, counts the rest, and cuts long user agents', async () => {
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const agent = `scanner/${'x'.repeat(600)}`;
    const wrong = feedPath.replace(/\/[^/]+\.csv$/, '/AAAAAAAAAAAAAAAAAAAAAAAA.csv');
    const refused = await Promise.all(
      Array.from({ length: 300 }, () => app.inject({ url: wrong, headers: { 'user-agent': agent } })),
    );
    expect(refused.every((r) => r.statusCode === 404)).toBe(true);
    const served = await app.inject({ url: feedPath, headers: { 'user-agent': agent } });
    expect(served.statusCode).toBe(200);

    const totals = await countsOf('market', since);
    expect(totals).toMatchObject({ '404': 300, '200': 1 });
    const rows = await rowsOf('market');
    const stored404 = rows.filter((r) => r.status === 404).length;
    // A burst may straddle a minute: at most the bound of two minutes.
    expect(stored404).toBeGreaterThanOrEqual(REFUSALS_KEPT_PER_MINUTE);
    expect(stored404).toBeLessThanOrEqual(2 * REFUSALS_KEPT_PER_MINUTE);
    expect(rows.filter((r) => r.status === 200)).toHaveLength(1);
    expect(Math.max(...rows.map((r) => r.user_agent?.length ?? 0))).toBe(MAX_USER_AGENT_LENGTH);
  });

  it('turns fetches older than the retention into hourly counts the charts still show', async () => {
    const at = (iso: string, status: number): FeedFetch => ({
      channel: 'old',
      at: new Date(iso),
      method: 'GET',
      status,
      bytes: status === 200 ? 1000 : 0,
      version: status === 200 ? 1 : null,
      encoding: null,
      userAgent: 'Google-Shopping',
      address: '203.0.113.7',
    });
    await insertFetches(t.store, [
      at('2026-01-10T08:05:00Z', 200),
      at('2026-01-10T08:35:00Z', 200),
      at('2026-01-10T09:10:00Z', 404),
      at('2026-03-01T10:00:00Z', 200),
    ]);
    const before = await countsOf('old', '2026-01-01T00:00:00Z');
    // The hourly task of serve keeps FEEDWRIGHT_FETCH_LOG_DAYS: 21 days before 2026-02-01.
    let moved = 0;
    await fetchLogRetentionTask(t.store, 21, (n) => {
      moved = n;
    }).run({ taskId: 'fetch-log-retention', slot: new Date('2026-02-01T00:00:00Z'), reason: 'scheduled' });
    expect(moved).toBe(3);
    // Pruning again moves nothing and counts nothing twice.
    expect(await pruneFetches(t.store, new Date('2026-02-01T00:00:00Z'))).toBe(0);
    expect((await rowsOf('old')).length).toBe(1);
    expect(await countsOf('old', '2026-01-01T00:00:00Z')).toEqual(before);
    expect(before).toEqual({ '200': 3, '404': 1 });
    const hours = await t.store.query<{
      hour: Date;
      kind: string;
      fetches: string | number;
      bytes: string | number;
    }>({
      text: "SELECT hour, kind, fetches, bytes FROM channel_fetch_hours WHERE channel_id = 'old' ORDER BY hour, kind",
    });
    expect(
      hours.map((h) => [new Date(h.hour).toISOString(), h.kind, Number(h.fetches), Number(h.bytes)]),
    ).toEqual([
      ['2026-01-10T08:00:00.000Z', '200', 2, 2000],
      ['2026-01-10T09:00:00.000Z', '404', 1, 0],
    ]);
  });
});
