import path from 'node:path';
import type { Config } from '../config/config.js';
import { openPgStore } from './pg-store.js';
import { openPgliteStore } from './pglite-store.js';
import { acquireStoreLock, type StoreLock } from './store-lock.js';
import type { Store } from './types.js';

/** How a process opens the store. */
export interface OpenStoreOptions {
  /** Told of a dropped PostgreSQL connection. */
  onError?: (err: Error) => void;
  /**
   * The embedded store's lock, already taken (`serve` takes it first, with its credential).
   * Without one, the lock is taken here for `command`.
   */
  lock?: StoreLock;
  /** What the lock names as holder (`import`, `bench`…) when it is taken here. */
  command?: string;
}

/**
 * Opens the store the configuration asks for: PostgreSQL when DATABASE_URL is set,
 * otherwise PGlite persisted under DATA_DIR/pglite. The embedded store is this process's
 * alone while it is open: DATA_DIR/store.lock names it (StoreInUseError when another live
 * process holds it), and closing the store lets go of it.
 */
export async function openStore(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  options: OpenStoreOptions = {},
): Promise<Store> {
  if (config.databaseUrl) return openPgStore(config.databaseUrl, options.onError);
  const lock = options.lock ?? (await acquireStoreLock(config.dataDir, options.command ?? 'feedwright'));
  let store: Store;
  try {
    store = await openPgliteStore(path.join(config.dataDir, 'pglite'));
  } catch (err) {
    lock.release();
    throw err;
  }
  return {
    ...store,
    async close() {
      try {
        await store.close();
      } finally {
        lock.release();
      }
    },
  };
}

/** Whether the store answers: one trivial statement. */
export async function pingStore(store: Store): Promise<void> {
  await store.query({ text: 'SELECT 1' });
}
