import { runImport } from '../catalog/import-run.js';
import { AppError } from '../errors.js';
import { listCatalogs } from '../store/catalogs.js';
import { lastAppliedRunId } from '../store/imports.js';
import type { Store } from '../store/types.js';
import type { Scheduler } from './scheduler.js';

/** Reports what background imports did, for the service log. */
export type ImportLog = (msg: string, fields: Record<string, unknown>) => void;

/** Tracks background work so that shutdown can wait for it. */
export class BackgroundWork {
  private readonly pending = new Set<Promise<unknown>>();

  /** Starts `fn` in the background and remembers it until it settles. */
  track(fn: () => Promise<unknown>): void {
    const p = fn().finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  /** Waits for everything started so far. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

/**
 * Declares one import task per catalog that has a source and a schedule, and starts a
 * first import for catalogs with a source that were never imported (so a fresh
 * install shows its example catalog at once).
 */
export async function scheduleCatalogImports(
  store: Store,
  scheduler: Scheduler,
  work: BackgroundWork,
  allowPrivateSources: boolean,
  log: ImportLog,
): Promise<void> {
  const importNow = async (catalogId: string, actor: string) => {
    try {
      const run = await runImport(store, {
        catalogId,
        input: { kind: 'default' },
        mode: 'full',
        force: false,
        actor,
        allowPrivateSources,
      });
      log('import finished', { catalog: catalogId, run: run.id, status: run.status, counts: run.counts });
    } catch (err) {
      if (err instanceof AppError && err.code === 'IMPORT_BUSY') {
        log('import skipped: another one is running', { catalog: catalogId });
      } else log('import could not start', { catalog: catalogId, error: (err as Error).message });
    }
  };
  for (const { id, definition } of await listCatalogs(store)) {
    if (!definition.source) continue;
    if (definition.schedule) {
      scheduler.add({
        id: `import:${id}`,
        schedule: definition.schedule,
        preventOverlap: true,
        run: () => importNow(id, 'schedule'),
      });
    }
    if ((await lastAppliedRunId(store, id)) === null) work.track(() => importNow(id, 'startup'));
  }
}
