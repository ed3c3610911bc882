import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { buildDashboard } from '../src/http/dashboard-build.js';
import { openTestStore, type TestStore } from './helpers/store.js';

// How `/` and `/assets/*` answer, built or not (the browser test drives the pages).
describe('serving the dashboard', () => {
  let t: TestStore | undefined;
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    await t?.cleanup();
  });

  const start = async (dashboardDir: string) => {
    t = await openTestStore();
    app = await buildApp({
      store: t.store,
      apiKey: 'dashboard-key-0123456789',
      maxUploadBytes: 1024,
      dataDir: mkdtempSync(path.join(tmpdir(), 'feedwright-dash-data-')),
      dashboardDir,
    });
    return app;
  };

  it('serves the built page with a strict policy and its hashed assets cached for good', async () => {
    const built = await buildDashboard(mkdtempSync(path.join(tmpdir(), 'feedwright-dash-')));
    const a = await start(built.outDir);
    const page = await a.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    // Everything the page loads comes from this server: no CDN.
    const urls = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    const assets = urls.filter((u) => u.startsWith('/assets/'));
    expect(assets.some((u) => /\/assets\/app-\w+\.js$/.test(u))).toBe(true);
    expect(assets.some((u) => /\/assets\/app-\w+\.css$/.test(u))).toBe(true);
    expect(urls.filter((u) => /^(https?:)?\/\//.test(u))).toEqual([]);
    for (const url of assets) {
      const res = await a.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['cache-control']).toContain('immutable');
      expect(res.body).not.toMatch(/https?:\/\/(cdn|unpkg|fonts)\./);
    }
    // The page is public; the API behind it is not.
    expect((await a.inject({ method: 'GET', url: '/api/catalogs' })).statusCode).toBe(401);
  });

  it('says how to build it when it is not built, and no asset is served', async () => {
    const a = await start(mkdtempSync(path.join(tmpdir(), 'feedwright-dash-empty-')));
    const page = await a.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(503);
    expect(page.body).toContain('npm run build');
    const asset = await a.inject({ method: 'GET', url: '/assets/app-ABC.js' });
    expect(asset.statusCode).toBe(404);
    expect(asset.json().error.code).toBe('NOT_FOUND');
  });

  it('does not serve a page built after it started, whose assets it could not serve', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'feedwright-dash-late-'));
    const a = await start(dir);
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><script src="/assets/app-X.js"></script>');
    const page = await a.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(503);
    expect(page.body).toContain('serve</code> again');
  });
});
