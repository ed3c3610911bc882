import { AppError } from '../errors.js';
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
    const got = await session.query<{ ok: boolean }>(tryLock(catalogId));
    if (!got[0]?.ok)
      throw new AppError('IMPORT_BUSY', `an import of catalog ${catalogId} is already running`);
    try {
      return await fn();
    } finally {
      await session.query(unlock(catalogId)).catch(() => {});
    }
  } finally {
    localBusy.delete(catalogId);
  }
}

/** Whether some process holds the catalog's import lock right now. */
export async function isImportLocked(session: Session, catalogId: string): Promise<boolean> {
  if (localBusy.has(catalogId)) return true;
  const got = await session.query<{ ok: boolean }>(tryLock(catalogId));
  if (got[0]?.ok) await session.query(unlock(catalogId));
  return !got[0]?.ok;
}

// The schema is part of the key so that test schemas on one server do not contend.
const key = "hashtext('feedwright.import:' || current_schema() || ':' || $1)";
const tryLock = (id: string) => ({ text: `SELECT pg_try_advisory_lock(${key}) AS ok`, values: [id] });
const unlock = (id: string) => ({ text: `SELECT pg_advisory_unlock(${key})`, values: [id] });
