import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../src/import/run.js';
import type { CatalogDefinition } from '../src/model/catalog.js';
import {
  BackgroundWork,
  type CatalogImportContext,
  importTaskId,
  scheduleCatalogImports,
  syncCatalogSchedules,
} from '../src/schedule/catalog-tasks.js';
import { nextFiring, previousFiring } from '../src/schedule/cron-time.js';
import { claimPruningTask, Scheduler } from '../src/schedule/scheduler.js';
import { saveCatalog } from '../src/store/catalogs.js';
import { type HistoryEvent, readHistory } from '../src/store/history.js';
import { type ImportRunRecord, listRuns } from '../src/store/imports.js';
import { openPgStore } from '../src/store/pg-store.js';
import type { Store } from '../src/store/types.js';
import { type FixtureServer, startFixtureServer } from './helpers/fixture-server.js';
import { logLines, type ServeChild, startServe } from './helpers/serve-child.js';
import { BACKEND, openTestStore, type TestStore } from './helpers/store.js';

const FEED = path.resolve(import.meta.dirname, 'fixtures/catalog-ten-products.csv');
const MAPPING = { sku: 'SKU', title: 'Name', price: 'Price', quantity: 'Stock' } as const;

let t: TestStore;
/** The store as the first `serve` process sees it. */
let store: Store;
/** The store as a second process sees it: its own pool on PostgreSQL; PGlite has one process. */
let other: Store;
let server: FixtureServer;

beforeAll(async () => {
  t = await openTestStore();
  store = t.store;
  other = t.databaseUrl ? await openPgStore(t.databaseUrl) : store;
  server = await startFixtureServer();
});
afterAll(async () => {
  await server?.close();
  if (other && other !== store) await other.close();
  await t?.cleanup();
});

const schedulers: Scheduler[] = [];
const errors: unknown[] = [];
const logs: { msg: string; fields: Record<string, unknown> }[] = [];

/** A scheduler as a `serve` process has one, on the given store. */
function newScheduler(db: Store = store): Scheduler {
  const s = new Scheduler(db, (task, err) => errors.push({ task, err }));
  schedulers.push(s);
  return s;
}

function context(work = new BackgroundWork(), now?: () => Date): CatalogImportContext {
  return { work, allowPrivateSources: true, log: (msg, fields) => logs.push({ msg, fields }), now };
}

afterEach(async () => {
  await Promise.all(schedulers.splice(0).map((s) => s.stop()));
  server.reset();
  // Every test starts with no catalog (runs go with them) and no claim; history is append-only,
  // so each test reads the events of its own catalogs.
  await store.query({ text: 'DELETE FROM catalogs' });
  await store.query({ text: 'DELETE FROM schedule_claims' });
  expect(errors.splice(0)).toEqual([]);
  logs.length = 0;
});

async function defineCatalog(
  id: string,
  extra: Partial<CatalogDefinition> & { timezone?: string } = {},
): Promise<void> {
  await saveCatalog(
    store,
    { kind: 'catalog', id, source: { file: FEED }, mapping: MAPPING, schedule: '0 3 * * *', ...extra },
    'test',
  );
}

/** Records a full run that started at `startedAt`, as an import at that time would have. */
async function pastRun(catalogId: string, startedAt: Date): Promise<void> {
  await store.query({
    text: `INSERT INTO import_runs (catalog_id, status, mode, source, actor, started_at, finished_at)
           VALUES ($1, 'applied', 'full', 'test', 'test', $2, $2)`,
    values: [catalogId, startedAt],
  });
}

async function runsOf(catalogId: string): Promise<ImportRunRecord[]> {
  return (await listRuns(store, catalogId, { limit: 100 })).runs;
}

async function skipsOf(catalogId: string): Promise<HistoryEvent[]> {
  return (await readHistory(store, { catalog: catalogId, type: 'import.skipped', limit: 100 })).events;
}

async function claimsOf(task: string): Promise<string[]> {
  const rows = await store.query<{ slot: Date }>({
    text: 'SELECT slot FROM schedule_claims WHERE task = $1 ORDER BY slot',
    values: [task],
  });
  return rows.map((r) => new Date(r.slot).toISOString());
}

async function waitForRunning(catalogId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await runsOf(catalogId)).some((r) => r.status === 'running')) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no import of ${catalogId} started`);
}

describe('two serve processes sharing one store', () => {
  it('fire the same schedule: the import runs once', async () => {
    await defineCatalog('twice');
    await pastRun('twice', new Date());
    const a = newScheduler(store);
    const b = newScheduler(other);
    const [workA, workB] = [new BackgroundWork(), new BackgroundWork()];
    await Promise.all([
      scheduleCatalogImports(store, a, workA, true, context().log),
      scheduleCatalogImports(other, b, workB, true, context().log),
    ]);
    const id = importTaskId('twice');
    expect(a.list()).toContain(id);
    expect(b.list()).toContain(id);

    const slot = a.nextRun(id, new Date()) as Date;
    const outcomes = await Promise.all([a.fire(id, slot), b.fire(id, slot)]);
    await Promise.all([workA.drain(), workB.drain()]);

    expect(outcomes.sort()).toEqual(['claimed-elsewhere', 'ran']);
    const scheduled = (await runsOf('twice')).filter((r) => r.actor === 'schedule');
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0]?.status).toBe('applied');
    expect(await claimsOf(id)).toEqual([slot.toISOString()]);
    // The process that lost the claim skipped nothing: the firing ran, elsewhere.
    expect(await skipsOf('twice')).toEqual([]);
  });

  it('run every second on the clock: each slot runs once', async () => {
    const a = newScheduler(store);
    const b = newScheduler(other);
    const ran: string[] = [];
    for (const s of [a, b]) {
      s.add({
        id: 'tick',
        schedule: '* * * * * *',
        preventOverlap: true,
        run: async (f) => {
          ran.push(f.slot.toISOString());
        },
      });
    }
    const deadline = Date.now() + 5000;
    while (ran.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await Promise.all([a.stop(), b.stop()]);
    expect(ran.length).toBeGreaterThanOrEqual(2);
    expect(new Set(ran).size).toBe(ran.length);
    expect(await claimsOf('tick')).toEqual([...ran].sort());
  });

  it('starting together, catch up a missed firing once', async () => {
    await defineCatalog('missed');
    const a = newScheduler(store);
    const b = newScheduler(other);
    const [workA, workB] = [new BackgroundWork(), new BackgroundWork()];
    await Promise.all([
      scheduleCatalogImports(store, a, workA, true, context().log),
      scheduleCatalogImports(other, b, workB, true, context().log),
    ]);
    await Promise.all([workA.drain(), workB.drain()]);
    const runs = await runsOf('missed');
    expect(runs.map((r) => [r.actor, r.status])).toEqual([['schedule:catch-up', 'applied']]);
    // The other process did not even try: it lost the claim on the missed slot.
    expect(await skipsOf('missed')).toEqual([]);
  });

  it('record a firing skipped because the catalog is busy, with the catalog', async () => {
    await defineCatalog('busy');
    await pastRun('busy', new Date());
    // The second process schedules the catalog; the first runs an import of it by hand.
    const b = newScheduler(other);
    await syncCatalogSchedules(other, b, context());
    const upload = new PassThrough();
    upload.write('SKU,Name,Price,Stock\nA,a,1.00,1\n');
    const manual = runImport(store, {
      catalogId: 'busy',
      input: { kind: 'upload', stream: upload },
      mode: 'full',
      force: false,
      actor: 'test',
    });
    await waitForRunning('busy');

    const slot = new Date('2030-01-02T03:00:00Z');
    expect(await b.fire(importTaskId('busy'), slot)).toBe('ran');
    upload.end();
    expect((await manual).status).toBe('applied');

    const skips = await skipsOf('busy');
    expect(skips).toHaveLength(1);
    expect(skips[0]).toMatchObject({
      type: 'import.skipped',
      catalog: 'busy',
      actor: 'schedule',
      data: { reason: 'busy', task: 'import:busy', slot: '2030-01-02T03:00:00.000Z' },
    });
    expect((await runsOf('busy')).filter((r) => r.actor === 'schedule')).toEqual([]);
  });
});

describe('two real serve processes on one PostgreSQL', () => {
  const children: ServeChild[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.child.kill('SIGKILL');
  });

  it('fire the same schedule: each firing imports once or is recorded as skipped, never two imports at once', {
    timeout: 180_000,
  }, async (ctx) => {
    ctx.skip(
      BACKEND !== 'postgres',
      'needs PostgreSQL (TEST_DATABASE_URL): two processes cannot share one PGlite store',
    );
    // The merchant's server takes 3 s to answer and the schedule fires every 2 s: firings
    // come while an import is under way, in one process or the other.
    const csv = await fs.promises.readFile(FEED);
    let inFlight = 0;
    let maxInFlight = 0;
    server.route('/shared.csv', async (_req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 3000));
      inFlight--;
      res.writeHead(200, { 'content-type': 'text/csv' }).end(csv);
    });
    await defineCatalog('shared', { source: { url: server.url('/shared.csv') }, schedule: '*/2 * * * * *' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedwright-two-serves-'));
    try {
      const env = (name: string) => ({
        DATABASE_URL: t.databaseUrl,
        DATA_DIR: path.join(dir, name),
        FEEDWRIGHT_API_KEY: 'two-serves-key',
        FEEDWRIGHT_ALLOW_PRIVATE_SOURCES: 'true',
        LOG_LEVEL: 'info',
      });
      // Started together: both catch up the catalog never imported, both fire every slot.
      const [a, b] = await Promise.all([startServe(env('a'), dir), startServe(env('b'), dir)]);
      children.push(a, b);
      const bothUp = Date.now();
      const deadline = bothUp + 60_000;
      for (;;) {
        const runs = await runsOf('shared');
        const skips = await skipsOf('shared');
        if (Date.now() - bothUp > 7000 && runs.some((r) => r.status === 'applied') && skips.length > 0) break;
        if (Date.now() > deadline)
          throw new Error(`no import and skip within 60 s: ${a.stderr()} ${b.stderr()}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      // A stopping process fires nothing new and finishes the import it runs.
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      expect(await Promise.all([a.exited, b.exited])).toEqual([
        { code: 0, signal: null },
        { code: 0, signal: null },
      ]);

      const claims = await claimsOf(importTaskId('shared'));
      const runs = (await runsOf('shared')).sort((x, y) => x.startedAt.localeCompare(y.startedAt));
      const skips = await skipsOf('shared');
      expect(runs.length).toBeGreaterThanOrEqual(1);
      expect(skips.length).toBeGreaterThanOrEqual(1);
      expect(runs.map((r) => [r.actor.startsWith('schedule'), r.status])).toEqual(
        runs.map(() => [true, 'applied']),
      );
      // Each claimed firing had one outcome, in one process: an import, or a recorded skip.
      // (The process that lost a claim records nothing: the claim is the firing's record.)
      expect(runs.length + skips.length).toBe(claims.length);
      const skippedSlots = skips.map((e) => (e.data as { slot: string }).slot);
      expect(new Set(skippedSlots).size).toBe(skippedSlots.length);
      for (const slot of skippedSlots) expect(claims).toContain(slot);
      for (const e of skips) expect(['busy', 'overlap']).toContain((e.data as { reason: string }).reason);
      // One request to the merchant per import, never two at once; the runs follow each other.
      expect(server.hits('/shared.csv')).toBe(runs.length);
      expect(maxInFlight).toBe(1);
      for (let i = 1; i < runs.length; i++) {
        expect(Date.parse(runs[i]?.startedAt ?? '')).toBeGreaterThanOrEqual(
          Date.parse(runs[i - 1]?.finishedAt ?? ''),
        );
      }
      // What each process logged adds up to the same imports.
      const finished = [a, b].flatMap((c) =>
        logLines(c.stdout()).filter((l) => l.msg === 'import finished' && l.catalog === 'shared'),
      );
      expect(finished.map((l) => l.run).sort()).toEqual(runs.map((r) => r.id).sort());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('one process', () => {
  it('records a firing skipped while its previous import still runs', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    server.route('/slow.csv', async (_req, res) => {
      await released;
      res.writeHead(200, { 'content-type': 'text/csv' }).end('SKU,Name,Price,Stock\nA,a,1.00,1\n');
    });
    await defineCatalog('slow', { source: { url: server.url('/slow.csv') } });
    await pastRun('slow', new Date());
    const s = newScheduler();
    await syncCatalogSchedules(store, s, context());
    const id = importTaskId('slow');

    const first = s.fire(id, new Date('2030-01-01T03:00:00Z'));
    await waitForRunning('slow');
    expect(await s.fire(id, new Date('2030-01-02T03:00:00Z'))).toBe('overlap');
    release();
    expect(await first).toBe('ran');

    expect((await runsOf('slow')).filter((r) => r.actor === 'schedule').map((r) => r.status)).toEqual([
      'applied',
    ]);
    const skips = await skipsOf('slow');
    expect(skips.map((e) => e.data)).toEqual([
      { reason: 'overlap', task: 'import:slow', slot: '2030-01-02T03:00:00.000Z' },
    ]);
    expect(skips[0]?.catalog).toBe('slow');
  });
});

describe('start-up catch-up', () => {
  it('runs at once a catalog whose last import started before its previous firing, not a fresh one', async () => {
    // Hourly; at 10:30 the previous firing was 10:00.
    const now = new Date('2030-06-01T10:30:00Z');
    await defineCatalog('stale', { schedule: '0 * * * *' });
    await defineCatalog('fresh', { schedule: '0 * * * *' });
    await defineCatalog('never', { schedule: '0 * * * *' });
    await pastRun('stale', new Date('2030-06-01T09:59:59Z'));
    await pastRun('fresh', new Date('2030-06-01T10:00:02Z'));
    // A stock push after the firing does not count as the scheduled import.
    await store.query({
      text: `INSERT INTO import_runs (catalog_id, status, mode, source, actor, started_at)
             VALUES ('stale', 'applied', 'partial', 'upload', 'api', $1)`,
      values: [new Date('2030-06-01T10:10:00Z')],
    });

    const s = newScheduler();
    const work = new BackgroundWork();
    await scheduleCatalogImports(store, s, work, true, context().log, { now: () => now });
    await work.drain();

    const catchUps = async (id: string) =>
      (await runsOf(id)).filter((r) => r.actor === 'schedule:catch-up').map((r) => r.status);
    expect(await catchUps('stale')).toEqual(['applied']);
    expect(await catchUps('never')).toEqual(['applied']);
    expect(await catchUps('fresh')).toEqual([]);
    // The catch-up claimed the missed slot: a process firing it late would not run it again.
    expect(await claimsOf('import:stale')).toEqual(['2030-06-01T10:00:00.000Z']);
    expect(await s.fire('import:stale', new Date('2030-06-01T10:00:00Z'))).toBe('claimed-elsewhere');
  });

  it('imports once a catalog with a source and no schedule that was never imported', async () => {
    await defineCatalog('unscheduled', { schedule: undefined });
    const a = newScheduler(store);
    const b = newScheduler(other);
    const [workA, workB] = [new BackgroundWork(), new BackgroundWork()];
    await Promise.all([
      scheduleCatalogImports(store, a, workA, true, context().log),
      scheduleCatalogImports(other, b, workB, true, context().log),
    ]);
    await Promise.all([workA.drain(), workB.drain()]);
    expect((await runsOf('unscheduled')).map((r) => r.actor)).toEqual(['startup']);
    expect(logs.map((l) => l.msg)).not.toContain('import skipped: another one is running');
    expect(a.list()).not.toContain(importTaskId('unscheduled'));
  });
});

describe('a changed schedule', () => {
  it('applies without a restart: added, replaced, removed, a bad one refused', async () => {
    await defineCatalog('moving');
    await pastRun('moving', new Date());
    const s = newScheduler();
    const work = new BackgroundWork();
    const schedules = await scheduleCatalogImports(store, s, work, true, context(work).log);
    const id = importTaskId('moving');
    expect(s.get(id)).toMatchObject({ schedule: '0 3 * * *', timezone: 'UTC' });

    await defineCatalog('moving', { schedule: '15 6 * * *', timezone: 'Europe/Paris' });
    expect(await schedules.sync()).toMatchObject({ added: [], replaced: ['moving'], removed: [] });
    expect(s.get(id)).toMatchObject({ schedule: '15 6 * * *', timezone: 'Europe/Paris' });
    expect(s.nextRun(id, new Date('2030-01-10T00:00:00Z'))?.toISOString()).toBe('2030-01-10T05:15:00.000Z');

    // The minute's own sync picks up a change made elsewhere (another process, a PUT).
    await defineCatalog('moving', { schedule: '45 7 * * 1' });
    expect(await s.fire('catalogs:sync-schedules', new Date())).toBe('ran');
    expect(s.get(id)).toMatchObject({ schedule: '45 7 * * 1', timezone: 'UTC' });
    // It runs in every process: not claimed, so firing the same slot again runs again.
    const at = new Date('2030-01-01T00:00:00Z');
    expect(await s.fire('catalogs:sync-schedules', at)).toBe('ran');
    expect(await s.fire('catalogs:sync-schedules', at)).toBe('ran');

    await defineCatalog('moving', { schedule: '45 7 * * 1', timezone: 'Mars/Olympus' });
    const refused = await schedules.sync();
    expect(refused.refused).toEqual([
      { catalog: 'moving', error: '"Mars/Olympus" is not a known time zone' },
    ]);
    expect(s.get(id)).toMatchObject({ schedule: '45 7 * * 1', timezone: 'UTC' });
    // Refused once, not again every minute.
    expect((await schedules.sync()).refused).toEqual([]);

    await defineCatalog('moving', { schedule: undefined });
    expect(await schedules.sync()).toMatchObject({ removed: ['moving'] });
    expect(s.list()).not.toContain(id);

    await defineCatalog('newcomer');
    await pastRun('newcomer', new Date());
    expect(await schedules.sync()).toMatchObject({ added: ['newcomer'], caughtUp: [] });
    expect(s.list()).toContain(importTaskId('newcomer'));
    await work.drain();
  });

  it('passes the time zone to the clock: 09:00 in Paris fires at 08:00 or 07:00 UTC', async () => {
    await defineCatalog('paris', { schedule: '0 9 * * *', timezone: 'Europe/Paris' });
    await pastRun('paris', new Date());
    const s = newScheduler();
    await syncCatalogSchedules(store, s, context());
    const id = importTaskId('paris');
    const now = new Date();
    const next = s.nextRun(id) as Date;
    expect(next.toISOString()).toBe(nextFiring('0 9 * * *', 'Europe/Paris', now)?.toISOString());
    expect([7, 8]).toContain(next.getUTCHours());
    expect(s.nextRun(id, new Date('2030-01-15T00:00:00Z'))?.toISOString()).toBe('2030-01-15T08:00:00.000Z');
    expect(previousFiring('0 9 * * *', 'Europe/Paris', new Date('2030-07-15T06:59:59Z'))?.toISOString()).toBe(
      '2030-07-14T07:00:00.000Z',
    );
  });
});

describe('claims', () => {
  it('are pruned after a week', async () => {
    const s = newScheduler();
    const old = new Date(Date.now() - 8 * 86_400_000);
    const recent = new Date(Date.now() - 3_600_000);
    expect(await s.claim('import:x', old)).toBe(true);
    expect(await s.claim('import:x', recent)).toBe(true);
    expect(await s.claim('import:x', recent)).toBe(false);
    s.add(claimPruningTask(s));
    expect(await s.fire('schedule:prune-claims', new Date())).toBe('ran');
    expect(await claimsOf('import:x')).toEqual([
      new Date(Math.floor(recent.getTime() / 1000) * 1000).toISOString(),
    ]);
  });
});
