import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { buildApp } from '../src/http/app.js';
import { openTestStore, type TestStore } from './helpers/store.js';

// Behind a proxy that ends TLS (and may serve the service under a path), the feed URL a
// merchant copies into a marketplace must be the public one, not the address the proxy used.

const KEY = 'public-url-test-key';
const auth = { authorization: `Bearer ${KEY}` };
const PUBLIC = 'https://feeds.shop.example/fw';

describe('FEEDWRIGHT_PUBLIC_URL', () => {
  it('is read as an http(s) address without a trailing slash, and refused otherwise', () => {
    expect(loadConfig({}).publicUrl).toBeUndefined();
    expect(loadConfig({ FEEDWRIGHT_PUBLIC_URL: 'https://feeds.shop.example/fw/' }).publicUrl).toBe(PUBLIC);
    expect(loadConfig({ FEEDWRIGHT_PUBLIC_URL: 'http://10.0.0.5:8080' }).publicUrl).toBe(
      'http://10.0.0.5:8080',
    );
    for (const bad of [
      'feeds.shop.example',
      'ftp://feeds.shop.example',
      'https://x.example/?a=1',
      'https://u:p@x.example',
      'https://:p@x.example',
    ])
      expect(() => loadConfig({ FEEDWRIGHT_PUBLIC_URL: bad }), bad).toThrow(/FEEDWRIGHT_PUBLIC_URL must be/);
  });

  describe('in the API', () => {
    let t: TestStore;
    let app: FastifyInstance;
    let dataDir: string;
    const api = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) =>
      app.inject({ method, url: `/api${url}`, headers: auth, ...(payload === undefined ? {} : { payload }) });

    beforeAll(async () => {
      t = await openTestStore();
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-public-url-'));
      app = await buildApp({
        store: t.store,
        apiKey: KEY,
        maxUploadBytes: 1 << 20,
        dataDir,
        publicUrl: PUBLIC,
      });
      expect((await api('PUT', '/catalogs/shop', { kind: 'catalog', id: 'shop' })).statusCode).toBe(201);
      const imported = await app.inject({
        method: 'POST',
        url: '/api/catalogs/shop/imports',
        headers: { ...auth, 'content-type': 'text/csv' },
        payload: 'sku,title,price,quantity\nA-1,Mug,12.5,4\n',
      });
      expect(imported.statusCode).toBe(201);
    });
    afterAll(async () => {
      await app?.close();
      await t?.cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('answers feed URLs under the public address, which serve the feed once the proxy strips its path', async () => {
      const put = await api('PUT', '/channels/market', {
        kind: 'channel',
        id: 'market',
        catalog: 'shop',
        format: 'csv',
        fields: { id: 'sku', title: 'title' },
      });
      expect(put.statusCode, put.body).toBe(201);
      const { feedUrl } = put.json();
      expect(feedUrl).toMatch(/^https:\/\/feeds\.shop\.example\/fw\/feeds\/market\/[A-Za-z0-9_-]{32}\.csv$/);
      expect((await api('GET', '/channels/market')).json().feedUrl).toBe(feedUrl);
      expect((await api('POST', '/channels/market/publish')).statusCode).toBe(201);
      const served = await app.inject({ url: new URL(feedUrl).pathname.replace(/^\/fw/, '') });
      expect(served.statusCode).toBe(200);
      expect(served.body).toContain('A-1');
      const rotated = await api('POST', '/channels/market/token');
      expect(rotated.json().feedUrl).toMatch(/^https:\/\/feeds\.shop\.example\/fw\/feeds\/market\//);
      expect(rotated.json().feedUrl).not.toBe(feedUrl);
    });
  });
});
