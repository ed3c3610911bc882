import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { openTestStore, type TestStore } from './helpers/store.js';

const KEY = 'definitions-test-key';
const TOKEN = 'definitions-test-local-token';

describe('applying a definitions folder through the API', () => {
  let t: TestStore;
  let app: FastifyInstance;
  let serveDir: string;
  const changed: string[] = [];

  beforeAll(async () => {
    t = await openTestStore();
    serveDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-defs-'));
    app = await buildApp({
      store: t.store,
      apiKey: KEY,
      localToken: TOKEN,
      maxUploadBytes: 1024,
      dataDir: serveDir,
      definitionsDir: serveDir,
      onCatalogChanged: () => changed.push('catalogs'),
    });
  });
  afterAll(async () => {
    await app.close();
    await t.cleanup();
    fs.rmSync(serveDir, { recursive: true, force: true });
  });

  const apply = (body: unknown, credential = KEY, remoteAddress?: string) =>
    app.inject({
      method: 'POST',
      url: '/api/definitions/apply',
      headers: { authorization: `Bearer ${credential}` },
      payload: body as object,
      ...(remoteAddress ? { remoteAddress } : {}),
    });
  const catalog = (id: string, source: object) =>
    JSON.stringify({ kind: 'catalog', id, source, mapping: { sku: 'SKU' } });

  it('applies catalogs, rule sets and channels at once; relative files resolve against base', async () => {
    const files = [
      { path: 'feeds/shop.json', content: catalog('shop', { file: 'exports/shop.csv' }) },
      { path: 'feeds/absolute.json', content: catalog('absolute', { file: '/srv/absolute.csv' }) },
      {
        path: 'feeds/shop-csv.json',
        content: JSON.stringify({
          kind: 'channel',
          id: 'shop-csv',
          catalog: 'shop',
          format: 'csv',
          rules: ['zero'],
          fields: { id: 'sku' },
        }),
      },
      {
        path: 'rules/zero.json',
        content: JSON.stringify({
          id: 'zero',
          rules: [{ id: 'z', when: { all: [] }, then: [{ set: 'quantity', value: 0 }] }],
        }),
      },
    ];
    const res = await apply({ files, base: '/home/analyst/definitions' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      applied: [
        { kind: 'catalog', id: 'absolute', file: 'feeds/absolute.json', outcome: 'created', version: 1 },
        { kind: 'catalog', id: 'shop', file: 'feeds/shop.json', outcome: 'created', version: 1 },
        { kind: 'rules', id: 'zero', file: 'rules/zero.json', outcome: 'created', version: 1 },
        { kind: 'channel', id: 'shop-csv', file: 'feeds/shop-csv.json', outcome: 'created', version: 1 },
      ],
      skipped: [],
    });
    const source = async (id: string) =>
      (
        await app.inject({
          method: 'GET',
          url: `/api/catalogs/${id}`,
          headers: { authorization: `Bearer ${KEY}` },
        })
      ).json().definition.source;
    expect(await source('shop')).toEqual({ file: '/home/analyst/definitions/exports/shop.csv' });
    expect(await source('absolute')).toEqual({ file: '/srv/absolute.csv' });
    expect(changed).toEqual(['catalogs']);

    // Without a base, serve's own folder is the base: the same file now points there, a new version.
    const again = await apply({ files: files.slice(0, 1) });
    expect(again.json().applied).toEqual([
      { kind: 'catalog', id: 'shop', file: 'feeds/shop.json', outcome: 'updated', version: 2 },
    ]);
    expect(await source('shop')).toEqual({ file: path.join(serveDir, 'exports/shop.csv') });
  });

  it('refuses a folder with any faulty file whole, naming every problem', async () => {
    const res = await apply({
      files: [
        { path: 'feeds/fine.json', content: catalog('fine', { file: 'fine.csv' }) },
        { path: 'feeds/bad.json', content: JSON.stringify({ kind: 'catalog', id: 'Bad Id' }) },
        { path: 'rules/broken.json', content: '{ "id": ' },
      ],
    });
    expect(res.statusCode).toBe(422);
    const error = res.json().error;
    expect(error.code).toBe('APPLY_REFUSED');
    expect(error.message).toMatch(
      /^2 problem\(s\), nothing applied: feeds\/bad\.json: \$\.id: must be lowercase/,
    );
    expect(error.details.problems).toEqual([
      expect.objectContaining({ file: 'feeds/bad.json', path: '$.id' }),
      expect.objectContaining({ file: 'rules/broken.json', path: '$' }),
    ]);
    const fine = await app.inject({
      method: 'GET',
      url: '/api/catalogs/fine',
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(fine.statusCode).toBe(404);
  });

  it('takes only JSON files right under feeds/ and rules/, each once, and an absolute base', async () => {
    for (const p of ['feeds/../../etc/x.json', 'other/x.json', 'feeds/x.txt', 'feeds/sub/x.json']) {
      const res = await apply({ files: [{ path: p, content: '{}' }] });
      expect(res.statusCode, p).toBe(400);
      expect(res.json().error.message).toMatch(/^body\.files\.0\.path must match pattern/);
    }
    const twice = await apply({
      files: [
        { path: 'feeds/a.json', content: '{}' },
        { path: 'feeds/a.json', content: '{}' },
      ],
    });
    expect(twice.json().error).toEqual({ code: 'BAD_REQUEST', message: 'feeds/a.json: sent twice' });
    const relative = await apply({ files: [], base: 'definitions' });
    expect(relative.json().error.message).toBe('body.base must be an absolute path, got "definitions"');
  });

  it("accepts serve's local credential from this machine only, and records its changes as the command line's", async () => {
    const files = [{ path: 'feeds/local.json', content: catalog('local', { file: 'local.csv' }) }];
    expect((await apply({ files }, TOKEN, '203.0.113.9')).statusCode).toBe(401);
    const res = await apply({ files }, TOKEN);
    expect(res.statusCode, res.body).toBe(200);
    const history = await app.inject({
      method: 'GET',
      url: '/api/history?catalog=local',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(history.json().events).toEqual([
      expect.objectContaining({ type: 'catalog.created', actor: 'file:feeds/local.json' }),
    ]);
    // What the key does is the API's; the same catalog from the token is the command line's.
    const put = await app.inject({
      method: 'PUT',
      url: '/api/catalogs/local',
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: { kind: 'catalog', id: 'local', mapping: { sku: 'Variant SKU' } },
    });
    expect(put.statusCode, put.body).toBe(200);
    const events = await app.inject({
      method: 'GET',
      url: '/api/history?catalog=local&limit=1',
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(events.json().events[0]).toMatchObject({ type: 'catalog.updated', actor: 'cli' });
  });
});
