import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../src/store/migrate.js';
import { openPgStore } from '../../src/store/pg-store.js';
import { openPgliteStore } from '../../src/store/pglite-store.js';
import type { Store } from '../../src/store/types.js';

/** Which backend this vitest project runs against (see vitest.config.ts). */
export const BACKEND = process.env.FEEDWRIGHT_TEST_BACKEND === 'postgres' ? 'postgres' : 'pglite';

/** A migrated, empty store of the project's backend, and how to drop it. */
export interface TestStore {
  store: Store;
  /** Connection string of the test's own schema (postgres) or undefined (PGlite in memory). */
  databaseUrl: string | undefined;
  cleanup: () => Promise<void>;
}

/**
 * Opens a fresh store: an in-memory PGlite, or a new schema on TEST_DATABASE_URL so that
 * test files running in parallel never see each other's rows. `migrationsDir` migrates it
 * with another folder of migrations (a test of a migration starts from the ones before it).
 */
export async function openTestStore(opts: { migrationsDir?: string } = {}): Promise<TestStore> {
  if (BACKEND === 'pglite') {
    const store = await openPgliteStore(undefined);
    await migrate(store, opts.migrationsDir);
    return { store, databaseUrl: undefined, cleanup: () => store.close() };
  }
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error('TEST_DATABASE_URL is not set');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const databaseUrl = url.toString();
  const store = await openPgStore(databaseUrl);
  await migrate(store, opts.migrationsDir);
  return {
    store,
    databaseUrl,
    cleanup: async () => {
      await store.close();
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}
