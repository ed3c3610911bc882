import type { Queryable } from './types.js';

/**
 * Claims a scheduled firing (task, slot) once across every process sharing the store:
 * true for the one caller whose row went in.
 */
export async function claimSlot(db: Queryable, taskId: string, slot: Date): Promise<boolean> {
  const claimed = await db.query({
    text: 'INSERT INTO schedule_claims (task, slot) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING task',
    values: [taskId, slot],
  });
  return claimed.length > 0;
}

/** Deletes the claims of slots before `before`; returns how many. */
export async function deleteClaimsBefore(db: Queryable, before: Date): Promise<number> {
  const rows = await db.query<{ n: number }>({
    text: 'WITH gone AS (DELETE FROM schedule_claims WHERE slot < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone',
    values: [before],
  });
  return rows[0]?.n ?? 0;
}
