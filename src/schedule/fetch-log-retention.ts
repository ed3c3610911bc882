import { pruneFetches } from '../store/fetches.js';
import type { Store } from '../store/types.js';
import type { TaskDefinition } from './scheduler.js';

/**
 * The fetch log's retention, as a scheduled task (hourly, once across processes): fetches
 * older than `days` leave the log for its hourly counts, which the charts read on.
 */
export function fetchLogRetentionTask(
  store: Store,
  days: number,
  onPruned?: (moved: number) => void,
): TaskDefinition {
  return {
    id: 'fetch-log-retention',
    schedule: '17 * * * *',
    preventOverlap: true,
    run: async (firing) => {
      const moved = await pruneFetches(store, new Date(firing.slot.getTime() - days * 86_400_000));
      if (moved > 0) onPruned?.(moved);
    },
  };
}
