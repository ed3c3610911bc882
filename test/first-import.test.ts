import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyHeldRun, type ImportProgress, recoverInterruptedRuns, runImport } from '../src/import/run.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { takeEagerSlot } from '../src/store/eager-apply.js';
import { readHistory } from '../src/store/history.js';
import { getRun, type ImportRunRecord, listRowErrors, listRuns } from '../src/store/imports.js';
import { countProducts, listProducts, type StoredProduct } from '../src/store/products.js';
import type { Store } from '../src/store/types.js';
import { killWhenPastRows } from './helpers/kill-child.js';
import { BACKEND, openTestStore, type TestStore } from './helpers/store.js';

const REPO = path.resolve(import.meta.dirname, '..');

// The first full import into an empty catalog. On PostgreSQL it creates the products while the
// feed is still read, a COPY of `eagerChunkRows` rows at a time, in one transaction that
// commits at the end (src/store/eager-apply.ts); on PGlite it stages, then applies. What a
// user sees must be the same either way, and the same whatever the chunk size: these tests
// cut a feed into chunks of 7 rows so that duplicates, bad rows and the end of the feed fall
// inside chunks and across their edges.

const MAPPING = { sku: 'SKU', title: 'Name', price: 'Price', quantity: 'Stock' } as const;
const CHUNK = 7;

let t: TestStore;
let store: Store;

beforeAll(async () => {
  t = await openTestStore();
  store = t.store;
});
afterAll(async () => {
  await t?.cleanup();
});

async function defineCatalog(id: string): Promise<void> {
  await saveCatalog(store, { kind: 'catalog', id, mapping: MAPPING }, 'test');
}

function importText(
  catalogId: string,
  body: string | AsyncIterable<Buffer>,
  o: { force?: boolean; chunk?: number; onProgress?: (p: ImportProgress) => void } = {},
): Promise<ImportRunRecord> {
  const stream = typeof body === 'string' ? Readable.from([Buffer.from(body)]) : Readable.from(body);
  return runImport(store, {
    catalogId,
    input: { kind: 'upload', stream },
    mode: 'full',
    force: o.force ?? false,
    actor: 'test',
    eagerChunkRows: o.chunk ?? CHUNK,
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
}

async function productsOf(catalogId: string): Promise<Map<string, StoredProduct>> {
  const { products, next } = await listProducts(store, catalogId, { limit: 5000 });
  expect(next).toBeNull();
  return new Map(products.map((p) => [p.sku, p]));
}

async function eventsOf(catalogId: string, type: string) {
  const { events, next } = await readHistory(store, { catalog: catalogId, type, limit: 5000 });
  expect(next).toBeNull();
  return events;
}

async function createdEvents(catalogId: string): Promise<number> {
  const rows = await store.query<{ n: number }>({
    text: "SELECT count(*)::int AS n FROM history WHERE catalog_id = $1 AND type = 'product.created'",
    values: [catalogId],
  });
  return rows[0]?.n ?? 0;
}

/** A feed of `n` products P-0001… with their line numbers (the header is line 1). */
function feed(n: number, row: (i: number) => string = (i) => `P-${pad(i)},Product ${i},${i}.5,${i % 9}`) {
  return `SKU,Name,Price,Stock\n${Array.from({ length: n }, (_, i) => row(i + 1)).join('\n')}\n`;
}
const pad = (i: number) => String(i).padStart(4, '0');

/**
 * An upload of `text` in two parts: its header and first 3,000 rows (about 100 KiB, past the
 * 64 KiB the format is sniffed from, so that those rows are parsed and staged), then, once
 * `between` resolves, the rest; when `between` throws, the upload fails there.
 */
async function* inTwoParts(text: string, between: () => Promise<void>): AsyncGenerator<Buffer> {
  const lines = text.split('\n');
  yield Buffer.from(`${lines.slice(0, 3_001).join('\n')}\n`);
  await between();
  yield Buffer.from(lines.slice(3_001).join('\n'));
}

/**
 * Connections inserting into products right now (PostgreSQL): the eager run's transaction
 * once it created a chunk. Polls for up to 5 s until there is one.
 */
async function insertingConnections(): Promise<number> {
  for (let i = 0; ; i++) {
    const r = await store.query<{ n: number }>({
      text: `SELECT count(*)::int AS n FROM pg_locks
             WHERE relation = 'products'::regclass AND mode = 'RowExclusiveLock' AND granted`,
    });
    const n = r[0]?.n ?? 0;
    if (n > 0 || i >= 100) return n;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the first import into an empty catalog', () => {
  it('creates every product once, with one created event each, across many chunks', async () => {
    await defineCatalog('first-many');
    const run = await importText('first-many', feed(100));
    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ rows: 100, valid: 100, created: 100, errors: 0 });
    const products = await productsOf('first-many');
    expect(products.size).toBe(100);
    expect(products.get('P-0001')?.fields).toMatchObject({ title: 'Product 1', price: 1.5, quantity: 1 });
    expect(products.get('P-0100')?.fields).toMatchObject({ title: 'Product 100', price: 100.5, quantity: 1 });
    const created = await eventsOf('first-many', 'product.created');
    expect(created).toHaveLength(100);
    expect(new Set(created.map((e) => e.sku)).size).toBe(100);
    expect(created.every((e) => e.run === run.id)).toBe(true);
    // The feed again: nothing changes, as after any import.
    const again = await importText('first-many', feed(100));
    expect(again.counts).toMatchObject({ created: 0, updated: 0, unchanged: 100 });
  });

  it('keeps the first row of a sku repeated inside a chunk and across chunks, naming the later lines', async () => {
    await defineCatalog('first-dups');
    // Line n + 1 holds row n. Row 3 repeats inside its chunk (rows 1–7) at row 5; row 2 comes
    // again at row 12 (the next chunk) and at row 20 (the one after).
    const rows = Array.from({ length: 25 }, (_, i) => `P-${pad(i + 1)},Product ${i + 1},${i + 1},1`);
    rows[4] = 'P-0003,Second of three,99,9';
    rows[11] = 'P-0002,Second of two,98,8';
    rows[19] = 'P-0002,Third of two,97,7';
    const run = await importText('first-dups', `SKU,Name,Price,Stock\n${rows.join('\n')}\n`);
    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ rows: 25, valid: 22, created: 22, errors: 3 });
    const errors = await listRowErrors(store, run.id, { limit: 100, offset: 0 });
    expect(errors.map((e) => [e.line, e.sku, e.code])).toEqual([
      [6, 'P-0003', 'duplicate_sku'],
      [13, 'P-0002', 'duplicate_sku'],
      [21, 'P-0002', 'duplicate_sku'],
    ]);
    expect(errors[0]?.message).toContain('first seen on line 4');
    expect(errors[1]?.message).toContain('first seen on line 3');
    const products = await productsOf('first-dups');
    expect(products.size).toBe(22);
    expect(products.get('P-0003')?.fields).toMatchObject({ title: 'Product 3', price: 3 });
    expect(products.get('P-0002')?.fields).toMatchObject({ title: 'Product 2', price: 2 });
    expect(products.has('P-0005')).toBe(false);
    const created = await eventsOf('first-dups', 'product.created');
    expect(created).toHaveLength(22);
    expect(created.find((e) => e.sku === 'P-0003')?.data).toMatchObject({ fields: { title: 'Product 3' } });
  });

  it('skips bad rows between chunks and creates the good ones around them', async () => {
    await defineCatalog('first-bad');
    const run = await importText(
      'first-bad',
      feed(30, (i) => (i % 8 === 0 ? `P-${pad(i)},Bad price,abc,1` : `P-${pad(i)},Product ${i},${i},1`)),
    );
    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ rows: 30, valid: 27, created: 27, errors: 3 });
    const errors = await listRowErrors(store, run.id, { limit: 100, offset: 0 });
    expect(errors.map((e) => [e.line, e.sku])).toEqual([
      [9, 'P-0008'],
      [17, 'P-0016'],
      [25, 'P-0024'],
    ]);
    expect(await countProducts(store, 'first-bad')).toBe(27);
  });

  it('holds a feed with a missing mapped column, creating nothing, and applies it once forced', async () => {
    await defineCatalog('first-held');
    const body = `SKU,Name,Stock\n${Array.from({ length: 20 }, (_, i) => `H-${i},Held ${i},${i}`).join('\n')}\n`;
    const held = await importText('first-held', body);
    expect(held.status).toBe('held');
    expect(held.heldReasons.map((r) => r.code)).toEqual(['missing_columns']);
    expect(held.applicable).toBe(true);
    expect(await countProducts(store, 'first-held')).toBe(0);
    expect(await eventsOf('first-held', 'product.created')).toHaveLength(0);

    const applied = await applyHeldRun(store, held.id, 'person');
    expect(applied).toMatchObject({ status: 'applied', counts: { created: 20 } });
    expect(await countProducts(store, 'first-held')).toBe(20);
    expect(await eventsOf('first-held', 'product.created')).toHaveLength(20);
  });

  it('applies a forced run with the same products as an unforced one', async () => {
    await defineCatalog('first-forced');
    const run = await importText('first-forced', feed(15), { force: true });
    expect(run).toMatchObject({ status: 'applied', forced: true, counts: { created: 15 } });
    expect(await countProducts(store, 'first-forced')).toBe(15);
  });

  it('leaves the catalog empty when the upload is cut after several chunks', async () => {
    await defineCatalog('first-cut');
    let inserting = 0;
    const cut = inTwoParts(feed(4_000), async () => {
      // On PostgreSQL three chunks of 1,000 rows are being created by now; then the
      // connection drops.
      if (BACKEND === 'postgres') inserting = await insertingConnections();
      throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    });
    const run = await importText('first-cut', cut, { chunk: 1_000 });
    if (BACKEND === 'postgres') expect(inserting).toBeGreaterThan(0);
    expect(run.status).toBe('held');
    expect(run.heldReasons.map((r) => r.code)).toEqual(['fetch_failed']);
    expect(await countProducts(store, 'first-cut')).toBe(0);
    expect(await eventsOf('first-cut', 'product.created')).toHaveLength(0);
    // The next import starts from the empty catalog again.
    const next = await importText('first-cut', feed(40));
    expect(next.counts).toMatchObject({ created: 40 });
    expect(await eventsOf('first-cut', 'product.created')).toHaveLength(40);
  });

  it('keeps the first item of a sku repeated in a one-line JSON feed, where every item is on line 1', async () => {
    await saveCatalog(store, { kind: 'catalog', id: 'first-json' }, 'test');
    const items = Array.from({ length: 20 }, (_, i) => ({ sku: `J-${i}`, title: `Item ${i}`, price: i }));
    items.push({ sku: 'J-3', title: 'Again', price: 99 }, { sku: 'J-12', title: 'Again', price: 98 });
    const run = await importText('first-json', JSON.stringify(items));
    expect(run.status).toBe('applied');
    expect(run.counts).toMatchObject({ rows: 22, valid: 20, created: 20, errors: 2 });
    const errors = await listRowErrors(store, run.id, { limit: 100, offset: 0 });
    expect(errors.map((e) => [e.sku, e.code])).toEqual([
      ['J-3', 'duplicate_sku'],
      ['J-12', 'duplicate_sku'],
    ]);
    const products = await productsOf('first-json');
    expect(products.size).toBe(20);
    expect(products.get('J-3')?.fields).toMatchObject({ title: 'Item 3', price: 3 });
    expect(products.get('J-12')?.fields).toMatchObject({ title: 'Item 12', price: 12 });
    expect(await createdEvents('first-json')).toBe(20);
  });

  it('holds a feed with no valid row, creating nothing, and applies nothing when forced', async () => {
    await defineCatalog('first-none');
    const body = feed(10, (i) => `,No sku ${i},${i},1`);
    const held = await importText('first-none', body);
    expect(held.status).toBe('held');
    expect(held.heldReasons.map((r) => r.code)).toEqual(['no_valid_rows']);
    expect(held.counts).toMatchObject({ rows: 10, valid: 0, errors: 10 });
    const forced = await importText('first-none', body, { force: true });
    expect(forced).toMatchObject({ status: 'applied', counts: { created: 0, errors: 10 } });
    expect(await countProducts(store, 'first-none')).toBe(0);
  });

  it('dates the run and its events when they happen, not when the run began', async () => {
    await defineCatalog('first-timed');
    // The run is under way (on PostgreSQL, its transaction open) before the pause.
    const slow = inTwoParts(feed(4_000), () => new Promise((r) => setTimeout(r, 600)));
    const run = await importText('first-timed', slow, { chunk: 1_000 });
    expect(run.status).toBe('applied');
    const started = Date.parse(run.startedAt);
    expect(Date.parse(run.finishedAt ?? '')).toBeGreaterThanOrEqual(started + 600);
    expect(run.durationMs).toBeGreaterThanOrEqual(600);
    const [applied] = await eventsOf('first-timed', 'import.applied');
    expect(Date.parse(applied?.at ?? '')).toBeGreaterThanOrEqual(started + 600);
  });

  it('imports four empty catalogs at once, each whole, and gives every eager slot back', async () => {
    const ids = ['first-par-1', 'first-par-2', 'first-par-3', 'first-par-4'];
    for (const id of ids) await defineCatalog(id);
    const runs = await Promise.all(ids.map((id, i) => importText(id, feed(300 + i * 50), { chunk: 40 })));
    for (const [i, run] of runs.entries()) {
      expect(run).toMatchObject({ status: 'applied', counts: { created: 300 + i * 50, errors: 0 } });
      expect(await countProducts(store, ids[i] as string)).toBe(300 + i * 50);
      expect(await createdEvents(ids[i] as string)).toBe(300 + i * 50);
    }
    // On PostgreSQL at most two of them created their rows while reading (each holds a second
    // connection); both slots are free again once the runs are over.
    const slots = [takeEagerSlot(), takeEagerSlot(), takeEagerSlot()];
    expect(slots.map((x) => x !== undefined)).toEqual([true, true, false]);
    for (const slot of slots) slot?.release();
    await defineCatalog('first-par-5');
    expect((await importText('first-par-5', feed(100))).counts.created).toBe(100);
  });

  // PGlite has one connection: nothing can look at the catalog while its import runs.
  it.runIf(BACKEND === 'postgres')(
    'creates the rows while the feed is read, yet shows the catalog empty until the run is applied',
    async () => {
      await defineCatalog('first-unseen');
      const seen: Array<Promise<number[]>> = [];
      const run = await importText('first-unseen', feed(30_000), {
        chunk: 2_000,
        onProgress: (p: ImportProgress) => {
          // Asked from other connections every 10,000 rows read: the products, their events,
          // and whether some connection holds products open for inserting (the run's
          // transaction, once it created its first chunk).
          if (p.phase === 'reading' && p.rows < 30_000)
            seen.push(
              Promise.all([
                countProducts(store, 'first-unseen'),
                createdEvents('first-unseen'),
                insertingConnections(),
              ]),
            );
        },
      });
      expect(run.status).toBe('applied');
      const views = await Promise.all(seen);
      expect(views).toHaveLength(2);
      for (const [products, events] of views) expect([products, events]).toEqual([0, 0]);
      // At 20,000 rows read, the first chunks were being created already.
      expect(views[1]?.[2]).toBeGreaterThan(0);
      expect(await countProducts(store, 'first-unseen')).toBe(30_000);
      expect(await createdEvents('first-unseen')).toBe(30_000);
    },
  );

  it.runIf(BACKEND === 'postgres')(
    'lets the catalog be saved while its first import is creating products',
    async () => {
      await defineCatalog('first-open');
      let release!: () => void;
      const paused = new Promise<void>((r) => {
        release = r;
      });
      // Three chunks of 1,000 rows are handed over, then the feed waits for the test.
      const running = importText(
        'first-open',
        inTwoParts(feed(4_000), () => paused),
        { chunk: 1_000 },
      );
      try {
        // Wait until the run's transaction holds created products.
        expect(await insertingConnections()).toBeGreaterThan(0);
        // A definition saved now (as an order report or a stock push would lock the catalog)
        // goes through at once instead of waiting for the feed's end.
        const saved = await Promise.race([
          saveCatalog(
            store,
            { kind: 'catalog', id: 'first-open', mapping: MAPPING, safety: { maxDropPercent: 40 } },
            'test',
          ).then(() => 'saved'),
          new Promise((r) => setTimeout(() => r('blocked'), 5_000)),
        ]);
        expect(saved).toBe('saved');
        expect(await countProducts(store, 'first-open')).toBe(0);
      } finally {
        release();
      }
      const run = await running;
      expect(run).toMatchObject({ status: 'applied', counts: { created: 4_000 } });
      expect(await countProducts(store, 'first-open')).toBe(4_000);
    },
  );

  // On PGlite a first import stages then applies, as any import: import.test.ts kills one.
  it.runIf(BACKEND === 'postgres')(
    'leaves the catalog empty when the process is killed after chunks were created',
    { timeout: 180_000 },
    async () => {
      await saveCatalog(store, { kind: 'catalog', id: 'first-killed' }, 'test');
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-first-kill-'));
      const file = path.join(tmp, 'feed.csv');
      const rows = Array.from({ length: 200_000 }, (_, i) => `K-${i},Killed ${i},${i}.5,${i % 5}`);
      fs.writeFileSync(file, `sku,title,price,quantity\n${rows.join('\n')}\n`);
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(REPO, 'test/helpers/import-child.ts'), 'first-killed', file],
        {
          cwd: REPO,
          env: { ...process.env, DATABASE_URL: t.databaseUrl },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      try {
        // Past two chunks of 50,000 rows: the run's transaction holds created products.
        const reports = await killWhenPastRows(child, 130_000);
        expect(reports).not.toContainEqual(expect.objectContaining({ event: 'finished' }));
        const [run] = (await listRuns(store, 'first-killed', { limit: 1 })).runs;
        expect(run?.status).toBe('running');
        expect(await countProducts(store, 'first-killed')).toBe(0);
        expect(await createdEvents('first-killed')).toBe(0);
        // PostgreSQL notices the dead connections, and frees the run's lock, a moment later.
        let status = run?.status;
        for (let i = 0; i < 100 && status === 'running'; i++) {
          await recoverInterruptedRuns(store);
          status = (await getRun(store, run?.id ?? 0))?.status;
          if (status === 'running') await new Promise((r) => setTimeout(r, 100));
        }
        expect(status).toBe('failed');
        expect(await countProducts(store, 'first-killed')).toBe(0);
        expect(await createdEvents('first-killed')).toBe(0);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
  );
});
