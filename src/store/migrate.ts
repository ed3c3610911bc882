import fs from 'node:fs/promises';
import path from 'node:path';
import { MIGRATIONS_DIR } from '../config/config.js';
import type { Store } from './types.js';

/** A numbered migration file, `000001_init.sql`. */
export interface Migration {
  id: number;
  name: string;
  sql: string;
}

const MIGRATION_FILE = /^(\d{6})_([a-z0-9_-]+)\.sql$/;
// Any fixed number: it serialises concurrent migrators across processes.
const MIGRATION_LOCK = 727_310_001;

/** Reads the migration files in order; a malformed name is an error, not a skip. */
export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const out: Migration[] = [];
  for (const file of files) {
    const m = MIGRATION_FILE.exec(file);
    if (!m?.[1] || !m[2])
      throw new Error(`${path.join(dir, file)}: migration files are named 000001_name.sql`);
    const id = Number(m[1]);
    if (out.some((x) => x.id === id))
      throw new Error(`${path.join(dir, file)}: migration number ${id} is used twice`);
    out.push({ id, name: m[2], sql: await fs.readFile(path.join(dir, file), 'utf8') });
  }
  return out;
}

/**
 * Brings the schema up to date. Each migration runs in its own transaction together
 * with its row in `feedwright_migrations`; running it again does nothing.
 * Returns the migrations applied by this call.
 */
export async function migrate(store: Store, dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const migrations = await readMigrations(dir);
  await store.exec(`CREATE TABLE IF NOT EXISTS feedwright_migrations (
    id integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  const applied: Migration[] = [];
  for (const m of migrations) {
    const done = await store.transaction(async (tx) => {
      await tx.query({ text: 'SELECT pg_advisory_xact_lock($1)', values: [MIGRATION_LOCK] });
      const seen = await tx.query({
        text: 'SELECT 1 FROM feedwright_migrations WHERE id = $1',
        values: [m.id],
      });
      if (seen.length > 0) return false;
      await tx.exec(m.sql);
      await tx.query({
        text: 'INSERT INTO feedwright_migrations (id, name) VALUES ($1, $2)',
        values: [m.id, m.name],
      });
      return true;
    });
    if (done) applied.push(m);
  }
  return applied;
}
