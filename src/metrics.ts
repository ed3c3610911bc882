import type { Store } from './store/types.js';

/**
 * Something the pipeline did that an operator counts (GET /metrics): an import run ended,
 * a feed build ended, an order sold units the ledger did not have.
 */
export type OperationEvent =
  | {
      type: 'import';
      catalog: string;
      /** How the run ended: applied, held, not_modified or failed. */
      status: string;
      /** Valid rows of the feed (they reach the catalog when the run is applied). */
      validRows: number;
    }
  | { type: 'build'; channel: string; ok: true; seconds: number }
  | { type: 'build'; channel: string; ok: false }
  | { type: 'oversell'; catalog: string; channel: string; units: number };

type Watcher = (event: OperationEvent) => void;

// Keyed by store: an app counts what happens in its own store, so several apps in one
// process (the tests) never count each other's work.
const watchers = new WeakMap<Store, Set<Watcher>>();

/**
 * Tells whoever watches this store what happened. Costs nothing when nobody watches (the
 * command line); a watcher's failure never reaches the work that reported.
 */
export function reportOperation(store: Store, event: OperationEvent): void {
  const set = watchers.get(store);
  if (!set) return;
  for (const watch of set) {
    try {
      watch(event);
    } catch {
      // Metrics are best effort.
    }
  }
}

/** Watches what is done through a store; returns the function that stops watching. */
export function watchOperations(store: Store, watch: Watcher): () => void {
  let set = watchers.get(store);
  if (!set) {
    set = new Set();
    watchers.set(store, set);
  }
  set.add(watch);
  return () => {
    set.delete(watch);
  };
}
