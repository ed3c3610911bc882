import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Queryable, Session, SqlQuery, Store } from './types.js';

/** Timeouts of the pool: a statement or an idle transaction never hangs forever. */
export const PG_TIMEOUTS = {
  statementMs: 60_000,
  idleInTransactionMs: 120_000,
  connectMs: 10_000,
};

// Counts come back as int8; small enough to be JavaScript numbers everywhere we use them.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
// numeric stays a string in pg and PGlite alike; callers convert where they need to.

/**
 * PostgreSQL through a pg pool. The pool has an `error` listener so that a connection
 * dropped while idle never kills the process, and every connection has statement and
 * idle-in-transaction timeouts.
 */
export async function openPgStore(
  connectionString: string,
  onError: (err: Error) => void = () => {},
): Promise<Store> {
  const pool = new pg.Pool({
    connectionString,
    max: 10,
    connectionTimeoutMillis: PG_TIMEOUTS.connectMs,
    statement_timeout: PG_TIMEOUTS.statementMs,
    idle_in_transaction_session_timeout: PG_TIMEOUTS.idleInTransactionMs,
    application_name: 'feedwright',
  });
  pool.on('error', onError);
  // Every client, the probe included, gets the listener before it is used: a connection
  // dropped while checked out emits 'error' on the client, which would otherwise crash.
  pool.on('connect', (client: pg.PoolClient) => {
    client.on('error', onError);
  });
  // Fail fast when the server is not there.
  const probe = await pool.connect();
  probe.release();

  const transaction = async <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      return await runInTransaction(client, fn);
    } finally {
      client.release();
    }
  };

  return {
    kind: 'postgres',
    ...wrap(pool),
    transaction,
    async session(fn, options = {}) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        if (options.longRunning) await client.query('SET statement_timeout = 0');
        const s: Session = {
          ...wrap(client),
          async copyIn(copySql, chunks) {
            await pipeline(Readable.from(chunks), client.query(copyFrom(copySql)));
          },
          transaction: (inner) => runInTransaction(client, inner),
        };
        const result = await fn(s);
        if (options.longRunning) {
          // A connection lost during `fn` (which `fn` reported in its result, an import run
          // failed) cannot be reset: it is discarded, and the result still stands.
          await client.query('RESET statement_timeout').catch((err: unknown) => {
            broken = err instanceof Error ? err : new Error(String(err));
          });
        }
        return result;
      } catch (err) {
        broken = err instanceof Error ? err : new Error(String(err));
        throw err;
      } finally {
        // A session that failed may hold session state (locks, SET): do not reuse it.
        client.release(broken);
      }
    },
    async close() {
      await pool.end();
    },
  };
}

async function runInTransaction<T>(client: pg.ClientBase, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn(wrap(client));
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

function wrap(db: pg.Pool | pg.ClientBase): Queryable {
  return {
    async query<R>(q: SqlQuery) {
      const res = await db.query(q.text, q.values ? [...q.values] : []);
      return res.rows as R[];
    },
    async exec(sql: string) {
      await db.query(sql);
    },
  };
}
