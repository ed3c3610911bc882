import { AppError } from '../errors.js';
import { runImport } from '../import/run.js';
import { listCatalogs, type StoredCatalog } from '../store/catalogs.js';
import { type HistoryType, recordHistory } from '../store/history.js';
import { lastAppliedRunId, lastFullImportStart } from '../store/imports.js';
import type { Store } from '../store/types.js';
import { DEFAULT_TIME_ZONE, previousFiring } from './cron-time.js';
import { claimPruningTask, type Firing, type Scheduler } from './scheduler.js';

/** Reports what background imports did, for the service log. */
export type ImportLog = (msg: string, fields: Record<string, unknown>) => void;

/** Tracks background work so that shutdown can wait for it. */
export class BackgroundWork {
  private readonly pending = new Set<Promise<unknown>>();

  /** Starts `fn` in the background, remembers it until it settles, and returns its promise. */
  track<T>(fn: () => Promise<T>): Promise<T> {
    const p = fn().finally(() => this.pending.delete(p));
    this.pending.add(p);
    return p;
  }

  /** Waits for everything started so far. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

/** What scheduled imports need besides the store and the scheduler. */
export interface CatalogImportContext {
  work: BackgroundWork;
  /** Lets linked URLs reach private addresses (FEEDWRIGHT_ALLOW_PRIVATE_SOURCES). */
  allowPrivateSources: boolean;
  log: ImportLog;
  /** The clock that decides which firing was missed; the real one by default. */
  now?: () => Date;
  /** Told after each scheduled import that applied (channel feeds may be stale now). */
  onApplied?: (catalogId: string) => void;
}

/** What a reconciliation of the schedules with the stored catalogs did. */
export interface ScheduleSync {
  /** Catalogs newly scheduled. */
  added: string[];
  /** Catalogs whose schedule or time zone changed. */
  replaced: string[];
  /** Catalogs no longer scheduled (deleted, or without a source or schedule now). */
  removed: string[];
  /** Catalogs whose schedule could not be used; their previous schedule, if any, stays. */
  refused: { catalog: string; error: string }[];
  /** Newly scheduled catalogs whose last import is older than their previous firing: run now. */
  caughtUp: string[];
}

/** The handle `scheduleCatalogImports` returns. */
export interface CatalogSchedules {
  /** Reconciles this process's schedules with the stored catalogs now (after apply or PUT). */
  sync(): Promise<ScheduleSync>;
}

/** The id of a catalog's import task. */
export const importTaskId = (catalogId: string) => `import:${catalogId}`;
const IMPORT_TASK_PREFIX = 'import:';

/** How often each process re-reads the catalogs, so a change made elsewhere applies. */
export const SCHEDULE_SYNC_CRON = '* * * * *';
const SYNC_TASK_ID = 'catalogs:sync-schedules';

/**
 * Declares one import task per catalog that has a source and a schedule, runs at once the
 * firings missed while no process was up (a catalog whose last import started before its
 * previous firing, or never imported), starts a first import for catalogs with a source
 * but no schedule that were never imported (so a fresh install shows its example catalog
 * at once), and re-reads the catalogs every minute so that a changed schedule applies
 * without a restart. Each of these runs once across the processes sharing the store.
 */
export async function scheduleCatalogImports(
  store: Store,
  scheduler: Scheduler,
  work: BackgroundWork,
  allowPrivateSources: boolean,
  log: ImportLog,
  options: { now?: () => Date; onApplied?: (catalogId: string) => void } = {},
): Promise<CatalogSchedules> {
  const ctx: CatalogImportContext = {
    work,
    allowPrivateSources,
    log,
    now: options.now,
    onApplied: options.onApplied,
  };
  const sync = () => syncCatalogSchedules(store, scheduler, ctx);
  const first = await sync();
  if (first.refused.length > 0) log('schedules refused', { refused: first.refused });

  for (const { id, definition, createdAt } of await listCatalogs(store)) {
    if (!definition.source || definition.schedule) continue;
    if ((await lastAppliedRunId(store, id)) !== null) continue;
    // Named by the catalog's creation, so that processes starting together import it once.
    if (await scheduler.claim(importTaskId(id), new Date(createdAt))) {
      work.track(() => importCatalog(store, ctx, id, 'startup'));
    }
  }

  scheduler.add({
    id: SYNC_TASK_ID,
    schedule: SCHEDULE_SYNC_CRON,
    preventOverlap: true,
    everyProcess: true,
    run: async () => {
      const r = await sync();
      if (r.added.length + r.replaced.length + r.removed.length + r.refused.length > 0) {
        log('schedules changed', { ...r });
      }
    },
  });
  scheduler.add(claimPruningTask(scheduler));
  return { sync };
}

/** Serialises reconciliations per scheduler: a PUT and the minute's sync may meet. */
const syncing = new WeakMap<Scheduler, Promise<unknown>>();
/** Per scheduler, the (schedule, time zone) last refused per catalog: refused once, logged once. */
const refusedKeys = new WeakMap<Scheduler, Map<string, string>>();

/**
 * Reconciles the scheduler's import tasks with the stored catalog definitions: adds the
 * new ones, replaces those whose schedule or time zone changed, removes those gone. A
 * newly added catalog whose last import started before its previous firing (or that was
 * never imported) runs at once, once across the processes: the missed firing is claimed
 * under the same slot the clock would have used. Call it after definitions change; each
 * process also calls it every minute.
 */
export function syncCatalogSchedules(
  store: Store,
  scheduler: Scheduler,
  ctx: CatalogImportContext,
): Promise<ScheduleSync> {
  const previous = syncing.get(scheduler) ?? Promise.resolve();
  const next = previous.catch(() => {}).then(() => reconcile(store, scheduler, ctx));
  syncing.set(scheduler, next);
  return next;
}

async function reconcile(
  store: Store,
  scheduler: Scheduler,
  ctx: CatalogImportContext,
): Promise<ScheduleSync> {
  const result: ScheduleSync = { added: [], replaced: [], removed: [], refused: [], caughtUp: [] };
  const refused = refusedKeys.get(scheduler) ?? new Map<string, string>();
  refusedKeys.set(scheduler, refused);
  const wanted = new Set<string>();

  for (const catalog of await listCatalogs(store)) {
    const plan = importPlan(catalog);
    if (!plan) continue;
    const taskId = importTaskId(catalog.id);
    wanted.add(taskId);
    const current = scheduler.get(taskId);
    if (current && current.schedule === plan.schedule && current.timezone === plan.timezone) {
      refused.delete(catalog.id);
      continue;
    }
    const key = `${plan.schedule} ${plan.timezone}`;
    if (refused.get(catalog.id) === key) continue;
    try {
      scheduler.add({
        id: taskId,
        schedule: plan.schedule,
        timezone: plan.timezone,
        preventOverlap: true,
        // Tracked, so that shutdown waits for a scheduled import as for any other.
        run: (firing) => ctx.work.track(() => importCatalog(store, ctx, catalog.id, actorOf(firing), firing)),
        onSkipped: (firing, reason) => recordSkip(store, catalog.id, firing, reason),
      });
    } catch (err) {
      refused.set(catalog.id, key);
      result.refused.push({ catalog: catalog.id, error: (err as Error).message });
      continue;
    }
    refused.delete(catalog.id);
    if (current) {
      result.replaced.push(catalog.id);
      continue;
    }
    result.added.push(catalog.id);
    const now = ctx.now?.() ?? new Date();
    const missed = previousFiring(plan.schedule, plan.timezone, now);
    if (!missed) continue;
    const last = await lastFullImportStart(store, catalog.id);
    if (last === null || last < missed) {
      result.caughtUp.push(catalog.id);
      ctx.work.track(() => scheduler.fire(taskId, missed, 'catch-up'));
    }
  }

  for (const taskId of scheduler.list()) {
    if (!taskId.startsWith(IMPORT_TASK_PREFIX) || wanted.has(taskId)) continue;
    scheduler.remove(taskId);
    result.removed.push(taskId.slice(IMPORT_TASK_PREFIX.length));
  }
  for (const id of refused.keys()) {
    if (!wanted.has(importTaskId(id))) refused.delete(id);
  }
  return result;
}

/** The schedule of a catalog's imports, or undefined when it has none (or no source). */
function importPlan(catalog: StoredCatalog): { schedule: string; timezone: string } | undefined {
  const def = catalog.definition;
  if (!def.source || !def.schedule) return undefined;
  // `timezone` joins the definition schema; read it loosely until then.
  const timezone = def.timezone ?? DEFAULT_TIME_ZONE;
  return { schedule: def.schedule, timezone };
}

const actorOf = (firing: Firing) => (firing.reason === 'catch-up' ? 'schedule:catch-up' : 'schedule');

/**
 * Imports a catalog from its source. An import already running (here or in another
 * process) makes this firing a skipped one, recorded in history with the catalog.
 */
async function importCatalog(
  store: Store,
  ctx: CatalogImportContext,
  catalogId: string,
  actor: string,
  firing?: Firing,
): Promise<void> {
  const where = firing ? { task: firing.taskId, slot: firing.slot.toISOString() } : {};
  try {
    const run = await runImport(store, {
      catalogId,
      input: { kind: 'default' },
      mode: 'full',
      force: false,
      actor,
      allowPrivateSources: ctx.allowPrivateSources,
    });
    ctx.log('import finished', {
      catalog: catalogId,
      actor,
      run: run.id,
      status: run.status,
      counts: run.counts,
    });
    if (run.status === 'applied') ctx.onApplied?.(catalogId);
  } catch (err) {
    if (err instanceof AppError && err.code === 'IMPORT_BUSY') {
      ctx.log('import skipped: another one is running', { catalog: catalogId, ...where });
      if (firing) await recordSkip(store, catalogId, firing, 'busy');
    } else {
      ctx.log('import could not start', { catalog: catalogId, ...where, error: (err as Error).message });
    }
  }
}

/** The history type of a firing that ran no import (cast until it joins HistoryType). */
const IMPORT_SKIPPED: HistoryType = 'import.skipped';

/** Why a scheduled import did not run: another import of the catalog, or its previous run. */
export type ImportSkipReason = 'busy' | 'overlap';

async function recordSkip(store: Store, catalogId: string, firing: Firing, reason: ImportSkipReason) {
  await recordHistory(store, {
    type: IMPORT_SKIPPED,
    catalogId,
    actor: actorOf(firing),
    data: { reason, task: firing.taskId, slot: firing.slot.toISOString() },
  });
}
