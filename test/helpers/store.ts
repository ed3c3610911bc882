import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate, readMigrations } from '../../src/store/migrate.js';
import { openPgStore } from '../../src/store/pg-store.js';
import { openPgliteStore } from '../../src/store/pglite-store.js';
import type { Store } from '../../src/store/types.js';

// PGlite's version is in the dump's name: a dump is read only by the PGlite that wrote it.
const PGLITE_VERSION: string = JSON.parse(
  fs.readFileSync(
    path.resolve(import.meta.dirname, '../../node_modules/@electric-sql/pglite/package.json'),
    'utf8',
  ),
).version;

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
    // A store migrated by this repository's migrations starts from a dump of one (a second
    // instead of the four an empty cluster takes); a test of a migration starts afresh.
    const template = opts.migrationsDir === undefined ? await migratedTemplate() : undefined;
    const store = await openPgliteStore(undefined, template ? { loadDataDir: template } : {});
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
  // Its connections are told apart in pg_stat_activity by the schema's name.
  url.searchParams.set('application_name', schema);
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

let template: Promise<Blob> | undefined;

/**
 * A dump of an empty PGlite store with every migration applied, made once and kept in the
 * system's temporary folder under a name that changes with the migrations and PGlite's
 * version, so that the suite's workers (separate processes) make it once between them.
 */
function migratedTemplate(): Promise<Blob> {
  template ??= (async () => {
    const migrations = await readMigrations();
    const hash = createHash('sha256')
      .update(PGLITE_VERSION)
      .update(JSON.stringify(migrations.map((m) => [m.id, m.sql])))
      .digest('hex')
      .slice(0, 16);
    const file = path.join(os.tmpdir(), `feedwright-test-pglite-${hash}.tar`);
    try {
      return new Blob([await fs.promises.readFile(file)]);
    } catch {
      const store = await openPgliteStore(undefined);
      await migrate(store);
      const dump = await store.dumpDataDir();
      await store.close();
      // Written aside and renamed: a worker never reads half a dump.
      const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
      await fs.promises.writeFile(partial, Buffer.from(await dump.arrayBuffer()));
      await fs.promises.rename(partial, file);
      return dump;
    }
  })();
  return template;
}
