/** The fetch log (channel_fetches) and its hourly counts (channel_fetch_hours): writing, pruning, reading and statistics. */
import type { Queryable } from './types.js';

/** One request for a channel's feed URL. */
export interface FeedFetch {
  channel: string;
  at: Date;
  /** GET, or HEAD (the headers only: the client takes no version). */
  method: 'GET' | 'HEAD';
  status: number;
  bytes: number;
  version: number | null;
  encoding: string | null;
  userAgent: string | null;
  address: string | null;
}

/** Appends a batch of fetches in one statement. */
export async function insertFetches(db: Queryable, fetches: readonly FeedFetch[]): Promise<void> {
  if (fetches.length === 0) return;
  await db.query({
    text: `INSERT INTO channel_fetches (channel_id, at, status, bytes, version, encoding, user_agent, address, method)
           SELECT f.channel_id, f.at, f.status, f.bytes, f.version, f.encoding, f.user_agent, f.address, f.method
           FROM unnest($1::text[], $2::timestamptz[], $3::smallint[], $4::bigint[], $5::int[],
                       $6::text[], $7::text[], $8::text[], $9::text[]) WITH ORDINALITY
                  AS f (channel_id, at, status, bytes, version, encoding, user_agent, address, method, n)
           -- A channel removed since the fetch was served has no log to write to.
           WHERE EXISTS (SELECT 1 FROM channels c WHERE c.id = f.channel_id)
           -- Ids in the order the fetches were served: the log reads newest first by id.
           ORDER BY f.n`,
    values: [
      fetches.map((f) => f.channel),
      fetches.map((f) => f.at),
      fetches.map((f) => f.status),
      fetches.map((f) => f.bytes),
      fetches.map((f) => f.version),
      fetches.map((f) => f.encoding),
      fetches.map((f) => f.userAgent),
      fetches.map((f) => f.address),
      fetches.map((f) => f.method),
    ],
  });
}

/** Fetches of one kind in one UTC hour, counted rather than kept one by one. */
export interface FetchHour {
  channel: string;
  /** The start of the hour (UTC). */
  hour: Date;
  /** The HTTP status (`"404"`), or `"head"` for a HEAD answered 200. */
  kind: string;
  fetches: number;
  bytes: number;
}

/** Adds counts to the hourly fetch counts, in one statement. */
export async function addFetchHours(db: Queryable, hours: readonly FetchHour[]): Promise<void> {
  if (hours.length === 0) return;
  await db.query({
    text: `INSERT INTO channel_fetch_hours AS h (channel_id, hour, kind, fetches, bytes)
           SELECT u.channel_id, u.hour, u.kind, u.fetches, u.bytes
           FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::bigint[], $5::bigint[])
                  AS u (channel_id, hour, kind, fetches, bytes)
           WHERE EXISTS (SELECT 1 FROM channels c WHERE c.id = u.channel_id)
           ON CONFLICT (channel_id, hour, kind)
             DO UPDATE SET fetches = h.fetches + excluded.fetches, bytes = h.bytes + excluded.bytes`,
    values: [
      hours.map((h) => h.channel),
      hours.map((h) => h.hour),
      hours.map((h) => h.kind),
      hours.map((h) => h.fetches),
      hours.map((h) => h.bytes),
    ],
  });
}

/** Fetches rolled up per prune statement: a long-neglected log is pruned in bounded steps. */
const PRUNE_BATCH = 50_000;

/**
 * Moves the fetches served before `before` from the log into its hourly counts (kept for the
 * charts) and returns how many it moved. Each step deletes a batch and counts what it deleted
 * in the same statement, so two processes pruning at once never count a fetch twice.
 */
export async function pruneFetches(db: Queryable, before: Date): Promise<number> {
  let moved = 0;
  for (;;) {
    const rows = await db.query<{ n: number | string }>({
      text: `WITH gone AS (
               DELETE FROM channel_fetches WHERE id IN
                 (SELECT id FROM channel_fetches WHERE at < $1 ORDER BY id LIMIT $2)
               RETURNING channel_id, at, status, method, bytes
             ), counted AS (
               INSERT INTO channel_fetch_hours AS h (channel_id, hour, kind, fetches, bytes)
               SELECT channel_id, date_trunc('hour', at, 'UTC'),
                      CASE WHEN status = 200 AND method = 'HEAD' THEN 'head' ELSE status::text END,
                      count(*), coalesce(sum(bytes), 0)
               FROM gone GROUP BY 1, 2, 3
               ON CONFLICT (channel_id, hour, kind)
                 DO UPDATE SET fetches = h.fetches + excluded.fetches, bytes = h.bytes + excluded.bytes
             )
             SELECT count(*) AS n FROM gone`,
      values: [before, PRUNE_BATCH],
    });
    const n = Number(rows[0]?.n ?? 0);
    moved += n;
    if (n < PRUNE_BATCH) return moved;
  }
}

/** A channel's fetches newest first, before id `before`; limit + 1 rows tell if more follow. */
export async function listFetches(
  db: Queryable,
  channelId: string,
  opts: { before?: number; since?: Date; limit: number },
): Promise<{ fetches: Array<Omit<FeedFetch, 'at'> & { id: number; at: string }>; next: number | null }> {
  const rows = await db.query<FetchSummaryRow & { id: number | string }>({
    text: `SELECT id, at, method, status, bytes, version, encoding, user_agent, address FROM channel_fetches
           WHERE channel_id = $1 AND ($2::bigint IS NULL OR id < $2) AND ($3::timestamptz IS NULL OR at >= $3)
           ORDER BY id DESC LIMIT $4`,
    values: [channelId, opts.before ?? null, opts.since ?? null, opts.limit + 1],
  });
  const page = rows
    .slice(0, opts.limit)
    .map((r) => ({ id: Number(r.id), channel: channelId, ...toFetchSummary(r) }));
  return { fetches: page, next: rows.length > opts.limit ? (page.at(-1)?.id ?? null) : null };
}

/** A fetch as the dashboard's summaries show it: its time as ISO text, its channel known. */
export type FetchSummary = Omit<FeedFetch, 'channel' | 'at'> & { at: string };

/** A channel's newest fetch, and its newest fetch that delivered (200 with a body) or confirmed (304) a version. */
export interface LatestFetch {
  channel: string;
  lastFetch: FetchSummary | null;
  lastDelivery: FetchSummary | null;
}

/** How far back the last delivery is looked for: the channel's newest fetches only (bounded work). */
export const DELIVERY_LOOKBACK = 10_000;

// A fetch that left the client holding a version: a GET answered whole (200), or a 304,
// which confirms the version it already had. A HEAD takes none.
const DELIVERED = "(f.status = 304 OR (f.status = 200 AND f.method = 'GET'))";
const FETCH_COLUMNS = 'f.at, f.method, f.status, f.bytes, f.version, f.encoding, f.user_agent, f.address';

interface FetchSummaryRow {
  at: Date;
  method: 'GET' | 'HEAD';
  status: number;
  bytes: number | string;
  version: number | null;
  encoding: string | null;
  user_agent: string | null;
  address: string | null;
}

const toFetchSummary = (r: FetchSummaryRow): FetchSummary => ({
  at: new Date(r.at).toISOString(),
  method: r.method,
  status: Number(r.status),
  bytes: Number(r.bytes),
  version: r.version === null ? null : Number(r.version),
  encoding: r.encoding,
  userAgent: r.user_agent,
  address: r.address,
});

/**
 * The newest fetch and the newest delivery of every channel (or of one), by channel id:
 * one index probe per channel, the delivery looked for among its last DELIVERY_LOOKBACK fetches.
 */
export async function latestFetches(db: Queryable, channelId?: string): Promise<LatestFetch[]> {
  const rows = await db.query<{
    id: string;
    last: FetchSummaryRow | null;
    delivered: FetchSummaryRow | null;
  }>({
    text: `SELECT c.id,
             (SELECT to_jsonb(x) FROM (SELECT ${FETCH_COLUMNS} FROM channel_fetches f
                WHERE f.channel_id = c.id ORDER BY f.id DESC LIMIT 1) x) AS last,
             (SELECT to_jsonb(x) FROM (SELECT ${FETCH_COLUMNS}
                FROM (SELECT * FROM channel_fetches WHERE channel_id = c.id ORDER BY id DESC LIMIT $2) f
                WHERE ${DELIVERED} ORDER BY f.id DESC LIMIT 1) x) AS delivered
           FROM channels c WHERE $1::text IS NULL OR c.id = $1 ORDER BY c.id`,
    values: [channelId ?? null, DELIVERY_LOOKBACK],
  });
  return rows.map((r) => ({
    channel: r.id,
    lastFetch: r.last ? toFetchSummary(r.last) : null,
    lastDelivery: r.delivered ? toFetchSummary(r.delivered) : null,
  }));
}

/** Fetches of one kind in one time bucket. */
export interface FetchBucket {
  /** The bucket's start (an hour or a day in the asked time zone). */
  start: string;
  /** The HTTP status ("200", "304", "404"…) or "head" (a HEAD request answered 200). */
  kind: string;
  fetches: number;
  bytes: number;
}

/** One client (user agent) of a channel's feed over a period. */
export interface FeedFetcher {
  userAgent: string | null;
  fetches: number;
  notFound: number;
  lastAt: string;
  /** The newest version it got or confirmed (200 with a body, or 304), and when; null if none. */
  deliveredVersion: number | null;
  deliveredAt: string | null;
}

/** Most buckets × kinds one statistics answer holds (a guard: the route bounds the period). */
export const MAX_FETCH_BUCKET_ROWS = 20_000;
/** Most clients one statistics answer lists (the most recent first). */
export const MAX_FETCHERS = 20;

/**
 * A channel's fetches in [since, until) counted per bucket (`hour` or `day` in time zone `tz`)
 * and kind, and per client: set-based, bounded by the period and the caps above. An unknown
 * time zone throws PostgreSQL's 22023.
 */
export async function fetchStats(
  db: Queryable,
  channelId: string,
  opts: { since: Date; until: Date; bucket: 'hour' | 'day'; tz: string },
): Promise<{ buckets: FetchBucket[]; fetchers: FeedFetcher[] }> {
  const buckets = await db.query<{
    start: Date;
    kind: string;
    fetches: number | string;
    bytes: number | string;
  }>({
    // The fetches kept one by one, and the hourly counts of those no longer kept (older than
    // the retention, or refusals past the per-minute bound).
    text: `SELECT date_trunc($2, f.at, $3) AS start, f.kind, sum(f.fetches) AS fetches, sum(f.bytes) AS bytes
           FROM (SELECT at, CASE WHEN status = 200 AND method = 'HEAD' THEN 'head' ELSE status::text END AS kind,
                        1 AS fetches, bytes
                 FROM channel_fetches WHERE channel_id = $1 AND at >= $4 AND at < $5
                 UNION ALL
                 SELECT hour, kind, fetches, bytes FROM channel_fetch_hours
                 WHERE channel_id = $1 AND hour >= $4 AND hour < $5) f
           GROUP BY 1, 2 ORDER BY 1, 2 LIMIT $6`,
    values: [channelId, opts.bucket, opts.tz, opts.since, opts.until, MAX_FETCH_BUCKET_ROWS],
  });
  const fetchers = await db.query<{
    user_agent: string | null;
    fetches: number | string;
    not_found: number | string;
    last_at: Date;
    delivered_version: number | null;
    delivered_at: Date | null;
  }>({
    text: `SELECT f.user_agent, count(*) AS fetches, count(*) FILTER (WHERE f.status = 404) AS not_found,
                  max(f.at) AS last_at,
                  max(f.version) FILTER (WHERE ${DELIVERED}) AS delivered_version,
                  max(f.at) FILTER (WHERE ${DELIVERED}) AS delivered_at
           FROM channel_fetches f
           WHERE f.channel_id = $1 AND f.at >= $2 AND f.at < $3
           GROUP BY f.user_agent ORDER BY max(f.at) DESC, f.user_agent LIMIT $4`,
    values: [channelId, opts.since, opts.until, MAX_FETCHERS],
  });
  return {
    buckets: buckets.map((b) => ({
      start: new Date(b.start).toISOString(),
      kind: b.kind,
      fetches: Number(b.fetches),
      bytes: Number(b.bytes),
    })),
    fetchers: fetchers.map((f) => ({
      userAgent: f.user_agent,
      fetches: Number(f.fetches),
      notFound: Number(f.not_found),
      lastAt: new Date(f.last_at).toISOString(),
      deliveredVersion: f.delivered_version === null ? null : Number(f.delivered_version),
      deliveredAt: f.delivered_at ? new Date(f.delivered_at).toISOString() : null,
    })),
  };
}
