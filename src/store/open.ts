import path from 'node:path';
import type { Config } from '../config/config.js';
import { openPgStore } from './pg-store.js';
import { openPgliteStore } from './pglite-store.js';
import type { Store } from './types.js';

/**
 * Opens the store the configuration asks for: PostgreSQL when DATABASE_URL is set,
 * otherwise PGlite persisted under DATA_DIR/pglite.
 */
export async function openStore(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  onError?: (err: Error) => void,
): Promise<Store> {
  if (config.databaseUrl) return openPgStore(config.databaseUrl, onError);
  return openPgliteStore(path.join(config.dataDir, 'pglite'));
}

/** Whether the store answers: one trivial statement. */
export async function pingStore(store: Store): Promise<void> {
  await store.query({ text: 'SELECT 1' });
}
