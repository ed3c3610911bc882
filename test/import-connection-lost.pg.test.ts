import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { openTestStore, type TestStore } from './helpers/store.js';

// A connection dropped mid-import (issue 16, point 5): the run ends failed with its reason,
// the answer is a 422 with the run, the catalog is as it was, and the next import works
// without a restart. PostgreSQL only (a *.pg.test.ts file): an embedded store has no
// connection another process can terminate.

const KEY = 'connection-lost-key';
const auth = { authorization: `Bearer ${KEY}` };

describe('a store connection lost during an import', () => {
  let t: TestStore;
  let app: FastifyInstance;
  let admin: pg.Client;
  let dataDir: string;
  const upload = (body: Readable | string) =>
    app.inject({
      method: 'POST',
      url: '/api/catalogs/shop/imports',
      // A streamed body, as a client sends one whose length it does not know.
      headers: {
        ...auth,
        'content-type': 'text/csv',
        ...(typeof body === 'string' ? {} : { 'transfer-encoding': 'chunked' }),
      },
      payload: body,
    });

  beforeAll(async () => {
    t = await openTestStore();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-conn-lost-'));
    app = await buildApp({ store: t.store, apiKey: KEY, maxUploadBytes: 1 << 30, dataDir });
    admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await admin.connect();
    await app.inject({
      method: 'PUT',
      url: '/api/catalogs/shop',
      headers: auth,
      payload: { kind: 'catalog', id: 'shop' },
    });
    expect((await upload('sku,title\nA,Apple\nB,Bean\n')).statusCode).toBe(201);
  });
  afterAll(async () => {
    await admin?.end();
    await app.close();
    await t.cleanup();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('fails the run with its reason, answers 422 with it, and lets the next import work', async () => {
    // A feed that arrives slowly, so that its COPY is under way when the connection goes.
    async function* slowFeed() {
      yield Buffer.from('sku,title\n');
      for (let i = 0; i < 400; i++) {
        yield Buffer.from(Array.from({ length: 100 }, (_, j) => `S${i}-${j},Title\n`).join(''));
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    const answer = upload(Readable.from(slowFeed()));
    let killed = false;
    // This test's own connections only: other suites and benchmarks may share the server.
    const ours = new URL(t.databaseUrl ?? '').searchParams.get('application_name');
    for (let i = 0; i < 200 && !killed; i++) {
      const { rows } = await admin.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query ILIKE 'COPY import_staging%' AND application_name = $1",
        [ours],
      );
      if (rows[0]) {
        await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
        killed = true;
      } else await new Promise((r) => setTimeout(r, 50));
    }
    expect(killed).toBe(true);
    const res = await answer;
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('IMPORT_FAILED');
    expect(res.json().run).toMatchObject({
      status: 'failed',
      failure: expect.stringMatching(
        /^the connection to the store was lost during the import \(.+\); the catalog was left as it was$/,
      ),
    });
    const products = await app.inject({ url: '/api/catalogs/shop/products', headers: auth });
    expect(products.json().products.map((p: { sku: string }) => p.sku)).toEqual(['A', 'B']);
    // The next import runs at once, on a new connection.
    const next = await upload('sku,title\nA,Apple\nB,Bean\nC,Cherry\n');
    expect(next.statusCode).toBe(201);
    expect(next.json().run.counts).toMatchObject({ created: 1 });
  });
});
