import { lockCatalog } from './catalogs.js';
import { hasProducts } from './products.js';
import { createStagedRange } from './staging.js';
import type { Queryable, Store } from './types.js';

/** Rows per COPY statement of an eager run: each is created in the catalog as soon as it is staged. */
export const EAGER_CHUNK_ROWS = 50_000;

/**
 * Eager runs at once in this process. Each holds a second pool connection for the whole
 * run (the pool has 10, shared with the API and the builds); more first imports at once
 * stage then apply, as later imports do.
 */
const MAX_EAGER_RUNS = 2;
let eagerRuns = 0;

/** Takes one of the eager slots, if one is free; `release` gives it back. */
export function takeEagerSlot(): { release: () => void } | undefined {
  if (eagerRuns >= MAX_EAGER_RUNS) return undefined;
  eagerRuns++;
  let released = false;
  return {
    release: () => {
      if (!released) eagerRuns--;
      released = true;
    },
  };
}

/** Undoes the transaction: the run was held, or its reading failed. */
class RolledBack extends Error {}

/**
 * The first full import into an empty catalog, on PostgreSQL, creates its products while the
 * feed is still being read: each COPY of `EAGER_CHUNK_ROWS` staged rows is handed to this
 * applier, which creates them (and their history) on a second connection, inside one
 * transaction that commits only once the whole feed was read and passed the safety gate.
 * The server's inserting thus runs while the client parses, instead of after it. The
 * catalog is still seen before or after the run, never half-way: a held, cut or killed run
 * rolls the transaction back, and its staged rows are kept as any run's (a held run can be
 * applied later from them). Over an existing catalog an import diffs first; this is for the
 * one case where every row is new.
 */
export class EagerApply {
  private readonly ranges: Array<{ after: number; upTo: number }> = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private failure: unknown;
  private created = 0;
  private readonly allCreated: Promise<number>;
  private resolveAllCreated!: (n: number) => void;
  private decide!: (finish: ((tx: Queryable) => Promise<unknown>) | undefined) => void;
  private readonly decision: Promise<((tx: Queryable) => Promise<unknown>) | undefined>;
  /** The finished transaction: what `finish` returned, or undefined when rolled back. */
  private readonly done: Promise<unknown>;

  constructor(
    store: Store,
    private readonly a: { table: string; catalogId: string; runId: number; actor: string },
  ) {
    this.allCreated = new Promise((resolve) => {
      this.resolveAllCreated = resolve;
    });
    this.decision = new Promise((resolve) => {
      this.decide = resolve;
    });
    this.done = store
      .session((s) => s.transaction((tx) => this.apply(tx)), { longRunning: true })
      .catch((err: unknown) => {
        if (err instanceof RolledBack) return undefined;
        this.failure = err;
        this.wake?.();
        throw err;
      });
    // The reader learns of a failure at its next `add` or at `created`; never unhandled.
    this.done.catch(() => {});
  }

  private async apply(tx: Queryable): Promise<unknown> {
    // The feed may arrive slowly (a linked URL, an upload): the transaction waits for it
    // (the session is long-running, so it has no statement timeout either). Each range is
    // read by the ord index in order (no bitmap scan, so no sort), and its statement is too
    // small for JIT compiling to pay.
    await tx.exec(`SET LOCAL idle_in_transaction_session_timeout = 0;
      SET LOCAL enable_bitmapscan = off; SET LOCAL jit = off`);
    // The import lock keeps other imports of the catalog out; the catalog's row is locked
    // only at the end, as every apply does, so orders and stock pushes are not held up.
    if (await hasProducts(tx, this.a.catalogId)) {
      throw new Error(`catalog "${this.a.catalogId}" is no longer empty: another process imported into it`);
    }
    for (;;) {
      const range = this.ranges.shift();
      if (range) {
        this.created += await createStagedRange(tx, this.a.table, { ...this.a, ...range });
        continue;
      }
      if (this.ended) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
    this.resolveAllCreated(this.created);
    const finish = await this.decision;
    if (!finish) throw new RolledBack();
    if (!(await lockCatalog(tx, this.a.catalogId))) {
      throw new Error(`catalog "${this.a.catalogId}" was deleted during its import`);
    }
    return finish(tx);
  }

  /** Rows `after < ord ≤ upTo` are staged (their COPY has committed). Throws once the applier failed. */
  add(after: number, upTo: number): void {
    if (this.failure !== undefined) throw this.failure;
    if (upTo > after) this.ranges.push({ after, upTo });
    this.wake?.();
  }

  /** No more rows: resolves with how many products were created (fewer than staged when skus repeat). */
  async end(): Promise<number> {
    this.ended = true;
    this.wake?.();
    return Promise.race([this.allCreated, this.done.then(() => this.created)]);
  }

  /**
   * Commits: runs `finish` in the transaction (the run's record, history); resolves with
   * what it returned, or undefined when the run was rolled back first.
   */
  commit<T>(finish: (tx: Queryable) => Promise<T>): Promise<T | undefined> {
    this.decide(finish);
    // `done` resolves with what the one `finish` decided on returned: this one's T.
    return this.done as Promise<T | undefined>;
  }

  /** Rolls everything back (the run was held or failed); resolves once the connection is free. */
  async rollback(): Promise<void> {
    this.ended = true;
    this.ranges.length = 0;
    this.decide(undefined);
    this.wake?.();
    await this.done.catch(() => {});
  }
}
