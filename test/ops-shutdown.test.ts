import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runImport } from '../src/import/run.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { listRuns } from '../src/store/imports.js';
import { migrate } from '../src/store/migrate.js';
import { openPgliteStore } from '../src/store/pglite-store.js';
import type { Store } from '../src/store/types.js';
import { logLines, type ServeChild, startServe } from './helpers/serve-child.js';
import { BACKEND, openTestStore, type TestStore } from './helpers/store.js';

const KEY = 'shutdown-test-key';
const OLD_ROWS = 20_000;
const NEW_ROWS = 60_000;

function catalogCsv(rows: number, titlePrefix: string): Buffer {
  const lines = ['sku,title,price,quantity'];
  for (let i = 0; i < rows; i++)
    lines.push(`K-${String(i).padStart(6, '0')},${titlePrefix} ${i},${i % 97}.5,${i % 11}`);
  return Buffer.from(`${lines.join('\n')}\n`);
}

/** The catalog as a reader sees it: how many products, and how many of each generation. */
async function catalogState(store: Store): Promise<{ products: number; before: number; after: number }> {
  const [row] = await store.query<{ products: number; before: number; after: number }>({
    text: `SELECT count(*)::int AS products,
                  (count(*) FILTER (WHERE fields->>'title' LIKE 'Before %'))::int AS before,
                  (count(*) FILTER (WHERE fields->>'title' LIKE 'After %'))::int AS after
             FROM products WHERE catalog_id = 'big'`,
  });
  return row as { products: number; before: number; after: number };
}

/** Whether a new connection to `url` is refused. */
function refused(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${url}/health`, (res) => {
      res.resume();
      resolve(false);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/**
 * The scenario: a catalog of OLD_ROWS "Before" products in a store of this backend; `serve`
 * in a child process on it; an upload of NEW_ROWS "After" products sent half-way; SIGTERM.
 */
async function uploadThenTerminate(graceMs: number) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-shutdown-'));
  const dataDir = path.join(tmp, 'data');
  const definitions = path.join(tmp, 'definitions');
  fs.mkdirSync(definitions);
  let t: TestStore | undefined;
  const open = async (): Promise<Store> => {
    if (t) return t.store;
    const store = await openPgliteStore(path.join(dataDir, 'pglite'));
    await migrate(store);
    return store;
  };
  if (BACKEND === 'postgres') t = await openTestStore();
  const setup = await open();
  await saveCatalog(setup, { kind: 'catalog', id: 'big' }, 'test');
  const oldFile = path.join(tmp, 'old.csv');
  fs.writeFileSync(oldFile, catalogCsv(OLD_ROWS, 'Before'));
  const first = await runImport(setup, {
    catalogId: 'big',
    input: { kind: 'file', path: oldFile },
    mode: 'full',
    force: false,
    actor: 'test',
  });
  expect(first.status).toBe('applied');
  // PGlite is one process's: the child opens it once the parent let go.
  if (!t) await setup.close();

  const serve = await startServe(
    {
      DATA_DIR: dataDir,
      DATABASE_URL: t?.databaseUrl,
      FEEDWRIGHT_API_KEY: KEY,
      FEEDWRIGHT_SHUTDOWN_GRACE_MS: String(graceMs),
      LOG_LEVEL: 'info',
    },
    definitions,
  );

  const body = catalogCsv(NEW_ROWS, 'After');
  const half = Math.floor(body.length / 2);
  const upload = http.request(`${serve.url}/api/catalogs/big/imports`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${KEY}`,
      'content-type': 'text/csv',
      'content-length': String(body.length),
    },
  });
  const answer = new Promise<{ status: number; body: string } | { error: string }>((resolve) => {
    upload.on('response', (res) => {
      let text = '';
      res.on('data', (d) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    upload.on('error', (err) => resolve({ error: err.message }));
  });
  upload.write(body.subarray(0, half));

  // The import is under way: its run is recorded as running.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await fetch(`${serve.url}/api/catalogs/big/imports?limit=1`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    const runs = ((await res.json()) as { runs: Array<{ id: number; status: string }> }).runs;
    if (runs[0] && runs[0].id !== first.id && runs[0].status === 'running') break;
    if (Date.now() > deadline) throw new Error('the upload never started an import');
    await new Promise((r) => setTimeout(r, 100));
  }
  const terminatedAt = Date.now();
  serve.child.kill('SIGTERM');
  return {
    serve,
    upload,
    rest: body.subarray(half),
    answer,
    terminatedAt,
    open,
    cleanup: async (store?: Store) => {
      if (t) await t.cleanup();
      else await store?.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

describe('graceful shutdown', () => {
  let running: ServeChild | undefined;
  afterEach(() => {
    running?.child.kill('SIGKILL');
    running = undefined;
  });

  it('during an import leaves the catalog whole: an upload that completes is applied before the process exits', {
    timeout: 180_000,
  }, async () => {
    const s = await uploadThenTerminate(120_000);
    running = s.serve;
    let store: Store | undefined;
    try {
      // No new connections once shutting down (the signal is handled when the import lets
      // the event loop turn), while the upload under way goes on.
      const deadline = Date.now() + 15_000;
      while (!(await refused(s.serve.url))) {
        if (Date.now() > deadline) throw new Error('serve still accepts connections 15 s after SIGTERM');
        await new Promise((r) => setTimeout(r, 100));
      }
      s.upload.end(s.rest);
      const answer = await s.answer;
      expect(answer).toMatchObject({ status: 201 });
      expect(JSON.parse((answer as { body: string }).body).run).toMatchObject({
        status: 'applied',
        counts: { created: NEW_ROWS - OLD_ROWS, updated: OLD_ROWS },
      });
      const answeredAt = Date.now();
      const exit = await s.serve.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      // Soon after the last answer: the client's idle keep-alive connection (Node's agent
      // would hold it 5 s) does not keep the process up.
      expect(Date.now() - answeredAt).toBeLessThan(4000);
      expect(Date.now() - s.terminatedAt).toBeLessThan(90_000);

      store = await s.open();
      expect(await catalogState(store)).toEqual({ products: NEW_ROWS, before: 0, after: NEW_ROWS });
      const runs = (await listRuns(store, 'big', { limit: 10 })).runs;
      expect(runs.map((r) => r.status)).toEqual(['applied', 'applied']);
      const log = logLines(s.serve.stdout());
      const shutdown = log.find((l) => /^shutting down/.test(String(l.msg)));
      expect(shutdown).toMatchObject({ signal: 'SIGTERM' });
      // The upload is under way; the last status poll may be too (its answer read by the
      // test before the server's own end of it ran, on a busy machine).
      expect(shutdown?.requests).toBeGreaterThanOrEqual(1);
      expect(shutdown?.requests).toBeLessThanOrEqual(2);
      expect(log).toContainEqual(expect.objectContaining({ msg: 'stopped' }));
    } finally {
      await s.cleanup(store);
    }
  });

  it('during an import leaves the catalog whole: an upload still unfinished after the grace period is cut and held', {
    timeout: 180_000,
  }, async () => {
    const s = await uploadThenTerminate(1500);
    running = s.serve;
    let store: Store | undefined;
    try {
      // The client never sends the rest: its connection is cut when the grace period ends.
      const answer = await s.answer;
      expect(answer).toHaveProperty('error');
      const exit = await s.serve.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      const took = Date.now() - s.terminatedAt;
      expect(took).toBeGreaterThanOrEqual(1400);
      expect(took).toBeLessThan(20_000);

      store = await s.open();
      // The catalog as it was, every product of it; the run held, not left running.
      expect(await catalogState(store)).toEqual({ products: OLD_ROWS, before: OLD_ROWS, after: 0 });
      const [cut] = (await listRuns(store, 'big', { limit: 1 })).runs;
      expect(cut?.status).toBe('held');
      expect(cut?.heldReasons.map((r) => r.code)).toEqual(['fetch_failed']);
      const log = logLines(s.serve.stdout());
      expect(log).toContainEqual(
        expect.objectContaining({ msg: expect.stringMatching(/^shutdown grace period over/), requests: 1 }),
      );
    } finally {
      await s.cleanup(store);
    }
  });
});
