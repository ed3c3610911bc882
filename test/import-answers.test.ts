import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { type FixtureServer, startFixtureServer } from './helpers/fixture-server.js';
import { samplePath } from './helpers/samples.js';
import { openTestStore, type TestStore } from './helpers/store.js';

// What `POST /api/catalogs/{id}/imports` answers for each way a run ends.

const WOO = fs.readFileSync(samplePath('woocommerce-sample-products.csv'));
const MAPPING = { sku: 'SKU', title: 'Name', price: 'Regular price', quantity: 'Stock' };
const KEY = 'import-answers-test-key';
const auth = { authorization: `Bearer ${KEY}` };

// A run that fails (a store error, a process that died) cannot be caused from outside: the
// catalog `broken` gets a failed run from the real store, through a stand-in runImport.
vi.mock(import('../src/import/run.js'), async (importOriginal) => {
  const real = await importOriginal();
  return {
    ...real,
    runImport: async (store, options) => {
      if (options.catalogId !== 'broken') return real.runImport(store, options);
      const { createRun, finishRun } = await import('../src/store/imports.js');
      const run = await createRun(store, {
        catalogId: 'broken',
        mode: 'full',
        forced: false,
        source: 'upload',
        actor: 'test',
      });
      return finishRun(store, run.id, {
        status: 'failed',
        counts: real.emptyCounts(),
        failure: 'the store went away',
      });
    },
  };
});

describe('the answer to an import', () => {
  let t: TestStore;
  let app: FastifyInstance;
  let server: FixtureServer;
  let dataDir: string;

  beforeAll(async () => {
    t = await openTestStore();
    server = await startFixtureServer();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-import-answers-'));
    app = await buildApp({
      store: t.store,
      apiKey: KEY,
      maxUploadBytes: 1 << 24,
      dataDir,
      allowPrivateSources: true,
    });
    server.route('/feed.csv', (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') res.writeHead(304).end();
      else res.writeHead(200, { 'content-type': 'text/csv', etag: '"v1"' }).end(WOO);
    });
    for (const c of [
      { kind: 'catalog', id: 'linked', source: { url: server.url('/feed.csv') }, mapping: MAPPING },
      { kind: 'catalog', id: 'broken', mapping: MAPPING },
    ]) {
      const put = await app.inject({
        method: 'PUT',
        url: `/api/catalogs/${c.id}`,
        headers: auth,
        payload: c,
      });
      expect(put.statusCode).toBe(201);
    }
  });
  afterAll(async () => {
    await app?.close();
    await server?.close();
    await t?.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const fetchNow = (id: string) =>
    app.inject({ method: 'POST', url: `/api/catalogs/${id}/imports`, headers: auth });

  it('answers 200 with the run when the linked feed has not changed: nothing went wrong', async () => {
    const first = await fetchNow('linked');
    expect(first.statusCode).toBe(201);
    expect(first.json().run).toMatchObject({ status: 'applied', counts: { created: 25 } });
    const again = await fetchNow('linked');
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ run: expect.objectContaining({ status: 'not_modified' }) });
  });

  it('answers 422 with an error that says why, and the run, when the run failed', async () => {
    const res = await fetchNow('broken');
    expect(res.statusCode).toBe(422);
    const body = res.json();
    expect(body.error).toEqual({
      code: 'IMPORT_FAILED',
      message: `import run ${body.run.id} failed: the store went away`,
      details: { run: body.run.id },
    });
    expect(body.run).toMatchObject({ status: 'failed', failure: 'the store went away', catalog: 'broken' });
  });
});
