import type { Queryable } from './types.js';

// The schema is part of the key so that test schemas on one server do not contend.
const IMPORT_KEY = "hashtext('feedwright.import:' || current_schema() || ':' || $1)";

/**
 * Takes the session advisory lock of a catalog's imports without waiting: true when taken.
 * The server releases it if the session's process dies.
 */
export async function tryImportLock(session: Queryable, catalogId: string): Promise<boolean> {
  const rows = await session.query<{ ok: boolean }>({
    text: `SELECT pg_try_advisory_lock(${IMPORT_KEY}) AS ok`,
    values: [catalogId],
  });
  return rows[0]?.ok === true;
}

/** Releases the lock taken by tryImportLock on the same session. */
export async function releaseImportLock(session: Queryable, catalogId: string): Promise<void> {
  await session.query({ text: `SELECT pg_advisory_unlock(${IMPORT_KEY})`, values: [catalogId] });
}

// The schema is part of the key so that test schemas on one server do not contend.
const PUBLISH_KEY = "hashtext('feedwright.publish:' || current_schema() || ':' || $1)";

/**
 * Takes the session advisory lock of a channel's builds without waiting: true when taken.
 * The server releases it if the session's process dies.
 */
export async function tryPublishLock(session: Queryable, channelId: string): Promise<boolean> {
  const rows = await session.query<{ ok: boolean }>({
    text: `SELECT pg_try_advisory_lock(${PUBLISH_KEY}) AS ok`,
    values: [channelId],
  });
  return rows[0]?.ok === true;
}

/** Releases the lock taken by tryPublishLock on the same session. */
export async function releasePublishLock(session: Queryable, channelId: string): Promise<void> {
  await session.query({ text: `SELECT pg_advisory_unlock(${PUBLISH_KEY})`, values: [channelId] });
}
