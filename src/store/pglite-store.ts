import fs from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Queryable, Session, SqlQuery, Store } from './types.js';

/**
 * The embedded store: PostgreSQL compiled to WASM, persisted in a folder. PGlite has a
 * single connection; it serialises statements and transactions itself, so a "session"
 * is the database object and COPY is fed one chunk (a Blob) at a time.
 */
/** The embedded store, which can also be dumped whole (the test suite starts stores from a dump). */
export interface PgliteStore extends Store {
  /** The whole data folder as a tarball, for `openPgliteStore`'s `loadDataDir`. */
  dumpDataDir(): Promise<Blob>;
}

export async function openPgliteStore(
  dataDir: string | undefined,
  options: { loadDataDir?: Blob } = {},
): Promise<PgliteStore> {
  if (dataDir) fs.mkdirSync(dataDir, { recursive: true });
  // `loadDataDir` starts from a dump of another store (dumpPgliteStore) instead of an empty
  // cluster: seconds less than creating one, which the test suite does once per file.
  const db = await PGlite.create(dataDir, options.loadDataDir ? { loadDataDir: options.loadDataDir } : {});
  const base = wrap(db);

  const session: Session = {
    ...base,
    async copyIn(copySql, chunks) {
      for await (const chunk of chunks) {
        if (chunk.length === 0) continue;
        await db.query(copySql.replace(/FROM\s+STDIN/i, "FROM '/dev/blob'"), [], { blob: new Blob([chunk]) });
      }
    },
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
  };

  return {
    kind: 'pglite',
    ...base,
    dumpDataDir: async () => db.dumpDataDir('none'),
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    session: (fn) => fn(session),
    async close() {
      if (!db.closed) await db.close();
    },
  };
}

function wrap(db: PGlite | Transaction): Queryable {
  return {
    async query<R>(q: SqlQuery) {
      const res = await db.query<R>(q.text, q.values ? [...q.values] : []);
      return res.rows;
    },
    async exec(sql: string) {
      await db.exec(sql);
    },
  };
}
