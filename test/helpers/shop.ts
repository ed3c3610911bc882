import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { openTestStore, type TestStore } from './store.js';

/** A served catalog `shop` with one rule set and channels over it, built once. */
export interface Shop {
  t: TestStore;
  app: FastifyInstance;
  dataDir: string;
  /** Removes the app, the store and the feeds. */
  close(): Promise<void>;
}

/**
 * Opens a store and an app, imports `csv` into the catalog `shop`, saves the rule set and the
 * channels (each with that rule set), and builds every channel once.
 */
export async function openShop(o: {
  apiKey: string;
  csv: string;
  ruleSet: { id: string };
  channels: ReadonlyArray<Record<string, unknown> & { id: string }>;
}): Promise<Shop> {
  const t = await openTestStore();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-shop-'));
  const app = await buildApp({ store: t.store, apiKey: o.apiKey, maxUploadBytes: 1 << 24, dataDir });
  const headers = { authorization: `Bearer ${o.apiKey}` };
  const put = (url: string, payload: object) =>
    app.inject({ method: 'PUT', url: `/api${url}`, headers, payload });
  expect((await put('/catalogs/shop', { kind: 'catalog', id: 'shop' })).statusCode).toBe(201);
  const imported = await app.inject({
    method: 'POST',
    url: '/api/catalogs/shop/imports',
    headers: { ...headers, 'content-type': 'text/csv' },
    payload: o.csv,
  });
  expect(imported.statusCode).toBe(201);
  expect((await put(`/rules/${o.ruleSet.id}`, o.ruleSet)).statusCode).toBe(201);
  for (const c of o.channels) {
    const res = await put(`/channels/${c.id}`, {
      kind: 'channel',
      catalog: 'shop',
      rules: [o.ruleSet.id],
      ...c,
    });
    expect(res.statusCode).toBe(201);
  }
  await app.feeds.publisher.check();
  return {
    t,
    app,
    dataDir,
    async close() {
      await app.close();
      await t.cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
