import { AppError } from '../errors.js';
import { releaseImportLock, tryImportLock } from '../store/locks.js';
import type { Session } from '../store/types.js';

const localBusy = new Set<string>();

/**
 * Runs `fn` while holding the catalog's import lock: one import per catalog at a time,
 * in this process (a set) and across processes sharing a PostgreSQL server (a session
 * advisory lock, released by the server if the process dies).
 */
export async function withImportLock<T>(
  session: Session,
  catalogId: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (localBusy.has(catalogId)) {
    throw new AppError('IMPORT_BUSY', `an import of catalog ${catalogId} is already running`);
  }
  localBusy.add(catalogId);
  try {
    if (!(await tryImportLock(session, catalogId))) {
      throw new AppError('IMPORT_BUSY', `an import of catalog ${catalogId} is already running`);
    }
    try {
      return await fn();
    } finally {
      await releaseImportLock(session, catalogId).catch(() => {});
    }
  } finally {
    localBusy.delete(catalogId);
  }
}

/** Whether some process holds the catalog's import lock right now. */
export async function isImportLocked(session: Session, catalogId: string): Promise<boolean> {
  if (localBusy.has(catalogId)) return true;
  const free = await tryImportLock(session, catalogId);
  if (free) await releaseImportLock(session, catalogId);
  return !free;
}
