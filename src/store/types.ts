/** A parameterised SQL statement; all query text lives in store/ modules as such objects. */
export interface SqlQuery {
  text: string;
  values?: readonly unknown[];
}

/** Anything that runs statements: the store, a transaction, or a dedicated session. */
export interface Queryable {
  /** Runs one statement and returns its rows. */
  query<R = Record<string, unknown>>(q: SqlQuery): Promise<R[]>;
  /** Runs several statements separated by `;` (no parameters), as migrations need. */
  exec(sql: string): Promise<void>;
}

/** One connection held for a while: for COPY, session advisory locks, and long work. */
export interface Session extends Queryable {
  /**
   * Streams rows into `COPY … FROM STDIN` (text format). Each chunk is a string of
   * complete lines; memory stays bounded because chunks are consumed as produced.
   */
  copyIn(copySql: string, chunks: AsyncIterable<string>): Promise<void>;
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
}

/** The one query interface over PGlite and PostgreSQL. */
export interface Store extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Lends a dedicated session for the duration of `fn`. A `longRunning` session (an import
   * streaming a large feed) has no statement timeout: its COPY lasts as long as the feed.
   */
  session<T>(fn: (s: Session) => Promise<T>, options?: { longRunning?: boolean }): Promise<T>;
  close(): Promise<void>;
}
